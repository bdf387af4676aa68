"""acu_meta's pooling engines against metafor 3.8.1 rma.uni, rma.mh and rma.peto, case by case,
on the committed fixture grid (and the test that the grid never shrinks).

Fixtures: ``tests/fixtures/metafor_reference.json``, written by
``validation/metafor/reference.R`` (numbers printed with %.17g; iterative estimators run with
threshold 1e-13 so the reference itself is accurate far beyond the tolerances). Tolerances
(``tests/tolerances.py``): ``CLOSED_FORM`` for closed forms (FE, DL, HE, HS, SJ, MH, Peto and
every quantity computed from them), ``ITERATIVE`` for quantities resting on a root (ML, REML,
PM, EB tau2), ``Q_PROFILE`` for the Q-profile bounds of tau2, I2 and H2. The escalc grid is
checked in ``tests/effects/test_escalc_metafor.py``, subgroups and meta-regression in
``tests/results/test_moderators_metafor.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _metafor import REF, assert_close, es_for, tol_for
from tolerances import CLOSED_FORM, Q_PROFILE

from acu_meta import pool

# ------------------------------------------------------------------------------ grid size


def test_fixture_grid_is_complete():
    """Fails if the grid of reference cases shrinks (regenerate, never prune)."""
    assert REF["metafor_version"] == "3.8.1"
    assert len(REF["escalc"]) >= 253
    assert len(REF["rma"]) >= 914
    assert len(REF["mh"]) >= 18 and len(REF["peto"]) >= 6
    assert len(REF["subgroups"]) >= 4 and len(REF["metareg"]) >= 8
    combos = {(r["dataset"], r["measure"], r["method"], r["test"]) for r in REF["rma"]}
    datasets = {"bcg": ("OR", "RR", "RD"), "hine1989": ("OR", "RR", "RD"),
                "yusuf1985_t6": ("OR", "RR", "RD"), "lee2004": ("OR", "RR", "RD"),
                "hand_double_zero": ("OR", "RR", "RD"), "hand_single_zero": ("OR", "RR", "RD"),
                "normand1999": ("MD", "SMD", "ROM"), "raudenbush1985": ("GEN",)}
    for ds, measures in datasets.items():
        for m in measures:
            for method in ("DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"):
                for test in ("z", "knha"):
                    assert (ds, m, method, test) in combos, (ds, m, method, test)
            assert (ds, m, "FE", "z") in combos
    ks = {len(REF["datasets"][r["dataset"]]["yi"]) for r in REF["rma"]
          if r["dataset"].startswith("rand-")}
    assert 2 in ks  # k = 2 is covered
    assert any(r["tau2"] == 0 for r in REF["rma"] if r["method"] == "REML")  # tau2 = 0 covered
    assert sum(not r["default_converged"] for r in REF["rma"]) >= 1


# ------------------------------------------------------------------------------ rma


RMA_IDS = [r["id"] for r in REF["rma"]]


@pytest.mark.parametrize("case", REF["rma"], ids=RMA_IDS)
def test_rma(case):
    es = es_for(case["dataset"], case["measure"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(es, method=case["method"], hksj=case["test"] == "knha", level=case["level"])
    tol = tol_for(case["method"])
    assert res.k == case["k"]
    checks = {
        "beta": res.estimate, "se": res.se, "zval": res.statistic, "pval": res.p_value,
        "ci_lb": res.ci_low, "ci_ub": res.ci_high, "tau2": res.tau2, "QE": res.Q,
        "QEp": res.Q_p, "I2": res.I2, "H2": res.H2,
        "pi_lb": res.pi_low, "pi_ub": res.pi_high,
    }
    for key, got in checks.items():
        assert_close(got, case[key], tol, key)
    if case["method"] in ("REML", "ML"):
        assert_close(res.se_tau2, case["se_tau2"], tol, "se_tau2")
    if case["method"] != "FE" and case["k"] > 1:
        truncated = case["tau2_ci_ub_sign"] == ">"
        for key, got in (("tau2_ci_lb", res.tau2_ci[0]), ("tau2_ci_ub", res.tau2_ci[1]),
                         ("I2_ci_lb", res.I2_ci[0]), ("I2_ci_ub", res.I2_ci[1]),
                         ("H2_ci_lb", res.H2_ci[0]), ("H2_ci_ub", res.H2_ci[1])):
            if truncated and key.endswith("_ub"):
                # Known divergence (validation/metafor/README.md): metafor stops its search at
                # tau2.max = max(100, 10 tau2) and prints the bound as "> tau2.max"; acu_meta
                # brackets without a cap and returns the bound itself, which lies beyond.
                assert got >= case[key] * (1 - CLOSED_FORM), f"{key}: {got} < {case[key]}"
                continue
            assert_close(got, case[key], Q_PROFILE, key)
    np.testing.assert_allclose(res.weights, case["weights"], rtol=tol, atol=tol)


# ------------------------------------------------------------------------------ MH, Peto


def _binary(dataset):
    d = REF["datasets"][dataset]
    return dict(ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"]), d["study"]


@pytest.mark.parametrize("case", REF["mh"], ids=[c["id"] for c in REF["mh"]])
def test_mantel_haenszel(case):
    cells, study = _binary(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(measure=case["measure"], method="MH", study=study, **cells)
    for key, got in (("beta", res.estimate), ("se", res.se), ("zval", res.statistic),
                     ("pval", res.p_value), ("ci_lb", res.ci_low), ("ci_ub", res.ci_high),
                     ("QE", res.Q), ("QEp", res.Q_p), ("I2", res.I2), ("H2", res.H2)):
        assert_close(got, case[key], CLOSED_FORM, key)
    assert res.k == case["k"]
    assert res.Q_df == case["k_yi"] - 1


@pytest.mark.parametrize("case", REF["peto"], ids=[c["id"] for c in REF["peto"]])
def test_peto(case):
    cells, study = _binary(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(measure="PETO", method="PETO", study=study, **cells)
    for key, got in (("beta", res.estimate), ("se", res.se), ("zval", res.statistic),
                     ("pval", res.p_value), ("ci_lb", res.ci_low), ("ci_ub", res.ci_high),
                     ("QE", res.Q), ("QEp", res.Q_p), ("I2", res.I2), ("H2", res.H2)):
        assert_close(got, case[key], CLOSED_FORM, key)
    assert res.k == case["k"]
