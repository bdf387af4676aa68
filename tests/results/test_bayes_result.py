"""The Bayesian result objects (acu_meta.results.bayes): every number is the engine's
(acu_meta.models.bayes.bayes_meta called directly, with the same arithmetic, so equality is
exact), the usable-study rule is pool's, the drawable shape holds the posterior rows, and the
text, frame and dict show the numbers unchanged. The network wrapper against the network
engine called directly."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import fixture_json
from tolerances import SAME_ARITHMETIC, SECOND_ROUTE

import acu_meta as am
from acu_meta.errors import InputError, ModelError
from acu_meta.models import _bayes_priors as P
from acu_meta.models.bayes import bayes_meta
from acu_meta.models.bayes_network import bayes_network as engine_network
from acu_meta.models.network import contrasts_from_arms
from acu_meta.results import BayesResult, PooledResult, bayes, bayes_network
from acu_meta.results._format import fmt

REF = fixture_json("metafor_reference.json")
BCG = REF["datasets"]["bcg"]
# Crins et al. (2014) acute rejection counts (bayesmeta's CrinsEtAl2014), one zero cell
CRINS = dict(ai=[14, 16, 3, 9, 4, 0], n1i=[61, 28, 18, 54, 36, 50],
             ci=[15, 19, 8, 29, 11, 3], n2i=[20, 28, 12, 54, 36, 34])
Y3 = [-0.2, 0.4, 0.1]
V3 = [0.0625, 0.09, 0.0225]


def _engine(yi, vi, tau, mu=None, level=0.95, labels=None):
    return bayes_meta(np.asarray(yi, float), np.sqrt(np.asarray(vi, float)), tau, mu,
                      labels=labels, level=level)


def _same(a, b):
    assert a == b or (math.isnan(a) and math.isnan(b)), (a, b)


def test_every_number_is_the_engines():
    res = bayes(yi=Y3, vi=V3, tau_prior="half-normal:0.5", mu_prior="normal:0,4",
                study=["a", "b", "c"])
    f = _engine(Y3, V3, "half-normal:0.5", "normal:0,4", labels=["a", "b", "c"])
    for name in ("tau", "mu", "theta_new"):
        mine, ref = getattr(res, name), getattr(f, name)
        for key in ("mode", "median", "mean", "sd"):
            _same(getattr(mine, key), getattr(ref, key))
        assert mine.central == ref.central and mine.shortest == ref.shortest
    assert (res.ci_low, res.ci_high) == f.mu.central
    assert (res.pi_low, res.pi_high) == f.theta_new.central
    assert (res.tau_low, res.tau_high) == f.tau.central
    np.testing.assert_array_equal(res.theta_median, f.theta["median"])
    np.testing.assert_array_equal(res.theta_mean, f.theta["mean"])
    np.testing.assert_array_equal(res.theta_sd, f.theta["sd"])
    np.testing.assert_array_equal(res.theta_low, f.theta["central_low"])
    np.testing.assert_array_equal(res.theta_high, f.theta["central_high"])
    assert list(res.theta_mode) == [f.mixture("theta", i).mode() for i in range(3)]
    assert res.marginal_likelihood == f.marginal_likelihood is not None
    assert res.bayes_factor_tau0 == f.bayes_factor_tau0 is not None
    assert res.bayes_factor_mu0 == f.bayes_factor_mu0 is not None
    assert res.ml == f.ml and res.map == f.map
    assert res.k == 3 and res.studies == ("a", "b", "c") and res.proper


def test_shortest_intervals_and_other_levels():
    res = bayes(yi=Y3, vi=V3, tau_prior="half-cauchy:0.5", interval="shortest", level=90)
    f = _engine(Y3, V3, "half-cauchy:0.5", level=0.90)
    assert res.level == 0.90
    assert (res.ci_low, res.ci_high) == f.mu.shortest
    assert (res.pi_low, res.pi_high) == f.theta_new.shortest
    assert (res.tau_low, res.tau_high) == f.tau.shortest
    for i in range(3):
        assert (res.theta_low[i], res.theta_high[i]) == f.post_interval("theta", 0.90,
                                                                        "shortest", i)
    # conf_int at any level: the posterior quantiles; checked through the CDF (second route)
    lo, hi = res.conf_int(80, kind="central")
    assert res.pposterior("mu", lo) == pytest.approx(0.10, abs=SECOND_ROUTE)
    assert res.pposterior("mu", hi) == pytest.approx(0.90, abs=SECOND_ROUTE)
    assert res.conf_int() == (res.ci_low, res.ci_high)
    assert res.conf_int(0.9, kind="shortest") == f.mu.shortest
    plo, phi = res.prediction_interval(80, "central")
    assert res.pposterior("theta_new", plo) == pytest.approx(0.10, abs=SECOND_ROUTE)
    assert res.pposterior("theta_new", phi) == pytest.approx(0.90, abs=SECOND_ROUTE)
    # the posterior functions are the engine's, study by index or label
    x = np.linspace(-1, 1, 7)
    np.testing.assert_array_equal(res.dposterior("theta", x, individual=1),
                                  f.dposterior("theta", x, individual=1))
    np.testing.assert_array_equal(res.dposterior("theta", x, individual="Study 2"),
                                  f.dposterior("theta", x, individual=1))
    assert res.qposterior("tau", 0.3) == f.qposterior("tau", 0.3)
    np.testing.assert_array_equal(res.dprior(x[x >= 0]), f.dprior(x[x >= 0]))


def test_the_drawable_shape_holds_the_posterior_rows():
    res = bayes(yi=Y3, vi=V3, tau_prior="half-normal:0.5", study=["a", "b", "c"])
    assert isinstance(res, PooledResult)
    pooled, pred = res.pooled_rows
    assert (pooled.kind, pooled.model, pooled.interval) == ("pooled", "bayesian", "95% CrI")
    assert (pooled.estimate, pooled.ci_low, pooled.ci_high) == (res.mu.median,
                                                                *res.mu.central)
    assert (pred.kind, pred.model, pred.interval) == ("prediction", "bayesian", "95% CrI")
    assert (pred.ci_low, pred.ci_high) == res.theta_new.central
    for text in (res.description, pooled.description):
        assert "half-normal(0.5)" in text and "flat" in text
    sr = res.study_rows
    assert sr.labels == ("a", "b", "c")
    np.testing.assert_array_equal(sr.yi, Y3)
    np.testing.assert_array_equal(sr.vi, V3)
    np.testing.assert_array_equal(sr.theta, res.theta_median)
    np.testing.assert_array_equal(sr.theta_low, res.theta_low)
    np.testing.assert_array_equal(sr.theta_high, res.theta_high)
    assert not sr.pooled  # no inverse-variance weights
    foot = dict(res.footer)
    assert foot["heterogeneity"] == (f"Heterogeneity: tau = {res.tau.median:.2f} (95% CrI "
                                     f"{res.tau.central[0]:.2f} to {res.tau.central[1]:.2f}; "
                                     "posterior median)")
    assert foot["priors"] == "Priors: tau ~ half-normal(0.5); mu ~ flat"
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.k = 4


def test_the_usable_study_rule_is_pools():
    yi, vi = [0.1, np.nan, 0.3, 0.2, 0.5], [0.1, 0.2, 0.0, 0.05, 0.08]
    with pytest.warns(UserWarning, match="excluded from the analysis") as rec:
        res = bayes(yi=yi, vi=vi, tau_prior="half-normal:1", study=list("ABCDE"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = am.pool(yi=yi, vi=vi, study=list("ABCDE"))
    assert rec[0].filename == __file__  # the warning points at the caller
    assert res.excluded == ref.excluded and [s for s, _ in res.excluded] == ["B", "C"]
    assert res.studies == ref.studies == ("A", "D", "E") and res.k == 3
    np.testing.assert_array_equal(res.yi, ref.yi)
    f = _engine(ref.yi, ref.vi, "half-normal:1", labels=ref.studies)
    assert res.mu.median == f.mu.median
    assert "Excluded: B: no usable effect size" in res.summary()
    with pytest.raises(ModelError, match="no study has a usable effect size"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bayes(yi=[np.nan], vi=[0.1], tau_prior="half-normal:1")


def test_arm_data_take_pools_effect_size_path():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bayes(measure="OR", tau_prior="half-normal:0.5", **CRINS)
        ref = am.pool(measure="OR", **CRINS)
    np.testing.assert_array_equal(res.yi, ref.yi)
    np.testing.assert_array_equal(res.vi, ref.vi)
    assert res.notes == ref.notes[:1] and "continuity correction" in res.notes[0]
    assert res.arms is not None and list(res.arms.ai) == CRINS["ai"]
    es = am.escalc("OR", **CRINS)
    assert bayes(es, tau_prior="half-normal:0.5").mu.median == res.mu.median


def test_bad_arguments_are_input_errors():
    for kw, msg in ((dict(interval="hpd"), "interval must be"),
                    (dict(level=0), "level must be"),
                    (dict(tau_prior="half-normal:0"), "half-normal scale"),
                    (dict(tau_prior="gamma:1,2"), "bad tau prior"),
                    (dict(mu_prior="cauchy:0,1"), "bad mu prior")):
        args = {"tau_prior": "half-normal:0.5", **kw}
        with pytest.raises(InputError, match=msg):
            bayes(yi=Y3, vi=V3, **args)
    with pytest.raises(TypeError):
        bayes(yi=Y3, vi=V3)  # the tau prior is never chosen silently


def test_prior_objects_and_literature_names():
    prior = P.log_t_tau2(-3.44, 2.59, 5)
    a = bayes(yi=Y3, vi=V3, tau_prior=prior)
    assert a.tau_prior is prior
    b = bayes(yi=Y3, vi=V3, tau_prior="roever2020-half-normal-0.5")
    c = bayes(yi=Y3, vi=V3, tau_prior="half-normal:0.5")
    assert b.tau_prior.name == "roever2020-half-normal-0.5"
    assert b.mu.median == c.mu.median and b.tau.central == c.tau.central


def test_summary_prints_the_numbers_unchanged():
    res = bayes(yi=Y3, vi=V3, tau_prior="half-normal:0.5", mu_prior="normal:0,4",
                study=["a", "b", "c"])
    text = res.summary()
    lines = text.splitlines()
    assert lines[0] == "Bayesian random-effects meta-analysis (k = 3; Generic)"
    assert "tau prior: half-normal(0.5) (proper)" in lines
    assert "mu prior:  normal(0, 4) (proper)" in lines
    row = {ln.split()[0]: ln.split()[1:] for ln in lines if ln.strip().startswith(
        ("mode", "median", "mean", "sd"))}
    assert row["median"] == [fmt(res.tau.median), fmt(res.mu.median), fmt(res.theta_new.median)]
    assert row["sd"] == [fmt(res.tau.sd), fmt(res.mu.sd), fmt(res.theta_new.sd)]
    low = next(ln for ln in lines if ln.strip().startswith("95% lower")).split()[2:]
    assert low == [fmt(res.tau.central[0]), fmt(res.mu.central[0]),
                   fmt(res.theta_new.central[0])]
    actual = next(ln for ln in lines if ln.strip().startswith("actual")).split()[1:]
    assert actual == [f"{res.bayes_factor_tau0:.4g}", f"{res.bayes_factor_mu0:.4g}"]
    assert f"marginal likelihood: {res.marginal_likelihood:.4g}" in lines
    for i, s in enumerate(res.studies):
        cells = next(ln for ln in lines if ln.split()[:1] == [s]).split()
        assert cells[4] == fmt(res.theta_median[i]) and cells[7] == fmt(res.theta_low[i])
    improper = bayes(yi=Y3, vi=V3, tau_prior="jeffreys").summary()
    assert "Bayes factors and marginal likelihood: not defined (improper prior)" in improper
    assert "tau prior: jeffreys (improper)" in improper
    html = res._repr_html_()
    assert "tau prior: half-normal(0.5) (proper)" in html and "<table" in html


def test_to_frame_and_to_dict_hold_the_same_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bayes(measure="OR", tau_prior="half-normal:0.5", **CRINS)
    fr = res.to_frame()
    assert list(fr.name) == ["tau", "mu", "theta_new", *res.studies]
    assert list(fr.row) == ["parameter"] * 3 + ["study"] * res.k
    mu = fr.set_index("name").loc["mu"]
    assert (mu["median"], mu.ci_low, mu.ci_high) == (res.mu.median, *res.mu.central)
    assert mu.exp_median == pytest.approx(math.exp(res.mu.median), rel=SAME_ARITHMETIC)
    assert math.isnan(fr.set_index("name").loc["tau"].exp_median)
    np.testing.assert_array_equal(fr["median"].to_numpy()[3:], res.theta_median)
    np.testing.assert_array_equal(fr["yi"].to_numpy()[3:], res.yi)
    d = res.to_dict()
    assert (d["mu_median"], d["mu_ci_low"], d["mu_ci_high"]) == (res.mu.median,
                                                                 *res.mu.central)
    assert (d["tau_median"], d["pred_ci_high"]) == (res.tau.median, res.theta_new.central[1])
    assert d["marginal_likelihood"] is None and d["bayes_factor_mu0"] is None  # flat mu prior
    assert d["tau_prior"] == "half-normal(0.5)" and d["mu_prior"] == "flat"
    assert d["k"] == 6 and d["excluded"] == []
    assert [s["theta_median"] for s in d["studies"]] == list(res.theta_median)
    # an infinite posterior sd is null in the dict
    heavy = bayes(yi=[0.1, 0.3], vi=[0.1, 0.1], tau_prior="jeffreys").to_dict()
    assert heavy["tau_sd"] is None and heavy["mu_sd"] is None


def test_a_ratio_summary_shows_exponentiated_rows():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bayes(measure="RR", ai=BCG["ai"], n1i=BCG["n1i"], ci=BCG["ci"], n2i=BCG["n2i"],
                    tau_prior="half-normal:1", study=BCG["study"])
    assert isinstance(res, BayesResult) and res.ratio
    lo, hi = res.conf_int(exp=True)
    assert f"Exponentiated: mu {fmt(math.exp(res.mu.median))} ({fmt(lo)} to {fmt(hi)})" \
        in res.summary()


# ---------------------------------------------------------------------------------- network

ARMS = pd.DataFrame({
    "study": ["s1", "s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4", "s5", "s5"],
    "treatment": ["A", "B", "C", "A", "B", "B", "C", "A", "C", "A", "B"],
    "events": [12, 8, 6, 20, 15, 9, 7, 30, 18, 11, 9],
    "n": [50, 50, 48, 80, 82, 40, 41, 100, 98, 45, 47],
})


def test_network_wrapper_is_the_engine():
    res = bayes_network(ARMS, measure="OR", tau_prior="half-normal:0.5", n_draws=2000,
                        larger_is_better=False)
    c, order = contrasts_from_arms("OR", ARMS.study, ARMS.treatment,
                                   events=ARMS.events.to_numpy(float), n=ARMS.n.to_numpy(float))
    f = engine_network(c, order, "half-normal:0.5", n_draws=2000, larger_is_better=False)
    assert res.treatments == tuple(order) == ("A", "B", "C") and res.reference == "A"
    assert res.n_studies == 5
    assert res.tau.median == f.tau.median and res.tau.central == f.tau.central
    lg = res.league().set_index(["treatment1", "treatment2"])
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            if i != j:
                assert lg.loc[(a, b), "median"] == f.league["median"][i, j]
                assert lg.loc[(a, b), "ci_low"] == f.league["low"][i, j]
                assert lg.loc[(a, b), "ci_high"] == f.league["high"][i, j]
    assert len(lg) == 6
    rp = res.rank_probabilities()
    np.testing.assert_array_equal(rp.to_numpy(), f.rank_probs)
    assert list(rp.columns) == ["rank 1", "rank 2", "rank 3"]
    np.testing.assert_allclose(rp.sum(axis=1), 1.0, rtol=SAME_ARITHMETIC)
    rk = res.ranking()
    np.testing.assert_array_equal(rk.p_best, f.p_best)
    np.testing.assert_array_equal(rk.sucra, f.sucra)
    fr = res.to_frame().set_index("treatment")
    assert fr.loc["B", "median"] == f.basic["B"].median and fr.loc["A", "median"] == 0.0
    ci = res.conf_int(90)
    assert tuple(ci.loc["C"]) == f.contrast_mixture("C", "A").central(0.9)
    cell = res.league_table().loc["B", "A"]
    m, lo, hi = (math.exp(f.league[k][1, 0]) for k in ("median", "low", "high"))
    assert cell == f"{m:.2f} ({lo:.2f}, {hi:.2f})"
    text = res.summary()
    assert "tau prior: half-normal(0.5) (proper)" in text and "smaller is better" in text
    assert "<table" in res._repr_html_()
    d = res.to_dict()
    assert d["tau_median"] == f.tau.median and len(d["league"]) == 6
