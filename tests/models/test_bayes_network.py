"""Exact Bayesian network meta-analysis with a common tau (acu_meta.models.bayes_network):
reduction to the pairwise engine, to the frequentist network at a fixed tau, the marginal
likelihood against direct numerical integration over the basic parameters, and the ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from acu_meta.models import _bayes_priors as P
from acu_meta.models.bayes import bayes_meta
from acu_meta.models.bayes_network import _gls_batch, bayes_network
from acu_meta.models.network import (
    contrasts_from_table,
    design_matrix,
    fit_network,
    study_correlation,
)


def two_treatment():
    y = np.array([-0.2, 0.4, 0.1])
    s = np.array([0.25, 0.3, 0.15])
    c, order = contrasts_from_table(["a", "b", "c"], ["B"] * 3, ["A"] * 3, y, s**2,
                                    reference="A")
    return c, order, y, s


def three_treatment():
    """A three-arm study (s1: B and C vs A, covariance 0.02) and three two-arm studies."""
    study = ["s1", "s1", "s2", "s3", "s4", "s5"]
    t1 = ["B", "C", "B", "C", "C", "B"]
    t2 = ["A", "A", "A", "B", "A", "A"]
    yi = [0.30, 0.55, 0.10, 0.20, 0.70, 0.45]
    vi = [0.05, 0.06, 0.04, 0.05, 0.08, 0.03]
    cov = [0.02, 0.02, np.nan, np.nan, np.nan, np.nan]
    return contrasts_from_table(study, t1, t2, yi, vi, cov=cov, reference="A")


def test_two_treatment_network_equals_pairwise_model():
    c, order, y, s = two_treatment()
    for prior in (P.half_normal(0.5), P.half_cauchy(0.3), P.log_t_tau2(-3.44, 2.59, 5)):
        net = bayes_network(c, order, prior)
        pw = bayes_meta(y, s, prior)
        b = net.basic["B"]
        assert b.median == pytest.approx(pw.mu.median, abs=1e-9)
        assert b.mean == pytest.approx(pw.mu.mean, abs=1e-9)
        assert b.sd == pytest.approx(pw.mu.sd, abs=1e-9)
        assert b.central[0] == pytest.approx(pw.mu.central[0], abs=1e-9)
        assert b.shortest[1] == pytest.approx(pw.mu.shortest[1], abs=1e-8)
        assert net.tau.median == pytest.approx(pw.tau.median, abs=1e-9)
        assert net.tau.central[1] == pytest.approx(pw.tau.central[1], abs=1e-9)
        # prediction: tau^2 added to the contrast's conditional variance
        pred = net.contrast_mixture("B", "A", predictive=True)
        assert pred.ppf(0.975) == pytest.approx(pw.theta_new.central[1], abs=1e-9)
        # P(B best) with larger_is_better is P(d_B > 0): Monte Carlo within 5 SE
        exact = 1 - pw.pposterior("mu", 0.0)
        se = math.sqrt(exact * (1 - exact) / net.n_draws)
        assert abs(net.p_best[1] - exact) < 5 * se + 1e-12


def test_point_mass_equals_frequentist_network_at_that_tau():
    c, order = three_treatment()
    for tau0 in (0.0, 0.15, 0.4):
        net = bayes_network(c, order, P.point_mass(tau0))
        ref = fit_network(c, order, tau2=tau0**2)
        for j, t in enumerate(order[1:]):
            assert net.basic[t].mean == pytest.approx(ref.beta[j], abs=1e-12)
            assert net.basic[t].median == pytest.approx(ref.beta[j], abs=1e-10)
            assert net.basic[t].sd == pytest.approx(math.sqrt(ref.vb[j, j]), rel=1e-10)
        # league: C - B
        i, j = order.index("C"), order.index("B")
        est = ref.beta[1] - ref.beta[0]
        se = math.sqrt(ref.vb[0, 0] + ref.vb[1, 1] - 2 * ref.vb[0, 1])
        assert net.league["mean"][i, j] == pytest.approx(est, abs=1e-12)
        assert net.league["sd"][i, j] == pytest.approx(se, rel=1e-10)
        assert net.league["high"][i, j] == pytest.approx(est + stats.norm.ppf(0.975) * se,
                                                         abs=1e-9)


def test_marginal_likelihood_against_integration_over_the_basic_parameters():
    """log p(y | tau) with d integrated out (flat prior), against dblquad over d (p = 2)."""
    c, order = three_treatment()
    X, R = design_matrix(c, order), study_correlation(c)
    y, V = c.yi, c.V
    for tau in (0.0, 0.3):
        S = V + tau**2 * R
        mvn = stats.multivariate_normal(np.zeros(len(y)), S)
        d_hat, _, ll = _gls_batch(np.array([tau]), y, V, R, X)
        r0 = y - X @ d_hat[0]
        c0 = mvn.logpdf(r0)
        # the MVN log density relative to its value at r0 is -(r' S^-1 r - r0' S^-1 r0) / 2:
        # a quadratic form per call instead of scipy's multivariate_normal.logpdf (whose
        # per-call overhead dominated the 2-d quadrature)
        Si = np.linalg.inv(S)
        q0 = float(r0 @ Si @ r0)

        def f(b, a, Si=Si, q0=q0):
            r = y - X @ np.array([a, b])
            return math.exp(-0.5 * (float(r @ Si @ r) - q0))

        val = integrate.dblquad(f, -3, 4, -3, 4, epsabs=0, epsrel=1e-10)[0]
        assert ll[0] == pytest.approx(math.log(val) + c0, abs=1e-8)


def test_tau_posterior_against_direct_quadrature():
    c, order = three_treatment()
    prior = P.half_normal(0.5)
    net = bayes_network(c, order, prior)
    X, R = design_matrix(c, order), study_correlation(c)

    def q(t):
        return math.exp(float(prior.logpdf(t)) + float(_gls_batch(np.array([t]), c.yi, c.V, R,
                                                                   X)[2][0]))

    Z = integrate.quad(q, 0, np.inf, epsabs=0, epsrel=1e-12)[0]
    med = net.tau.median
    F = integrate.quad(q, 0, med, epsabs=0, epsrel=1e-12)[0] / Z
    assert abs(F - 0.5) / net.dposterior(med) < 1e-7
    mean = integrate.quad(lambda t: t * q(t), 0, np.inf, epsabs=0, epsrel=1e-12)[0] / Z
    assert net.tau.mean == pytest.approx(mean, abs=1e-8)
    # a contrast's mean: E[d_C - d_B] = integral of the conditional GLS mean
    def g(t):
        d = _gls_batch(np.array([t]), c.yi, c.V, R, X)[0][0]
        return (d[1] - d[0]) * q(t)

    m = integrate.quad(g, 0, np.inf, epsabs=0, epsrel=1e-12)[0] / Z
    i, j = order.index("C"), order.index("B")
    assert net.league["mean"][i, j] == pytest.approx(m, abs=1e-8)


def test_ranks_are_probabilities_and_the_direction_reverses_them():
    c, order = three_treatment()
    up = bayes_network(c, order, "half-normal:0.5", larger_is_better=True, seed=3)
    down = bayes_network(c, order, "half-normal:0.5", larger_is_better=False, seed=3)
    assert np.allclose(up.rank_probs.sum(axis=1), 1, atol=1e-12)
    assert np.allclose(up.rank_probs.sum(axis=0), 1, atol=1e-12)
    assert np.allclose(up.rank_probs, down.rank_probs[:, ::-1], atol=1e-12)
    assert np.allclose(up.sucra, 1 - down.sucra, atol=1e-12)
    assert np.all((up.sucra >= 0) & (up.sucra <= 1))
    # C has the largest effects in these data: best when larger is better
    assert int(np.argmax(up.p_best)) == order.index("C")
    # league antisymmetry
    L = up.league
    assert np.allclose(L["mean"], -L["mean"].T, equal_nan=True)
    assert np.allclose(L["low"], -L["high"].T, equal_nan=True)


def test_same_seed_same_ranks():
    c, order = three_treatment()
    a = bayes_network(c, order, "half-normal:0.5", seed=11, n_draws=2000)
    b = bayes_network(c, order, "half-normal:0.5", seed=11, n_draws=2000)
    assert np.array_equal(a.rank_probs, b.rank_probs)
