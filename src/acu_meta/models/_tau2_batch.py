"""Vectorized tau2 estimators: many intercept-only data sets at once (the batch functions of
:mod:`acu_meta.models.registry`, used by :func:`acu_meta.models.batch.fit_many`).

Data are ``(k, n)`` arrays, one column per data set: ``y``, ``v`` (absent studies hold 0 and
1), the 0/1 mask ``m`` of present studies and ``k`` (studies per column, float, all >= 2).
Every batch function returns ``(tau2, refit)``: the estimates and a mask of the columns the
safety net must hand to the single-fit estimator. Every quantity follows the single-fit
definitions of :mod:`acu_meta.models._tau2` exactly, so the two engines agree to rounding
error (``tests/results/test_batch.py`` checks 1e-10 relative).

How the iterative estimators are solved
---------------------------------------
PM (and EB, whose estimating equation is algebraically PM's)
    The root of the decreasing function ``Q(tau2) - (k - 1)`` (0 when it is <= 0 at 0), on the
    bracket ``[0, hi]``, ``hi`` the smallest doubling of the single engine's scale at which the
    function is <= 0 (:func:`acu_meta.models._roots.upper_end`, row by row).
ML, REML
    Fast path: the score (no logarithms) on a coarse grid of 0 and 8 geometric points up to
    ``hi``; a row with at most one sign change has one bracketed maximum (or tau2 = 0), refined
    directly. Rows with several sign changes take the single engine's search: the score on
    its grid (0 and :data:`acu_meta.models._roots.GRID` geometric points up to ``hi``), each
    + to - sign change bracketing a local maximum, all refined together, the one with the
    largest (restricted) log-likelihood kept, or tau2 = 0 when the score is <= 0 there and the
    log-likelihood is larger at 0.

Every bracket is refined by a vectorized *safeguarded Newton* iteration (Numerical Recipes'
``rtsafe``): a Newton step on the analytic derivative when it stays inside the row's current
bracket and halves the function fast enough, a bisection step otherwise; each evaluation,
the start point's included, shrinks the bracket, a step never leaves it, and a non-finite value
forces bisection without moving the bracket (a row whose bisection falls back onto a
non-finite point is not converged, and goes to the safety net). It stops when the step is
below ``1e-15 * scale + 4 eps |tau2|`` (the single engine's Brent tolerance), which every row
reaches: bisection alone needs about 55 steps.

Safety net
----------
ML / REML: the chosen tau2 is checked against the log-likelihood on the whole grid. A row whose
grid maximum beats the chosen value (this cannot happen in exact arithmetic, since every local
maximum on the grid's range was refined; it could only come from rounding), and any row whose
Newton iteration did not converge, is flagged for a refit with the single engine. PM / EB: rows
whose Newton iteration did not converge. On the validation sets no row needed it.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ._roots import GRID, RTOL
from ._tau2 import dl_from_q

_LOG2PI = float(np.log(2 * np.pi))
_MAXITER = 200
_SCREEN = 8  # coarse screening grid of the fast path (see _tau2_ml)


# ------------------------------------------------------------------------------ helpers


def _cols(j, *arrays):
    """The columns j of (k, n) arrays, or the arrays themselves when j is None."""
    return arrays if j is None else tuple(a[:, j] for a in arrays)


def _center(y, w):
    """Sum of weights, weighted mean, residuals."""
    sw = w.sum(axis=0)
    ybar = (w * y).sum(axis=0) / sw
    return sw, ybar, y - ybar


def _trace_p0(w):
    """``sum(w) - sum(w^2) / sum(w)`` per column without cancellation when one weight
    dominates: ``sum_i w_i (S - w_i) / S`` with ``S - w_i`` formed as ``R + (w_max - w_i)``,
    ``R`` the sum of the weights other than the (first) largest, and as ``R`` for the largest
    itself (a weight of 1e-12 beside 0.1 keeps full precision)."""
    jmax = w.argmax(axis=0)
    cols = np.arange(w.shape[1])
    wmax = w[jmax, cols]
    others = w.copy()
    others[jmax, cols] = 0.0
    R = others.sum(axis=0)
    S = R + wmax
    rest = R + (wmax - w)
    rest[jmax, cols] = R
    return (w * rest).sum(axis=0) / S


def _qgen(t, y, v, m):
    """Generalized Q: sum w (y - ybar_w)^2 with w = 1 / (v + tau2)."""
    w = m / (v + t)
    _, _, r = _center(y, w)
    return (w * r * r).sum(axis=0)


def _pm_fd(t, y, v, m, k):
    """PM estimating function Q(tau2) - (k - 1) and its derivative -sum w^2 r^2."""
    w = m / (v + t)
    _, _, r = _center(y, w)
    wr = w * r
    return (wr * r).sum(axis=0) - (k - 1), -(wr * wr).sum(axis=0)


def _score_fd(t, y, v, m, reml):
    """(Restricted) likelihood score y'PPy - tr(P) (ML: - sum w) and its derivative in tau2."""
    w = m / (v + t)
    sw, _, r = _center(y, w)
    wr = w * r
    wr2 = wr * wr
    a = wr2.sum(axis=0)
    w2 = w * w
    s2 = w2.sum(axis=0)
    c = (w * wr).sum(axis=0)
    da = -2.0 * (w * wr2).sum(axis=0) + 2.0 * c * c / sw
    if reml:
        s3 = (w2 * w).sum(axis=0)
        dtr = -s2 + 2.0 * s3 / sw - (s2 / sw) ** 2
        return a - (sw - s2 / sw), da - dtr
    return a - sw, da + s2


