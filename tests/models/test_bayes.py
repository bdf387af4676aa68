"""The exact Bayesian NNHM engine (acu_meta.models.bayes) against brute-force quadrature,
bayesmeta 3.4, Röver 2020's printed Crins et al. (2014) example, and its own properties.

Brute force: the joint posterior p(mu, tau | y) ∝ p(mu) p(tau) prod N(y_i | mu, s_i^2 + tau^2)
(Röver 2020 eq. 9, the likelihood with mu NOT integrated out) is integrated on a tensor-product
Gauss-Legendre grid over (log tau, mu) that checks itself against a coarser rule
(``tests/_brute.py``). A quantile q of the engine is checked through the brute-force CDF:
|F_brute(q) - p| / density(q) is the distance to the brute-force quantile to first order.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from _brute import JointPosterior
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from tolerances import BRUTE_FORCE

from acu_meta.effects.escalc import escalc
from acu_meta.errors import InputError, ModelError
from acu_meta.models import _bayes_priors as P
from acu_meta.models import fit
from acu_meta.models.bayes import bayes_meta

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bayesmeta_reference.json"

BRUTE_TOL = BRUTE_FORCE

# ---------------------------------------------------------------------- data


def crins():
    """Crins et al. (2014), acute rejection, log-OR (bayesmeta's CrinsEtAl2014, Röver 2020
    Sec. 3.2), in bayesmeta's row order."""
    ea, et = [14, 16, 3, 9, 4, 0], [61, 28, 18, 54, 36, 50]
    ca, ct = [15, 19, 8, 29, 11, 3], [20, 28, 12, 54, 36, 34]
    es = escalc("OR", ai=ea, n1i=et, ci=ca, n2i=ct)
    return np.asarray(es.yi, float), np.sqrt(np.asarray(es.vi, float))


K2 = (np.array([0.1, 0.6]), np.array([0.2, 0.3]))
K3 = (np.array([-0.2, 0.4, 0.1]), np.array([0.25, 0.3, 0.15]))


def k30():
    rng = np.random.default_rng(20260101)
    s = rng.uniform(0.1, 0.5, 30)
    return rng.normal(0.3, np.sqrt(s**2 + 0.2**2)), s


# ---------------------------------------------------------------------- brute force


Brute = JointPosterior  # tests/_brute.py: the joint posterior on a Gauss-Legendre grid


CASES = {
    "crins-hn0.5-normal": (crins, P.half_normal(0.5), P.normal_mu(0, 4)),
    "k2-hc0.5-flat": (lambda: K2, P.half_cauchy(0.5), P.flat_mu()),
    "k3-rhodes-flat": (lambda: K3, P.log_t_tau2(-3.44, 2.59, 5), P.flat_mu()),
    "k3-jeffreys-flat": (lambda: K3, P.jeffreys(), P.flat_mu()),
    "k3-uniform-improper-flat": (lambda: K3, P.improper_uniform(), P.flat_mu()),
    "k2-turner-normal": (lambda: K2, P.log_normal_tau2(-2.56, 1.74), P.normal_mu(0, 2)),
    "k3-uniform02-flat": (lambda: K3, P.uniform(2.0), P.flat_mu()),
    "k2-exp2-flat": (lambda: K2, P.exponential(2.0), P.flat_mu()),
    "k3-halft-normal": (lambda: K3, P.half_t(0.5, 3), P.normal_mu(0, 1)),
}


#: flat mu prior and a posterior tail of tau ~ tau^-3 or heavier: E[tau^2 | y] is infinite, so
#: is Var(mu | y) (sigma_hat(tau)^2 ~ tau^2 / k); brute force truncated at tau = e^150 finds
#: a large finite number there.
INFINITE_VARIANCE = {"k2-hc0.5-flat", "k3-jeffreys-flat", "k3-uniform-improper-flat"}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    data, tp, mp = CASES[request.param]
    y, s = data()
    return request.param, bayes_meta(y, s, tp, mp), Brute(y, s, tp, mp)


def _check_quantile(brute_cdf, q, p, dens):
    dist = abs(brute_cdf(q) - p) / dens
    assert dist < BRUTE_TOL, (q, p, dist)


