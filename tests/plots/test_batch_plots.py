"""The figures of the batch tools (``acu_meta.plots.batch``), read back from the artists: the
GOSH scatter draws every subset at its (estimate, I2), the coverage figure draws every method's
simulated coverage against k.

The numbers drawn are validated elsewhere (GOSH against ``pool`` in
``tests/results/test_batch.py``; the coverage study in ``tests/test_simulate.py``); here the
figure must show exactly those numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import gosh_example
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from acu_meta.plots._style import COLORS
from acu_meta.plots.batch import coverage_figure, gosh_plot
from acu_meta.results.batch import gosh
from acu_meta.simulate import METHODS, coverage_study


def _by_gid(artists, gid):
    return [a for a in artists if a.get_gid() == gid]


@pytest.fixture(scope="module")
def g():
    return gosh(*gosh_example())


def test_gosh_plot_draws_every_subset_and_highlights_one_study(g):
    fig = gosh_plot(g, highlight=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 3  # scatter + two marginal histograms
    ax = fig.axes[0]
    (scatter,) = _by_gid(ax.collections, "subsets")
    np.testing.assert_array_equal(scatter.get_offsets(), np.column_stack([g.estimate, g.I2]))
    # subsets containing study 3 are black, the others grey
    black = np.all(scatter.get_facecolors()[:, :3] == to_rgba(COLORS["study"])[:3], axis=1)
    np.testing.assert_array_equal(black, g.subsets[:, 3])
    (full,) = _by_gid(ax.lines, "full-set")  # the white diamond: all 16 studies
    assert list(full.get_xdata()) == [g.estimate[-1]] and list(full.get_ydata()) == [g.I2[-1]]
    assert ax.get_ylabel() == "I\u00b2 (%)"
    top, right = fig.axes[1], fig.axes[2]
    assert sum(p.get_height() for p in top.patches) == len(g)  # every subset in the histogram
    assert sum(p.get_width() for p in right.patches) == len(g)
    assert top.get_title(loc="left") == "GOSH: all 65,535 subsets of k = 16 studies (FE)"


def test_gosh_plot_into_given_axes_without_histograms(g):
    fig2 = Figure()
    ax = fig2.add_subplot(111)
    assert gosh_plot(g, ax=ax, hist=False) is fig2
    assert len(fig2.axes) == 1
    (scatter,) = _by_gid(ax.collections, "subsets")
    assert len(scatter.get_offsets()) == len(g)
    assert ax.get_title(loc="left").startswith("GOSH: all 65,535 subsets")


@pytest.fixture(scope="module")
def small():
    return coverage_study(k_values=(2, 3, 5), tau2_values=(0.0, 0.05), mu_values=(0.2,),
                          reps=150, seed=1)


def _drawn(ax):
    """method -> (k values, coverage values) of the lines drawn in one panel."""
    out = {}
    for line in ax.lines:
        gid = line.get_gid() or ""
        if gid.startswith("method-"):
            out[gid[len("method-"):]] = (list(line.get_xdata()), list(line.get_ydata()))
    return out


@pytest.mark.parametrize("interval", ["CI", "PI"])
def test_coverage_figure_draws_each_methods_coverage_per_tau2(small, interval):
    fig = coverage_figure(small, interval=interval)
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # coverage, then width, per tau2
    for ax, tau2 in zip(fig.axes[:2], (0.0, 0.05), strict=True):
        assert ax.get_title() == f"\u03c4\u00b2 = {tau2:g}"
        drawn = _drawn(ax)
        assert list(drawn) == list(METHODS)
        cell = small[(small.interval == interval) & (small.tau2 == tau2)]
        for m, (ks, cov) in drawn.items():
            want = cell[cell.method == m].sort_values("k")
            assert ks == list(want.k) and cov == list(want.coverage)  # one mu: no averaging
        nominal = _by_gid(ax.lines, "nominal")
        assert len(nominal) == 1 and list(nominal[0].get_ydata()) == [0.95, 0.95]
    what = "CI covers the mean" if interval == "CI" else "PI covers a new study"
    assert fig.axes[0].get_ylabel() == f"Coverage ({what})"


def test_coverage_figure_into_given_axes_and_bad_interval(small):
    fig2 = Figure()
    ax = fig2.add_subplot(111)
    part = small[small.tau2 == 0.05]
    assert coverage_figure(part, ax=ax) is fig2
    assert ax.get_title() == "\u03c4\u00b2 = 0.05"
    ci = part[part.interval == "CI"]
    for m, (ks, cov) in _drawn(ax).items():
        want = ci[ci.method == m].sort_values("k")
        assert ks == list(want.k) and cov == list(want.coverage)
    with pytest.raises(ValueError, match="no rows with interval 'XX'"):
        coverage_figure(small, interval="XX")
