"""The net heat plot draws the result's -diff matrix (issue #15, item 5): what is drawn is read
back from the artists (values, labels, dropped columns)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from tolerances import SAME_ARITHMETIC

from acu_meta.plots.network import net_heat_plot
from acu_meta.results.network import net_heat

_spec = importlib.util.spec_from_file_location(
    "_netsplit_cases", Path(__file__).parents[1] / "results" / "test_netsplit_netmeta.py")
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)


def test_net_heat_plot_draws_minus_diff_without_the_loopless_designs():
    heat = net_heat(_cases._fit("stowe2010", "common"), random=False)
    fig = net_heat_plot(heat)
    ax = fig.axes[0]
    img = next(a for a in ax.get_images() if a.get_gid() == "net-heat")
    keep = ~np.all(np.isnan(heat.diff), axis=0)
    assert keep.sum() == 4  # Dopamine Agonist vs Placebo has no loop (netmeta drops it too)
    want = -heat.diff[np.ix_(keep, keep)]
    np.testing.assert_allclose(np.asarray(img.get_array()), want, rtol=SAME_ARITHMETIC)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [r for r, k in zip(heat.rows, keep, strict=True) if k]
    assert sum(p.get_gid().startswith("diag-") for p in ax.patches) == 4
    lo, hi = img.get_clim()
    assert lo == -hi and hi == np.max(np.abs(want))
