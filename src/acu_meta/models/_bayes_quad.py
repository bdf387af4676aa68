"""Adaptive quadrature over the heterogeneity tau, and normal mixtures over it.

This is the numerical core shared by the pairwise (:mod:`acu_meta.models.bayes`) and network
(:mod:`acu_meta.models.bayes_network`) Bayesian engines. Both need integrals of the form

    integral_0^inf  g(tau) p(tau) L(tau) dtau,

where ``p(tau) L(tau)`` is the un-normalized marginal posterior of tau and ``g`` is 1, a power
of tau, or a conditional-normal moment or CDF. No MCMC, no fixed grid.

Axis. The integral is taken on ``t = log tau`` (so priors with a pole or a log-t tail at 0, such
as Rhodes' log-t, and heavy right tails, such as the half-Cauchy, are smooth there), mapped to
the finite interval ``u in (-1, 1)`` by ``t = t0 + h u / (1 - u^2)``; ``t`` is clipped to
[-340, 340] (tau from 1e-148 to 1e148). The mass cut off is far below the stated tolerance
except for a log-t prior, whose left tail in log tau is polynomial: for Rhodes' priors
(t with 5 df, scale about 1.3 on log tau) it is about 1e-12 of the prior mass.

Rule. ``[-1, 1]`` is cut into panels (with an edge at the end of a bounded prior support).
On each panel the vector of monitored integrals is computed with 10- and 20-point
Gauss-Legendre rules; the panel's error estimate is the largest difference over the monitored
components, each relative to the integral of its absolute value over the whole axis. Panels are
bisected, worst first, until the summed estimate is below ``tol`` (default 1e-11). The
monitored components are the mass, the first two moments of tau (when finite) and the
conditional means and second moments of every normal family that is mixed. The stated error
bound, :attr:`TauRule.error`, is that summed 10-vs-20-point difference: a (conservative)
estimate of the 10-point rule's error, while the 20-point rule is used. The 20-point nodes and
weights are kept as the rule: every posterior expectation is a weighted sum over them.

Tau's CDF at x integrates the density from the panel edges (cumulated panel masses) plus a
20-point Gauss-Legendre rule on the partial panel; its quantiles invert that CDF on the u axis
with Brent's method.

Validated against brute-force scipy ``quad``/``dblquad`` and bayesmeta 3.4
(``tests/models/test_bayes.py``, ``tests/models/test_bayes_network.py``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from ..errors import ModelError

_T_CLIP = 340.0
_GL10 = np.polynomial.legendre.leggauss(10)
_GL20 = np.polynomial.legendre.leggauss(20)
DEFAULT_TOL = 1e-11
MAX_PANELS = 6000
_INITIAL_PANELS = 24
#: trial points of the one vectorized CDF evaluation that narrows a mixture quantile's bracket
_BRACKET_POINTS = 34


def _t_of_u(u, t0, h):
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t0 + h * u / (1.0 - u * u)
    # nan -> 0, then clip (infinities to +-_T_CLIP): np.nan_to_num + np.clip, without their
    # wrappers' overhead (this runs once per CDF evaluation of a quantile search)
    return np.minimum(np.maximum(np.where(t != t, 0.0, t), -_T_CLIP), _T_CLIP)


def _log_dt_du(u, h, t0=0.0):
    """log dt/du; -inf where t is clipped (the clipped map is constant there)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(h) + np.log1p(u * u) - 2.0 * np.log(np.abs(1.0 - u * u))
        raw = t0 + h * u / (1.0 - u * u)
    return np.where(np.isfinite(raw) & (np.abs(raw) < _T_CLIP), out, -np.inf)


def _u_of_t(t, t0, h):
    """Inverse of ``t = t0 + h u / (1 - u^2)`` on (-1, 1)."""
    a = np.asarray(t, dtype=float) - t0
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(a == 0, 0.0, (-h + np.sqrt(h * h + 4 * a * a)) / (2 * np.where(a == 0, 1, a)))
    return np.clip(u, -1.0, 1.0)