def test_mu_against_brute_force(case):
    name, f, b = case
    mean = b.E(lambda m, t: m)
    sd = math.sqrt(b.E(lambda m, t: (m - mean) ** 2))
    assert f.mu.mean == pytest.approx(mean, abs=BRUTE_TOL)
    if name in INFINITE_VARIANCE:  # E[tau^2 | y] = inf makes Var(mu | y) infinite
        assert math.isinf(f.mu.sd)
    else:
        assert f.mu.sd == pytest.approx(sd, abs=BRUTE_TOL)
    for p in (0.025, 0.5, 0.975):
        q = f.qposterior("mu", p)
        _check_quantile(b.cdf_mu, q, p, f.dposterior("mu", q))


def test_tau_against_brute_force(case):
    name, f, b = case
    if math.isfinite(f.tau.mean):
        mean = b.E(lambda m, t: t)
        assert f.tau.mean == pytest.approx(mean, abs=BRUTE_TOL)
    if math.isfinite(f.tau.sd):
        m2 = b.E(lambda m, t: t * t)
        assert f.tau.sd == pytest.approx(math.sqrt(m2 - f.tau.mean**2), abs=BRUTE_TOL)
    for p in (0.025, 0.5, 0.975):
        q = f.qposterior("tau", p)
        _check_quantile(b.cdf_tau, q, p, f.dposterior("tau", q))


def test_prediction_and_shrinkage_against_brute_force(case):
    """theta_new's 97.5% quantile and study 1's shrinkage mean and median: a normal CDF (or
    mean) of theta given (mu, tau) integrated over the joint posterior, on every case."""
    name, f, b = case
    q = f.qposterior("theta_new", 0.975)
    cdf = b.normal_cdf_mean(q, lambda t: 0.0 * t, lambda t: 1.0 + 0.0 * t, lambda t: t)
    assert abs(cdf - 0.975) / f.dposterior("theta_new", q) < BRUTE_TOL
    y, s = b.y, b.s
    i = 0
    # theta_i | mu, tau, y_i ~ N((1 - B) y_i + B mu, s_i^2 (1 - B)), B = s_i^2 / (s_i^2 + tau^2)

    def B(t):
        return s[i] ** 2 / (s[i] ** 2 + t**2)

    mean = b.E(lambda m, t: (1 - B(t)) * y[i] + B(t) * m)
    assert f.theta["mean"][i] == pytest.approx(mean, abs=BRUTE_TOL)
    q = f.theta["median"][i]
    cdf = b.normal_cdf_mean(q, lambda t: (1 - B(t)) * y[i], B,
                            lambda t: np.sqrt(s[i] ** 2 * (1 - B(t))))
    assert abs(cdf - 0.5) / f.dposterior("theta", q, individual=i) < BRUTE_TOL


def test_marginal_likelihood_against_brute_force(case):
    name, f, b = case
    if not f.proper:
        assert f.marginal_likelihood is None and f.bayes_factor_tau0 is None
        return
    assert math.log(f.marginal_likelihood) == pytest.approx(b.log_marginal_likelihood(),
                                                            abs=1e-8)
    # BF(tau = 0) = p(y | tau = 0) / p(y): p(y | tau = 0) by quad over mu alone
    y, s, mp = b.y, b.s, b.mp
    p0 = integrate.quad(lambda m: math.exp(float(mp.logpdf(np.array(m))) + float(np.sum(
        stats.norm.logpdf(y, m, s)))), -np.inf, np.inf, epsabs=0, epsrel=1e-12)[0]
    assert f.bayes_factor_tau0 == pytest.approx(p0 / f.marginal_likelihood, rel=1e-7)
    # BF(mu = 0) = p(y | mu = 0) / p(y): p(y | mu = 0) by quad over tau alone
    tp = b.tp

    def g(t):
        tau = math.exp(t)
        return math.exp(float(tp.logpdf(np.array(tau), s)) + float(np.sum(
            stats.norm.logpdf(y, 0.0, np.sqrt(s**2 + tau**2))))) * tau

    t_hi = math.log(tp.upper) if math.isfinite(tp.upper) else 150.0
    pm0 = integrate.quad(g, -150.0, t_hi, epsabs=0, epsrel=1e-12, limit=400)[0]
    assert f.bayes_factor_mu0 == pytest.approx(pm0 / f.marginal_likelihood, rel=1e-7)


