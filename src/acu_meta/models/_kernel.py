"""Optional compiled kernel of the batch engine (numba): one pass per data set, no temporaries.

:func:`acu_meta.models.batch.fit_many` works on ``(k, n)`` numpy arrays, one reduction over the
studies per quantity; at k = 10 each fit still costs about 6 us for REML, mostly in the many
small array passes of the safeguarded Newton iteration. This module does the same work row by
row in compiled loops over the original ``(B, k)`` arrays:

* :func:`ml_tau2` -- the ML / REML fast path of :mod:`acu_meta.models._tau2_batch`, the same
  definitions step for step: the single engine's scale, the doubling upper end, the score on the
  coarse screening grid (0 and ``_SCREEN`` geometric points up to ``hi``), and the bracketed
  maximum refined by the same safeguarded Newton iteration with the same stopping rule. Rows
  with several sign changes on the grid (possible multiple maxima), rows whose iteration did not
  converge and rows that could not be bracketed are flagged: the caller fits them with the numpy
  engine, whose full search and safety net stay the only ones.
* :func:`stats_at` -- at given tau2 values: the estimate, the sum of weights, the HKSJ factor,
  the FE heterogeneity statistic Q and tr(P0) (the DL denominator; its estimator is still
  :func:`acu_meta.models._tau2.dl_from_q`). I2 and H2 stay in :mod:`acu_meta.numeric`.

Why numba: it is the maintained JIT compiler for numerical Python loops (numba/llvmlite, with
wheels for every CPython and numpy we support), so the kernel stays plain Python and readable
beside the numpy reference. It is optional (extra ``fast``): without it, or with
``ACU_META_KERNEL=numpy`` in the environment, the numpy path runs. Compiled functions are
cached on disk (``cache=True``): the first call in a fresh environment compiles for about 2-5 s,
later processes load the cache in milliseconds (measured by ``benchmarks/bench_goals.py``).

Validated in ``tests/models/test_kernel.py``: every field equals the numpy path to 1e-10
(relative) for FE, DL, ML and REML, with and without HKSJ, on random ragged data, k = 1 and
k = 2, tau2 = 0 rows and the multimodal sets that take the full search.
"""

from __future__ import annotations

import importlib.util
import math
import os

import numpy as np

from ._roots import RTOL

_MAXITER = 200  # as _tau2_batch
_SCREEN = 8  # as _tau2_batch._SCREEN
_MAXDOUBLE = 2000  # as _tau2_batch._upper

#: Methods the kernel fits (tau2 by the kernel or from its Q); the others use the numpy path.
METHODS = ("FE", "DL", "ML", "REML")


_HAS_NUMBA = importlib.util.find_spec("numba") is not None  # found, not imported (0.4 s)
_KERNELS = ("_compact", "_score", "_rtsafe", "_ml_rows", "_stats_rows")  # callees first
_compiled = False


def available() -> bool:
    """True when numba is installed and ``ACU_META_KERNEL`` is not ``numpy``."""
    return _HAS_NUMBA and os.environ.get("ACU_META_KERNEL", "").lower() != "numpy"


def _compile() -> None:
    """Import numba and replace the kernel functions by their jitted versions (once).

    numba is imported only here, on the first batch fit, so that importing acu_meta (and
    ``acu-meta --help``) does not pay for it. numba compiles lazily, on the first call, and
    resolves the callees as module globals then: callees are wrapped first.
    """
    global _compiled
    if _compiled:
        return
    import numba

    g = globals()
    for name in _KERNELS:
        g[name] = numba.njit(cache=True, nogil=True)(g[name])
    _compiled = True


def _compact(yrow, vrow, ys, vs):
    """Copy the present studies of one row (neither value NaN) into ys, vs; return k."""
    k = 0
    for i in range(yrow.shape[0]):
        if not (math.isnan(yrow[i]) or math.isnan(vrow[i])):
            ys[k] = yrow[i]
            vs[k] = vrow[i]
            k += 1
    return k


