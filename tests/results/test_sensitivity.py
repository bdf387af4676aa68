"""Sensitivity analyses and small-study effects against metafor 3.8.1, plus properties.

Fixture: ``tests/fixtures/metafor_sensitivity.json``, written by
``validation/metafor/sensitivity_reference.R`` (numbers printed with %.17g; every rma() fit and
every refit metafor makes inside leave1out / cumul / influence / regtest / trimfill run with
``control = list(threshold = 1e-13, maxiter = 10000, tol = 1e-13)``).

Tolerances (``tests/tolerances.py``; relative, with the same absolute floor for values near
zero):

* ``CLOSED_FORM`` for closed forms (FE, DL, SJ, HE refits; the lm regressions of the
  classical Egger test and PET-PEESE; the rank test; fail-safe N; trim-and-fill with FE / DL).
* ``ITERATIVE`` for anything resting on an iterative tau2 (REML, ML, PM refits, the
  meta-regression of regtest, trim-and-fill's REML fits): amplification through the estimate,
  its SE and the influence ratios stays below 1e-9.
* Counts (trim-and-fill k0 and side, fail-safe N, influence flags) must be equal.
* Properties: ``LEAVE_ONE_OUT`` and ``REFIT_SAME_ORDER`` for refits, ``EXACT_DISTRIBUTION``
  against scipy's exact Kendall test, ``OTHER_SOLVER`` against statsmodels' WLS,
  ``SECOND_ROUTE`` for the Mantel-Haenszel refit as fixed effect.

The plots of these results: ``tests/plots/test_sensitivity_plots.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
from _metafor import ITERATIVE_METHODS, SENSITIVITY, arr, num, sensitivity_model
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tolerances import (
    CLOSED_FORM,
    EXACT_DISTRIBUTION,
    ITERATIVE,
    LEAVE_ONE_OUT,
    OTHER_SOLVER,
    REFIT_SAME_ORDER,
    SECOND_ROUTE,
    ZERO,
)

from acu_meta.models import ModelError
from acu_meta.models import sensitivity as core
from acu_meta.results import pool
from acu_meta.results.sensitivity import (
    BIAS_KEYS,
    bias_summary,
    cumulative,
    fsn,
    influence,
    leave_one_out,
    leave_one_out_records,
    pet_peese,
    ranktest,
    regtest,
    trimfill,
)

REF = SENSITIVITY
CASES = REF["cases"]
DATA = REF["datasets"]
model = sensitivity_model


def tol_for(case) -> float:
    return ITERATIVE if case.get("method") in ITERATIVE_METHODS else CLOSED_FORM


def assert_close(got, want, rtol, what):
    got = np.atleast_1d(np.asarray(got, dtype=float))
    want = np.atleast_1d(arr(want) if isinstance(want, list) else np.asarray(num(want)))
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs metafor {want.shape}"
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if math.isnan(b):
            assert math.isnan(a), f"{what}[{i}]: got {a!r}, metafor NA"
            continue
        assert abs(a - b) <= rtol + rtol * abs(b), f"{what}[{i}]: got {a!r}, metafor {b!r}"


def cases_of(kind):
    return [pytest.param(c, id=c["id"]) for c in CASES if c["kind"] == kind]


# ------------------------------------------------------------------------------ fixture grid


def test_fixture_grid_is_complete():
    """Fails if the grid of reference cases shrinks (regenerate, never prune)."""
    assert REF["metafor_version"] == "3.8.1"
    assert REF["n_cases"] == len(CASES) >= 118
    minimum = {"leave1out": 13, "cumul": 8, "influence": 13, "regtest": 36, "ranktest": 7,
               "trimfill": 19, "fsn": 16, "pet_peese": 6}
    got = {}
    for c in CASES:
        got[c["kind"]] = got.get(c["kind"], 0) + 1
    for kind, n in minimum.items():
        assert got.get(kind, 0) >= n, (kind, got.get(kind, 0), n)
    ids = {c["id"] for c in CASES}
    for must in ("regtest-lm-sei-egger2001_OR-REML-z", "regtest-rma-sei-egger2001_OR-REML-z",
                 "ranktest-bcg_RR", "fsn-01-bcg_RR-Rosenthal", "trimfill-bcg_RR-FE-z-L0",
                 "trimfill-bcg_RR-FE-z-R0", "leave1out-bcg_RR-REML-knha",
                 "cumul-bcg_RR-REML-z-year", "influence-bcg_RR-REML-z",
                 "leave1out-egger2001_OR-REML-z-stepadj"):
        assert must in ids, must
    assert all("call" in c for c in CASES)


# ------------------------------------------------------------------------------ leave1out / cumul

SERIES_FIELDS = [("estimate", "estimate"), ("se", "se"), ("statistic", "statistic"),
                 ("p_value", "pval"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("Q", "Q"),
                 ("Q_p", "Qp"), ("tau2", "tau2"), ("I2", "I2"), ("H2", "H2")]


def _check_series(got, case):
    failed = [i for i, e in enumerate(case["estimate"]) if e is None]
    for ours, theirs in SERIES_FIELDS:
        values = np.array(getattr(got, ours), dtype=float)
        want = list(case[theirs])
        for i in failed:  # metafor's refit failed (NA); ours must converge
            assert math.isfinite(values[i])
            values[i] = math.nan
            want[i] = None
        assert_close(values, want, tol_for(case), f"{case['id']} {ours}")
    if failed:
        assert any(c["id"] == case["id"] + "-stepadj" for c in CASES)


@pytest.mark.parametrize("case", cases_of("leave1out"))
def test_leave_one_out_matches_metafor_leave1out(case):
    res = model(case["dataset"], case["method"], case["test"])
    loo = leave_one_out(res)
    assert loo.k == res.k and loo.studies == res.studies
    assert loo.test == ("t" if case["test"] == "knha" else "z")
    _check_series(loo, case)


@pytest.mark.parametrize("case", cases_of("cumul"))
def test_cumulative_matches_metafor_cumul(case):
    res = model(case["dataset"], case["method"], case["test"])
    order = None if case.get("order") is None else arr(case["order"])
    cum = cumulative(res, order=order)
    assert list(cum.studies) == case["slab"]
    _check_series(cum, case)


# ------------------------------------------------------------------------------ influence


@pytest.mark.parametrize("case", cases_of("influence"))
def test_influence_matches_metafor_influence(case):
    res = model(case["dataset"], case["method"], case["test"])
    inf = influence(res)
    failed = [i for i, x in enumerate(case["rstudent"]) if x is None]
    for name in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight",
                 "dfbs"):
        values = np.array(getattr(inf, name), dtype=float)
        want = list(case[name])
        for i in failed:
            assert math.isfinite(values[i])
            values[i], want[i] = math.nan, None
        assert_close(values, want, tol_for(case), f"{case['id']} {name}")
    flags = [bool(f) for f in inf.influential]
    for i, want in enumerate(case["is_infl"]):
        if want is not None:
            assert flags[i] == want, (case["id"], i)
    np.testing.assert_array_equal(inf.outlier, np.abs(inf.rstudent) > 1.959963984540054)


# ------------------------------------------------------------------------------ regtest


@pytest.mark.parametrize("case", cases_of("regtest"))
def test_regtest_matches_metafor_regtest(case):
    res = model(case["dataset"], case["method"], case["test"])
    r = regtest(res, model=case["model"], predictor=case["predictor"])
    rtol = tol_for(case) if case["model"] == "rma" else CLOSED_FORM
    assert_close(r.statistic, case["zval"], rtol, "zval")
    assert_close(r.p_value, case["pval"], rtol, "pval")
    assert_close(r.limit_estimate, case["est"], rtol, "est")
    assert_close(r.limit_ci_low, case["ci_lb"], rtol, "ci.lb")
    assert_close(r.limit_ci_high, case["ci_ub"], rtol, "ci.ub")
    if case["ddf"] is None:
        assert r.test == "z" and math.isinf(r.df)
    else:
        assert r.test == "t" and r.df == case["ddf"]
    if case["model"] == "rma":
        assert_close(r.tau2, case["fit_tau2"], rtol, "tau2 of the meta-regression")


# ------------------------------------------------------------------------------ ranktest


@pytest.mark.parametrize("case", cases_of("ranktest"))
def test_ranktest_matches_metafor_ranktest(case):
    r = ranktest(model(case["dataset"], case["method"], case["test"]))
    assert_close(r.tau, case["tau"], CLOSED_FORM, "tau")
    assert_close(r.p_value, case["pval"], CLOSED_FORM, "pval")
    assert r.exact == (case["dataset"] != "ties")


# ------------------------------------------------------------------------------ trimfill


@pytest.mark.parametrize("case", cases_of("trimfill"))
def test_trimfill_matches_metafor_trimfill(case):
    res = model(case["dataset"], case["method"], case["test"])
    tf = trimfill(res, estimator=case["estimator"], side=case["side_given"])
    assert tf.k0 == case["k0"] and tf.side == case["side"]
    assert tf.test == ("t" if case["fill_test"] == "knha" else "z")
    rtol = tol_for(case)
    assert_close(tf.se_k0, case["se_k0"], CLOSED_FORM, "se.k0")
    assert_close(tf.p_k0, case["p_k0"], CLOSED_FORM, "p.k0")
    assert_close(tf.yi, case["yi"], rtol, "filled yi")
    assert_close(tf.vi, case["vi"], CLOSED_FORM, "filled vi")
    assert [bool(f) for f in tf.filled] == case["fill"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("statistic", "zval"),
                         ("p_value", "pval"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("tau2", "tau2"), ("I2", "I2"), ("H2", "H2"), ("Q", "QE"),
                         ("Q_p", "QEp")]:
        assert_close(getattr(tf, ours), case[theirs], rtol, f"{case['id']} {ours}")


# ------------------------------------------------------------------------------ fsn


@pytest.mark.parametrize("case", cases_of("fsn"))
def test_fsn_matches_metafor_fsn(case):
    d = DATA[case["dataset"]]
    target = None if case["target_given"] is None else case["target_given"]
    f = fsn(yi=arr(d["yi"]), vi=arr(d["vi"]), type=case["type"], alpha=case["alpha"],
            target=target, weighted=case["weighted"], test=case["test"])
    assert f.fsnum == num(case["fsnum"]), (f.fsnum, case["fsnum"])
    assert_close(f.p_value, case["pval"], CLOSED_FORM, "pval")
    assert_close(f.mean_effect, case["meanes"], CLOSED_FORM, "meanes")
    assert_close(f.target, case["target"], CLOSED_FORM, "target")


# ------------------------------------------------------------------------------ PET-PEESE


@pytest.mark.parametrize("case", cases_of("pet_peese"))
def test_pet_peese_regressions_match_r_lm(case):
    pp = pet_peese(model(case["dataset"], "REML", "z"))
    for fit_, ref in ((pp.pet, case["pet"]), (pp.peese, case["peese"])):
        assert_close([fit_.intercept, fit_.slope], ref["est"], CLOSED_FORM, "coef")
        assert_close([fit_.intercept_se, fit_.slope_se], ref["se"], CLOSED_FORM, "se")
        assert_close([fit_.intercept_t, fit_.slope_t], ref["tval"], CLOSED_FORM, "t")
        assert_close([fit_.intercept_p, fit_.slope_p], ref["pval"], CLOSED_FORM, "p")
        assert fit_.df == ref["df"]
    assert pp.selected == ("PEESE" if pp.pet.intercept_p < 0.10 else "PET")
    chosen = pp.peese if pp.selected == "PEESE" else pp.pet
    assert pp.estimate == chosen.intercept


# ------------------------------------------------------------------------------ published numbers


def test_published_egger_classic_and_rma_on_egger2001():
    """metafor's regtest() example (dat.egger2001 without ISIS-4), at printed rounding."""
    res = model("egger2001_OR", "REML", "z")
    lm = regtest(res, model="lm")
    assert (round(lm.statistic, 4), round(lm.p_value, 4), lm.df) == (-3.1783, 0.0073, 13)
    assert (round(lm.limit_estimate, 4), round(lm.limit_ci_low, 4),
            round(lm.limit_ci_high, 4)) == (-0.1512, -0.5130, 0.2106)
    assert "t = -3.1783, df = 13, p = 0.0073" in lm.summary()
    rma = regtest(res)
    assert (round(rma.statistic, 4), round(rma.p_value, 4)) == (-2.8062, 0.0050)
    assert (round(rma.limit_estimate, 4), round(rma.limit_ci_low, 4),
            round(rma.limit_ci_high, 4)) == (-0.1639, -0.5681, 0.2402)


