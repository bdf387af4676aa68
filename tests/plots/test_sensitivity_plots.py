"""The plots of the sensitivity results (``acu_meta.plots.sensitivity``), read back from the
artists' gids: leave-one-out and cumulative forest rows, the filled funnel's open circles.

The numbers drawn are validated against metafor in ``tests/results/test_sensitivity.py``.
"""

from __future__ import annotations

import numpy as np
from _metafor import sensitivity_model as model
from matplotlib.figure import Figure

from acu_meta.results.sensitivity import cumulative, leave_one_out, trimfill


def _gids(fig):
    return {a.get_gid() for a in fig.findobj() if a.get_gid()}


def _one(fig, gid):
    (artist,) = [a for a in fig.findobj() if a.get_gid() == gid]
    return artist


def _check_series_rows(fig, series):
    """Row i shows study i's refit: its label, its point at exp(estimate) (ratio measures),
    its estimate and CI as text; exactly k rows; the full model's diamond spans its CI."""
    tr = np.exp if series.ratio else (lambda x: x)
    for i in range(series.k):
        assert _one(fig, f"label-{i}").get_text().endswith(series.studies[i])
        assert list(_one(fig, f"point-{i}").get_xdata()) == [tr(series.estimate[i])]
        want = (f"{tr(series.estimate[i]):.2f} [{tr(series.ci_low[i]):.2f}, "
                f"{tr(series.ci_high[i]):.2f}]")
        assert _one(fig, f"effect-{i}").get_text() == want
    assert f"point-{series.k}" not in _gids(fig)
    xs = _one(fig, "diamond-full").get_xy()[:, 0]
    assert min(xs) == tr(series.full_ci_low) and max(xs) == tr(series.full_ci_high)
    assert list(_one(fig, "full-line").get_xdata()) == [tr(series.full_estimate)] * 2


def test_leave_one_out_plot_rows_are_the_refits():
    from acu_meta.plots.sensitivity import leave_one_out_plot

    loo = leave_one_out(model("bcg_RR", "REML", "z"))
    fig = leave_one_out_plot(loo)
    assert isinstance(fig, Figure) and loo.k == 13
    _check_series_rows(fig, loo)


def test_cumulative_plot_rows_are_the_cumulative_fits():
    from acu_meta.plots.sensitivity import cumulative_plot

    cum = cumulative(model("hackshaw1998", "DL", "z"))
    fig = cumulative_plot(cum)
    assert isinstance(fig, Figure) and cum.k == 37
    _check_series_rows(fig, cum)


def test_filled_funnel_draws_filled_studies_as_open_circles():
    from acu_meta.plots.sensitivity import filled_funnel

    tf = trimfill(model("hackshaw1998", "FE", "z"))
    assert tf.k0 > 0
    fig = filled_funnel(tf)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    filled = [ln for ln in ax.lines if ln.get_gid() == "filled-studies"]
    observed = [ln for ln in ax.lines if ln.get_gid() == "studies"]
    assert len(filled) == 1 and len(filled[0].get_xdata()) == tf.k0
    assert filled[0].get_markerfacecolor() == "white"
    assert len(observed) == 1 and len(observed[0].get_xdata()) == tf.k
    # the open circles sit at the filled studies' effects (natural scale for ratio measures)
    tr = np.exp if tf.ratio else (lambda x: x)
    np.testing.assert_array_equal(np.sort(np.asarray(filled[0].get_xdata(), float)),
                                  np.sort(tr(tf.yi[tf.filled])))
    # k0 = 0: no filled markers
    fig0 = filled_funnel(trimfill(model("bcg_RR", "REML", "z"), estimator="R0"))
    assert "filled-studies" not in _gids(fig0)