def test_tau_density_integrates_to_one(case):
    name, f, b = case
    up = f.tau_prior.upper

    def g(t):
        return float(f.dposterior("tau", math.exp(t))) * math.exp(t)

    total = integrate.quad(g, -150.0, math.log(up) if math.isfinite(up) else 150.0,
                           epsabs=0, epsrel=1e-12, limit=400)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    assert f.quad_error < 1e-10


# ---------------------------------------------------------------------- Röver 2020's example


def test_crins_example_printed_in_roever2020():
    """Röver 2020, Sec. 3.3 (p. 21-22 and 25): ma01 = bayesmeta(crins.es, mu.prior.mean = 0,
    mu.prior.sd = 4, tau.prior = half-normal(0.5)). Printed to 7 digits; bayesmeta's mixture
    (DIRECT, delta = 1%) carries ~1e-4 error for mu, so mu is compared at 5e-4 and tau
    (integrate(), tolerance ~1e-11) at 1e-6."""
    y, s = crins()
    f = bayes_meta(y, s, P.half_normal(0.5), P.normal_mu(0, 4))
    # tau: "marginal posterior summary", p. 22
    assert f.tau.mode == pytest.approx(0.2453139, abs=2e-6)
    assert f.tau.median == pytest.approx(0.3445022, abs=1e-6)
    assert f.tau.mean == pytest.approx(0.3810562, abs=1e-6)
    assert f.tau.sd == pytest.approx(0.2593672, abs=1e-6)
    assert f.tau.shortest[0] == 0.0
    assert f.tau.shortest[1] == pytest.approx(0.8607193, abs=1e-6)  # ma01$summary, p. 23
    # p. 25: 1 - pposterior(tau = 1) and qposterior(tau.p = 0.99)
    assert 1 - f.pposterior("tau", 1.0) == pytest.approx(0.02097488, abs=1e-8)
    assert f.qposterior("tau", 0.99) == pytest.approx(1.109186, abs=1e-6)
    # mu (p. 22): bayesmeta's DIRECT mixture
    assert f.mu.median == pytest.approx(-1.5734823, abs=5e-4)
    assert f.mu.mean == pytest.approx(-1.5764366, abs=5e-4)
    assert f.mu.sd == pytest.approx(0.3295298, abs=5e-4)
    assert f.mu.shortest[0] == pytest.approx(-2.2312306, abs=5e-4)
    assert f.mu.shortest[1] == pytest.approx(-0.9264079, abs=5e-4)
    assert f.theta_new.shortest[0] == pytest.approx(-2.7661319, abs=2e-3)
    assert f.theta_new.shortest[1] == pytest.approx(-0.4072970, abs=2e-3)
    # ML / MAP (p. 21): bayesmeta's optimizers stop at ~1e-5 in tau; its joint-ML mu
    # (-1.578262) is 8e-5 from the exact conditional maximizer at its own tau (-1.578340),
    # so the joint mu values are compared at 1e-4
    assert f.ml["joint"][0] == pytest.approx(0.32581341, abs=2e-5)
    assert f.ml["joint"][1] == pytest.approx(-1.578262, abs=1e-4)
    assert f.ml["marginal"][0] == pytest.approx(0.46441292, abs=2e-5)
    assert f.ml["marginal"][1] == pytest.approx(-1.578003, abs=1e-4)
    assert f.map["marginal"][0] == pytest.approx(0.24531385, abs=2e-6)
    assert f.map["marginal"][1] == pytest.approx(-1.569122, abs=1e-4)
    assert f.map["joint"][0] == pytest.approx(0.08690907, abs=2e-5)
    assert f.map["joint"][1] == pytest.approx(-1.559376, abs=1e-4)


# ---------------------------------------------------------------------- properties


def test_point_mass_prior_equals_frequentist_fixed_tau_fit():
    y, s = crins()
    for tau0 in (0.0, 0.3, 1.7):
        f = bayes_meta(y, s, P.point_mass(tau0))
        ref = fit(y, s**2, tau2=tau0**2)
        assert f.mu.mean == pytest.approx(float(ref.beta[0]), abs=1e-12)
        assert f.mu.sd == pytest.approx(math.sqrt(float(ref.vb[0, 0])), rel=1e-12)
        z = stats.norm.ppf(0.975)
        assert f.mu.central[1] == pytest.approx(ref.beta[0] + z * math.sqrt(ref.vb[0, 0]),
                                                abs=1e-9)
        assert f.tau.median == tau0


