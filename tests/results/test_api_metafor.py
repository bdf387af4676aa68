"""The metafor-style API (issue #14) against metafor 3.8.1 on dat.bcg: a DataFrame in,
``mods = ~ ablat + factor(alloc)``, ``predict(newmods, transf = exp)``, ``anova(res, btt)``,
``anova(full, reduced)`` (ML and REML), ``residuals``/``rstandard``, ``logLik``/``AIC``/``BIC``,
``confint`` at another level, and ``permutest`` (exact on six studies; random permutations
within Monte Carlo error of the exact p-value).

Fixture: ``tests/fixtures/metafor_api.json``, written by ``validation/metafor/api_reference.R``.
Every quantity is also checked by a second route inside acu_meta (the formula design against
explicit indicator columns; predict against ``X beta``; the Wald test of all moderators against
the fit's QM; the LRT against its definition from the two log-likelihoods).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import fixture_json
from _metafor import REF, assert_close
from tolerances import CLOSED_FORM, ITERATIVE, SAME_ENGINE, SECOND_ROUTE

import acu_meta as am
from acu_meta.errors import InputError

API = fixture_json("metafor_api.json")


def bcg() -> pd.DataFrame:
    """dat.bcg with metadat's column names (from the committed metafor fixture)."""
    d = REF["datasets"]["bcg"]
    return pd.DataFrame({"author": d["study"], "tpos": d["ai"], "tneg": d["bi"],
                         "cpos": d["ci"], "cneg": d["di"], "ablat": d["mod"],
                         "alloc": d["group"]})


def es_bcg():
    return am.escalc("RR", data=bcg(), ai="tpos", bi="tneg", ci="cpos", di="cneg",
                     slab="author")


def fit(method="REML", mods="~ ablat + C(alloc)", **kw):
    return am.metareg(es_bcg(), mods, method=method, **kw)


def _all(got, want, tol, what):
    got = np.atleast_1d(np.asarray(got, dtype=float))
    assert len(got) == len(want), what
    for g, w in zip(got, want, strict=True):
        assert_close(float(g), w, tol, what)


def _newmods():
    n = API["newmods"]
    return np.column_stack([n["ablat"], n["random"], n["systematic"]])


@pytest.mark.parametrize("key,hksj", [("reml", False), ("knha", True)])
def test_formula_fit_matches_metafor(key, hksj):
    ref = API[key]
    res = fit(test="knha" if hksj else "z")
    assert res.names == ("intrcpt", "ablat", "C(alloc)[T.random]", "C(alloc)[T.systematic]")
    _all(res.beta, ref["beta"], ITERATIVE, "beta")
    _all(res.se, ref["se"], ITERATIVE, "se")
    _all(res.vb.T.ravel(), ref["vb"], ITERATIVE, "vb")
    assert_close(res.tau2, ref["tau2"], ITERATIVE, "tau2")
    assert_close(res.QM, ref["QM"], ITERATIVE, "QM")
    assert_close(res.QM_p, ref["QMp"], ITERATIVE, "QMp")
    assert_close(res.ll, ref["ll"], ITERATIVE, "ll")
    assert_close(res.AIC, ref["AIC"], ITERATIVE, "AIC")
    assert_close(res.BIC, ref["BIC"], ITERATIVE, "BIC")
    # second route: the same model with indicator columns built by hand
    df = bcg()
    X = np.column_stack([df.ablat, df.alloc == "random", df.alloc == "systematic"]).astype(float)
    by_hand = am.metareg(es_bcg(), X, hksj=hksj)
    np.testing.assert_allclose(res.beta, by_hand.beta, rtol=SAME_ENGINE)
    assert res.QM == pytest.approx(by_hand.QM, rel=SAME_ENGINE)


def test_conf_int_at_another_level_matches_metafor():
    ref = API["reml"]
    ci = fit().conf_int(level=90)
    _all(ci.ci_low, ref["ci90_lb"], ITERATIVE, "ci.lb 90%")
    _all(ci.ci_high, ref["ci90_ub"], ITERATIVE, "ci.ub 90%")
    assert np.allclose(fit().conf_int(0.90), ci)  # the one level convention


@pytest.mark.parametrize("key", ["reml", "knha"])
def test_predict_newmods_matches_metafor(key):
    ref = API[key]
    res = fit(test="knha" if key == "knha" else "z")
    p = res.predict(_newmods())
    for name in ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
        rname = {"ci_low": "ci_lb", "ci_high": "ci_ub", "pi_low": "pi_lb",
                 "pi_high": "pi_ub"}.get(name, name)
        _all(getattr(p, name), ref["predict"][rname], ITERATIVE, name)
    # second route: X beta with the intercept column
    X = np.column_stack([np.ones(3), _newmods()])
    np.testing.assert_allclose(p.pred, X @ res.beta, rtol=SECOND_ROUTE)


def test_predict_transf_exp_and_dataframe_newmods():
    ref = API["reml"]["predict_exp"]
    res = fit()
    p = res.predict(_newmods(), transf=np.exp)
    _all(p.pred, ref["pred"], ITERATIVE, "exp pred")
    _all(p.ci_low, ref["ci_lb"], ITERATIVE, "exp ci.lb")
    _all(p.pi_high, ref["pi_ub"], ITERATIVE, "exp pi.ub")
    assert np.all(np.isnan(p.se))  # metafor drops the SE of a transformed prediction
    # newmods as the variables of the formula: coded as in the fit
    new = pd.DataFrame({"ablat": [10, 30, 50], "alloc": ["alternate", "random", "systematic"]})
    q = res.predict(new, transf=np.exp)
    np.testing.assert_allclose(q.pred, p.pred, rtol=SECOND_ROUTE)