def _score_ll(t, y, v, m, k, reml):
    """Score and (restricted) log-likelihood, as the single engine's _score and _loglik."""
    vt = v + t
    w = m / vt
    sw, _, r = _center(y, w)
    wr = w * r
    a = (wr * wr).sum(axis=0)
    rss = (wr * r).sum(axis=0)
    ll = -0.5 * ((m * np.log(vt)).sum(axis=0) + rss)
    if reml:
        s2 = (w * w).sum(axis=0)
        score = a - (sw - s2 / sw)
        ll = ll - 0.5 * np.log(sw) - 0.5 * (k - 1) * _LOG2PI
    else:
        score = a - sw
        ll = ll - 0.5 * k * _LOG2PI
    return score, ll


def _scale(y, m, v, k):
    """max(var(y), mean(v), 1e-12) over the studies present, as the single engine."""
    ybar = (m * y).sum(axis=0) / k
    var = (m * (y - ybar) ** 2).sum(axis=0) / k
    mv = (m * v).sum(axis=0) / k
    return np.maximum(np.maximum(var, mv), 1e-12)


def _upper(func, scale):
    """Per row, the smallest doubling of *scale* at which func(hi) <= 0 (as _roots.upper_end)."""
    hi = scale.copy()
    todo = np.flatnonzero(~(func(hi, np.arange(len(hi))) <= 0))
    for _ in range(2000):
        if todo.size == 0:
            return hi
        hi[todo] *= 2.0
        todo = todo[~(func(hi[todo], todo) <= 0)]
    raise ModelError("could not bracket tau2 (the estimating function never changes sign)")