def test_wide_normal_mu_prior_is_the_flat_limit():
    y, s = K3
    flat = bayes_meta(y, s, P.half_normal(0.5), P.flat_mu())
    wide = bayes_meta(y, s, P.half_normal(0.5), P.normal_mu(0, 1e5))
    for a, b in ((flat.mu, wide.mu), (flat.tau, wide.tau), (flat.theta_new, wide.theta_new)):
        assert a.median == pytest.approx(b.median, abs=1e-8)
        assert a.sd == pytest.approx(b.sd, abs=1e-8)
        assert a.central[0] == pytest.approx(b.central[0], abs=1e-8)


def test_log_t_prior_works_on_small_k():
    """bayesmeta's integrate() fails for the log-t prior on some k = 3 and 6 sets; the log-tau
    axis has no difficulty with the prior's polynomial tail in log tau (pole at tau = 0)."""
    rng = np.random.default_rng(7)
    for k in (3, 6):
        for _ in range(2):
            s = rng.uniform(0.05, 0.6, k)
            y = rng.normal(0, np.sqrt(s**2 + 0.1))
            f = bayes_meta(y, s, P.log_t_tau2(-3.44, 2.59, 5))
            assert f.quad_error < 1e-10
            assert 0 <= f.tau.central[0] < f.tau.median < f.tau.central[1]
            assert f.pposterior("tau", f.tau.median) == pytest.approx(0.5, abs=1e-10)


def test_improper_posterior_is_detected():
    y, s = K2
    with pytest.raises(ModelError, match="improper"):
        bayes_meta(y, s, P.improper_uniform())  # k = 2, flat mu: tail tau^-1
    with pytest.raises(ModelError, match="improper"):
        bayes_meta(y, s, P.custom(lambda t: 1 / np.maximum(t, 1e-300), proper=False))
    # with a proper mu prior, k = 2 and the uniform prior are fine (Röver 2020, Table 1)
    f = bayes_meta(y, s, P.improper_uniform(), P.normal_mu(0, 1))
    assert f.marginal_likelihood is None
    assert math.isinf(f.tau.mean)


def test_heavy_tails_give_infinite_moments():
    y, s = K3
    f = bayes_meta(y, s, P.improper_uniform())  # tail tau^-2: mean infinite, median finite
    assert math.isinf(f.tau.mean) and math.isfinite(f.tau.median)
    g = bayes_meta(y[:1], s[:1], P.half_cauchy(1.0))  # k = 1: posterior = prior
    assert g.tau.median == pytest.approx(1.0, rel=1e-9)
    assert math.isinf(g.tau.mean)


def test_custom_prior_equals_the_named_family():
    y, s = K3
    a = bayes_meta(y, s, P.half_normal(0.7), P.normal_mu(0, 3))
    b = bayes_meta(y, s, P.custom(lambda t: stats.halfnorm.pdf(t, scale=0.7), proper=True),
                   P.normal_mu(0, 3))
    assert a.mu.median == pytest.approx(b.mu.median, abs=1e-12)
    assert a.tau.central[1] == pytest.approx(b.tau.central[1], abs=1e-12)
    assert a.marginal_likelihood == pytest.approx(b.marginal_likelihood, rel=1e-12)


def test_intervals_of_any_level_and_cdf_quantile_roundtrip():
    y, s = crins()
    f = bayes_meta(y, s, P.half_cauchy(0.5), labels=[f"s{i}" for i in range(6)])
    for level in (0.5, 0.9, 0.99):
        lo, hi = f.post_interval("mu", level, "shortest")
        assert f.pposterior("mu", hi) - f.pposterior("mu", lo) == pytest.approx(level, abs=1e-10)
        assert f.dposterior("mu", lo) == pytest.approx(f.dposterior("mu", hi), rel=1e-6)
        clo, chi = f.post_interval("mu", level, "central")
        assert hi - lo <= chi - clo + 1e-12
        tlo, thi = f.post_interval("tau", level, "shortest")
        assert f.pposterior("tau", thi) - f.pposterior("tau", tlo) == pytest.approx(level,
                                                                                     abs=1e-10)
    p = np.array([0.001, 0.2, 0.7, 0.999])
    for par in ("tau", "mu", "theta_new"):
        assert np.allclose(f.pposterior(par, f.qposterior(par, p)), p, atol=1e-11)
    i = f.qposterior("theta", 0.3, individual="s2")
    assert f.pposterior("theta", i, individual=2) == pytest.approx(0.3, abs=1e-11)


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(st.floats(-2, 2), st.floats(0.05, 1.0)), min_size=2, max_size=5),
       st.floats(0.1, 2.0))
