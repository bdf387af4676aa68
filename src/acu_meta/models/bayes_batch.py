"""The Bayesian normal-normal hierarchical model for many data sets at once (vectorized).

:func:`acu_meta.models.bayes.bayes_meta` fits one data set with an adaptive quadrature over tau
and full summaries; this module computes the credible intervals of ``mu`` and of the predictive
``theta_new`` for the ``B`` rows of ``(B, k)`` arrays (NaN = absent study, as
:func:`acu_meta.models.batch.fit_many`), with numpy operations over the rows and no Python loop
over them. The model, the priors and the conditional formulas are the engine's
(:func:`~acu_meta.models.bayes._cond_mu`, :func:`~acu_meta.models.bayes._log_marglik`: Röver
2020 eq. 12-15); only the quadrature and the root finding differ.

Quadrature (a fixed rule, scaled per row)
-----------------------------------------
The marginal posterior of ``t = log tau`` is integrated on the engine's axis map
``t = t_c + h u / (1 - u^2)``, ``u in (-1, 1)`` (:mod:`acu_meta.models._bayes_quad`; it covers
tau from 0 to infinity, with the polynomial tails of a log-t prior smooth in u), with a
composite Gauss-Legendre rule: ``P`` equal panels in u of ``n`` nodes each (default 6 x 20 = 120
nodes). Per row, ``t_c`` and ``h`` come from a scan of the log posterior of t on a grid (spacing
0.1 in t over the range the data allow, plus 33 points of the engine's global map): the 1% and
99% points of the scanned posterior mass are sent to ``u = -0.6`` and ``u = 0.6``. A prior with a
bounded support ends the rule at its upper bound.

Error control. Every row is also integrated with a second rule (the same panels, 14 nodes each),
and the stated error of an interval end ``q`` (probability ``p``) is
``|F_check(q) - p| / f(q)``, the distance to the check rule's quantile to first order: an
estimate of the coarser rule's error, so a conservative one for the rule used. Rows whose stated
error exceeds ``tol`` (default 1e-7) are redone with twice, then four times as many panels; rows
still above it are handed to the exact engine ``bayes_meta`` (``refitted``; none of the rows of
the validation needed it).

How we know the error is below 1e-6: ``tests/models/test_bayes_batch.py`` compares the interval
ends with ``bayes_meta`` (adaptive, stated error 1e-11) on random rows at k = 2, 3, 5 and 10
under half-normal(0.5), half-normal(1) and a Rhodes et al. (2015) log-t prior, including rows with
standard errors over two decades and heterogeneity far above them: the largest difference is
below 1e-8 and the stated error bounds it.

Mixtures and intervals
----------------------
Given tau, ``mu`` is normal (mean and sd of eq. 12 / 14) and ``theta_new`` is normal with the
variance ``sd^2 + tau^2``; their posteriors are the normal mixtures over the nodes. Nodes whose
weights together hold less than 1e-15 of the mass are dropped (the rest renormalized). Quantiles
solve ``F(x) = p`` by Newton's method on arrays, safeguarded by bisection inside the bracket
``[min_j (m_j + z_p s_j), max_j (m_j + z_p s_j)]``, which always contains the root. The central
interval is ``[Q((1 - level)/2), Q((1 + level)/2)]``; the shortest solves
``f(Q(p)) = f(Q(p + level))`` for p by Newton's method, each step re-solving the two quantiles.

Validated against :func:`acu_meta.models.bayes.bayes_meta` in
``tests/models/test_bayes_batch.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..errors import InputError, ModelError
from . import _bayes_priors as priors
from ._bayes_priors import MuPrior, TauPrior
from ._bayes_quad import _log_dt_du, _t_of_u, _u_of_t
from .bayes import _cond_mu, _log_marglik, bayes_meta

__all__ = ["BayesBatch", "bayes_many"]

PANELS = 6  # panels of the default rule
NODES = 20  # Gauss-Legendre nodes per panel
CHECK_NODES = 14  # nodes per panel of the check rule
REFINE = 2  # panel doublings before a row goes to the exact engine
DEFAULT_TOL = 1e-7
_LOW, _HIGH = 0.01, 0.99  # scanned posterior quantiles of t sent to u = -U, +U
_U = 0.6
_SCAN_STEP = 0.25  # spacing of the scan in t = log tau
_DROP = 1e-15  # mass of the negligible nodes left out of the mixtures
_CHUNK_ELEMS = 1 << 20  # (rows x nodes x studies) elements per chunk
_SQRT2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class BayesBatch:
    """Credible intervals of ``B`` Bayesian meta-analyses (one entry per input row).

    Arrays (length ``B``): ``k`` (studies in the row), ``mu_median``, ``mu_low``, ``mu_high``
    (the interval for the mean effect), ``pred_low``, ``pred_high`` (for the effect
    ``theta_new`` of a new study), ``quad_error`` (stated error bound of the interval ends,
    absolute), ``n_nodes`` (nodes of the rule used), ``converged`` (False for rows with no
    study or an improper posterior) and ``refitted`` (rows handed to ``bayes_meta``).
    """

    tau_prior: TauPrior
    mu_prior: MuPrior
    level: float
    interval: str
    k: np.ndarray
    mu_median: np.ndarray
    mu_low: np.ndarray
    mu_high: np.ndarray
    pred_low: np.ndarray
    pred_high: np.ndarray
    quad_error: np.ndarray
    n_nodes: np.ndarray
    converged: np.ndarray
    refitted: np.ndarray

    def __len__(self) -> int:
        return len(self.k)


# ---------------------------------------------------------------------- log posterior of t


def _log_post_t(t, y, v, tau_prior: TauPrior, mu_prior: MuPrior):
    """log p(t | y) + const for t = log tau, shape (B, G), rows y, v of shape (B, k)."""
    tau = np.exp(t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = (tau_prior.logpdf(tau, np.sqrt(v)[:, None, :])
               + _log_marglik(tau, y[:, None, :], v[:, None, :], mu_prior) + t)
    return np.where(np.isnan(out), -np.inf, out)


def _scan(y, v, tau_prior, mu_prior):
    """Centre ``t_c`` and scale ``h`` of each row's axis map, from a scan of p(t | y)."""
    B = len(y)
    sig = np.sqrt(v)
    lo = np.log(sig.min(axis=1)) - 8.0
    hi = np.log(np.maximum(sig.max(axis=1), np.ptp(y, axis=1))) + 2.0
    n = int(min(400, np.ceil(float(np.max(hi - lo)) / _SCAN_STEP))) + 1
    grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n)
    t0 = np.log(np.median(sig, axis=1))[:, None]
    ug = np.broadcast_to(np.linspace(-0.97, 0.97, 33), (B, 33))
    grid = np.sort(np.concatenate([grid, _t_of_u(ug, t0, 3.0)], axis=1), axis=1)
    if math.isfinite(tau_prior.upper):
        grid = np.minimum(grid, math.log(tau_prior.upper))
    lp = _log_post_t(grid, y, v, tau_prior, mu_prior)
    top = lp.max(axis=1, keepdims=True)
    d = np.exp(lp - np.where(np.isfinite(top), top, 0.0))
    cum = np.cumsum(0.5 * (d[:, 1:] + d[:, :-1]) * np.diff(grid, axis=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = cum / cum[:, -1:]
    rows = np.arange(B)
    a = grid[rows, np.argmax(cum >= _LOW, axis=1)]
    b = grid[rows, np.argmax(cum >= _HIGH, axis=1) + 1]
    h = np.maximum(0.5 * (b - a) * (1 - _U**2) / _U, _SCAN_STEP)
    return (0.5 * (a + b))[:, None], h[:, None], np.isfinite(top[:, 0]) & (cum[:, -1] > 0)


def _panel_rule(panels: int, nodes: int):
    """Composite Gauss-Legendre on [-1, 1]: nodes and weights of *panels* equal panels."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    e = np.linspace(-1.0, 1.0, panels + 1)
    mid, half = 0.5 * (e[1:] + e[:-1]), 0.5 * np.diff(e)
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def _rule(y, v, tau_prior, mu_prior, tc, h, panels, nodes):
    """Normalized weights and tau of the composite rule on each row's axis, shape (B, N)."""
    x, w = _panel_rule(panels, nodes)
    B = len(y)
    ub = np.ones((B, 1))
    if math.isfinite(tau_prior.upper):
        ub = _u_of_t(np.full((B, 1), math.log(tau_prior.upper)), tc, h)
    half = 0.5 * (ub + 1.0)
    u = -1.0 + half * (x + 1.0)
    t = _t_of_u(u, tc, h)
    with np.errstate(divide="ignore"):  # density of t, times dt/du and the weight
        lq = _log_post_t(t, y, v, tau_prior, mu_prior) + _log_dt_du(u, h, tc) + np.log(half * w)
    lq = np.where(np.isnan(lq), -np.inf, lq)
    top = lq.max(axis=1, keepdims=True)
    q = np.exp(lq - top)
    return q / q.sum(axis=1, keepdims=True), np.exp(t)


def _prune(w, *arrays):
    """Drop the nodes whose weights together hold less than ``_DROP`` (per row), keeping the
    largest number needed by any row; renormalize."""
    order = np.argsort(w, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    small = np.cumsum(ws, axis=1) < _DROP
    keep = w.shape[1] - int(np.min(np.sum(small, axis=1)))
    idx = order[:, -keep:]
    w2 = np.take_along_axis(w, idx, axis=1)
    w2 = w2 / w2.sum(axis=1, keepdims=True)
    return (w2,) + tuple(np.take_along_axis(a, idx, axis=1) for a in arrays)


# ---------------------------------------------------------------------- normal mixtures


def mixture_cdf(w, m, s, x):
    """CDF of the row-wise normal mixtures ``sum_j w_ij N(m_ij, s_ij^2)`` at ``x_i``."""
    return np.sum(w * special.ndtr((np.asarray(x)[:, None] - m) / s), axis=1)


def mixture_pdf(w, m, s, x):
    """Density of the row-wise normal mixtures at ``x_i``."""
    z = (np.asarray(x)[:, None] - m) / s
    return np.sum(w * np.exp(-0.5 * z * z) / s, axis=1) / _SQRT2PI


def mixture_quantile(w, m, s, p, x0=None, maxiter: int = 200):
    """Quantiles ``F_i^{-1}(p_i)`` of row-wise normal mixtures (weights summing to 1 per row).

    Newton's method, safeguarded by bisection (taken when a Newton step would leave the
    bracket or is not half the previous step) in the bracket
    ``[min_j (m_ij + z s_ij), max_j (m_ij + z s_ij)]`` (``z`` the standard normal quantile of
    ``p``): at its left end every component's CDF is at most ``p``, at its right end at least
    ``p``, so the root lies inside. Stops when the step is below ``1e-13`` times the row's mean
    component sd. Returns the quantiles and a flag of the rows that converged.
    """
    B = w.shape[0]
    p = np.broadcast_to(np.asarray(p, dtype=float), (B,)).copy()
    z = special.ndtri(p)
    cand = m + z[:, None] * s
    lo, hi = cand.min(axis=1), cand.max(axis=1)
    # rounding can leave the exact bracket a hair inside: widen where needed
    span = np.maximum(hi - lo, 1e-12 * np.maximum(1.0, np.abs(lo)))
    for _ in range(60):
        bad = mixture_cdf(w, m, s, lo) > p
        if not bad.any():
            break
        lo = np.where(bad, lo - span, lo)
    for _ in range(60):
        bad = mixture_cdf(w, m, s, hi) < p
        if not bad.any():
            break
        hi = np.where(bad, hi + span, hi)
    x = np.sum(w * cand, axis=1) if x0 is None else np.asarray(x0, dtype=float).copy()
    x = np.clip(x, lo, hi)
    xtol = 1e-13 * np.sum(w * s, axis=1)
    last = hi - lo  # the previous step (bisection when Newton's does not halve it)
    done = np.zeros(B, dtype=bool)
    act = np.arange(B)
    for _ in range(maxiter):
        wa, ma, sa, xa = w[act], m[act], s[act], x[act]
        zz = (xa[:, None] - ma) / sa
        g = np.sum(wa * special.ndtr(zz), axis=1) - p[act]
        d = np.sum(wa * np.exp(-0.5 * zz * zz) / sa, axis=1) / _SQRT2PI
        lo[act] = np.where(g <= 0, xa, lo[act])
        hi[act] = np.where(g >= 0, xa, hi[act])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = g / d
        small = np.abs(step) <= xtol[act]  # converged (to rounding, the step may be 0)
        xn = xa - step
        newton = (np.isfinite(xn) & (xn >= lo[act]) & (xn <= hi[act])
                  & (np.abs(step) <= 0.5 * last[act])) | small
        xn = np.where(newton, xn, 0.5 * (lo[act] + hi[act]))
        last[act] = np.abs(xn - xa)
        x[act] = xn
        fin = small | (hi[act] - lo[act] <= xtol[act]) | (g == 0)
        done[act[fin]] = True
        act = act[~fin]
        if act.size == 0:
            break
    return x, done


def _shortest(w, m, s, level, lo, hi, maxiter: int = 30):
    """Shortest intervals of probability *level*, starting from the central ones (lo, hi).

    Newton's method on ``g(p) = log f(Q(p + level)) - log f(Q(p))`` (zero where the density
    is equal at both ends; ``g' = f'(b) / f(b)^2 - f'(a) / f(a)^2 < 0`` at the minimum of
    the width); steps are kept in
    (0, 1 - level) by halving."""
    B = w.shape[0]
    p = np.full(B, 0.5 * (1 - level))
    a, b = lo.copy(), hi.copy()
    ok = np.ones(B, dtype=bool)
    for _ in range(maxiter):
        za = (a[:, None] - m) / s
        zb = (b[:, None] - m) / s
        pa = np.exp(-0.5 * za * za) / s
        pb = np.exp(-0.5 * zb * zb) / s
        fa, fb = np.sum(w * pa, axis=1), np.sum(w * pb, axis=1)
        da = -np.sum(w * pa * za / s, axis=1)
        db = -np.sum(w * pb * zb / s, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log(fb) - np.log(fa)
            dg = (db / fb**2 - da / fa**2) * _SQRT2PI
            step = g / dg
        step = np.where(np.isfinite(step) & (dg < 0), step, 0.0)  # dg < 0 at a minimum
        pn = p - step
        top = 1.0 - level
        pn = np.where(pn <= 0, 0.5 * p, np.where(pn >= top, 0.5 * (p + top), pn))
        if np.all(np.abs(pn - p) <= 1e-15):
            break
        p = pn
        a, ca = mixture_quantile(w, m, s, p, a)
        b, cb = mixture_quantile(w, m, s, p + level, b)
        ok &= ca & cb
    return a, b, ok


def _intervals(w, m, s, level, interval):
    """(low, high, converged) of the row-wise mixtures."""
    alpha = 0.5 * (1 - level)
    lo, c1 = mixture_quantile(w, m, s, alpha)
    hi, c2 = mixture_quantile(w, m, s, 1 - alpha)
    ok = c1 & c2
    if interval == "shortest":
        lo, hi, c3 = _shortest(w, m, s, level, lo, hi)
        ok &= c3
    return lo, hi, ok


def _end_error(w, m, s, ends, check):
    """Stated error of interval ends: |F_check(q) - F(q)| / f(q), max over the ends."""
    wc, mc, sc = check
    err = np.zeros(len(w))
    for q in ends:
        f = mixture_pdf(w, m, s, q)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.abs(mixture_cdf(wc, mc, sc, q) - mixture_cdf(w, m, s, q)) / f
        err = np.maximum(err, np.where(np.isfinite(e), e, np.inf))
    return err


# ---------------------------------------------------------------------- one chunk of rows


def _improper(y, v, tau_prior, mu_prior):
    """Rows whose posterior of tau is improper (improper priors only): the engine's tail test
    (the density must decay faster than 1/tau at infinity and than tau^-1 at 0)."""
    if tau_prior.proper:
        return np.zeros(len(y), dtype=bool)
    sc = np.median(np.sqrt(v), axis=1)[:, None]
    pts = np.log(sc * np.array([1e10, 1e12, 1e-12, 1e-10]))
    lq = _log_post_t(pts, y, v, tau_prior, mu_prior) - pts  # density of tau
    right = -(lq[:, 1] - lq[:, 0]) / math.log(100.0)
    left = (lq[:, 3] - lq[:, 2]) / math.log(100.0)
    return ~(right > 1.0 + 1e-3) | ~(left > -1.0 + 1e-3)


def _fit_group(y, v, tau_prior, mu_prior, level, interval, tol, panels, nodes):
    """Every row of (B, k) arrays with all k studies present: dict of arrays."""
    B = len(y)
    out = {name: np.full(B, np.nan) for name in ("mu_median", "mu_low", "mu_high", "pred_low",
                                                 "pred_high", "quad_error")}
    out["n_nodes"] = np.zeros(B, dtype=int)
    out["converged"] = np.zeros(B, dtype=bool)
    out["refitted"] = np.zeros(B, dtype=bool)
    if tau_prior.family == "point-mass":
        tau = np.full((B, 1), float(tau_prior.tau0))
        m, s = _cond_mu(tau, y[:, None, :], v[:, None, :], mu_prior)
        w = np.ones((B, 1))
        _write(out, np.arange(B), w, m, s, np.sqrt(s * s + tau * tau), level, interval)
        out["quad_error"][:] = 0.0
        out["n_nodes"][:] = 1
        return out
    bad = _improper(y, v, tau_prior, mu_prior)
    tc, h, found = _scan(y, v, tau_prior, mu_prior)
    todo = np.flatnonzero(~bad & found)
    for level_i in range(REFINE + 1):
        if todo.size == 0:
            break
        p = panels * 2**level_i
        yy, vv, cc, hh = y[todo], v[todo], tc[todo], h[todo]
        w, tau = _rule(yy, vv, tau_prior, mu_prior, cc, hh, p, nodes)
        wc, tauc = _rule(yy, vv, tau_prior, mu_prior, cc, hh, p, CHECK_NODES)
        m, s = _cond_mu(tau, yy[:, None, :], vv[:, None, :], mu_prior)
        mc, sc = _cond_mu(tauc, yy[:, None, :], vv[:, None, :], mu_prior)
        sp, spc = np.sqrt(s * s + tau * tau), np.sqrt(sc * sc + tauc * tauc)
        w, m, s, sp = _prune(w, m, s, sp)
        wc, mc, sc, spc = _prune(wc, mc, sc, spc)
        ends = _write(out, todo, w, m, s, sp, level, interval)
        err = np.maximum(_end_error(w, m, s, ends[:3], (wc, mc, sc)),
                         _end_error(w, m, sp, ends[3:], (wc, mc, spc)))
        out["quad_error"][todo] = err
        out["n_nodes"][todo] = p * nodes
        scale = np.maximum(1.0, np.abs(np.column_stack(ends)).max(axis=1))
        good = (err <= tol * scale) & out["converged"][todo]
        todo = todo[~good]
    for i in todo:  # safety net: the exact engine
        out["refitted"][i] = True
        try:
            f = bayes_meta(y[i], np.sqrt(v[i]), tau_prior, mu_prior, level=level)
        except ModelError:
            out["converged"][i] = False
            continue
        kind = "central" if interval == "central" else "shortest"
        out["mu_median"][i] = f.mu.median
        out["mu_low"][i], out["mu_high"][i] = getattr(f.mu, kind)
        out["pred_low"][i], out["pred_high"][i] = getattr(f.theta_new, kind)
        out["quad_error"][i] = f.quad_error
        out["n_nodes"][i] = f.n_nodes
        out["converged"][i] = True
    return out


def _write(out, rows, w, m, s, sp, level, interval):
    """Solve the intervals of the mixtures of rows *rows* and store them; returns the ends."""
    med, c0 = mixture_quantile(w, m, s, 0.5)
    lo, hi, c1 = _intervals(w, m, s, level, interval)
    plo, phi, c2 = _intervals(w, m, sp, level, interval)
    out["mu_median"][rows] = med
    out["mu_low"][rows], out["mu_high"][rows] = lo, hi
    out["pred_low"][rows], out["pred_high"][rows] = plo, phi
    out["converged"][rows] = c0 & c1 & c2
    return med, lo, hi, plo, phi


# ---------------------------------------------------------------------- public


def _checked(y, v):
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    if y.shape != v.shape or y.ndim != 2:
        raise InputError(f"y and v must be (B, k) arrays of one shape, got {y.shape}, {v.shape}")
    present = ~np.isnan(y) & ~np.isnan(v)
    if np.any(np.isinf(y[present])) or np.any(np.isinf(v[present])):
        raise InputError("yi and vi must be finite (use NaN for an absent study)")
    if np.any(v[present] <= 0):
        raise InputError("sampling variances must be positive")
    return y, v, present


def bayes_many(y, v, tau_prior: TauPrior | str, mu_prior: MuPrior | str | None = None, *,
               level: float = 0.95, interval: str = "central", tol: float = DEFAULT_TOL,
               panels: int = PANELS, nodes: int = NODES) -> BayesBatch:
    """Posterior median and credible intervals of mu and theta_new for every row at once.

    Parameters
    ----------
    y, v
        Effect sizes and sampling variances (not standard errors), shape ``(B, k)``; NaN in
        either marks an absent study, so rows may have different numbers of studies.
    tau_prior
        Any :class:`~acu_meta.models._bayes_priors.TauPrior` or a CLI spec
        (``"half-normal:0.5"``, a literature prior's name, ...), as for ``bayes_meta``.
    mu_prior
        ``None``/``"flat"``, ``"normal:M,S"`` or a :class:`MuPrior`.
    level
        Probability of the intervals.
    interval
        ``"central"`` (equal tails) or ``"shortest"``.
    tol
        Bound on the stated error of the interval ends (absolute, relative above 1); rows
        above it get more panels, then the exact engine (module docstring).
    panels, nodes
        The default rule: ``panels`` Gauss-Legendre panels of ``nodes`` nodes.

    Returns
    -------
    BayesBatch
        Rows without a study, and rows whose posterior is improper, have NaN and
        ``converged`` False.

    Notes
    -----
    Validated against :func:`acu_meta.models.bayes.bayes_meta` (interval ends and medians to
    1e-6 and within the stated error; ragged rows; the point-mass prior against the
    frequentist fixed-tau fit) in ``tests/models/test_bayes_batch.py``.
    """
    if isinstance(tau_prior, str):
        tau_prior = priors.parse_tau_prior(tau_prior)
    if mu_prior is None or isinstance(mu_prior, str):
        mu_prior = priors.parse_mu_prior(mu_prior)
    level = float(level)
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")
    if interval not in ("central", "shortest"):
        raise InputError("interval must be 'central' or 'shortest'")
    y, v, present = _checked(y, v)
    B = len(y)
    kk = present.sum(axis=1)
    res = {name: np.full(B, np.nan) for name in ("mu_median", "mu_low", "mu_high", "pred_low",
                                                 "pred_high", "quad_error")}
    res["n_nodes"] = np.zeros(B, dtype=int)
    res["converged"] = np.zeros(B, dtype=bool)
    res["refitted"] = np.zeros(B, dtype=bool)
    for k in np.unique(kk[kk > 0]):
        rows = np.flatnonzero(kk == k)
        yk = y[rows][present[rows]].reshape(len(rows), k)  # compact: the present studies
        vk = v[rows][present[rows]].reshape(len(rows), k)
        chunk = max(1, _CHUNK_ELEMS // (2 * panels * nodes * int(k)))
        for start in range(0, len(rows), chunk):
            sl = slice(start, start + chunk)
            part = _fit_group(yk[sl], vk[sl], tau_prior, mu_prior, level, interval, tol,
                              panels, nodes)
            for name, arr in part.items():
                res[name][rows[sl]] = arr
    return BayesBatch(tau_prior=tau_prior, mu_prior=mu_prior, level=level, interval=interval,
                      k=kk, **res)
