"""acu_meta against metafor 3.8.1, case by case, on the committed fixture grid.

Fixtures: ``tests/fixtures/metafor_reference.json``, written by
``validation/metafor/reference.R`` (numbers printed with %.17g; iterative estimators run with
threshold 1e-13 so the reference itself is accurate far beyond the tolerances below).

Tolerances (relative, with an absolute floor for values near zero):

* ``CLOSED`` = 1e-10 for closed forms (escalc, FE, DL, HE, HS, SJ, MH, Peto, and every quantity
  computed from them): both sides evaluate the same formula in double precision; 1e-10 leaves
  room for summation order and matrix inversion, a wrong formula is off by far more.
* ``ITER`` = 1e-8 for quantities resting on a root (ML, REML, PM, EB tau2, Q-profile bounds):
  metafor stops at a tau2 change of 1e-13 and acu_meta's Brent refinement at 1e-15 * scale;
  amplification through the estimate keeps the difference below 1e-9; 1e-8 is the named bar.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from acu_meta import escalc, metareg, pool, subgroups
from acu_meta.effects import EffectSizes

FIX = Path(__file__).parents[1] / "fixtures" / "metafor_reference.json"
REF = json.loads(FIX.read_text())

CLOSED = 1e-10
ITER = 1e-8
ITERATIVE = {"REML", "ML", "PM", "EB"}


def close(a, b, rtol, atol=None):
    """Equal within rtol relative to b, or atol absolutely (default atol = rtol)."""
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    if isinstance(b, str):
        return (b == "Inf" and a == math.inf) or (b == "-Inf" and a == -math.inf)
    atol = rtol if atol is None else atol
    return abs(a - b) <= atol + rtol * abs(b)


def assert_close(got, want, rtol, what):
    assert close(got, want, rtol), f"{what}: got {got!r}, metafor {want!r}"


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


# ------------------------------------------------------------------------------ escalc


def _escalc_case(e):
    d = REF["datasets"][e["dataset"]]
    opts = dict(e.get("options") or {})
    kw = {}
    if d["kind"] == "binary":
        kw = dict(ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
        for key in ("add", "to", "drop00"):
            if key in opts:
                kw[key] = opts[key]
    elif d["kind"] == "continuous":
        kw = {c: d[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
        if "vtype" in opts:
            kw["vtype"] = opts["vtype"]
    else:
        kw = dict(yi=d["yi"], vi=d["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return escalc(e["measure"], study=d["study"], **kw)


@pytest.mark.parametrize("case", REF["escalc"], ids=[e["id"] for e in REF["escalc"]])
def test_escalc(case):
    es = _escalc_case(case)
    for i, (y, v) in enumerate(zip(case["yi"], case["vi"], strict=True)):
        if y is None or isinstance(y, str):
            # metafor gives NA or +-Inf: acu_meta gives NaN and lists the study as excluded
            assert math.isnan(es.yi[i])
            assert es.study[i] in {s for s, _ in es.excluded}
            continue
        assert_close(es.yi[i], y, CLOSED, f"yi[{i}]")
        assert_close(es.vi[i], v, CLOSED, f"vi[{i}]")


# ------------------------------------------------------------------------------ rma


def _es_for(dataset, measure) -> EffectSizes:
    e = next(x for x in REF["escalc"] if x["id"] == f"{dataset}-{measure}")
    return _escalc_case(e)


RMA_IDS = [r["id"] for r in REF["rma"]]


@pytest.mark.parametrize("case", REF["rma"], ids=RMA_IDS)
def test_rma(case):
    es = _es_for(case["dataset"], case["measure"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(es, method=case["method"], hksj=case["test"] == "knha", level=case["level"])
    tol = ITER if case["method"] in ITERATIVE else CLOSED
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
                assert got >= case[key] * (1 - CLOSED), f"{key}: {got} < {case[key]}"
                continue
            assert_close(got, case[key], ITER, key)
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
        assert_close(got, case[key], CLOSED, key)
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
        assert_close(got, case[key], CLOSED, key)
    assert res.k == case["k"]


# ------------------------------------------------------------------------------ moderators


@pytest.mark.parametrize("case", REF["metareg"], ids=[c["id"] for c in REF["metareg"]])
def test_metareg(case):
    es = _es_for(case["dataset"], case["measure"])
    mods = np.asarray(REF["datasets"][case["dataset"]][case["mods"]], float)
    res = metareg(es, mods, method=case["method"], hksj=case["test"] == "knha")
    tol = ITER if case["method"] in ITERATIVE else CLOSED
    for key, got in (("beta", res.beta), ("se", res.se), ("zval", res.statistic),
                     ("pval", res.p_value), ("ci_lb", res.ci_low), ("ci_ub", res.ci_high)):
        for g, w in zip(got, case[key], strict=True):
            assert_close(g, w, tol, key)
    for key, got in (("tau2", res.tau2), ("QE", res.QE), ("QEp", res.QE_p), ("QM", res.QM),
                     ("QMp", res.QM_p), ("I2", res.I2), ("H2", res.H2), ("R2", res.R2)):
        assert_close(got, case[key], tol, key)


@pytest.mark.parametrize("case", REF["subgroups"], ids=[c["id"] for c in REF["subgroups"]])
def test_subgroups(case):
    es = _es_for(case["dataset"], case["measure"])
    groups = REF["datasets"][case["dataset"]][case["group_var"]]
    hksj = case["test"] == "knha"
    tol = ITER if case["method"] in ITERATIVE else CLOSED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroups(es, groups, method=case["method"], hksj=hksj)
        common = subgroups(es, groups, method=case["method"], hksj=hksj, common_tau2=True)
    for g, want in case["groups"].items():
        r = res.groups[g]
        for key, got in (("beta", r.estimate), ("se", r.se), ("ci_lb", r.ci_low),
                         ("ci_ub", r.ci_high), ("tau2", r.tau2), ("QE", r.Q)):
            assert_close(got, want[key], tol, f"{g} {key}")
    assert_close(res.Q_between, case["Qb"], tol, "Qb")
    assert res.Q_between_df == case["Qb_df"]
    assert_close(res.Q_between_p, case["Qb_p"], tol, "Qb_p")
    c = case["common_tau2"]
    assert_close(common.common.tau2, c["tau2"], tol, "common tau2")
    assert_close(common.Q_between, c["QM"], tol, "QM")
    assert_close(common.Q_between_p, c["QMp"], tol, "QMp")