def _panel_nodes(a, b, rule):
    x, w = rule
    a = np.asarray(a, dtype=float)[:, None]
    b = np.asarray(b, dtype=float)[:, None]
    half = (b - a) / 2
    return a + half * (x[None, :] + 1), half * w[None, :]


@dataclass(frozen=True)
class TauRule:
    """A quadrature rule for the marginal posterior of tau (see the module docstring).

    ``tau`` and ``weight`` are the nodes and normalized weights (sum 1) of the 20-point
    panels; ``log_norm`` is ``log integral p(tau) L(tau) dtau``; ``error`` the stated bound
    (summed 10-vs-20-point panel differences, relative); ``point_mass`` the atom of a
    point-mass prior (then the rule has one node).
    """

    tau: np.ndarray
    weight: np.ndarray
    log_norm: float
    error: float
    n_panels: int
    edges: np.ndarray  # panel edges on the u axis
    cum_mass: np.ndarray  # normalized mass left of each edge
    t0: float
    h: float
    log_q: Callable  # log p(tau) + log L(tau), vectorized over any shape
    upper: float
    point_mass: float | None = None

    # ------------------------------------------------------------------ tau's distribution

    def log_density(self, tau):
        """Log posterior density of tau (w.r.t. tau)."""
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((tau >= 0) & (tau <= self.upper), self.log_q(tau) - self.log_norm,
                           -np.inf)
        return out

    def density(self, tau):
        if self.point_mass is not None:
            tau = np.asarray(tau, dtype=float)
            return np.where(tau == self.point_mass, np.inf, 0.0)
        return np.exp(self.log_density(tau))

    def _log_qu(self, u):
        t = _t_of_u(u, self.t0, self.h)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self.log_q(np.exp(t)) + t + _log_dt_du(u, self.h, self.t0) - self.log_norm
        return np.where(np.isnan(out), -np.inf, out)

    def cdf_u(self, u):
        """Posterior CDF of tau at ``tau = exp(t(u))`` (vectorized over u)."""
        u = np.atleast_1d(np.asarray(u, dtype=float))
        e = self.edges
        idx = np.clip(np.searchsorted(e, u, side="right") - 1, 0, len(e) - 2)
        a = e[idx]
        b = np.minimum(u, e[-1])
        nodes, w = _panel_nodes(a, np.maximum(b, a), _GL20)
        with np.errstate(over="ignore", invalid="ignore"):
            part = np.where(w > 0, np.exp(self._log_qu(nodes)) * w, 0.0).sum(axis=1)
        out = self.cum_mass[idx] + part
        out = np.where(u >= e[-1], 1.0, np.where(u <= e[0], 0.0, out))
        return np.minimum(np.maximum(out, 0.0), 1.0)

    def cdf(self, x):
        """Posterior CDF of tau at ``x`` (vectorized)."""
        x = np.asarray(x, dtype=float)
        if self.point_mass is not None:
            out = np.where(x >= self.point_mass, 1.0, 0.0)
            return float(out) if out.ndim == 0 else out
        flat = np.atleast_1d(x).astype(float)
        res = np.zeros(flat.shape)
        pos = flat > 0
        if np.any(pos):
            with np.errstate(divide="ignore"):
                u = _u_of_t(np.log(flat[pos]), self.t0, self.h)
            res[pos] = self.cdf_u(u)
        res = np.where(flat >= self.upper, 1.0, res)
        return float(res[0]) if x.ndim == 0 else res.reshape(x.shape)

    def quantile(self, p):
        """Posterior quantile of tau (vectorized over p).

        The root of ``cdf_u(u) = p`` is bracketed by the panel whose cumulated masses enclose
        p (``cdf_u`` at a panel edge is exactly ``cum_mass`` there), so Brent's method starts
        from one panel instead of the whole axis: fewer CDF evaluations, same tolerance."""
        p = np.asarray(p, dtype=float)
        flat = np.atleast_1d(p)
        out = np.empty(flat.shape)
        e, cm = self.edges, self.cum_mass
        for i, pi in enumerate(flat):
            if not 0 <= pi <= 1:
                out[i] = np.nan
            elif self.point_mass is not None:
                out[i] = self.point_mass
            elif pi == 0:
                out[i] = 0.0
            elif pi == 1:
                out[i] = self.upper
            else:
                j = int(np.clip(np.searchsorted(cm, pi, side="left"), 1, len(e) - 1))
                a, b = e[j - 1], e[j]
                if j == len(e) - 1:  # the last edge maps to 1 (cdf_u clips there)
                    b = e[-1]
                uq = optimize.brentq(lambda u, pi=pi: float(self.cdf_u(u)[0]) - pi,
                                     a, b, xtol=1e-15, rtol=1e-15, maxiter=500)
                out[i] = float(np.exp(_t_of_u(uq, self.t0, self.h)))
        return float(out[0]) if p.ndim == 0 else out.reshape(p.shape)

    def expect(self, g):
        """Posterior expectation of ``g(tau)`` (``g`` vectorized over the nodes)."""
        return float(np.sum(self.weight * g(self.tau)))


