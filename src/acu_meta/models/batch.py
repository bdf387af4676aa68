"""Vectorized engine: many random-effects meta-analyses (intercept only) in one call.

The single-fit engine :func:`acu_meta.models.fit` fits one data set at a time; this module fits
``B`` data sets held as the rows of ``(B, k)`` arrays, with NaN marking an absent study (rows may
have different numbers of studies). tau2 comes from the method's batch function in
:mod:`acu_meta.models.registry` (defined in :mod:`acu_meta.models._tau2_batch`, where the
solvers and the safety net are described); every other quantity follows
:mod:`acu_meta.models._core` exactly, so the two engines agree to rounding error;
``tests/results/test_batch.py`` checks 1e-10 (relative) for every method, with and without HKSJ.

A registered method without a batch function cannot be used here: :func:`fit_many` raises
:class:`~acu_meta.errors.ModelError` naming it. Rows the batch function flags (``refitted``) are
refitted with the method's single-fit estimator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from ..numeric import h2_from_q, h2_from_tau2, i2_from_q, i2_from_tau2
from . import _kernel, registry
from ._core import fit
from ._tau2 import dl_from_q
from ._tau2_batch import _center, _trace_p0

_MAX_BYTES = 200e6  # bound on the memory of the temporaries of one chunk
_TEMPS = 24  # (k, n) float temporaries alive at once, generously counted
_CHUNK_ELEMS = 1 << 15  # (k, n) arrays of 256 kB stay in cache: faster than one big chunk
_FIELDS = ("beta", "var_beta", "tau2", "QE", "I2", "H2", "vt", "s2_hksj")


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


# ------------------------------------------------------------------------------ fit


#: Columns whose variances or effects leave ``[1e-100, 1e100]`` (or whose variances span more
#: than 1e100) go to the single engine, which scales every weight by its maximum and centres
#: every residual: the batch formulas square weights and effects and would overflow there.
EXTREME = 1e100


def extreme_columns(y, v, mf) -> np.ndarray:
    """Columns (data sets) the batch formulas cannot take in double precision: a variance
    below 1/EXTREME or above EXTREME, variances spanning more than EXTREME, or effects
    differing by more than sqrt(EXTREME) (squared in Q and the scores)."""
    present = mf > 0
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        vmin = np.where(present, v, np.inf).min(axis=0)
        vmax = np.where(present, v, 0.0).max(axis=0)
        ymin = np.where(present, y, np.inf).min(axis=0)
        ymax = np.where(present, y, -np.inf).max(axis=0)
        spread = ymax - ymin
        return ((vmin < 1 / EXTREME) | (vmax > EXTREME) | (vmax > EXTREME * vmin)
                | ~(spread <= np.sqrt(EXTREME))) & (present.sum(axis=0) >= 2)


def _tau2_chunk(est: registry.Tau2Estimator, y, v, mf, k):
    """tau2 of every column with k >= 2 by the method's batch function; flagged columns and
    :func:`extreme_columns` refitted with its single-fit estimator. Returns tau2, converged
    (False where the estimate is not a finite root) and refitted."""
    n = len(k)
    tau2 = np.zeros(n)
    conv = k > 0
    refit = np.zeros(n, dtype=bool)
    extreme = extreme_columns(y, v, mf)
    refit |= extreme
    cols = np.flatnonzero((k >= 2) & ~extreme)
    if cols.size:
        t, flagged = est.batch(y[:, cols], v[:, cols], mf[:, cols], k[cols].astype(float))
        tau2[cols] = t
        refit[cols[flagged]] = True
    for i in np.flatnonzero(refit):  # safety net: the single engine (rare)
        present = mf[:, i] > 0
        try:
            tau2[i] = est.estimate(y[present, i], v[present, i],
                                   np.ones((int(k[i]), 1)))[0]
        except ModelError:
            tau2[i] = np.nan
            conv[i] = False
    conv &= np.isfinite(tau2) & (tau2 >= 0)
    return tau2, conv, refit


def _scaled_weights(v, tau2, mf):
    """``w = mf / (v + tau2)`` as ``c * ws``: ``c = 1 / min(v + tau2)`` over the present
    studies, ``ws = min(v + tau2) / (v + tau2)`` in (0, 1] (0 for absent studies), so that no
    weight and no square of one overflows."""
    vt = v + tau2
    vmin = np.where(mf > 0, vt, np.inf).min(axis=0)
    vmin = np.where(np.isfinite(vmin), vmin, 1.0)
    return 1.0 / vmin, mf * (vmin / vt)


def _fit_at_tau2(est: registry.Tau2Estimator, y, v, mf, k, tau2, hksj: bool) -> dict:
    """Estimate, its variance (HKSJ-scaled), the FE Q test, vt, I2 and H2 of every column."""
    kf = k.astype(float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # weights scaled by their column maximum (as the single engine): w = c ws, ws <= 1
        c, ws = _scaled_weights(v, tau2, mf)
        sws, beta, r = _center(y, ws)
        beta = np.where(k == 1, y.sum(axis=0), beta)  # exactly yi (absent entries hold 0)
        s2 = np.ones(len(k))
        if hksj:
            multi = k > 1
            s2[multi] = (c * (ws * r * r).sum(axis=0))[multi] / (kf[multi] - 1)
        # heterogeneity test with FE weights
        c0, ws0 = _scaled_weights(v, 0.0, mf)
        sws0, _, r0 = _center(y, ws0)
        QE = np.where(k > 0, c0 * (ws0 * r0 * r0).sum(axis=0), np.nan)
        df = kf - 1
        trP0 = c0 * _trace_p0(ws0)
        vt = np.where(k > 1, df / trP0, np.nan)
        if est.kind == "fixed":
            I2, H2 = i2_from_q(QE, df), h2_from_q(QE, df)
        else:
            I2, H2 = i2_from_tau2(tau2, vt), h2_from_tau2(tau2, vt)
        var_beta = s2 / sws / c
    return {"beta": beta, "var_beta": var_beta, "tau2": tau2, "QE": QE, "I2": I2, "H2": H2,
            "vt": vt, "s2_hksj": s2}


def _fit_chunk(y, v, est: registry.Tau2Estimator, hksj: bool, out: dict, sl: slice) -> None:
    """Fit one chunk, given as (k, n) arrays (one column per data set); write into *out*."""
    m = np.isfinite(y) & np.isfinite(v)
    k = m.sum(axis=0)
    mf = m.astype(float)
    y = np.where(m, y, 0.0)  # contiguous (k, n): reductions over studies are fast
    v = np.where(m, v, 1.0)
    tau2, conv, refit = _tau2_chunk(est, y, v, mf, k)
    values = _fit_at_tau2(est, y, v, mf, k, tau2, hksj)
    for i in np.flatnonzero(extreme_columns(y, v, mf) & conv):
        # every quantity of an extreme column from the single engine (scaled weights, O(k)
        # traces of P without cancellation), at the tau2 it estimated
        present = mf[:, i] > 0
        f = fit(y[present, i], v[present, i], method=est.name, hksj=hksj, tau2=tau2[i])
        for name, value in (("beta", f.beta[0]), ("var_beta", f.vb[0, 0]), ("QE", f.QE),
                            ("I2", f.I2), ("H2", f.H2), ("vt", f.vt), ("s2_hksj", f.s2_hksj)):
            values[name][i] = value
    for name in _FIELDS:
        out[name][sl] = np.where(k > 0, values[name], np.nan)
    out["k"][sl] = k
    finite = np.isfinite(values["beta"]) & np.isfinite(values["var_beta"])
    out["converged"][sl] = conv & (k > 0) & finite
    out["refitted"][sl] = refit


def _fit_kernel(est: registry.Tau2Estimator, y, v, hksj: bool, chunk_rows) -> BatchFit:
    """fit_many through the compiled kernel; rows it flags go to the numpy path."""
    B = y.shape[0]
    if est.name in ("ML", "REML"):
        tau2, conv, hard = _kernel.ml_tau2(y, v, reml=est.name == "REML")
    else:
        tau2, conv, hard = np.zeros(B), None, np.zeros(B, dtype=bool)
    # extreme rows (see extreme_columns) take the numpy path, which hands them to the single
    # engine
    m = np.isfinite(y) & np.isfinite(v)
    hard = hard | extreme_columns(np.where(m, y, 0.0).T, np.where(m, v, 1.0).T,
                                  m.T.astype(float))
    s = _kernel.stats_at(y, v, tau2, hksj)
    k = s["k"]
    kf = k.astype(float)
    if est.name == "DL":
        with np.errstate(divide="ignore", invalid="ignore"):
            tau2 = np.where(k >= 2, dl_from_q(s["QE"], kf - 1, s["trP0"]), 0.0)
        s = _kernel.stats_at(y, v, tau2, hksj)
    if conv is None:
        conv = k > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = np.where(k > 1, (kf - 1) / s["trP0"], np.nan)
        if est.kind == "fixed":
            I2, H2 = i2_from_q(s["QE"], kf - 1), h2_from_q(s["QE"], kf - 1)
        else:
            I2, H2 = i2_from_tau2(tau2, vt), h2_from_tau2(tau2, vt)
        var_beta = s["s2_hksj"] / s["sw"]
    out = {"beta": s["beta"], "var_beta": var_beta, "tau2": tau2, "QE": s["QE"], "I2": I2,
           "H2": H2, "vt": vt, "s2_hksj": s["s2_hksj"]}
    out = {name: np.where(k > 0, a, np.nan) for name, a in out.items()}
    out["k"] = k.astype(int)
    out["converged"] = (conv & (k > 0) & np.isfinite(out["beta"]) & np.isfinite(out["var_beta"])
                        & np.isfinite(tau2) & (tau2 >= 0))
    out["refitted"] = np.zeros(B, dtype=bool)
    rows = np.flatnonzero(hard)
    if rows.size:  # possible multiple maxima etc.: the numpy engine's full search
        sub = fit_many(y[rows], v[rows], method=est.name, hksj=hksj, chunk_rows=chunk_rows,
                       engine="numpy")
        for name in (*_FIELDS, "k", "converged", "refitted"):
            out[name][rows] = getattr(sub, name)
    return BatchFit(method=est.name, hksj=hksj, **out)


def _checked(y, v) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    if y.shape != v.shape or y.ndim != 2:
        raise ModelError(f"y and v must be (B, k) arrays of one shape, got {y.shape}, {v.shape}")
    # elementwise masks, no gathered copies (this check was 0.8 s of a 2^20-subset GOSH)
    present = ~(np.isnan(y) | np.isnan(v))
    if np.any(present & (np.isinf(y) | np.isinf(v))):
        raise ModelError("yi and vi must be finite (use NaN for an absent study)")
    if np.any(present & (v <= 0)):
        raise ModelError("sampling variances must be positive")
    return y, v


def fit_many(y, v, method: str = "REML", hksj: bool = False,
             chunk_rows: int | None = None, engine: str = "auto") -> BatchFit:
    """Fit the intercept-only model to every row of ``(B, k)`` arrays *y*, *v* at once.

    Parameters
    ----------
    y, v
        Effect sizes and sampling variances, shape ``(B, k)`` (a 1-D pair is one row). NaN in
        either marks an absent study. Present variances must be positive, present values finite.
    method
        A registered tau2 method with a batch function (``registry.names(batch=True)``: FE,
        DL, HE, HS, SJ, PM, EB, ML, REML; definitions as :func:`acu_meta.models.fit`).
    hksj
        Knapp-Hartung scaling of the variance of the estimate (rows with k > 1).
    chunk_rows
        Rows per chunk (default: about 32,768 / k, so that each temporary stays in cache;
        never more than keep the temporaries below about 200 MB).
    engine
        ``"auto"`` (default): the compiled kernel :mod:`acu_meta.models._kernel` for FE, DL,
        ML and REML when numba is installed (and ``ACU_META_KERNEL`` is not ``numpy``), else
        numpy; ``"numpy"``: always the numpy path; ``"numba"``: the kernel, or ModelError
        when numba is missing. Both give the same numbers (1e-10).

    Returns
    -------
    BatchFit
        Rows with no study get NaN and ``converged`` False; rows with one study get tau2 = 0.
        ``converged`` is False wherever tau2 is not a finite root >= 0 or the estimate or its
        variance is not finite. Rows of :func:`extreme_columns` (variances outside
        ``[1e-100, 1e100]`` or spanning more than 1e100, effects more than 1e50 apart) are
        fitted by the single engine and marked ``refitted``.

    Raises
    ------
    ModelError
        An unknown method, a method without a batch function, or bad input.

    Notes
    -----
    Validated against the single-fit engine :func:`acu_meta.models.fit` (1e-10 relative, every
    method, with and without HKSJ, ragged rows, k = 1 and 2, tau2 = 0) and against metafor
    3.8.1 ``rma()`` on the random data sets of ``tests/fixtures/metafor_reference.json``
    (1e-8), in ``tests/results/test_batch.py``.
    """
    est = registry.get(method)
    est.require_batch()
    y, v = _checked(y, v)
    if engine not in ("auto", "numpy", "numba"):
        raise ModelError(f"engine must be 'auto', 'numpy' or 'numba', not {engine!r}")
    if engine == "numba" and not _kernel.available():
        raise ModelError("engine='numba' needs numba (pip install 'acu_meta[fast]') and "
                         "ACU_META_KERNEL not set to numpy")
    if engine != "numpy" and est.name in _kernel.METHODS and _kernel.available():
        return _fit_kernel(est, y, v, bool(hksj), chunk_rows)
    B, kmax = y.shape
    if chunk_rows is None:
        chunk_rows = max(1, min(_CHUNK_ELEMS // max(kmax, 1),
                                int(_MAX_BYTES // (8 * max(kmax, 1) * _TEMPS))))
    out = {name: np.full(B, np.nan) for name in _FIELDS}
    out["k"] = np.zeros(B, dtype=int)
    out["converged"] = np.zeros(B, dtype=bool)
    out["refitted"] = np.zeros(B, dtype=bool)
    for start in range(0, B, chunk_rows):
        sl = slice(start, min(start + chunk_rows, B))
        _fit_chunk(np.ascontiguousarray(y[sl].T), np.ascontiguousarray(v[sl].T), est,
                   bool(hksj), out, sl)
    return BatchFit(method=est.name, hksj=bool(hksj), **out)