def test_property_tau_cdf_is_monotone_and_mu_mean_is_between_the_data(rows, scale):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    f = bayes_meta(y, s, P.half_normal(scale))
    x = np.linspace(0, 5 * scale, 50)
    F = f.pposterior("tau", x)
    assert np.all(np.diff(F) >= -1e-14)
    assert y.min() - 1e-9 <= f.mu.mean <= y.max() + 1e-9
    assert f.tau.central[0] <= f.tau.median <= f.tau.central[1]


def test_bad_input():
    with pytest.raises(InputError):
        bayes_meta([1.0, 2.0], [0.1, -0.1], "half-normal:0.5")
    with pytest.raises(InputError):
        bayes_meta([1.0, 2.0], [0.1], "half-normal:0.5")
    with pytest.raises(InputError, match="bad tau prior"):
        bayes_meta([1.0, 2.0], [0.1, 0.2], "half-normal:abc")


def test_run_time_k3_and_k30(capsys):
    y, s = K3
    t = time.perf_counter()
    bayes_meta(y, s, "half-normal:0.5")
    t3 = time.perf_counter() - t
    y, s = k30()
    t = time.perf_counter()
    bayes_meta(y, s, "half-normal:0.5")
    t30 = time.perf_counter() - t
    with capsys.disabled():
        print(f"\nbayes_meta run time: k=3 {t3:.3f}s, k=30 {t30:.3f}s")
    assert t3 < 5 and t30 < 20  # generous: the machine is shared


# ---------------------------------------------------------------------- bayesmeta fixture

# Tolerances against bayesmeta 3.4 (tests/fixtures/bayesmeta_reference.json, written with
# delta = 1e-4, epsilon = 1e-7 and the default integrate() tolerance 2^16 eps). This engine's
# own accuracy is fixed by the brute-force tests above (measured: <= 2e-10 on every quantity);
# these bounds are bayesmeta's accuracy, in units of the posterior sd ("scale"; the 95%
# central width where the sd is infinite):
#
# * tau: integrate() / uniroot() at ~1.5e-11 relative, so TAU_TOL = 1e-8 (measured max 6e-10).
#   Its mode comes from optimize() and misses a mode at the end of a bounded support (the
#   uniform(0, 2) prior with huge heterogeneity: bayesmeta 1.98398, exact 2, density 6.01 vs
#   6.54), so a mode at a support end only has to have the larger density; others match to
#   TAU_MODE_TOL = 2.5e-4, twice optimize()'s default tolerance .Machine$double.eps^0.25.
#   Shortest intervals must cover 95%, be no wider than bayesmeta's and match it to
#   SHORTEST_TOL = 1e-3 (measured 6e-4, where bayesmeta's interval is the wider).
# * mu, theta_new, theta_i: bayesmeta's DIRECT mixture (Röver & Friede 2017) bounds the
#   Kullback-Leibler divergence of neighbouring components by delta and cuts the tau tails at
#   epsilon. Measured max differences: quantiles / intervals 4.4e-4, theta_i 2.1e-4, modes
#   8e-5, means / medians 2.2e-5 (x scale), densities 9e-5 of the maximum, CDFs 2.7e-5
#   absolute, and sds 4.4e-3 relative (heavy-tailed cases, where the epsilon cut of the tau
#   tail removes variance). MIX_TOL = 1e-3, MIX_DENS_TOL = 2e-4, MIX_CDF_TOL = 1e-4,
#   MIX_SD_RTOL = 1e-2.
# * marginal likelihood and Bayes factors: integrate(), measured 9e-13 relative: ML_RTOL 1e-9.
# * joint ML / MAP: optim() Nelder-Mead at default tolerances (measured 4.2e-3 x scale): ours
#   must be at least as good an optimum (objective >= bayesmeta's) and within OPTIM_TOL = 1e-2.
TAU_TOL = 1e-8
TAU_MODE_TOL = 2.5e-4
SHORTEST_TOL = 1e-3
MIX_TOL = 1e-3
MIX_DENS_TOL = 2e-4
MIX_CDF_TOL = 1e-4
MIX_SD_RTOL = 1e-2
ML_RTOL = 1e-9
OPTIM_TOL = 1e-2


