"""The Knapp-Hartung ad hoc modification (HKSJ scale factor max(1, q)) against metafor 3.8.1:
``pool(yi, vi, method=M, hksj=True, hksj_adhoc=True)`` against ``rma(yi, vi, method=M,
test="adhoc")``, and ``pool(..., hksj=True)`` against ``test="knha"`` on the same grid.

Fixture: ``tests/fixtures/metafor_adhoc.json``, written by ``validation/metafor/adhoc_reference.R``
(every double printed with %.17g; threshold 1e-13). Grid: 14 data sets (k = 2, 3, 5, 10 with
q < 1 and q > 1, a set with tau2 > 0 and still q < 1, the pair of the former hand-typed test,
and the three trial comparisons of :mod:`acu_meta.analyses.answer`) x REML, DL, PM, FE x
levels 95 and 90 = 112 cases, each with both tests.

Tolerances (``tests/tolerances.py``): ``ITERATIVE`` for REML and PM, ``CLOSED_FORM`` for DL and
FE (``_metafor.tol_for``), relative with an absolute floor of the same size (tau2 at the REML
boundary is a tiny positive number in metafor).
"""

from __future__ import annotations

import warnings

import pytest
from _helpers import fixture_json
from _metafor import assert_close, tol_for
from tolerances import SAME_ARITHMETIC

from acu_meta.analyses import three_arm
from acu_meta.models import fit
from acu_meta.results import pool

ADHOC = fixture_json("metafor_adhoc.json")
CASES = ADHOC["cases"]

#: The grid adhoc_reference.R writes: 14 data sets x 4 methods x 2 levels.
N_CASES = 112

#: Where q counts as "below" or "above" 1 when the grid's coverage is checked: PM's root and
#: the k = 2 sets put q at 1 to within 1e-13, on either side by rounding; those cases count
#: as neither (a classification margin, not a comparison tolerance).
Q_MARGIN = 1e-6

FIELDS = {"estimate": "estimate", "se": "se", "ci_lb": "ci_low", "ci_ub": "ci_high",
          "tau2": "tau2", "pval": "p_value", "zval": "statistic"}


def test_grid_size():
    """The fixture holds the whole grid: a shrunken grid (a data set, method or level left
    out) fails here."""
    assert len(CASES) == ADHOC["n_cases"] == N_CASES
    assert len(ADHOC["datasets"]) == 14
    assert ADHOC["methods"] == ["REML", "DL", "PM", "FE"] and ADHOC["levels"] == [95, 90]
    assert len({c["id"] for c in CASES}) == N_CASES
    ks = {len(d["yi"]) for d in ADHOC["datasets"].values()}
    assert ks == {2, 3, 5, 10}


def test_grid_covers_both_sides_of_q_equal_one():
    """The modification binds (q < 1) for every method, with tau2 > 0 for REML and DL too,
    and q > 1 occurs for REML, DL and FE (PM has q = 1 whenever tau2 > 0, by construction)."""
    margin = Q_MARGIN
    for m in ("REML", "DL", "PM", "FE"):
        qs = [(c["knha"]["s2w"], c["knha"]["tau2"]) for c in CASES if c["method"] == m]
        assert any(q < 1 - margin for q, _ in qs), m
        if m != "PM":
            assert any(q > 1 + margin for q, _ in qs), m
        if m in ("REML", "DL"):
            assert any(q < 1 - margin and t2 > margin for q, t2 in qs), m


@pytest.mark.parametrize("comp", three_arm.COMPARISONS)
def test_trial_data_in_the_script_are_the_answers(comp):
    """The (yi, vi) written into adhoc_reference.R are what three_arm gives today (a change of
    the trial contrasts means the script must be updated and rerun)."""
    name = next(n for n, c in ADHOC["trial_comparison"].items() if c == comp)
    t = three_arm.trial_contrasts(comp)
    d = ADHOC["datasets"][name]
    assert list(t.smd) == pytest.approx(d["yi"], rel=SAME_ARITHMETIC)
    assert list(t.vi) == pytest.approx(d["vi"], rel=SAME_ARITHMETIC)


def _pool(case, adhoc):
    d = ADHOC["datasets"][case["data"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(yi=d["yi"], vi=d["vi"], method=case["method"], hksj=True,
                    hksj_adhoc=adhoc, level=case["level"])


@pytest.mark.parametrize("test", ["adhoc", "knha"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pool_against_metafor(case, test):
    r = _pool(case, test == "adhoc")
    want = case[test]
    tol = tol_for(case["method"])
    for key, attr in FIELDS.items():
        assert_close(float(getattr(r, attr)), want[key], tol, f"{case['id']} {test} {key}")
    assert r.df == want["ddf"] == case["k"] - 1


@pytest.mark.parametrize("test", ["adhoc", "knha"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_scale_factor_against_metafor(case, test):
    """The scale factor itself: metafor's s2w (after truncation at 1 for "adhoc")."""
    d = ADHOC["datasets"][case["data"]]
    f = fit(d["yi"], d["vi"], method=case["method"], hksj=True, hksj_adhoc=test == "adhoc")
    assert_close(f.s2_hksj, case[test]["s2w"], tol_for(case["method"]),
                 f"{case['id']} {test} s2w")