def _tail_exponent(log_q, x1, x2):
    """-d log q / d log tau between x1 and x2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = float(log_q(np.array(x1))), float(log_q(np.array(x2)))
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf if b == -math.inf else -math.inf
    return -(b - a) / (math.log(x2) - math.log(x1))


def build_rule(log_q: Callable, monitors: Callable, *, scale: float, proper_prior: bool,
               upper: float = math.inf, point_mass: float | None = None,
               tol: float = DEFAULT_TOL) -> TauRule:
    """Build the adaptive rule (module docstring).

    Parameters
    ----------
    log_q : callable
        ``log p(tau) + log L(tau)``, vectorized over an array of any shape.
    monitors : callable
        ``monitors(tau)`` for a 1-d array of tau returns an (n, C) array of the functions whose
        posterior integrals must be accurate (the mass is always monitored).
    scale : float
        A typical scale of tau (e.g. the studies' median standard error); centres the axis.
    proper_prior : bool
        When False, the tails of ``p(tau) L(tau)`` are checked for integrability and an
        improper posterior raises :class:`~acu_meta.errors.ModelError`.
    """
    if point_mass is not None:
        lq = float(log_q(np.array(point_mass)))
        if not math.isfinite(lq):
            raise ModelError("the likelihood is zero at the point-mass tau")
        return TauRule(np.array([point_mass]), np.array([1.0]), lq, 0.0, 0,
                       np.array([-1.0, 1.0]), np.array([0.0, 1.0]), 0.0, 1.0, log_q, math.inf,
                       point_mass)
    scale = float(scale)
    if not proper_prior:
        right = _tail_exponent(log_q, scale * 1e10, scale * 1e12)
        left = -_tail_exponent(log_q, scale * 1e-12, scale * 1e-10)
        if not math.isfinite(upper) and right <= 1.0 + 1e-3:
            raise ModelError(
                "the posterior of tau is improper (its right tail decays like tau^-"
                f"{right:.3g}); use a proper tau prior or more studies")
        if left <= -1.0 + 1e-3:
            raise ModelError("the posterior of tau is improper at tau = 0; use another prior")
    t0, h = math.log(scale), 3.0
    # finite moments of tau
    mom = [True, True]
    if not math.isfinite(upper):
        right = _tail_exponent(log_q, scale * 1e10, scale * 1e12)
        mom = [right > 2.0 + 1e-6, right > 3.0 + 1e-6]

    # monitored columns whose integral exists: growth exponent below the tail exponent - 1
    keep_cols = None
    if not math.isfinite(upper):
        right = _tail_exponent(log_q, scale * 1e10, scale * 1e12)
        with np.errstate(all="ignore"):
            g1 = np.abs(np.atleast_2d(monitors(np.array([scale * 1e10]))))[0]
            g2 = np.abs(np.atleast_2d(monitors(np.array([scale * 1e12]))))[0]
            growth = np.log(np.maximum(g2, 1e-300) / np.maximum(g1, 1e-300)) / math.log(100.0)
        keep_cols = growth < right - 1.0 - 1e-3

    def comps(u):
        """log q_u (relative to nothing yet) and the monitored matrix at the nodes u."""
        t = _t_of_u(u, t0, h)
        tau = np.exp(t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            lq = log_q(tau) + t + _log_dt_du(u, h, t0)
        lq = np.where(np.isnan(lq), -np.inf, lq)
        cols = [np.ones_like(tau)]
        if mom[0]:
            cols.append(tau)
        if mom[1]:
            cols.append(tau * tau)
        with np.errstate(over="ignore", invalid="ignore"):
            m = monitors(tau)
            if m is not None and keep_cols is not None:
                m = m[:, keep_cols]
            g = np.column_stack(cols + ([m] if m is not None else []))
        g = np.where(np.isfinite(lq)[:, None] & np.isfinite(g), g, 0.0)
        return lq, g

    # initial panels; an edge at a bounded support's end (panels beyond it are dropped)
    edges = np.linspace(-1.0, 1.0, _INITIAL_PANELS + 1)
    if math.isfinite(upper):
        ub = float(_u_of_t(math.log(upper), t0, h))
        edges = np.unique(np.concatenate([edges[edges < ub], [ub]]))
    panels = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]

    def evaluate(pans):
        a = np.array([p[0] for p in pans])
        b = np.array([p[1] for p in pans])
        out = []
        for rule in (_GL10, _GL20):
            nodes, w = _panel_nodes(a, b, rule)
            lq, g = comps(nodes.ravel())
            out.append((lq.reshape(nodes.shape), g.reshape(nodes.shape + (g.shape[1],)), w,
                        nodes))
        return out

    store = evaluate(panels)  # [(lq10, g10, w10, n10), (lq20, g20, w20, n20)]
    for _ in range(200):
        lq20 = store[1][0]
        ref = max(float(np.max(store[0][0])), float(np.max(lq20)))
        if not math.isfinite(ref):
            raise ModelError("the posterior of tau is zero everywhere (check the data/prior)")
        i10 = np.einsum("pn,pnc->pc", np.exp(store[0][0] - ref) * store[0][2], store[0][1])
        q20 = np.exp(lq20 - ref) * store[1][2]
        i20 = np.einsum("pn,pnc->pc", q20, store[1][1])
        a20 = np.einsum("pn,pnc->pc", q20, np.abs(store[1][1]))
        scale_c = np.maximum(a20.sum(axis=0), 1e-300)
        err_p = np.max(np.abs(i20 - i10) / scale_c, axis=1)
        total = float(err_p.sum())
        if not np.all(np.isfinite(i20)):
            raise ModelError("the posterior integrals of tau are not finite")
        if total <= tol:
            break
        if len(panels) >= MAX_PANELS:
            raise ModelError(
                f"the tau quadrature did not converge (error estimate {total:.2e} with "
                f"{len(panels)} panels): the posterior may be improper or the prior irregular")
        thresh = max(tol / len(panels), np.sort(err_p)[-max(1, len(panels) // 4)])
        split = np.flatnonzero(err_p >= thresh)
        keep = np.setdiff1d(np.arange(len(panels)), split)
        new = []
        for i in split:
            a, b = panels[i]
            m = 0.5 * (a + b)
            new += [(a, m), (m, b)]
        fresh = evaluate(new)
        panels = [panels[i] for i in keep] + new
        store = [tuple(np.concatenate([old[j][keep], fr[j]]) for j in range(4))
                 for old, fr in zip(store, fresh, strict=True)]
        order = np.argsort([p[0] for p in panels])
        panels = [panels[i] for i in order]
        store = [tuple(s[j][order] for j in range(4)) for s in store]
    # the rule: 20-point nodes, normalized weights
    lq20, _, w20, n20 = store[1]
    ref = float(np.max(lq20))
    q = np.exp(lq20 - ref) * w20
    mass = float(q.sum())
    log_norm = ref + math.log(mass)
    pm = q.sum(axis=1) / mass
    edges = np.array([p[0] for p in panels] + [panels[-1][1]])
    cum = np.concatenate([[0.0], np.cumsum(pm)])
    wt = (q / mass).ravel()
    tau = np.exp(_t_of_u(n20.ravel(), t0, h))
    # no pruning by weight: a node of negligible mass can still carry a moment (tau^2 w is
    # not small far out in a heavy tail)
    keep = wt > 0
    return TauRule(tau[keep], wt[keep], log_norm, total, len(panels), edges, cum, t0, h,
                   log_q, upper)


# ---------------------------------------------------------------------- normal mixtures


@dataclass(frozen=True)
class NormalMixture:
    """A discrete mixture ``sum_j w_j N(m_j, s_j^2)`` (the quadrature image of a continuous
    mixture over tau): density, CDF, quantiles, moments, mode, intervals."""

    w: np.ndarray
    m: np.ndarray
    s: np.ndarray

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        z = (x[..., None] - self.m) / self.s
        out = np.sum(self.w * np.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * self.s), axis=-1)
        return float(out) if np.ndim(out) == 0 else out

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = (self.w * special.ndtr((x[..., None] - self.m) / self.s)).sum(axis=-1)
        out = np.minimum(np.maximum(out, 0.0), 1.0)
        return float(out) if np.ndim(out) == 0 else out

    @functools.cached_property
    def _typical(self) -> float:
        """The weighted median of the component sds: the scale of the bulk."""
        order = np.argsort(self.s)
        cw = np.cumsum(self.w[order])
        return float(self.s[order][min(np.searchsorted(cw, 0.5 * cw[-1]), len(cw) - 1)])

    def _bracket(self, p: float, lo: float, hi: float) -> tuple[float, float]:
        """Narrow a bracket ``cdf(lo) <= p <= cdf(hi)`` of the p-quantile with one vectorized
        CDF evaluation at the weighted quantiles of the components' own p-quantiles (heavy
        tails make ``[lo, hi]`` astronomically wide; Brent's method then spends most of its
        steps bisecting down to the bulk)."""
        z = special.ndtri(p)
        cand = self.m + z * self.s
        order = np.argsort(cand)
        cw = np.cumsum(self.w[order])
        pos = np.searchsorted(cw, np.linspace(0.0, 1.0, _BRACKET_POINTS)[1:-1] * cw[-1])
        x = np.unique(cand[order][np.clip(pos, 0, len(cand) - 1)])
        x = x[(x > lo) & (x < hi)]
        if x.size == 0:
            return lo, hi
        F = self.cdf(x)
        below = np.flatnonzero(F <= p)
        above = np.flatnonzero(F >= p)
        if below.size:
            lo = float(x[below[-1]])
        if above.size:
            hi = float(x[above[0]])
        return lo, hi

    def _ppf1(self, p: float) -> float:
        if p <= 0:
            return -math.inf
        if p >= 1:
            return math.inf
        if np.all(self.s == 0):
            return float(self.m[0])
        z = special.ndtri(p)
        cand = self.m + z * self.s
        lo, hi = float(np.min(cand)), float(np.max(cand))
        span = max(hi - lo, 1e-12 * max(1.0, abs(lo)), float(np.min(self.s)) * 1e-6)
        for _ in range(200):  # rounding can put the exact bounds a hair inside: widen
            if self.cdf(lo) <= p:
                break
            lo -= span
            span *= 2
        span = max(hi - lo, 1e-12)
        for _ in range(200):
            if self.cdf(hi) >= p:
                break
            hi += span
            span *= 2
        if lo == hi:
            return lo
        lo, hi = self._bracket(p, lo, hi)
        if lo == hi:
            return lo
        # absolute tolerance on the scale of the bulk (the weighted median sd), not of the
        # bracket, which heavy tails can make astronomically wide
        return optimize.brentq(lambda x: self.cdf(x) - p, lo, hi, xtol=1e-15 * self._typical,
                               rtol=4 * np.finfo(float).eps, maxiter=1000)

    def ppf(self, p):
        p = np.asarray(p, dtype=float)
        out = np.array([self._ppf1(float(pi)) for pi in np.atleast_1d(p)])
        return float(out[0]) if p.ndim == 0 else out.reshape(p.shape)

    @property
    def mean(self) -> float:
        return float(np.sum(self.w * self.m))

    @property
    def sd(self) -> float:
        mu = self.mean
        return float(math.sqrt(max(0.0, float(np.sum(self.w * (self.s**2 + (self.m - mu) ** 2))))))

    def mode(self) -> float:
        lo, hi = self.ppf(0.001), self.ppf(0.999)
        grid = np.linspace(lo, hi, 401)
        d = self.pdf(grid)
        i = int(np.argmax(d))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        r = optimize.minimize_scalar(lambda x: -self.pdf(x), bounds=(a, b), method="bounded",
                                     options={"xatol": 1e-12 * max(1.0, abs(hi - lo))})
        return float(r.x)

    def central(self, level: float = 0.95) -> tuple[float, float]:
        a = (1 - level) / 2
        return self.ppf(a), self.ppf(1 - a)

    def shortest(self, level: float = 0.95) -> tuple[float, float]:
        return shortest_interval(self.ppf, self.pdf, level)


def shortest_interval(ppf, pdf, level: float, lower_bound: float = -math.inf, n: int = 25
                      ) -> tuple[float, float]:
    """Shortest interval of probability ``level``: ``[Q(p), Q(p + level)]`` with the smallest
    width over p in [0, 1 - level].

    The width is scanned on ``n`` values of p (so a density with a pole at 0 and an interior
    mode, as tau under a log-t prior, gets the global, not a local, minimum); the best grid
    cell is then refined by solving density(lower) = density(upper) (the stationarity
    condition) with Brent's method, or the cell's better end is kept where the density is
    monotone (e.g. tau with its mode at 0: ``[0, Q(level)]``)."""
    top = 1.0 - level
    ps = np.linspace(0.0, top, n)
    seen: dict[float, float] = {}
    raw_ppf = ppf

    def ppf(p):  # each quantile is a root search: the scan, the refinement and the final
        p = float(p)  # comparison of candidates ask for many of the same p
        if p not in seen:
            seen[p] = float(raw_ppf(p))
        return seen[p]

    lo_end = max(float(ppf(0.0)), lower_bound)

    def ends(p):
        lo = lo_end if p <= 0 else float(ppf(p))
        return lo, float(ppf(min(p + level, 1.0)))

    def width(p):
        lo, hi = ends(p)
        return hi - lo

    widths = np.array([width(p) for p in ps])
    widths = np.where(np.isnan(widths), np.inf, widths)
    i = int(np.argmin(widths))
    a, b = ps[max(i - 1, 0)], ps[min(i + 1, n - 1)]
    eps = 1e-12

    def g(p):
        lo, hi = ends(p)
        return float(pdf(hi)) - float(pdf(lo))

    a2, b2 = max(a, eps), min(b, top - eps)
    cands = [ps[i]] + ([0.0] if a == 0 and math.isfinite(lo_end) else [])
    if a2 < b2:
        sub = np.linspace(a2, b2, 9)
        gs = [g(p) for p in sub]
        cands += [a2, b2]
        for j in range(len(sub) - 1):
            if gs[j] > 0 >= gs[j + 1]:  # width decreasing, then increasing: a local minimum
                cands.append(optimize.brentq(g, sub[j], sub[j + 1], xtol=1e-14, rtol=1e-14,
                                             maxiter=500))
    return ends(min(cands, key=width))