def _prior_from_fixture(d):
    fam = d["family"].lower()
    if fam == "half-normal":
        return P.half_normal(d["scale"])
    if fam == "half-cauchy":
        return P.half_cauchy(d["scale"])
    if fam == "half-t":
        return P.half_t(d["scale"], d["df"])
    if fam == "exponential":
        return P.exponential(d["rate"])
    if fam == "uniform" and "upper" in d:
        return P.uniform(d["upper"], d.get("lower", 0.0))
    if fam in ("uniform", "improper-uniform", "uniform-improper"):
        return P.improper_uniform()
    if fam in ("log-normal", "turner"):
        return P.log_normal_tau2(d["mu"], d["sigma"])
    if fam in ("log-t", "rhodes"):
        return P.log_t_tau2(d["location"], d["scale"], d.get("df", 5))
    if fam == "jeffreys":
        return P.jeffreys()
    raise AssertionError(f"unknown fixture prior {d}")


def _mu_prior_from_fixture(d):
    if d is None or d.get("family", "flat") in ("flat", "uniform", None):
        return P.flat_mu()
    return P.normal_mu(d["mean"], d["sd"])


def _fixture_cases():
    if not FIXTURE.exists():
        return []
    return json.loads(FIXTURE.read_text())["cases"]


FIXTURE_CASES = _fixture_cases()


def _fit_fixture_case(c):
    return bayes_meta(c["yi"], c["sei"], _prior_from_fixture(c["tau_prior"]),
                      _mu_prior_from_fixture(c.get("mu_prior")), labels=c.get("labels"))


def _scale(summary):
    return summary.sd if math.isfinite(summary.sd) else summary.central[1] - summary.central[0]


def _check_tau(c, f):
    ref, mine, sc = c["summary"]["tau"], f.tau, _scale(f.tau)
    for key in ("median", "mean", "sd"):
        if ref[key] is not None and math.isfinite(getattr(mine, key)):
            assert abs(getattr(mine, key) - ref[key]) <= TAU_TOL * sc, (c["id"], key)
    for m, r in zip(mine.central, ref["central"], strict=True):
        assert abs(m - r) <= TAU_TOL * sc, (c["id"], "central")
    if mine.mode in (0.0, f.tau_prior.upper):
        assert f.dposterior("tau", mine.mode) >= f.dposterior("tau", ref["mode"]), c["id"]
    else:
        assert abs(mine.mode - ref["mode"]) <= TAU_MODE_TOL, (c["id"], "mode")
    lo, hi = mine.shortest
    rlo, rhi = ref["shortest"]
    assert f.pposterior("tau", hi) - f.pposterior("tau", lo) == pytest.approx(0.95, abs=1e-9)
    assert hi - lo <= rhi - rlo + 1e-9 * sc, c["id"]
    assert abs(lo - rlo) <= SHORTEST_TOL * sc and abs(hi - rhi) <= SHORTEST_TOL * sc, c["id"]
    p = np.asarray(c["quantiles"]["p"], float)
    assert np.all(np.abs(f.qposterior("tau", p) - np.asarray(c["quantiles"]["tau"], float))
                  <= TAU_TOL * sc), c["id"]
    x = np.asarray(c["density"]["tau"]["x"], float)
    d = np.asarray(c["density"]["tau"]["d"], float)
    assert np.allclose(f.dposterior("tau", x), d, rtol=TAU_TOL, atol=TAU_TOL * d.max())
    x = np.asarray(c["cdf"]["tau"]["x"], float)
    assert np.allclose(f.pposterior("tau", x), c["cdf"]["tau"]["p"], rtol=0, atol=TAU_TOL)


#: The committed bayesmeta grid (validation/bayesmeta/reference.R): the test fails if a
#: regenerated fixture has fewer cases, prior families, datasets or literature priors.
BAYESMETA_GRID = {"n_cases": 105, "n_literature_priors": 154, "families": 10, "datasets": 14}