def _score(t, ys, vs, k, reml):
    """(Restricted) likelihood score and its derivative in tau2 (as _tau2_batch._score_fd)."""
    sw = 0.0
    swy = 0.0
    for i in range(k):
        w = 1.0 / (vs[i] + t)
        sw += w
        swy += w * ys[i]
    ybar = swy / sw
    a = 0.0
    s2 = 0.0
    s3 = 0.0
    c = 0.0
    wwr2 = 0.0
    for i in range(k):
        w = 1.0 / (vs[i] + t)
        wr = w * (ys[i] - ybar)
        wr2 = wr * wr
        a += wr2
        s2 += w * w
        s3 += w * w * w
        c += w * wr
        wwr2 += w * wr2
    da = -2.0 * wwr2 + 2.0 * c * c / sw
    if reml:
        dtr = -s2 + 2.0 * s3 / sw - (s2 / sw) ** 2
        return a - (sw - s2 / sw), da - dtr
    return a - sw, da + s2


def _rtsafe(ys, vs, k, reml, lo, hi, x0, scale):
    """Scalar safeguarded Newton (as _tau2_batch._rtsafe); returns (root, converged)."""
    x = x0
    xl, xh = hi, lo  # f(xl) <= 0, f(xh) > 0
    dxold = abs(hi - lo)
    dx = dxold
    f, df = _score(x, ys, vs, k, reml)
    if f == 0.0:
        return x, True
    for _ in range(_MAXITER):
        bis = ((((x - xh) * df - f) * ((x - xl) * df - f)) > 0.0
               or abs(2.0 * f) > abs(dxold * df) or not math.isfinite(df) or df == 0.0)
        dxold = dx
        if bis:
            step = 0.5 * (xh - xl)
            new = xl + step
        else:
            step = f / df
            new = x - step
        dx = step
        tol = 1e-15 * scale + RTOL * abs(new)
        if abs(step) < tol or new == x:
            return new, True
        x = new
        f, df = _score(x, ys, vs, k, reml)
        if f <= 0.0:
            xl = x
        else:
            xh = x
        if f == 0.0:
            return x, True
    return x, False


def _ml_rows(y, v, reml, tau2, conv, hard):
    B, K = y.shape
    ys = np.empty(K)
    vs = np.empty(K)
    grid = np.empty(_SCREEN + 1)
    sc = np.empty(_SCREEN + 1)
    for b in range(B):
        k = _compact(y[b], v[b], ys, vs)
        tau2[b] = 0.0
        conv[b] = k > 0
        hard[b] = False
        if k < 2:
            continue
        # the single engine's scale: max(var(y), mean(v), 1e-12)
        my = 0.0
        mv = 0.0
        for i in range(k):
            my += ys[i]
            mv += vs[i]
        my /= k
        mv /= k
        var = 0.0
        for i in range(k):
            var += (ys[i] - my) ** 2
        var /= k
        scale = max(max(var, mv), 1e-12)
        hi = scale
        ok = False
        for _ in range(_MAXDOUBLE + 1):
            f, _d = _score(hi, ys, vs, k, reml)
            if f <= 0.0:
                ok = True
                break
            hi *= 2.0
        if not ok:
            hard[b] = True
            continue
        # screening grid: 0 and _SCREEN geometric points from hi * 1e-10 to hi (np.geomspace)
        grid[0] = 0.0
        l0 = math.log10(hi * 1e-10)
        l1 = math.log10(hi)
        for j in range(_SCREEN):
            grid[j + 1] = 10.0 ** (l0 + (l1 - l0) * j / (_SCREEN - 1))
        grid[1] = hi * 1e-10
        grid[_SCREEN] = hi
        for j in range(_SCREEN + 1):
            sc[j], _d = _score(grid[j], ys, vs, k, reml)
        changes = 0
        first_down = -1
        for j in range(_SCREEN):
            if (sc[j] > 0.0) != (sc[j + 1] > 0.0):
                changes += 1
            if first_down < 0 and sc[j] > 0.0 and not (sc[j + 1] > 0.0):
                first_down = j
        if changes > 1:
            hard[b] = True
            continue
        if first_down < 0:
            continue  # score <= 0 throughout: tau2 = 0
        lo = grid[first_down]
        up = grid[first_down + 1]
        flo = sc[first_down]
        fup = sc[first_down + 1]
        x0 = lo + flo * (up - lo) / (flo - fup)
        if not (x0 > lo and x0 < up):
            x0 = 0.5 * (lo + up)
        root, ok = _rtsafe(ys, vs, k, reml, lo, up, x0, scale)
        tau2[b] = root
        conv[b] = ok
        hard[b] = not ok


