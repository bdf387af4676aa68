"""The interval-stack figure (``acu_meta.plots.interval_stack``) draws the rows of a
MethodTable and nothing else: one interval and one point per row, at the table's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tolerances import SAME_ARITHMETIC

from acu_meta.plots import interval_stack
from acu_meta.results import MethodRow, MethodTable

TABLE = MethodTable("verum vs sham", "function", "SMD", (
    MethodRow("trial", "Trial A", 0.13, -0.02, 0.27),
    MethodRow("trial", "Trial B", -0.18, -0.37, 0.01),
    MethodRow("frequentist", "Fixed effect", 0.02, -0.10, 0.13),
    MethodRow("frequentist", "REML, HKSJ", -0.02, -1.97, 1.93),
    MethodRow("bayesian", "Bayes", -0.01, -0.68, 0.63, "95% CrI"),
    MethodRow("network", "Network", -0.02, math.nan, math.nan),
), ("a note",))


def _by_gid(fig, prefix):
    out = {}
    for ax in fig.axes:
        for artist in ax.get_children():
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                out[gid] = artist
    return out


def test_one_interval_and_point_per_row_at_the_table_numbers():
    fig = interval_stack(TABLE)
    cis, points = _by_gid(fig, "ci-"), _by_gid(fig, "point-")
    finite = [r for r in TABLE.rows if math.isfinite(r.ci_low)]
    assert len(points) == len(TABLE.rows) and len(cis) == len(finite)
    for i, r in enumerate(TABLE.rows):
        x, _ = points[f"point-{i}"].get_data()
        assert float(np.asarray(x)[0]) == pytest.approx(r.estimate, rel=SAME_ARITHMETIC)
        if f"ci-{i}" in cis:
            xs, _ = cis[f"ci-{i}"].get_data()
            assert tuple(np.asarray(xs, float)) == pytest.approx((r.ci_low, r.ci_high),
                                                                 rel=SAME_ARITHMETIC)
    assert set(_by_gid(fig, "group-")) == {"group-trial", "group-frequentist",
                                           "group-bayesian", "group-network"}
    assert "null-line" in _by_gid(fig, "null")


def test_the_table_prints_and_finds_rows():
    assert TABLE.row("Bayes").interval == "95% CrI"
    with pytest.raises(KeyError):
        TABLE.row("nope")
    text = TABLE.summary()
    assert "[bayesian]" in text and "* a note" in text and "NaN" in text
    assert TABLE.to_markdown().count("\n") == len(TABLE.rows) + 1
    with pytest.raises(ValueError):
        MethodRow("other", "x", 0.0, 0.0, 0.0)
