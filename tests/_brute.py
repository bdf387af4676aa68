"""Brute-force integration of the normal-normal hierarchical model's joint posterior, the
second route behind the exact Bayesian engine (tests/models/test_bayes.py,
tests/analyses/test_answer.py).

The integrand is the joint posterior with mu NOT integrated out (Röver 2020 eq. 9):

    p(mu, tau | y)  ∝  p(mu) p(tau) prod_i N(y_i | mu, s_i^2 + tau^2),

over t = log tau (dtau = tau dt) and z, with mu = c(t) + d(t) z. Nothing of the engine is
used but the prior densities (``TauPrior.logpdf``, checked on their own against scipy.stats
and closed forms in tests/models/test_bayes_priors.py): not its marginal likelihood (eq. 13 /
15), not its tau rule, not its mixtures. The substitution's centre and scale are mu's
conditional mean and sd given tau, written out here (any centre and scale give the same
integral; these put the z nodes where the mass is, so the z integrand is a standard normal
shape however narrow or far off-centre mu's conditional distribution is).

Rule: a tensor product of Gauss-Legendre panels, vectorized with numpy. t: 20 nodes on each
of ~200 panels over [-150, 150] about log median(s) (width 0.2 in the bulk, -12 < t < 8;
wider towards the ends, where heavy-tailed posteriors still put mass; cut at the prior's upper
bound and at a CDF argument). z: 64 nodes on [-Z_SPAN, min(z_hi, Z_SPAN)] (a normal
integrand times a polynomial or a normal CDF: the rule is exact to rounding there; an
integrand ``g`` with a kink or a step is not, see :meth:`JointPosterior.normal_cdf_mean`).
Each integral is taken again with 10 nodes per t panel and 56 z nodes; the two must agree to
``RULE_AGREEMENT`` (relative), or the integral raises, so a rule too coarse for a posterior
is likely to fail rather than pass a wrong value. The previous reference, nested adaptive
``scipy.integrate.quad`` (relative tolerance 1e-10), took ~10 s a suite; on every case of
tests/models/test_bayes.py the two agree to about 1e-15 on Z, the posterior means and the
CDFs (issue #11 note).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

Z_SPAN = 12.0  # the normal z integrand beyond 12 sd: < 1e-32 of its mass
RULE_AGREEMENT = 1e-10
_GL = {n: np.polynomial.legendre.leggauss(n) for n in (10, 20, 56, 64)}
#: nodes per t panel, z nodes. On [-12, 12], 56 and 64 nodes both integrate exp(-z^2 / 2)
#: and z^2 times it to 2e-15 (48 nodes: 3e-13 and 2e-11, too coarse for the normal-CDF
#: integrands at 1e-10), so they differ where an integrand is not smooth enough for either.
_FINE, _COARSE = (20, 64), (10, 56)
_LOG_2PI = math.log(2 * math.pi)


def _t_edges(t_hi: float, shift: float = 0.0) -> np.ndarray:
    """Panel edges on t = log tau, about *shift* (log of the typical standard error), cut at
    *t_hi*."""
    edges = shift + np.unique(np.concatenate([
        np.linspace(-150.0, -40.0, 12), np.linspace(-40.0, -12.0, 29),
        np.linspace(-12.0, 8.0, 101), np.linspace(8.0, 40.0, 33), np.linspace(40.0, 150.0, 12)]))
    inside = edges[edges < t_hi]
    if inside.size == 0:
        raise ValueError(f"log tau bound {t_hi} is below the grid")
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
        self._shift = math.log(float(np.median(self.s)))  # the grid in t sits about here
        self.c = 0.0
        tau = self._grid(None, 10)[0]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # at mu's conditional mean, with the Jacobian of t = log tau (a prior density of
            # tau with a pole at 0 is finite per unit of t)
            peak = (self._log_joint(tau[:, None], self._centre(tau)[0][:, None])
                    + np.log(tau)[:, None])
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

    def _grid(self, tau_hi, n_t):
        """tau nodes and weights (tau dt folded in) below *tau_hi* and the prior's bound."""
        t_hi = self._shift + 150.0
        if tau_hi is not None:
            t_hi = min(t_hi, math.log(tau_hi))
        if math.isfinite(self.tp.upper):
            t_hi = min(t_hi, math.log(self.tp.upper))
        t, wt = _nodes(_t_edges(t_hi, self._shift), n_t)
        tau = np.exp(t)
        return tau, wt * tau

    def _z_sum(self, tau, lo, hi, mu_of, g, n_z):
        """Per tau node: sum over an n_z-point rule on [lo, hi] of g * joint(mu_of(node))."""
        x, w = _GL[n_z]
        half = (hi - lo)[:, None] / 2
        node = lo[:, None] + half * (x + 1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = np.exp(self._log_joint(tau[:, None], mu_of(node)))
            gv = np.broadcast_to(np.asarray(g(node), float), f.shape)
            return np.sum(np.where(f > 0, gv * f, 0.0) * half * w, axis=1)

    def _checked(self, run):
        """run(rule) on the fine and the coarse rule; they must agree (see the module)."""
        fine, coarse = run(_FINE), run(_COARSE)
        scale = max(getattr(self, "Z", 0.0), abs(fine)) or 1.0
        assert abs(fine - coarse) <= RULE_AGREEMENT * scale, (fine, coarse)
        return fine

    # ----------------------------------------------------------------- what the tests ask

    def integral(self, g=None, mu_hi=None, tau_hi=None):
        """Integral of ``g(mu, tau)`` (numpy-vectorized; 1 when None) times the joint
        posterior, mu below *mu_hi* and tau below *tau_hi* when given; in units of exp(c)."""
        if tau_hi is not None and tau_hi <= 0:
            return 0.0

        def run(rule):
            tau, wt = self._grid(tau_hi, rule[0])
            m, d = self._centre(tau)
            span = np.full_like(tau, Z_SPAN)
            hi = span if mu_hi is None else np.clip((mu_hi - m) / d, -Z_SPAN, Z_SPAN)

            def mu_of(z):
                return m[:, None] + d[:, None] * z

            gz = (lambda z: 1.0) if g is None else (lambda z: g(mu_of(z), tau[:, None]))
            return float(np.sum(d * self._z_sum(tau, -span, hi, mu_of, gz, rule[1]) * wt))

        return self._checked(run)

    def E(self, g):
        """Posterior expectation of ``g(mu, tau)``."""
        return self.integral(g) / self.Z

    def cdf_mu(self, q):
        return self.integral(mu_hi=q) / self.Z

    def cdf_tau(self, q):
        return self.integral(tau_hi=q) / self.Z

    def normal_cdf_mean(self, q, a, b, sd):
        """Posterior mean of ``Phi((q - a - b mu) / sd)`` with ``a``, ``b > 0`` and ``sd``
        functions of tau: P(theta <= q) for a theta that is normal given (mu, tau), as
        theta_new (a = 0, b = 1, sd = tau) and a study's shrunken theta_i.

        As tau -> 0 the integrand is a step in mu of width sd / b, which no fixed rule
        resolves. Where that width is below mu's conditional sd it is split exactly:
        ``1{mu < mu*}`` (a cut of the z rule at mu* = (q - a) / b) plus
        ``Phi((mu* - mu) b / sd) - 1{mu < mu*}``, integrated over u = (mu - mu*) b / sd on
        [-Z_SPAN, 0] and [0, Z_SPAN], where both pieces are smooth."""
        def run(rule):
            tau, wt = self._grid(None, rule[0])
            m, d = self._centre(tau)
            star = (q - a(tau)) / b(tau)
            width = sd(tau) / b(tau)
            span, zero = np.full_like(tau, Z_SPAN), np.zeros_like(tau)

            def mu_of_z(z):
                return m[:, None] + d[:, None] * z

            def mu_of_u(u):
                return star[:, None] + width[:, None] * u

            smooth = d * self._z_sum(tau, -span, span, mu_of_z, lambda z: special.ndtr(
                (star[:, None] - mu_of_z(z)) / width[:, None]), rule[1])
            cut = d * self._z_sum(tau, -span, np.clip((star - m) / d, -Z_SPAN, Z_SPAN),
                                  mu_of_z, lambda z: 1.0, rule[1])
            left = self._z_sum(tau, -span, zero, mu_of_u, lambda u: special.ndtr(-u) - 1.0,
                               rule[1])
            right = self._z_sum(tau, zero, span, mu_of_u, lambda u: special.ndtr(-u), rule[1])
            value = np.where(width >= d, smooth, cut + width * (left + right))
            return float(np.sum(value * wt))

        return self._checked(run) / self.Z

    def pdf_mu(self, q):
        """Marginal posterior density of mu at *q* (an integral over t alone)."""
        def run(rule):
            tau, wt = self._grid(None, rule[0])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                f = np.exp(self._log_joint(tau[:, None], np.full((len(tau), 1), float(q))))
            return float(np.sum(np.where(wt > 0, f[:, 0] * wt, 0.0)))

        return self._checked(run) / self.Z

    def log_marginal_likelihood(self):
        return math.log(self.Z) + self.c