def test_bayesmeta_fixture_grid_does_not_shrink():
    fx = json.loads(FIXTURE.read_text())
    g = fx["grid"]
    assert len(fx["cases"]) == g["n_cases"] >= BAYESMETA_GRID["n_cases"]
    assert len(fx["literature_priors"]) == g["n_literature_priors"]
    assert g["n_literature_priors"] >= BAYESMETA_GRID["n_literature_priors"]
    assert len(g["families"]) >= BAYESMETA_GRID["families"]
    assert len(g["datasets"]) >= BAYESMETA_GRID["datasets"]
    fams = {c["tau_prior"]["family"] for c in fx["cases"]}
    assert set(g["families"]) <= fams
    assert {c["mu_prior"]["family"] for c in fx["cases"]} == {"flat", "normal"}


def _check_mixtures(c, f):
    p = np.asarray(c["quantiles"]["p"], float)
    for par in ("mu", "theta_new"):
        ref, mine = c["summary"][par], getattr(f, par)
        sc = _scale(mine)
        for key in ("mode", "median", "mean"):
            assert abs(getattr(mine, key) - ref[key]) <= MIX_TOL * sc, (c["id"], par, key)
        if ref["sd"] is not None and math.isfinite(mine.sd):
            assert mine.sd == pytest.approx(ref["sd"], rel=MIX_SD_RTOL), (c["id"], par)
        for key in ("central", "shortest"):
            for m, r in zip(getattr(mine, key), ref[key], strict=True):
                assert abs(m - r) <= MIX_TOL * sc, (c["id"], par, key)
        q = np.asarray(c["quantiles"][par], float)
        assert np.all(np.abs(f.qposterior(par, p) - q) <= MIX_TOL * sc), (c["id"], par)
        x = np.asarray(c["density"][par]["x"], float)
        d = np.asarray(c["density"][par]["d"], float)
        assert np.all(np.abs(f.dposterior(par, x) - d) <= MIX_DENS_TOL * d.max()), c["id"]
        x = np.asarray(c["cdf"][par]["x"], float)
        pr = np.asarray(c["cdf"][par]["p"], float)
        assert np.all(np.abs(f.pposterior(par, x) - pr) <= MIX_CDF_TOL), (c["id"], par)
    th = c["theta"]
    sd = np.asarray(th["sd"], float)
    for key in ("median", "mean", "sd", "central_low", "central_high"):
        assert np.all(np.abs(f.theta[key] - np.asarray(th[key], float)) <= MIX_TOL * sd), (
            c["id"], key)


def _check_marginal_likelihood_and_bayes_factors(c, f):
    ml = c.get("marginal_likelihood")
    if ml is None:
        assert not f.proper and f.marginal_likelihood is None, c["id"]
        return
    assert f.marginal_likelihood == pytest.approx(ml, rel=ML_RTOL), c["id"]
    assert f.bayes_factor_tau0 == pytest.approx(c["bayes_factor_tau0"], rel=ML_RTOL)
    assert f.bayes_factor_mu0 == pytest.approx(c["bayes_factor_mu0"], rel=ML_RTOL)


def _log_joint(f, tau, mu, with_prior):
    val = math.log(float(f.likelihood(np.array(tau), np.array(mu))))
    if with_prior:
        val += float(f.mu_prior.logpdf(np.array(mu))) + math.log(float(f.dprior(np.array(tau))))
    return val


def _check_joint_ml_and_map(c, f):
    sc = max(_scale(f.mu), _scale(f.tau))
    for key, mine, with_prior in (("ml", f.ml["joint"], False), ("map", f.map["joint"], True)):
        ref = c.get(key)
        if not ref or ref.get("tau") is None:
            continue
        assert _log_joint(f, *mine, with_prior) >= _log_joint(f, ref["tau"], ref["mu"],
                                                             with_prior) - 1e-9, c["id"]
        assert abs(mine[0] - ref["tau"]) <= OPTIM_TOL * sc, (c["id"], key)
        assert abs(mine[1] - ref["mu"]) <= OPTIM_TOL * sc, (c["id"], key)


#: the cases bayesmeta could not fit whose posterior of tau is also checked by an independent
#: 1-d quadrature (the first three of the fixture)
FAILED_QUAD_CHECKED = [c["id"] for c in FIXTURE_CASES if c.get("error")][:3]