def _stats_rows(y, v, tau2, hksj, kk, beta, sw_out, s2_out, q_out, trp_out):
    B, K = y.shape
    ys = np.empty(K)
    vs = np.empty(K)
    for b in range(B):
        k = _compact(y[b], v[b], ys, vs)
        kk[b] = k
        if k == 0:
            beta[b] = np.nan
            sw_out[b] = np.nan
            s2_out[b] = np.nan
            q_out[b] = np.nan
            trp_out[b] = np.nan
            continue
        t = tau2[b]
        sw = 0.0
        swy = 0.0
        sw0 = 0.0
        sw0y = 0.0
        sw0sq = 0.0
        for i in range(k):
            w = 1.0 / (vs[i] + t)
            w0 = 1.0 / vs[i]
            sw += w
            swy += w * ys[i]
            sw0 += w0
            sw0y += w0 * ys[i]
            sw0sq += w0 * w0
        mu = swy / sw
        mu0 = sw0y / sw0
        rss = 0.0
        q = 0.0
        for i in range(k):
            r = ys[i] - mu
            r0 = ys[i] - mu0
            rss += r * r / (vs[i] + t)
            q += r0 * r0 / vs[i]
        beta[b] = ys[0] if k == 1 else mu
        sw_out[b] = sw
        s2_out[b] = rss / (k - 1) if (hksj and k > 1) else 1.0
        q_out[b] = q
        trp_out[b] = sw0 - sw0sq / sw0 if k > 1 else np.nan


def ml_tau2(y: np.ndarray, v: np.ndarray, reml: bool):
    """ML / REML tau2 of every row of ``(B, k)`` arrays (NaN = absent study).

    Returns ``(tau2, converged, hard)``; *hard* rows (possible multiple maxima, no bracket, no
    convergence) must be fitted by the numpy engine.
    """
    y = np.ascontiguousarray(y, dtype=float)
    v = np.ascontiguousarray(v, dtype=float)
    B = y.shape[0]
    tau2 = np.empty(B)
    conv = np.empty(B, dtype=np.bool_)
    hard = np.empty(B, dtype=np.bool_)
    _compile()
    _ml_rows(y, v, bool(reml), tau2, conv, hard)
    return tau2, conv, hard


def stats_at(y: np.ndarray, v: np.ndarray, tau2: np.ndarray, hksj: bool) -> dict:
    """Per row at the given tau2: ``k``, ``beta``, ``sw`` (sum of weights), ``s2_hksj``, ``QE``
    and ``trP0`` (the FE sum of weights minus the sum of squared weights over it)."""
    y = np.ascontiguousarray(y, dtype=float)
    v = np.ascontiguousarray(v, dtype=float)
    B = y.shape[0]
    out = {name: np.empty(B) for name in ("beta", "sw", "s2_hksj", "QE", "trP0")}
    k = np.empty(B, dtype=np.int64)
    _compile()
    _stats_rows(y, v, np.ascontiguousarray(tau2, dtype=float), bool(hksj), k, out["beta"],
                out["sw"], out["s2_hksj"], out["QE"], out["trP0"])
    out["k"] = k
    return out
