"""The correlation, pre-post, single-proportion and rate measures of ``escalc`` against
metafor 3.8.1 (issue #15, item 3), and ``pool`` on them against ``rma`` FE and REML.

Fixture: the ``escalc`` (46 cases) and ``escalc_rma`` (92 cases) families of
``tests/fixtures/metafor_gaps.json`` (``validation/metafor/gaps_reference.R``; inputs in its
``escalc_datasets``: dat.molloy2014, dat.pritz1997, dat.debruin2009, dat.hart1999,
dat.nielweise2008 and made-up pre-post, proportion and rate sets with zero cells). The size of
both families is guarded in ``tests/models/test_gaps_grid.py``.

Tolerances (``tests/tolerances.py``): ``CLOSED_FORM`` for every escalc value and the FE fits,
``ITERATIVE`` for REML (``tol_for`` of ``tests/_metafor.py``), except where metafor's own REML
is less precise than that (its absolute stopping rule on a tau2 of 1e-7): there tau2 within
metafor's threshold and the model at metafor's tau2 to ``CLOSED_FORM``; ``SECOND_ROUTE`` for the
hypergeometric function against its defining series.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _helpers import fixture_json
from _metafor import ITERATIVE_METHODS, arr, assert_close, close, tol_for
from tolerances import CLOSED_FORM, ITERATIVE, SECOND_ROUTE

from acu_meta import escalc, pool
from acu_meta.effects import MEASURES
from acu_meta.effects._hypergeometric import _series, hyp2f1
from acu_meta.effects.escalc import VTYPES, EffectSizeError
from acu_meta.models import fit
from acu_meta.models._tau2 import score

GAPS = fixture_json("metafor_gaps.json")
CASES = GAPS["escalc"]
BY_ID = {c["id"]: c for c in CASES}
INPUTS = {"correlation": ("ri", "ni"), "prepost": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
          "proportion": ("xi", "ni"), "rate": ("x1i", "t1i", "x2i", "t2i")}


def es_case(case):
    """acu_meta's escalc for one case of the family (inputs and options as the R call)."""
    d = GAPS["escalc_datasets"][case["dataset"]]
    kw = {c: d[c] for c in INPUTS[d["kind"]]}
    kw.update(case["options"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return escalc(case["measure"], study=d["study"], **kw)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_escalc_against_metafor(case):
    es = es_case(case)
    assert es.measure == case["measure"]
    for key, got in (("yi", es.yi), ("vi", es.vi)):
        want = arr(case[key])
        assert np.array_equal(np.isnan(got), np.isnan(want)), f"{key}: NA pattern"
        for i in np.flatnonzero(~np.isnan(want)):
            assert_close(got[i], want[i], CLOSED_FORM, f"{key}[{i}]")
    # every NA names its study and reason
    assert {s for s, _ in es.excluded} == {es.study[i] for i in np.flatnonzero(np.isnan(es.yi))}


RMA = GAPS["escalc_rma"]


def _metafor_loose(case) -> bool:
    """True when metafor's REML/ML/PM/EB estimate is less precise than ITERATIVE: its Fisher
    scoring stops on an absolute change of tau2 (``control_threshold``, 1e-13 here), which is
    more than ITERATIVE relative to a tiny tau2 (IRD on rates per patient-day: tau2 ~ 1e-7)."""
    return (case["method"] in ITERATIVE_METHODS and case["tau2"] > 0
            and case["control_threshold"] / case["tau2"] > ITERATIVE)


ZERO_VI = {c["id"] for c in RMA if c["escalc_id"].endswith("PR-add0")}
COMPARED = [c for c in RMA if c["id"] not in ZERO_VI]


@pytest.mark.parametrize("case", COMPARED, ids=[c["id"] for c in COMPARED])
def test_pool_on_the_new_measures_against_rma(case):
    es = es_case(BY_ID[case["escalc_id"]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(es, method=case["method"])
    assert res.k == case["k"]
    tol = tol_for(case["method"])
    got = {"beta": res.estimate, "se": res.se, "zval": res.statistic, "pval": res.p_value,
           "ci_lb": res.ci_low, "ci_ub": res.ci_high, "tau2": res.tau2,
           "se_tau2": res.se_tau2, "QE": res.Q, "QEp": res.Q_p, "I2": res.I2, "H2": res.H2}
    if _metafor_loose(case):
        # tau2 agrees within metafor's own stopping rule; acu_meta's tau2 is the root (score
        # 0), and the model at metafor's tau2 gives metafor's numbers to CLOSED_FORM
        assert case["method"] == "REML"
        assert abs(res.tau2 - case["tau2"]) <= case["control_threshold"]
        ok = np.isfinite(es.yi)
        y, v = es.yi[ok], es.vi[ok]
        X = np.ones((len(y), 1))
        assert abs(score(res.tau2, y, v, X, reml=True)) <= ITERATIVE * np.sum(1 / (v + res.tau2))
        f = fit(y, v, method=case["method"], tau2=case["tau2"])
        got.update(beta=f.beta[0], se=math.sqrt(f.vb[0, 0]), tau2=f.tau2, se_tau2=f.se_tau2,
                   I2=f.I2, H2=f.H2)
        got = {k: got[k] for k in ("beta", "se", "tau2", "se_tau2", "QE", "QEp", "I2", "H2")}
        tol = CLOSED_FORM
    for key, g in got.items():
        assert_close(g, case[key], tol, key)


def test_metafor_loose_cases_are_few_and_known():
    assert [c["id"] for c in COMPARED if _metafor_loose(c)] == ["nielweise2008-IRD-REML"]


@pytest.mark.parametrize("case_id", sorted(ZERO_VI))
def test_zero_variances_are_excluded_where_metafor_keeps_them(case_id):
    """PR with add = 0: xi = ni gives vi = 0. metafor's FE stops ("Division by zero"), its REML
    keeps the studies (weight 1 / tau2). acu_meta's pool excludes them, names them and pools
    the rest: a known divergence (the models layer refuses a zero variance)."""
    case = next(c for c in RMA if c["id"] == case_id)
    es = es_case(BY_ID[case["escalc_id"]])
    zero = np.flatnonzero(es.vi == 0)
    assert zero.size > 0
    if case["method"] == "FE":
        assert "Division by zero" in case["error"]
    else:
        assert case["k"] == len(es.yi) and case["tau2"] > 0
    with pytest.warns(UserWarning, match="zero variance"):
        res = pool(es, method=case["method"])
    assert res.k == len(es.yi) - zero.size
    assert {es.study[i] for i in zero} <= {s for s, _ in res.excluded}


def test_every_new_measure_and_vtype_is_covered_by_the_fixture():
    covered = {(c["measure"], c["options"].get("vtype", "LS")) for c in CASES}
    new = ("COR", "UCOR", "ZCOR", "SMCC", "SMCR", "MC", "PR", "PLO", "PAS", "PFT", "IRR", "IRD")
    assert set(new) <= set(MEASURES)
    for m in new:
        for vt in VTYPES[m]:
            assert (m, vt) in covered, (m, vt)


def test_the_vocabulary_is_closed():
    with pytest.raises(EffectSizeError, match="vtype 'UB' is not available for COR"):
        escalc("COR", ri=[0.3], ni=[20], vtype="UB")  # UB is UCOR's (metafor 3.8.1)
    with pytest.raises(EffectSizeError, match="vtype 'AV' is not available for ZCOR"):
        escalc("ZCOR", ri=[0.3], ni=[20], vtype="AV")
    with pytest.raises(EffectSizeError, match="unknown measure 'PLN'"):
        escalc("PLN", xi=[1], ni=[10])
    with pytest.raises(EffectSizeError, match="'ri' must lie in"):
        escalc("COR", ri=[1.2], ni=[20], study=["A"])
    with pytest.raises(EffectSizeError, match="study 'B': 'xi' must lie between 0 and 'ni'"):
        escalc("PR", xi=[3, 12], ni=[10, 10], study=["A", "B"])
    with pytest.raises(EffectSizeError, match="argument 'ri' is required"):
        escalc("SMCC", m1i=[1], m2i=[2], sd1i=[1], sd2i=[1], ni=[10])


def test_proportion_zero_cells_as_metafor():
    """PR/PLO add 1/2 to xi = 0 and xi = ni (so 10/10 is 10.5/11); PAS/PFT are not corrected;
    with add = 0 PLO of 10/10 is not estimable and is excluded with its reason."""
    es = escalc("PR", xi=[10, 3], ni=[10, 12], study=["full", "part"])
    assert close(es.yi[0], 10.5 / 11, CLOSED_FORM) and es.corrected == ("full",)
    pas = escalc("PAS", xi=[10, 3], ni=[10, 12])
    assert close(pas.yi[0], math.asin(1.0), CLOSED_FORM) and pas.corrected == ()
    plo = escalc("PLO", xi=[10, 3], ni=[10, 12], add=0, study=["full", "part"])
    assert math.isnan(plo.yi[0]) and plo.excluded[0][0] == "full"
    assert close(plo.yi[1], math.log(3 / 9), CLOSED_FORM)
    assert plo.to_frame()["xi"].tolist() == [10, 3]  # arms keep the uncorrected counts


def test_irr_is_a_ratio_measure_and_back_transforms():
    d = GAPS["escalc_datasets"]["hart1999"]
    es = escalc("IRR", **{c: d[c] for c in INPUTS["rate"]})
    assert es.ratio
    res = pool(es, method="FE")
    assert res.ratio and "Rate Ratio" in res.summary()


@pytest.mark.parametrize("a", [0.5, 1.0])
def test_hyp2f1_against_its_series(a):
    """The connection formulas (near x = 1, small c; integer and half-integer c - a - b) equal
    the defining power series summed to convergence, and x = 1 gives Gauss's sum; scipy's
    hyp2f1 returns NaN for one of molloy2014's studies (r = 0.05, n = 326)."""
    for n in range(5, 40):
        c = (n - 2) / 2 if a == 0.5 else n / 2
        for x in (0.3, 0.6, 0.9, 0.97, 0.99):
            assert close(float(hyp2f1(a, a, c, x)), _series(a, a, c, x, 10**7), SECOND_ROUTE)
        gauss = math.gamma(c) * math.gamma(c - 2 * a) / math.gamma(c - a) ** 2
        assert close(float(hyp2f1(a, a, c, 1.0)), gauss, SECOND_ROUTE)
        assert close(float(hyp2f1(a, a, c, 1 - 1e-12)), gauss, 1e-5)  # continuous at 1
    assert close(float(hyp2f1(0.5, 0.5, 162.0, 0.9975)), _series(0.5, 0.5, 162.0, 0.9975),
                 SECOND_ROUTE)