def _check_where_bayesmeta_failed(c, f):
    """bayesmeta 3.4 fails on the log-t and Rhodes priors (integrate(): 'extremely bad
    integrand behaviour', 'the integral is probably divergent', roundoff) for k = 2, 3, 6 and
    the Crins / normand data, and on Jeffreys with k = 2; every one of those cases fits here
    to the stated tolerance, and (three of them) its posterior is checked by direct
    quadrature."""
    assert f.quad_error < 1e-10, c["id"]
    assert f.pposterior("tau", f.tau.median) == pytest.approx(0.5, abs=1e-10)
    assert f.pposterior("mu", f.mu.median) == pytest.approx(0.5, abs=1e-10)
    if c["id"] not in FAILED_QUAD_CHECKED:
        return
    # an independent 1-d quadrature of p(tau) p(y | tau) on log tau
    from acu_meta.models.bayes import _log_marglik
    y, s = np.asarray(c["yi"], float), np.asarray(c["sei"], float)

    def q(t):
        tau = math.exp(t)
        return math.exp(float(f.tau_prior.logpdf(np.array(tau), s)) + float(
            _log_marglik(np.array(tau), y, s**2, f.mu_prior))) * tau

    pts = list(np.linspace(-40.0, 10.0, 26))
    Z = integrate.quad(q, -150.0, 150.0, points=pts, epsabs=0, epsrel=1e-12, limit=500)[0]
    F = integrate.quad(q, -150.0, math.log(f.tau.median), points=[p for p in pts if p <
                       math.log(f.tau.median)], epsabs=0, epsrel=1e-12, limit=500)[0] / Z
    assert F == pytest.approx(0.5, abs=1e-9), c["id"]


@pytest.mark.parametrize("c", FIXTURE_CASES, ids=[c["id"] for c in FIXTURE_CASES])
def test_bayesmeta_fixture_case(c):
    """One bayesmeta case (one fit): tau, the mu / theta_new / theta_i mixtures, marginal
    likelihood and Bayes factors, joint ML and MAP; a case bayesmeta failed on is checked
    on its own terms (``_check_where_bayesmeta_failed``)."""
    f = _fit_fixture_case(c)
    if c.get("error"):
        _check_where_bayesmeta_failed(c, f)
        return
    _check_tau(c, f)
    _check_mixtures(c, f)
    _check_marginal_likelihood_and_bayes_factors(c, f)
    _check_joint_ml_and_map(c, f)


def test_bayesmeta_fixture_cases_are_all_tests():
    """Every fixture case is a test above, and the fixture has what the checks need: >= 10
    cases with a marginal likelihood, >= 20 where bayesmeta failed (each one is fitted)."""
    cases = json.loads(FIXTURE.read_text())["cases"]
    assert [c["id"] for c in cases] == [c["id"] for c in FIXTURE_CASES]
    assert len({c["id"] for c in cases}) == len(cases)
    ok = [c for c in cases if not c.get("error")]
    assert sum(1 for c in ok if c.get("marginal_likelihood") is not None) >= 10
    assert sum(1 for c in cases if c.get("error")) >= 20
    assert len(FAILED_QUAD_CHECKED) == 3


# ---------------------------------------------------------------------- laziness


def test_summaries_are_lazy_and_do_not_depend_on_access_order():
    """Summaries, shrinkage estimates and ML/MAP rows are computed on first access (issue #11):
    a fit computes none of them; each value is the same whichever is read first; they are
    immutable."""
    y, s = crins()
    a = bayes_meta(y, s, P.half_normal(0.5), P.normal_mu(0, 4))
    b = bayes_meta(y, s, P.half_normal(0.5), P.normal_mu(0, 4))
    for par in ("tau", "mu", "theta_new"):
        assert not {"mode", "median", "shortest"} & set(vars(getattr(a, par))), par
    fields = ("mode", "median", "mean", "sd", "central", "shortest")
    for par in ("tau", "mu", "theta_new"):  # a: in order; b: in reverse order
        va = [getattr(getattr(a, par), n) for n in fields]
        vb = [getattr(getattr(b, par), n) for n in reversed(fields)][::-1]
        assert va == vb, par
    assert dict(b.map) == dict(a.map) and dict(b.ml) == dict(a.ml)
    assert all(np.array_equal(a.theta[key], b.theta[key]) for key in a.theta)
    assert a.mu == b.mu and a.tau != a.mu
    with pytest.raises(AttributeError):
        a.mu.median = 0.0
    # the lazily computed mode is the mixture's mode, and the MAP row reuses it
    assert a.map["marginal"] == (a.tau.mode, a.mu.mode)
    assert a.mu.mode == a.mixture("mu").mode()