def test_published_begg_and_failsafe_on_bcg():
    """metafor's ranktest() and fsn() examples on dat.bcg (RR), at printed rounding."""
    res = model("bcg_RR", "REML", "z")
    r = ranktest(res)
    assert (round(r.tau, 4), round(r.p_value, 4)) == (0.0256, 0.9524)
    assert "Kendall's tau = 0.0256, p = 0.9524" in r.summary()
    assert fsn(res).n == 598
    assert "Fail-safe N: 598" in fsn(res).summary()
    assert fsn(yi=res.yi, type="Orwin", target=math.log(0.95)).n == 175
    assert fsn(res, type="Orwin", weighted=True, target=math.log(0.95)).n == \
        num(next(c for c in CASES if c["id"] == "fsn-06-bcg_RR-Orwin")["fsnum"])
    assert fsn(res, type="Rosenberg").n == 370


def test_published_trimfill_on_bcg():
    """metafor's trimfill() examples on dat.bcg (RR), at printed rounding."""
    fe = trimfill(model("bcg_RR", "FE", "z"))
    assert (fe.k0, fe.side, round(fe.se_k0, 4)) == (4, "right", 2.3853)
    assert (round(fe.estimate, 4), round(fe.se, 4), round(fe.Q, 4)) == (-0.2910, 0.0383, 262.7316)
    assert "missing studies on the right side: 4 (SE = 2.3853)" in fe.summary()
    r0 = trimfill(model("bcg_RR", "FE", "z"), estimator="R0")
    assert (r0.k0, round(r0.se_k0, 4), round(r0.p_k0, 4)) == (4, 3.1623, 0.0312)
    re = trimfill(model("bcg_RR", "REML", "z"))
    assert (re.k0, round(re.se_k0, 4), round(re.estimate, 4), round(re.tau2, 4)) == \
        (1, 2.4528, -0.6571, 0.3313)


