"""Brute-force integration of the normal-normal hierarchical model's joint posterior, the
second route behind the exact Bayesian engine (tests/models/test_bayes.py,
tests/analyses/test_answer.py).

The integrand is the joint posterior with mu NOT integrated out (Röver 2020 eq. 9):

    p(mu, tau | y)  ∝  p(mu) p(tau) prod_i N(y_i | mu, s_i^2 + tau^2),

over t = log tau (dtau = tau dt) and z, with mu = c(t) + d(t) z. Nothing of the engine is
used: not its marginal likelihood (eq. 13 / 15), not its tau rule, not its mixtures. The
substitution's centre and scale are mu's conditional mean and sd given tau, written out here
(any centre and scale give the same integral; these put the z nodes where the mass is, so the
z integrand is a standard normal shape however narrow or far off-centre mu's conditional
distribution is).

Rule: a tensor product of Gauss-Legendre panels, vectorized with numpy. t: 20 nodes on each
of ~200 panels over [-150, 150] (width 0.2 in the bulk, -12 < t < 8; wider towards the ends,
where heavy-tailed posteriors still put mass; cut at the prior's upper bound and at a CDF
argument). z: 64 nodes on [-Z_SPAN, min(z_hi, Z_SPAN)] (a normal integrand: the rule is exact
to rounding there). Each integral is also taken with 10 nodes per t panel; the two must agree
to ``RULE_AGREEMENT`` (relative), or the integral raises: a rule too coarse for a posterior
fails loudly instead of passing a wrong value. The previous reference, nested adaptive
``scipy.integrate.quad`` (relative tolerance 1e-10), took ~10 s a suite; on every case of
tests/models/test_bayes.py the two agree to better than 1e-9 (issue #11 note).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

Z_SPAN = 12.0  # the normal z integrand beyond 12 sd: < 1e-32 of its mass
RULE_AGREEMENT = 1e-10
_GL = {n: np.polynomial.legendre.leggauss(n) for n in (10, 20, 64)}
_LOG_2PI = math.log(2 * math.pi)


def _t_edges(t_hi: float) -> np.ndarray:
    edges = np.unique(np.concatenate([
        np.linspace(-150.0, -40.0, 12), np.linspace(-40.0, -12.0, 29),
        np.linspace(-12.0, 8.0, 101), np.linspace(8.0, 40.0, 33), np.linspace(40.0, 150.0, 12)]))
    inside = edges[edges < t_hi]
    return np.append(inside, t_hi) if t_hi > inside[-1] else inside


def _nodes(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = _GL[n]
    a, b = edges[:-1, None], edges[1:, None]
    half = (b - a) / 2
    return (a + half * (x + 1)).ravel(), (half * w).ravel()


class JointPosterior:
    """The joint posterior of (mu, tau) for estimates *y* with standard errors *s*, a tau
    prior (an :class:`acu_meta.models._bayes_priors.TauPrior`) and a mu prior (flat when
    ``mu_prior`` is None or improper)."""

    def __init__(self, y, s, tau_prior, mu_prior=None):
        self.y, self.s = np.asarray(y, float), np.asarray(s, float)
        self.tp, self.mp = tau_prior, mu_prior
        proper = mu_prior is not None and mu_prior.proper
        self._pm = float(mu_prior.mean) if proper else 0.0
        self._psd = float(mu_prior.sd) if proper else math.inf
        self.c = 0.0
        t_hi = math.log(self.tp.upper) if math.isfinite(self.tp.upper) else 150.0
        tau = np.exp(_nodes(_t_edges(t_hi), 10)[0])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            peak = self._log_joint(tau[:, None], self._centre(tau)[0][:, None])
        self.c = float(np.max(peak[np.isfinite(peak)]))  # the scale: exp(log joint - c) <= ~1
        self.Z = self.integral()

    # ----------------------------------------------------------------- the raw joint

    def _log_joint(self, tau, mu):
        """log p(mu) + log p(tau) + log prod N(y_i | mu, s_i^2 + tau^2) - c; tau (T, 1),
        mu (T, Z)."""
        v = self.s**2 + tau[..., None] ** 2  # (T, 1, k)
        r = self.y - mu[..., None]
        ll = -0.5 * np.sum(_LOG_2PI + np.log(v) + r * r / v, axis=-1)
        lp = np.asarray(self.tp.logpdf(tau.ravel(), self.s), float).reshape(tau.shape)
        lm = 0.0
        if math.isfinite(self._psd):
            lm = -0.5 * ((mu - self._pm) / self._psd) ** 2 - math.log(
                self._psd * math.sqrt(2 * math.pi))
        return lp + lm + ll - self.c

    def _centre(self, tau):
        """mu's conditional mean and sd given tau: the substitution only (see the module)."""
        prec = 1.0 / (self.s**2 + tau[:, None] ** 2)
        sw = prec.sum(axis=1) + (1.0 / self._psd**2 if math.isfinite(self._psd) else 0.0)
        swy = (prec * self.y).sum(axis=1) + (
            self._pm / self._psd**2 if math.isfinite(self._psd) else 0.0)
        return swy / sw, 1.0 / np.sqrt(sw)

    def _t_integral(self, g, mu_hi, n_t, mu_at, t_hi=150.0):
        """integral over t of (integral over z of g * joint * d) * tau."""
        if math.isfinite(self.tp.upper):
            t_hi = min(t_hi, math.log(self.tp.upper))
        t, wt = _nodes(_t_edges(t_hi), n_t)
        tau = np.exp(t)
        if mu_at is not None:  # the mu density at one point: no z integral
            mu = np.full((len(t), 1), float(mu_at))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                f = np.exp(self._log_joint(tau[:, None], mu))[:, 0]
            return float(np.sum(np.where(wt > 0, f * tau * wt, 0.0)))
        m, d = self._centre(tau)
        lo = np.full_like(t, -Z_SPAN)
        hi = np.full_like(t, Z_SPAN) if mu_hi is None else np.clip((mu_hi - m) / d, -Z_SPAN,
                                                                     Z_SPAN)
        x, w = _GL[64]
        half = (hi - lo)[:, None] / 2
        z = lo[:, None] + half * (x + 1)
        mu = m[:, None] + d[:, None] * z
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = np.exp(self._log_joint(tau[:, None], mu))
            gv = np.broadcast_to(np.asarray(g(t, tau[:, None], mu, d, z), float), f.shape)
            inner = np.sum(np.where(f > 0, gv * f, 0.0) * half * w, axis=1) * d
        return float(np.sum(inner * tau * wt))

    # ----------------------------------------------------------------- what the tests ask

    def integral(self, g=None, mu_hi=None, tau_hi=None):
        """Integral of ``g(mu, tau)`` (numpy-vectorized; 1 when None) times the joint
        posterior, mu below *mu_hi* and tau below *tau_hi* when given; in units of exp(c)."""
        def gg(t, tau, mu, d, z):
            return 1.0 if g is None else g(mu, tau)

        t_hi = math.log(tau_hi) if tau_hi is not None else 150.0
        fine = self._t_integral(gg, mu_hi, 20, None, t_hi)
        coarse = self._t_integral(gg, mu_hi, 10, None, t_hi)
        scale = getattr(self, "Z", abs(fine)) or 1.0
        assert abs(fine - coarse) <= RULE_AGREEMENT * max(scale, abs(fine)), (fine, coarse)
        return fine

    def E(self, g):
        """Posterior expectation of ``g(mu, tau)``."""
        return self.integral(g) / self.Z

    def cdf_mu(self, q):
        return self.integral(mu_hi=q) / self.Z

    def cdf_tau(self, q):
        return self.integral(tau_hi=q) / self.Z

    def normal_cdf_mean(self, q, a, b, sd):
        """Posterior mean of ``Phi((q - a - b mu) / sd)`` with ``a, b > 0, sd`` functions of
        tau: P(theta <= q) for a theta that is normal given (mu, tau), as theta_new (a = 0,
        b = 1, sd = tau) and a study's shrunken theta_i.

        As tau -> 0 the integrand is a step in mu of width sd / b, which no fixed rule
        resolves. Where that width is below mu's conditional sd it is split exactly:
        ``1{mu < mu*}`` (a cut of the z rule at mu* = (q - a) / b) plus
        ``Phi((mu* - mu) b / sd) - 1{mu < mu*}``, integrated over u = (mu - mu*) b / sd on
        [-Z_SPAN, 0] and [0, Z_SPAN], where both pieces are smooth."""
        def run(n_t):
            t_hi = math.log(self.tp.upper) if math.isfinite(self.tp.upper) else 150.0
            t, wt = _nodes(_t_edges(t_hi), n_t)
            tau = np.exp(t)
            m, d = self._centre(tau)
            star = (q - a(tau)) / b(tau)
            width = sd(tau) / b(tau)
            x, w = _GL[64]

            def inner(lo, hi, mu_of, g):  # sum over a 64-node rule on [lo, hi] per t node
                half = (hi - lo)[:, None] / 2
                node = lo[:, None] + half * (x + 1)
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    f = np.exp(self._log_joint(tau[:, None], mu_of(node)))
                    return np.sum(np.where(f > 0, g(node) * f, 0.0) * half * w, axis=1)

            span = np.full_like(t, Z_SPAN)
            smooth = d * inner(-span, span, lambda z: m[:, None] + d[:, None] * z,
                               lambda z: special.ndtr((star[:, None] - m[:, None]
                                                       - d[:, None] * z) / width[:, None]))
            cut = d * inner(-span, np.clip((star - m) / d, -Z_SPAN, Z_SPAN),
                            lambda z: m[:, None] + d[:, None] * z, lambda z: 1.0)
            step = [width * inner(lo, hi, lambda u: star[:, None] + width[:, None] * u,
                                  lambda u, sign=sign: special.ndtr(-u) - (sign < 0))
                    for lo, hi, sign in ((-span, 0 * span, -1), (0 * span, span, 1))]
            value = np.where(width >= d, smooth, cut + step[0] + step[1])
            return float(np.sum(value * tau * wt))

        fine, coarse = run(20), run(10)
        assert abs(fine - coarse) <= RULE_AGREEMENT * self.Z, (fine, coarse)
        return fine / self.Z

    def pdf_mu(self, q):
        """Marginal posterior density of mu at *q* (an integral over t alone)."""
        fine = self._t_integral(None, None, 20, q)
        coarse = self._t_integral(None, None, 10, q)
        assert abs(fine - coarse) <= RULE_AGREEMENT * abs(fine) + 1e-300, (fine, coarse)
        return fine / self.Z

    def log_marginal_likelihood(self):
        return math.log(self.Z) + self.c
