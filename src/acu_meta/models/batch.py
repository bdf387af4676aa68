"""Vectorized engine: many random-effects meta-analyses (intercept only) in one call.

The single-fit engine :func:`acu_meta.models.fit` fits one data set at a time; this module fits
``B`` data sets held as the rows of ``(B, k)`` arrays, with NaN marking an absent study (rows may
have different numbers of studies). Every quantity follows the definitions of
:mod:`acu_meta.models._core` exactly (see that module for the estimators), so the two engines
agree to rounding error; ``tests/results/test_batch.py`` checks 1e-10 (relative) for every method,
with and without HKSJ.

How the iterative estimators are solved
---------------------------------------
PM (and EB, whose estimating equation is algebraically PM's)
    The root of the decreasing function ``Q(tau2) - (k - 1)`` (0 when it is <= 0 at 0), on the
    bracket ``[0, hi]``, ``hi`` the smallest doubling of the single engine's scale at which the
    function is <= 0.
ML, REML
    Fast path: the score (no logarithms) on a coarse grid of 0 and 8 geometric points up to
    ``hi``; a row with at most one sign change has one bracketed maximum (or tau2 = 0), refined
    directly. Rows with several sign changes take the single engine's search: the score on
    its grid (0 and 64 geometric points up to ``hi``), each + to - sign change bracketing a
    local maximum, all refined together, the one with the largest (restricted) log-likelihood
    kept, or tau2 = 0 when the score is <= 0 there and the log-likelihood is larger at 0.

Every bracket is refined by a vectorized *safeguarded Newton* iteration (Numerical Recipes'
``rtsafe``): a Newton step on the analytic derivative when it stays inside the row's current
bracket and halves the function fast enough, a bisection step otherwise; each evaluation shrinks
the bracket. It stops when the step is below ``1e-15 * scale + 4 eps |tau2|`` (the single
engine's Brent tolerance), which every row reaches: bisection alone needs about 55 steps.

Safety net
----------
ML / REML: the chosen tau2 is checked against the log-likelihood on the whole grid. A row whose
grid maximum beats the chosen value (this cannot happen in exact arithmetic, since every local
maximum on the grid's range was refined; it could only come from rounding), and any row whose
Newton iteration did not converge, is refitted with the single engine; ``refitted`` marks these
rows. On the validation sets no row needed it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._core import TAU2_METHODS, ModelError, fit

_EPS = np.finfo(float).eps
_GRID = 64  # the single engine's grid: 0 and 64 geometric points on [hi * 1e-10, hi]
_LOG2PI = float(np.log(2 * np.pi))
_MAX_BYTES = 200e6  # bound on the memory of the temporaries of one chunk
_TEMPS = 24  # (k, n) float temporaries alive at once, generously counted
_CHUNK_ELEMS = 1 << 15  # (k, n) arrays of 256 kB stay in cache: faster than one big chunk
_MAXITER = 200


@dataclass(frozen=True)
class BatchFit:
    """Raw numbers of ``B`` fitted intercept-only models (one entry per row)."""

    method: str
    hksj: bool
    k: np.ndarray  # studies per row
    beta: np.ndarray
    var_beta: np.ndarray  # HKSJ-scaled when hksj and k > 1
    tau2: np.ndarray
    QE: np.ndarray
    I2: np.ndarray  # percent
    H2: np.ndarray
    vt: np.ndarray  # metafor's typical within-study variance s^2
    s2_hksj: np.ndarray  # 1 when not used
    converged: np.ndarray
    refitted: np.ndarray  # handed to the single engine (safety net)


# ------------------------------------------------------------------------------ helpers


def _cols(j, *arrays):
    """The columns j of (k, n) arrays, or the arrays themselves when j is None."""
    return arrays if j is None else tuple(a[:, j] for a in arrays)


def _center(y, w):
    """Sum of weights, weighted mean, residuals."""
    sw = w.sum(axis=0)
    ybar = (w * y).sum(axis=0) / sw
    return sw, ybar, y - ybar


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
    """Per row, the smallest doubling of *scale* at which func(hi) <= 0 (as _core._upper)."""
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
    act = np.flatnonzero(~conv)
    f, df = f[act], df[act]
    for _ in range(_MAXITER):
        if act.size == 0:
            break
        xa, fa, dfa = x[act], f, df
        xla, xha = xl[act], xh[act]
        with np.errstate(invalid="ignore", over="ignore"):
            bis = ((((xa - xha) * dfa - fa) * ((xa - xla) * dfa - fa)) > 0) | (
                np.abs(2.0 * fa) > np.abs(dxold[act] * dfa)) | ~np.isfinite(dfa) | (dfa == 0)
        dxold[act] = dx[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(bis, 0.5 * (xha - xla), fa / dfa)
        new = np.where(bis, xla + step, xa - step)
        dx[act] = step
        tol = 1e-15 * scale[act] + 4 * _EPS * np.abs(new)
        done = (np.abs(step) < tol) | (new == xa)
        x[act] = new
        conv[act[done]] = True
        act = act[~done]
        if act.size == 0:
            break
        if act.size > n // 2:  # most rows still active: evaluate all, no gather copies
            f, df = fdf(x, None)
            f, df = f[act], df[act]
        else:
            f, df = fdf(x[act], act)
        neg = f <= 0
        xl[act[neg]] = x[act[neg]]
        xh[act[~neg]] = x[act[~neg]]
        zero = f == 0
        conv[act[zero]] = True
        keep = ~zero
        act, f, df = act[keep], f[keep], df[keep]
    return x, conv


# ------------------------------------------------------------------------------ tau2


def _tau2_closed(method, y, v, m, k):
    w0 = m / v
    if method in ("DL", "HS"):
        sw, _, r = _center(y, w0)
        Q = (w0 * r * r).sum(axis=0)
        if method == "HS":
            return np.maximum(0.0, (Q - k) / sw)
        trP = sw - (w0 * w0).sum(axis=0) / sw
        return np.maximum(0.0, (Q - (k - 1)) / trP)
    ybar = (m * y).sum(axis=0) / k
    ss = (m * (y - ybar) ** 2).sum(axis=0)
    if method == "HE":
        trRV = (1.0 - 1.0 / k) * (m * v).sum(axis=0)
        return np.maximum(0.0, (ss - trRV) / (k - 1))
    # SJ
    tau0 = ss / k
    out = np.zeros(len(k))
    pos = tau0 > 0
    if pos.any():
        Q = _qgen(tau0[pos], y[:, pos], v[:, pos], m[:, pos])
        out[pos] = np.maximum(0.0, tau0[pos] * Q / (k[pos] - 1))
    return out


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
    x0 = _tau2_closed("DL", ys, vs, ms, ks)
    x0 = np.where((x0 > 0) & (x0 < hi), x0, 0.5 * hi)
    root, ok = _rtsafe(lambda t, j: _pm_fd(t, *_cols(j, ys, vs, ms), ks if j is None else ks[j]),
                       np.zeros(idx.size), hi, x0, sc)
    tau2[idx] = root
    conv[idx] = ok
    return tau2, conv


_SCREEN = 8  # coarse screening grid of the fast path (see _tau2_ml)


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
    path (:func:`_tau2_ml_full`: the single engine's 64-point grid with log-likelihoods), and
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
    grid = np.concatenate([np.zeros((n, 1)), np.geomspace(hi * 1e-10, hi, _GRID, axis=1)],
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


# ------------------------------------------------------------------------------ fit


def _fit_chunk(y, v, method, hksj, out, sl):
    """Fit one chunk, given as (k, n) arrays (one column per data set); write into *out*."""
    m = np.isfinite(y) & np.isfinite(v)
    k = m.sum(axis=0)
    mf = m.astype(float)
    y = np.where(m, y, 0.0)  # contiguous (k, n): reductions over studies are fast
    v = np.where(m, v, 1.0)
    n = len(k)
    tau2 = np.zeros(n)
    conv = k > 0
    refit = np.zeros(n, dtype=bool)
    est = np.flatnonzero(k >= 2) if method != "FE" else np.array([], dtype=int)
    if est.size:
        ye, ve, me, ke = y[:, est], v[:, est], mf[:, est], k[est].astype(float)
        if method in ("DL", "HE", "HS", "SJ"):
            tau2[est] = _tau2_closed(method, ye, ve, me, ke)
        elif method in ("PM", "EB"):
            t, ok = _tau2_pm(ye, ve, me, ke)
            tau2[est] = t
            refit[est[~ok]] = True
        else:
            t, ok, suspect = _tau2_ml(ye, ve, me, ke, method == "REML")
            tau2[est] = t
            refit[est[suspect]] = True
    for i in np.flatnonzero(refit):  # safety net: the single engine (rare; see module doc)
        try:
            tau2[i] = fit(y[m[:, i], i], v[m[:, i], i], method=method).tau2
        except ModelError:
            tau2[i] = np.nan
            conv[i] = False
    # fit at tau2
    ok = k > 0
    kf = k.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = mf / (v + tau2)
        sw, beta, r = _center(y, w)
        beta = np.where(k == 1, y.sum(axis=0), beta)  # exactly yi (absent entries hold 0)
        rss = (w * r * r).sum(axis=0)
        s2 = np.ones(n)
        if hksj:
            multi = k > 1
            s2[multi] = rss[multi] / (kf[multi] - 1)
        var_beta = s2 / sw
        # heterogeneity test with FE weights
        w0 = mf / v
        sw0, _, r0 = _center(y, w0)
        QE = np.where(ok, (w0 * r0 * r0).sum(axis=0), np.nan)
        df = kf - 1
        trP0 = sw0 - (w0 * w0).sum(axis=0) / sw0
        vt = np.where(k > 1, df / trP0, np.nan)
        if method == "FE":
            I2 = np.where((k > 1) & (QE > 0), np.maximum(0.0, 100 * (QE - df) / QE), 0.0)
            H2 = np.where(k > 1, QE / df, np.nan)
        else:
            I2 = np.where(k > 1, 100 * tau2 / (vt + tau2), np.nan)
            H2 = np.where(k > 1, tau2 / vt + 1, np.nan)
    nan = ~ok
    for name, arr in (("beta", beta), ("var_beta", var_beta), ("tau2", tau2), ("QE", QE),
                      ("I2", I2), ("H2", H2), ("vt", vt), ("s2_hksj", s2)):
        arr = np.where(nan, np.nan, arr)
        out[name][sl] = arr
    out["k"][sl] = k
    out["converged"][sl] = conv & ok
    out["refitted"][sl] = refit


def fit_many(y, v, method: str = "REML", hksj: bool = False,
             chunk_rows: int | None = None) -> BatchFit:
    """Fit the intercept-only model to every row of ``(B, k)`` arrays *y*, *v* at once.

    Parameters
    ----------
    y, v
        Effect sizes and sampling variances, shape ``(B, k)`` (a 1-D pair is one row). NaN in
        either marks an absent study. Present variances must be positive, present values finite.
    method
        FE, DL, HE, HS, SJ, PM, EB, ML or REML (definitions as :func:`acu_meta.models.fit`).
    hksj
        Knapp-Hartung scaling of the variance of the estimate (rows with k > 1).
    chunk_rows
        Rows per chunk (default: about 32,768 / k, so that each temporary stays in cache;
        never more than keep the temporaries below about 200 MB).

    Returns
    -------
    BatchFit
        Rows with no study get NaN and ``converged`` False; rows with one study get tau2 = 0.

    Notes
    -----
    Validated against the single-fit engine :func:`acu_meta.models.fit` (1e-10 relative, every
    method, with and without HKSJ, ragged rows, k = 1 and 2, tau2 = 0) and against metafor
    3.8.1 ``rma()`` on the random data sets of ``tests/fixtures/metafor_reference.json``
    (1e-8), in ``tests/results/test_batch.py``.
    """
    method = method.upper()
    if method not in TAU2_METHODS:
        raise ModelError(f"unknown method {method!r}; use one of {', '.join(TAU2_METHODS)}")
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    if y.shape != v.shape or y.ndim != 2:
        raise ModelError(f"y and v must be (B, k) arrays of one shape, got {y.shape}, {v.shape}")
    present = ~np.isnan(y) & ~np.isnan(v)
    if np.any(np.isinf(y[present])) or np.any(np.isinf(v[present])):
        raise ModelError("yi and vi must be finite (use NaN for an absent study)")
    if np.any(v[present] <= 0):
        raise ModelError("sampling variances must be positive")
    B, kmax = y.shape
    if chunk_rows is None:
        chunk_rows = max(1, min(_CHUNK_ELEMS // max(kmax, 1),
                                int(_MAX_BYTES // (8 * max(kmax, 1) * _TEMPS))))
    out = {name: np.full(B, np.nan) for name in
           ("beta", "var_beta", "tau2", "QE", "I2", "H2", "vt", "s2_hksj")}
    out["k"] = np.zeros(B, dtype=int)
    out["converged"] = np.zeros(B, dtype=bool)
    out["refitted"] = np.zeros(B, dtype=bool)
    for start in range(0, B, chunk_rows):
        sl = slice(start, min(start + chunk_rows, B))
        _fit_chunk(np.ascontiguousarray(y[sl].T), np.ascontiguousarray(v[sl].T), method,
                   bool(hksj), out, sl)
    return BatchFit(method=method, hksj=bool(hksj), **out)