def test_published_influence_first_row_on_bcg():
    inf = influence(model("bcg_RR", "REML", "z"))
    row = [round(float(getattr(inf, n)[0]), 4) for n in
           ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight")]
    assert row == [-0.2181, -0.0407, 0.0017, 1.1164, 0.3362, 151.5826, 0.0506, 5.0595]


# ------------------------------------------------------------------------------ properties

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
variances = st.floats(0.01, 1.0, allow_nan=False, allow_infinity=False)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def studies(draw, min_k=3, max_k=9):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return y, v


def _pool(y, v, method="REML", hksj=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(yi=y, vi=v, method=method, hksj=hksj)


@SETTINGS
@given(studies(min_k=2), st.sampled_from(["FE", "DL", "REML", "PM"]), st.booleans())
def test_leave_one_out_has_k_rows_each_a_refit_without_that_study(data, method, hksj):
    y, v = data
    res = _pool(y, v, method, hksj)
    loo = leave_one_out(res)
    assert len(loo.studies) == len(loo.estimate) == res.k
    i = len(y) - 1
    if res.k > 2:
        ref = _pool(y[:-1], v[:-1], method, hksj)
        assert loo.estimate[i] == pytest.approx(ref.estimate, **LEAVE_ONE_OUT)
        assert loo.ci_high[i] == pytest.approx(ref.ci_high, **LEAVE_ONE_OUT)
    assert len(leave_one_out_records(res)) == res.k


@SETTINGS
@given(studies(min_k=2), st.sampled_from(["FE", "DL", "REML", "ML"]), st.booleans())
def test_cumulative_last_step_equals_the_full_fit(data, method, hksj):
    y, v = data
    res = _pool(y, v, method, hksj)
    cum = cumulative(res)
    assert cum.estimate[-1] == pytest.approx(res.estimate, **REFIT_SAME_ORDER)
    assert cum.se[-1] == pytest.approx(res.se, **REFIT_SAME_ORDER)
    assert cum.tau2[-1] == pytest.approx(res.tau2, **REFIT_SAME_ORDER)
    assert cum.ci_low[-1] == pytest.approx(res.ci_low, **REFIT_SAME_ORDER)
    assert cum.estimate[0] == pytest.approx(y[0])  # one study: its own estimate


@SETTINGS
@given(studies(), st.sampled_from(["FE", "DL", "REML"]))
def test_trimfill_with_k0_zero_returns_the_original_estimate(data, method):
    y, v = data
    # an outlier far below, with the smallest weight: the most extreme deviation is negative,
    # so R0 trimming the right side finds no missing study
    y = np.append(y, y.min() - 100 * (np.ptp(y) + 1))
    v = np.append(v, v.max())
    res = _pool(y, v, method)
    tf = trimfill(res, estimator="R0", side="left")
    assert tf.k0 == 0
    assert tf.estimate == res.estimate and tf.filled_result is res
    assert not tf.filled.any() and len(tf.yi) == res.k


@SETTINGS
@given(studies(), st.sampled_from(["L0", "R0"]))
def test_trimfill_fills_k0_mirror_images(data, estimator):
    y, v = data
    assume(np.ptp(v) > 1e-6)
    res = _pool(y, v, "FE")
    try:
        tf = trimfill(res, estimator=estimator)
    except ModelError:  # R0 with no study below the trimmed estimate: metafor stops too
        assume(False)
    assert tf.filled.sum() == tf.k0 and len(tf.yi) == res.k + tf.k0
    np.testing.assert_array_equal(tf.yi[: res.k], res.yi)
    if tf.k0:
        # each filled study mirrors an observed one with the same variance
        fill_v = tf.vi[tf.filled]
        assert all(np.any(np.isclose(res.vi, fv, rtol=0, atol=0)) for fv in fill_v)
        assert tf.studies[-1] == f"Filled {tf.k0}"


@SETTINGS
@given(studies(), st.floats(1.0, 5.0))
def test_fsn_grows_with_more_significant_data(data, scale):
    y, v = data
    assume(abs(y.sum()) > 1e-3)
    for kind in ("Rosenthal", "Rosenberg"):
        assert fsn(yi=y * scale, vi=v, type=kind).fsnum >= fsn(yi=y, vi=v, type=kind).fsnum


@SETTINGS
@given(studies(min_k=3, max_k=12))
def test_rank_test_p_matches_scipy_exact_kendall(data):
    from scipy import stats

    x, y = data
    assume(len(np.unique(x)) == len(x) and len(np.unique(y)) == len(y))
    tau, _, p, exact = core.kendall_test(x, y)
    ref = stats.kendalltau(x, y, method="exact")
    assert exact
    assert tau == pytest.approx(ref.statistic, abs=ZERO)  # a ratio of integers
    assert p == pytest.approx(ref.pvalue, **EXACT_DISTRIBUTION)


@SETTINGS
@given(studies(min_k=3))
def test_classical_egger_equals_statsmodels_wls(data):
    import statsmodels.api as sm

    y, v = data
    assume(np.ptp(v) > 1e-3 and np.ptp(y) > 1e-3)
    r = regtest(_pool(y, v, "FE"), model="lm")
    X = sm.add_constant(np.sqrt(v))
    ref = sm.WLS(y, X, weights=1 / v).fit()
    assume(ref.ssr > 1e-8)  # a perfect fit has no residual variance (t undefined, as in R)
    assert r.statistic == pytest.approx(ref.tvalues[1], **OTHER_SOLVER)
    assert r.p_value == pytest.approx(ref.pvalues[1], **OTHER_SOLVER)
    assert r.limit_estimate == pytest.approx(ref.params[0], **OTHER_SOLVER)


@SETTINGS
@given(studies(min_k=3), st.sampled_from(["FE", "DL", "REML"]))
def test_influence_hat_and_weights_sum(data, method):
    y, v = data
    inf = influence(_pool(y, v, method))
    assert inf.hat.sum() == pytest.approx(1.0)
    assert inf.weight.sum() == pytest.approx(100.0)
    assert np.all(inf.cov_r > 0) and np.all(inf.cook_d >= 0)


def test_kendall_distribution_is_a_symmetric_probability():
    for n in (2, 5, 9):
        t = n * (n - 1) // 2
        assert core.kendall_cdf(t, n) == 1.0 and core.kendall_cdf(-1, n) == 0.0
        for q in range(t):
            assert core.kendall_cdf(q, n) == pytest.approx(1 - core.kendall_cdf(t - q - 1, n))


# ------------------------------------------------------------------------------ API details


def test_bias_summary_has_exactly_the_documented_keys():
    out = bias_summary(model("bcg_RR", "REML", "z"))
    assert tuple(out) == BIAS_KEYS
    assert set(out) == {"egger_stat", "egger_p", "egger_classic_t", "egger_classic_p",
                        "begg_tau", "begg_p", "trimfill_k0", "trimfill_side",
                        "trimfill_estimate", "failsafe_n"}
    assert out["failsafe_n"] == 598 and out["trimfill_k0"] == 1
    assert out["trimfill_side"] == "right"
    assert round(out["begg_tau"], 4) == 0.0256
    json.dumps(out)  # JSON-ready


def test_bias_summary_with_two_studies_gives_none_for_the_tests():
    out = bias_summary(_pool(np.array([0.1, 0.5]), np.array([0.04, 0.09])))
    assert tuple(out) == BIAS_KEYS
    assert out["egger_stat"] is None and out["begg_tau"] is None
    assert out["egger_classic_t"] is None and out["begg_p"] is None
    # fail-safe N needs no regression: it is reported, and equals fsn() on the same fit
    assert out["failsafe_n"] == fsn(_pool(np.array([0.1, 0.5]), np.array([0.04, 0.09]))).n


def test_leave_one_out_records_keys_and_percent_i2():
    recs = leave_one_out_records(model("bcg_RR", "REML", "z"))
    assert len(recs) == 13
    assert all(set(r) == {"study", "estimate", "ci_low", "ci_high", "tau2", "I2"} for r in recs)
    assert recs[0]["study"] == "Aronson 1948"
    assert round(recs[0]["I2"], 4) == 93.2259  # percent, as metafor
    json.dumps(recs)


def test_mantel_haenszel_result_is_refitted_as_fixed_effect():
    ai, n1i = [4, 6, 3, 62, 33], [123, 306, 231, 13598, 5069]
    ci, n2i = [11, 29, 11, 248, 47], [139, 303, 220, 12867, 5808]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mh = pool(measure="RR", method="MH", ai=ai, n1i=n1i, ci=ci, n2i=n2i)
        fe = pool(yi=mh.yi, vi=mh.vi, method="FE")
    loo = leave_one_out(mh)
    assert loo.method == "FE" and any("Mantel-Haenszel" in n for n in loo.notes)
    assert loo.estimate[0] == pytest.approx(leave_one_out(fe).estimate[0], rel=SECOND_ROUTE)


def test_summaries_frames_and_html_render():
    """Each result prints its own title, renders its frame as the HTML table (one row per
    frame row), and is frozen."""
    res = model("bcg_RR", "DL", "knha")
    tf, tf_r0 = trimfill(res), trimfill(res, estimator="R0")
    cases = [
        (leave_one_out(res), 13, "Leave-one-out analysis (k = 13; random-effects, tau^2 "
                                 "estimator: DL; Log Risk Ratio)"),
        (cumulative(res), 13, "Cumulative meta-analysis (k = 13; random-effects, tau^2 "
                              "estimator: DL; Log Risk Ratio)"),
        (influence(res), 13, "Influence diagnostics (k = 13; method: DL)"),
        (regtest(res), 1, "Regression Test for Funnel Plot Asymmetry"),
        (regtest(res, model="lm", predictor="vi"), 1, "Regression Test for Funnel Plot "
                                                       "Asymmetry"),
        (ranktest(res), 1, "Rank Correlation Test for Funnel Plot Asymmetry"),
        (tf, 13 + tf.k0, f"Estimated number of missing studies on the {tf.side} side: "
                         f"{tf.k0} (SE = {tf.se_k0:.4f})"),
        (tf_r0, 13 + tf_r0.k0, f"Estimated number of missing studies on the {tf_r0.side} "
                               f"side: {tf_r0.k0} (SE = {tf_r0.se_k0:.4f})"),
        (pet_peese(res), 2, "PET-PEESE (k = 13; weighted least squares, weights 1/vi)"),
        (fsn(res), 1, "Fail-safe N Calculation Using the Rosenthal Approach"),
        (fsn(res, type="Orwin"), 1, "Fail-safe N Calculation Using the Orwin Approach"),
        (fsn(res, type="Rosenberg"), 1, "Fail-safe N Calculation Using the Rosenberg Approach"),
    ]
    for obj, n_rows, title in cases:
        text = obj.summary()
        assert text.splitlines()[0] == title and str(obj) == text
        frame = obj.to_frame()
        assert len(frame) == n_rows, (title, len(frame))
        html = obj._repr_html_()
        assert html.startswith("<p><b>") and html.count("<tr") == n_rows + 1  # header + rows
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.k0 = 1  # frozen
    loo = cases[0][0].to_frame()
    np.testing.assert_array_equal(loo.estimate, leave_one_out(res).estimate)
    assert "tval" in leave_one_out(res).summary()
    assert "t = " in regtest(res).summary() and "df = 11" in regtest(res).summary()


def test_cumulative_order_is_stable_and_can_decrease():
    res = model("bcg_RR", "REML", "z")
    years = [int(s[-4:]) for s in DATA["bcg_RR"]["study"]]
    up = cumulative(res, order=years)
    assert up.studies[0] == "Aronson 1948" and up.studies[-1] == "TPT Madras 1980"
    # the two 1973 studies keep their input order in both directions (R's stable order())
    down = cumulative(res, order=years, decreasing=True)
    assert down.studies[0] == "TPT Madras 1980"
    i73 = [s for s in down.studies if s.endswith("1973")]
    assert i73 == ["Frimodt-Moller et al 1973", "Vandiviere et al 1973"]
    assert down.estimate[-1] == pytest.approx(res.estimate)
    with pytest.raises(ValueError):
        cumulative(res, order=[1, 2])


def test_trimfill_keep_test_uses_the_models_knapp_hartung():
    res = model("bcg_RR", "REML", "knha")
    assert trimfill(res).test == "z"  # metafor's refit
    kept = trimfill(res, keep_test=True)
    assert kept.test == "t" and kept.estimate == trimfill(res).estimate


def test_fsn_rejects_rem_and_needs_variances():
    with pytest.raises(NotImplementedError):
        fsn(yi=[0.1, 0.2], vi=[0.1, 0.1], type="REM")
    with pytest.raises(ValueError):
        fsn(yi=[0.1, 0.2], type="Rosenthal")
    assert fsn(yi=[0.5, 0.4], type="Orwin", target=0.0).fsnum == math.inf