def test_anova_wald_matches_metafor():
    res = fit()
    a2 = res.anova(btt="ablat")
    assert_close(a2.QM, API["reml"]["anova_btt2"]["QM"], ITERATIVE, "QM btt=2")
    assert_close(a2.p_value, API["reml"]["anova_btt2"]["QMp"], ITERATIVE, "QMp btt=2")
    a34 = am.anova(res, btt="alloc")  # metafor's grep on the names
    assert a34.terms == ("C(alloc)[T.random]", "C(alloc)[T.systematic]")
    assert_close(a34.QM, API["reml"]["anova_btt34"]["QM"], ITERATIVE, "QM btt=3:4")
    assert am.anova(res, btt=[2, 3]).QM == a34.QM  # positions (0 = intercept)
    # the default is the omnibus test of the fit
    assert am.anova(res).QM == pytest.approx(res.QM, rel=SECOND_ROUTE)
    # single coefficient: QM = z^2 (the intercept too, on the original scale)
    assert a2.QM == pytest.approx(res.statistic[1] ** 2, rel=SECOND_ROUTE)
    assert am.anova(res, btt=0).QM == pytest.approx(res.statistic[0] ** 2, rel=SECOND_ROUTE)
    with pytest.raises(InputError, match="intercept"):
        am.permutest(res, btt=[0, 1])
    with pytest.raises(InputError, match="matches no coefficient"):
        am.anova(res, btt="year")
    k = fit(test="knha").anova(btt="alloc")
    assert k.test == "F"
    assert_close(k.QM, API["knha"]["anova_btt34"]["QM"], ITERATIVE, "F btt=3:4")
    assert_close(k.p_value, API["knha"]["anova_btt34"]["QMp"], ITERATIVE, "F p btt=3:4")


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_anova_full_reduced_lrt_matches_metafor(method):
    ref = API[f"lrt_{method.lower()}"]
    full = fit(method)
    reduced = fit(method, mods="ablat")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        a = am.anova(full, reduced)
    assert (method == "REML") == any("REML" in str(x.message) for x in w)
    assert_close(a.LRT, ref["LRT"], ITERATIVE, "LRT")
    assert_close(a.p_value, ref["pval"], ITERATIVE, "LRT p")
    assert (a.parms_full, a.parms_reduced) == (ref["parms_f"], ref["parms_r"])
    assert_close(a.ll_full, ref["ll_f"], ITERATIVE, "ll full")
    assert_close(a.ll_reduced, ref["ll_r"], ITERATIVE, "ll reduced")
    assert_close(a.R2, ref["R2"], ITERATIVE, "R2")
    # second route: the definition, and the order of the two models does not matter
    assert a.LRT == pytest.approx(2 * (full.ll - reduced.ll), rel=SECOND_ROUTE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert am.anova(reduced, full).LRT == a.LRT


def test_residuals_and_rstandard_match_metafor():
    ref = API["reml"]
    res = fit()
    _all(res.residuals(), ref["residuals"], ITERATIVE, "resid")
    rs = res.rstandard()
    for col in ("resid", "se", "z"):
        _all(rs[col], ref["rstandard"][col], ITERATIVE, f"rstandard {col}")
    assert list(rs.index) == list(bcg().author)
    re = am.pool(es_bcg())
    ref0 = API["intercept_only"]
    _all(re.residuals(), ref0["residuals"], ITERATIVE, "resid (intercept only)")
    for col in ("resid", "se", "z"):
        _all(re.rstandard()[col], ref0["rstandard"][col], ITERATIVE, f"rstandard {col}")
    # second route: the intercept-only regression gives the same standardized residuals
    np.testing.assert_allclose(am.metareg(es_bcg(), None).rstandard().z, re.rstandard().z,
                               rtol=1e-9)


def _six(method):
    es = es_bcg().subset(np.arange(13) < 6)
    return am.metareg(es, "~ ablat", method=method)


@pytest.mark.parametrize("method,key", [("REML", ""), ("FE", "fe_")])
def test_exact_permutest_matches_metafor(method, key):
    ref = API["permutest_exact"]
    res = _six(method)
    p = res.permutest(exact=True)
    assert p.exact and p.n_permutations == math.factorial(6)
    assert_close(p.QM_p, ref[f"{key}QMp"], CLOSED_FORM, "exact QMp")
    _all(p.p_value, ref[f"{key}pval"], CLOSED_FORM, "exact pval")
    assert p.mc_se == 0.0


def test_random_permutest_within_monte_carlo_error_of_exact():
    res = _six("FE")
    exact = res.permutest(exact=True).QM_p
    p = am.permutest(res, iter=400, exact=False, seed=1)
    assert not p.exact and p.n_permutations == 400
    assert abs(p.QM_p - exact) < 4 * math.sqrt(exact * (1 - exact) / 400) + 1 / 400
    assert p.mc_se == pytest.approx(math.sqrt(p.QM_p * (1 - p.QM_p) / 400))
    assert am.permutest(res, iter=400, exact=False, seed=1).QM_p == p.QM_p  # seeded