def _rtsafe(fdf, lo, hi, x0, scale):
    """Vectorized safeguarded Newton for functions decreasing through their root.

    ``fdf(x, idx)`` returns f and f' at x for the brackets ``idx`` (``None``: all of them);
    f(lo) > 0 >= f(hi).
    Returns the roots and a convergence flag per bracket.
    """
    n = len(lo)
    x = x0.copy()
    xl, xh = hi.copy(), lo.copy()  # f(xl) <= 0, f(xh) > 0 (Numerical Recipes' orientation)
    dxold = np.abs(hi - lo)
    dx = dxold.copy()
    conv = np.zeros(n, dtype=bool)
    f, df = fdf(x, None)
    conv[f == 0] = True
    # the start point already splits each bracket: shrink it before the first step
    inside = (x0 > lo) & (x0 < hi) & np.isfinite(f)
    xl[inside & (f <= 0)] = x0[inside & (f <= 0)]
    xh[inside & (f > 0)] = x0[inside & (f > 0)]
    act = np.flatnonzero(~conv)
    f, df = f[act], df[act]
    for _ in range(_MAXITER):
        if act.size == 0:
            break
        xa, fa, dfa = x[act], f, df
        xla, xha = xl[act], xh[act]
        with np.errstate(invalid="ignore", over="ignore"):
            bis = ((((xa - xha) * dfa - fa) * ((xa - xla) * dfa - fa)) > 0) | (
                np.abs(2.0 * fa) > np.abs(dxold[act] * dfa)) | ~np.isfinite(dfa) | (dfa == 0) | (
                ~np.isfinite(fa))
        dxold[act] = dx[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(bis, 0.5 * (xha - xla), fa / dfa)
        new = np.where(bis, xla + step, xa - step)
        # never leave the bracket (rounding in a Newton step near its ends)
        new = np.clip(new, np.minimum(xla, xha), np.maximum(xla, xha))
        dx[act] = step
        tol = 1e-15 * scale[act] + RTOL * np.abs(new)
        fin = np.isfinite(fa)
        done = ((np.abs(step) < tol) | (new == xa)) & fin
        stuck = (new == xa) & ~fin  # bisection back onto a non-finite point: give up
        x[act] = new
        conv[act[done]] = True
        act = act[~(done | stuck)]
        if act.size == 0:
            break
        if act.size > n // 2:  # most rows still active: evaluate all, no gather copies
            f, df = fdf(x, None)
            f, df = f[act], df[act]
        else:
            f, df = fdf(x[act], act)
        fin = np.isfinite(f)  # a non-finite value says nothing about the side: keep bracket
        neg = (f <= 0) & fin
        pos = (f > 0) & fin
        xl[act[neg]] = x[act[neg]]
        xh[act[pos]] = x[act[pos]]
        zero = f == 0
        conv[act[zero]] = True
        keep = ~zero
        act, f, df = act[keep], f[keep], df[keep]
    return x, conv


# ------------------------------------------------------------------------------ tau2


def _fe_q(y, v, m):
    """FE weights, their sum and Q around the FE mean."""
    w0 = m / v
    sw, _, r = _center(y, w0)
    return w0, sw, (w0 * r * r).sum(axis=0)


def _tau2_dl(y, v, m, k):
    w0, sw, Q = _fe_q(y, v, m)
    return dl_from_q(Q, k - 1, _trace_p0(w0))


def _ss(y, m, k):
    """Sum of squares around the unweighted mean."""
    ybar = (m * y).sum(axis=0) / k
    return (m * (y - ybar) ** 2).sum(axis=0)


def _no_refit(tau2):
    return tau2, np.zeros(len(tau2), dtype=bool)


def batch_fe(y, v, m, k):
    """FE: tau2 = 0."""
    return _no_refit(np.zeros(len(k)))


def batch_dl(y, v, m, k):
    """DerSimonian-Laird, ``(Q - (k - 1)) / tr(P0)``."""
    return _no_refit(_tau2_dl(y, v, m, k))


def batch_hs(y, v, m, k):
    """Hunter-Schmidt, ``(Q - k) / sum(w)``."""
    _, sw, Q = _fe_q(y, v, m)
    return _no_refit(np.maximum(0.0, (Q - k) / sw))


def batch_he(y, v, m, k):
    """Hedges, ``(SS - tr(R V)) / (k - 1)``."""
    trRV = (1.0 - 1.0 / k) * (m * v).sum(axis=0)
    return _no_refit(np.maximum(0.0, (_ss(y, m, k) - trRV) / (k - 1)))


def batch_sj(y, v, m, k):
    """Sidik-Jonkman from the unweighted mean square."""
    tau0 = _ss(y, m, k) / k
    out = np.zeros(len(k))
    pos = tau0 > 0
    if pos.any():
        Q = _qgen(tau0[pos], y[:, pos], v[:, pos], m[:, pos])
        out[pos] = np.maximum(0.0, tau0[pos] * Q / (k[pos] - 1))
    return _no_refit(out)


def _tau2_pm(y, v, m, k):
    n = len(k)
    scale = _scale(y, m, v, k)
    tau2 = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    f0 = _qgen(np.zeros(n), y, v, m) - (k - 1)
    idx = np.flatnonzero(f0 > 0)
    if idx.size == 0:
        return tau2, conv
    ys, vs, ms, ks, sc = y[:, idx], v[:, idx], m[:, idx], k[idx], scale[idx]
    hi = _upper(lambda t, j: _qgen(t, ys[:, j], vs[:, j], ms[:, j]) - (ks[j] - 1), sc)
    # start at the DL estimate when it lies inside the bracket
    x0 = _tau2_dl(ys, vs, ms, ks)
    x0 = np.where((x0 > 0) & (x0 < hi), x0, 0.5 * hi)
    root, ok = _rtsafe(lambda t, j: _pm_fd(t, *_cols(j, ys, vs, ms), ks if j is None else ks[j]),
                       np.zeros(idx.size), hi, x0, sc)
    tau2[idx] = root
    conv[idx] = ok
    return tau2, conv


def _score_only(t, y, v, m, reml):
    """The (restricted) likelihood score alone (no logarithms): the screening function."""
    w = m / (v + t)
    sw, _, r = _center(y, w)
    wr = w * r
    a = (wr * wr).sum(axis=0)
    if reml:
        return a - (sw - (w * w).sum(axis=0) / sw)
    return a - sw


def _tau2_ml(y, v, m, k, reml):
    """ML / REML tau2, fast path first.

    Fast path: the score is evaluated (without logarithms) on a coarse grid of 0 and
    ``_SCREEN`` geometric points up to ``hi``. A row whose score changes sign at most once there
    has a single bracketed maximum (or tau2 = 0 when the score is <= 0 at 0 and negative
    throughout), refined by safeguarded Newton. Rows with several sign changes take the full
    path (:func:`_tau2_ml_full`: the single engine's grid with log-likelihoods), and
    the equality with the single engine is checked by the tests on random and multimodal data.
    """
    n = len(k)
    scale = _scale(y, m, v, k)
    hi = _upper(lambda t, j: _score_only(t, y[:, j], v[:, j], m[:, j], reml), scale)
    grid = np.concatenate([np.zeros((n, 1)), np.geomspace(hi * 1e-10, hi, _SCREEN, axis=1)],
                          axis=1)
    sc = np.empty_like(grid)
    for j in range(grid.shape[1]):
        sc[:, j] = _score_only(grid[:, j], y, v, m, reml)
    pos = sc > 0
    changes = (pos[:, :-1] != pos[:, 1:]).sum(axis=1)
    simple = changes <= 1
    tau2 = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    suspect = np.zeros(n, dtype=bool)
    # simple rows with a + to - change: one bracketed maximum
    down = (pos[:, :-1] & ~pos[:, 1:])
    rows = np.flatnonzero(simple & down.any(axis=1))
    if rows.size:
        cols = down[rows].argmax(axis=1)
        lo, up = grid[rows, cols], grid[rows, cols + 1]
        flo, fup = sc[rows, cols], sc[rows, cols + 1]
        x0 = lo + flo * (up - lo) / (flo - fup)
        x0 = np.where((x0 > lo) & (x0 < up), x0, 0.5 * (lo + up))
        yc, vc, mc = y[:, rows], v[:, rows], m[:, rows]
        roots, ok = _rtsafe(lambda t, j: _score_fd(t, *_cols(j, yc, vc, mc), reml),
                            lo, up, x0, scale[rows])
        tau2[rows] = roots
        conv[rows] = ok
        suspect[rows] = ~ok
    # rows with several sign changes: the full search
    hard = np.flatnonzero(~simple)
    if hard.size:
        t, ok, sus = _tau2_ml_full(y[:, hard], v[:, hard], m[:, hard], k[hard], reml)
        tau2[hard] = t
        conv[hard] = ok
        suspect[hard] = sus
    return tau2, conv, suspect


def _tau2_ml_full(y, v, m, k, reml):
    """ML / REML tau2: grid brackets, all local maxima refined at once, the best kept."""
    n = len(k)
    scale = _scale(y, m, v, k)
    hi = _upper(lambda t, j: _score_ll(t, y[:, j], v[:, j], m[:, j], k[j], reml)[0], scale)
    grid = np.concatenate([np.zeros((n, 1)), np.geomspace(hi * 1e-10, hi, GRID, axis=1)],
                          axis=1)  # (n, 65), as the single engine's grid row by row
    sc = np.empty_like(grid)
    ll = np.empty_like(grid)
    for j in range(grid.shape[1]):
        sc[:, j], ll[:, j] = _score_ll(grid[:, j], y, v, m, k, reml)
    # every + to - sign change of the score brackets a local maximum
    rows, cols = np.nonzero((sc[:, :-1] > 0) & (sc[:, 1:] <= 0))
    lo, up = grid[rows, cols], grid[rows, cols + 1]
    flo, fup = sc[rows, cols], sc[rows, cols + 1]
    x0 = lo + flo * (up - lo) / (flo - fup)  # secant start
    x0 = np.where((x0 > lo) & (x0 < up), x0, 0.5 * (lo + up))
    yc, vc, mc = y[:, rows], v[:, rows], m[:, rows]
    roots, ok = _rtsafe(lambda t, j: _score_fd(t, *_cols(j, yc, vc, mc), reml), lo, up, x0,
                        scale[rows])
    _, llr = _score_ll(roots, yc, vc, mc, k[rows], reml)
    # best local maximum per row, then tau2 = 0 when the score at 0 is <= 0 and 0 is better
    tau2 = np.zeros(n)
    best = np.full(n, -np.inf)
    conv = np.ones(n, dtype=bool)
    if rows.size:
        order = np.lexsort((-llr, rows))
        first = np.ones(order.size, dtype=bool)
        first[1:] = rows[order][1:] != rows[order][:-1]
        pick = order[first]
        tau2[rows[pick]] = roots[pick]
        best[rows[pick]] = llr[pick]
        np.logical_and.at(conv, rows, ok)
    at0 = (sc[:, 0] <= 0) & (ll[:, 0] > best)
    tau2[at0] = 0.0
    best[at0] = ll[:, 0][at0]
    # safety net: the grid's best log-likelihood must not beat the chosen maximum
    gmax = ll.max(axis=1)
    suspect = (gmax > best + 1e-12 * (1.0 + np.abs(best))) | ~conv
    return tau2, conv, suspect


def batch_pm(y, v, m, k):
    """Paule-Mandel (and EB): the root of ``Q(tau2) = k - 1``."""
    tau2, ok = _tau2_pm(y, v, m, k)
    return tau2, ~ok


def batch_ml(y, v, m, k):
    """Maximum likelihood (global maximum)."""
    tau2, _, suspect = _tau2_ml(y, v, m, k, reml=False)
    return tau2, suspect


def batch_reml(y, v, m, k):
    """Restricted maximum likelihood (global maximum)."""
    tau2, _, suspect = _tau2_ml(y, v, m, k, reml=True)
    return tau2, suspect
