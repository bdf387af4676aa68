"""Forest plots of extreme results (issue #17, found by the fuzz test): a study row without a
finite CI (MH, all events in both arms), a log-scale CI of +-7e65 (ROM with means near 0), a
Peto log OR of -1.7e13 (n = 2**53). Each is drawn, without an overflow, a NaN axis limit or a
numpy warning: limits are clipped to exp(+-700) (ratio) or +-1e300 (linear), rows beyond them
end in arrows, and the effect column shows ``inf`` or "not estimable" (checked in the SVG)."""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from acu_meta.plots import forest, save_figure
from acu_meta.plots.forest import LINEAR_LIMIT, LOG_LIMIT, clip_limits
from acu_meta.results import PooledRow, StudyRows, pool

SVG = "{http://www.w3.org/2000/svg}"


def _drawn(fig, tmp_path):
    """Save as SVG with every warning an error; gid -> the texts of that group."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        root = ET.parse(save_figure(fig, tmp_path / "f.svg")).getroot()
    groups = {g.get("id"): ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
              for g in root.iter(f"{SVG}g") if g.get("id")}
    return groups


def _limits(fig):
    lo, hi = fig.axes[0].get_xlim()
    return lo, hi


def test_clip_limits():
    assert clip_limits(-1.0, 2.0, True) == (-1.0, 2.0)  # ordinary limits are kept
    assert clip_limits(-7e65, 7e65, True) == (-LOG_LIMIT, LOG_LIMIT)
    assert clip_limits(-math.inf, 3.0, False) == (-LINEAR_LIMIT, 3.0)
    # both beyond the same end: a range of 1 at it
    assert clip_limits(-1.7e13, -1.7e13, True) == (-LOG_LIMIT, -LOG_LIMIT + 1.0)
    assert clip_limits(math.nan, math.nan, False) == (-1.0, 1.0)


def test_a_row_without_a_finite_interval_is_not_estimable(tmp_path):
    with pytest.warns(UserWarning, match="double-zero"):
        res = pool(ai=[10, 5], n1i=[10, 10], ci=[19, 15], n2i=[19, 28], measure="RR",
                   method="MH", study=["S0", "S1"])
    assert math.isnan(res.yi[0])
    fig = forest(res)
    t = _drawn(fig, tmp_path)
    assert t["effect-0"] == ["not estimable"]
    assert "square-0" not in t and "ci-0" not in t and "square-1" in t
    lo, hi = _limits(fig)
    assert 0 < lo < 1 < hi < math.inf


def test_a_log_scale_interval_of_7e65_is_clipped_with_arrows(tmp_path):
    with pytest.warns(UserWarning, match="excluded"):
        res = pool(m1i=[2.6, 15.58], sd1i=[26.28, 14.76], n1i=[171, 187],
                   m2i=[9.833e-67, 4.99e-167], sd2i=[4.497, 19.99], n2i=[152, 69],
                   measure="ROM", study=["S0", "S1"])
    assert res.ci_high > 1e65
    fig = forest(res)
    t = _drawn(fig, tmp_path)
    assert t["effect-0"][0].endswith("[0.00, inf]")
    assert {"ci-0-arrow-left", "ci-0-arrow-right"} <= set(t)
    lo, hi = _limits(fig)
    assert lo == pytest.approx(math.exp(-LOG_LIMIT)) and hi == pytest.approx(math.exp(LOG_LIMIT))
    labels = [x.get_text() for x in fig.axes[0].get_xticklabels()]
    assert "1" in labels and len(labels) <= 5  # powers of ten, not 19 crowded nice ticks


def test_a_peto_log_odds_ratio_of_minus_1_7e13_is_drawn(tmp_path):
    res = pool(ai=[0], n1i=[2**53], ci=[0], n2i=[267], measure="PETO", study=["S0"])
    assert res.estimate < -1e13
    fig = forest(res)
    t = _drawn(fig, tmp_path)
    assert "ci-0-arrow-left" in t and "square-0" not in t
    assert t["effect-0"] == ["0.00 [0.00, 0.00]"]
    assert _limits(fig)[0] == pytest.approx(math.exp(-LOG_LIMIT))


class _Wide:
    """A hand-made linear-scale result with an interval beyond 1e300."""

    measure, level, description, footer = "MD", 0.95, "hand-made", ()

    @property
    def study_rows(self):
        return StudyRows(labels=("A", "B"), yi=[1e300, 0.5], vi=[1e300, 0.01],
                         weight=[np.nan, np.nan])

    @property
    def pooled_rows(self):
        return (PooledRow("pooled", "Pooled", 0.5, -1.7e308, 1.7e308, interval="95% CI",
                          model="random"),)


def test_a_linear_axis_beyond_1e300_is_clipped(tmp_path):
    fig = forest(_Wide())
    t = _drawn(fig, tmp_path)
    lo, hi = _limits(fig)
    assert -LINEAR_LIMIT <= lo < 0 < hi <= LINEAR_LIMIT
    assert t["effect-0"] == ["1e+300 [1e+300, 1e+300]"]  # 3 significant digits from 1e6 on
    assert t["effect-diamond-random"] == ["0.50 [-1.7e+308, 1.7e+308]"]
    assert {"square-0", "diamond-random"} <= set(t)  # the diamond cut at the axis ends
