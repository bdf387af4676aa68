"""The coverage figure's width panels and its Bayesian methods (plots.batch.coverage_figure).

The numbers drawn come from acu_meta.simulate.coverage_study (validated in
tests/test_simulate.py); here the figure must show exactly those numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from acu_meta import numeric
from acu_meta.plots.batch import coverage_figure
from acu_meta.simulate import BAYES_METHODS, FREQUENTIST, coverage_study


@pytest.fixture(scope="module")
def study():
    return coverage_study(k_values=(2, 3), tau2_values=(0.0, 0.05), mu_values=(0.2, 0.5),
                          reps=40, seed=2)


def _lines(ax, prefix):
    return {ln.get_gid()[len(prefix):]: ln for ln in ax.lines
            if (ln.get_gid() or "").startswith(prefix)}


@pytest.mark.parametrize("interval", ["CI", "PI"])
def test_width_panels_draw_the_mean_width_averaged_over_mu(study, interval):
    fig = coverage_figure(study, interval=interval)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    width_axes = fig.axes[2:]
    assert width_axes[0].get_ylabel() == f"Mean width of the {interval}"
    for ax, tau2 in zip(width_axes, (0.0, 0.05), strict=True):
        assert ax.get_yscale() == "log"
        drawn = _lines(ax, "width-")
        assert list(drawn) == list(FREQUENTIST) + list(BAYES_METHODS)
        cell = study[(study.interval == interval) & (study.tau2 == tau2)]
        for m, line in drawn.items():
            want = cell[cell.method == m].groupby("k")["mean_width"].mean()
            assert list(line.get_xdata()) == list(want.index)
            np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), want.to_numpy(),
                                       rtol=1e-14)


def test_error_bars_are_z_times_the_se_of_the_average(study):
    """Width bars: +/- z(0.975) sqrt(sum se^2) / n over the mu cells of each k."""
    fig = coverage_figure(study)
    ax = fig.axes[3]  # width, tau2 = 0.05
    cont = [c for c in ax.containers if c.lines[0].get_gid() == "width-Bayes Rhodes"]
    assert len(cont) == 1
    segs = cont[0].lines[2][0].get_segments()
    cell = study[(study.interval == "CI") & (study.tau2 == 0.05)
                 & (study.method == "Bayes Rhodes")]
    for seg, (_, g) in zip(segs, cell.groupby("k"), strict=True):
        half = numeric.Z975 * np.sqrt(np.sum(g["width_mc_se"] ** 2)) / len(g)
        assert seg[1][1] - seg[0][1] == pytest.approx(2 * half, rel=1e-12)


def test_bayesian_methods_in_the_legend_with_their_own_style(study):
    fig = coverage_figure(study)
    legend = fig.axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == list(FREQUENTIST) + list(BAYES_METHODS)
    cov = _lines(fig.axes[0], "method-")
    markers = {m: ln.get_marker() for m, ln in cov.items()}
    assert len(set(markers.values())) == len(markers)  # every method its own marker
    for m in BAYES_METHODS:
        assert cov[m].get_linestyle() == "-."  # dash-dotted
    for m in FREQUENTIST:
        assert cov[m].get_linestyle() != "-."


def test_no_width_panels_into_given_axes_or_when_asked(study):
    fig = coverage_figure(study, width=False)
    assert len(fig.axes) == 2
    fig2 = Figure()
    ax = fig2.add_subplot(111)
    assert coverage_figure(study, ax=ax) is fig2 and len(fig2.axes) == 1
    with pytest.raises(ValueError, match="new figure"):
        coverage_figure(study, ax=ax, width=True)
    with pytest.raises(ValueError, match="no mean_width"):
        coverage_figure(study.drop(columns=["mean_width"]), width=True)
