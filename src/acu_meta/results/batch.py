"""Many meta-analyses at once (:func:`pool_many`) and GOSH analyses (:func:`gosh`).

:func:`pool_many` is :func:`acu_meta.results.pool` for the rows of ``(B, k)`` arrays of effect
sizes and variances (NaN = absent study), vectorized with numpy by
:func:`acu_meta.models.batch.fit_many`. :func:`gosh` fits the model to every subset of the
studies (Olkin, Dahabreh & Trikalinos 2012; metafor's ``gosh()``) through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..errors import InputError
from ..models import ModelError, registry
from ..models.batch import fit_many
from ..numeric import chi2_sf, level_fraction, p_two_sided, t_crit, z_crit
from . import _distributed

_ARRAYS = ("k", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "tau2", "I2",
           "H2", "Q", "Q_p", "pi_low", "pi_high", "converged", "refitted")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class BatchResult:
    """``B`` pooled meta-analyses: one entry per row of the input, as :class:`MetaResult`.

    Arrays (read-only, length ``B``): ``k`` (studies in the row), ``estimate``, ``se``,
    ``statistic``, ``p_value``, ``ci_low``, ``ci_high``, ``tau2``, ``I2`` and ``H2`` (I2 in
    percent: tau2-based for random-effects models, Q-based for FE, see
    :func:`acu_meta.numeric.i2_from_q`), ``Q`` and ``Q_p``
    (inverse-variance heterogeneity test), ``pi_low``, ``pi_high`` (metafor's prediction
    interval), ``converged`` (False for rows without a study and wherever tau2 is not a finite
    root >= 0 or the estimate or its variance is not finite;
    ``tests/models/test_batch_extremes.py``) and ``refitted`` (rows the batch engine's safety
    net, or its extreme-data rule, handed to the single-fit engine).
    """

    method: str
    hksj: bool
    level: float
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    Q: np.ndarray
    Q_p: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    converged: np.ndarray
    refitted: np.ndarray

    def __len__(self) -> int:
        return len(self.estimate)

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis, one column per array."""
        return pd.DataFrame({name: getattr(self, name) for name in _ARRAYS})

    def row(self, i: int) -> dict:
        """The numbers of meta-analysis *i* as a dict."""
        out = {"method": self.method, "hksj": self.hksj, "level": self.level}
        out.update({name: getattr(self, name)[i].item() for name in _ARRAYS})
        return out

    def __repr__(self) -> str:
        lo, hi = (int(self.k.min()), int(self.k.max())) if len(self) else (0, 0)
        return (f"BatchResult(method={self.method!r}, hksj={self.hksj}, B={len(self)}, "
                f"k={lo}..{hi}, converged={int(self.converged.sum())}/{len(self)})")


def _crit(k: np.ndarray, hksj: bool, level: float) -> np.ndarray:
    """Normal quantile, or t with k - 1 df under HKSJ (rows with k > 1), as pool()."""
    crit = np.full(k.shape, z_crit(level))
    if hksj:
        for kk in np.unique(k[k > 1]):
            crit[k == kk] = t_crit(level, kk - 1)
    return crit


def pool_many(yi, vi, method: str = "REML", hksj: bool = False, level: float = 0.95,
              chunk_rows: int | None = None, client=None) -> BatchResult:
    """Pool every row of ``(B, k)`` arrays at once (vectorized; no loop over fits).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances, shape ``(B, k)``. NaN marks an absent study, so
        rows may hold different numbers of studies.
    method
        A tau2 method with a batch estimator, ``registry.names(batch=True)``: FE, DL, REML, ML,
        PM, EB, SJ, HE or HS (definitions as :func:`acu_meta.results.pool`).
    hksj
        Hartung-Knapp-Sidik-Jonkman CI and test (t with k - 1 df), rows with k > 1.
    level
        Confidence level, as a fraction (or in percent).
    chunk_rows
        Rows fitted per chunk (default: about 32,768 / k; memory stays well below 200 MB).
        With Dask: rows per Dask block (default: the Dask array's row chunks, else 65,536).
    client
        A ``dask.distributed.Client``: the rows are fitted block by block on its workers
        (:mod:`acu_meta.results._distributed`). *yi* and *vi* may also be Dask arrays, which
        are computed chunk by chunk on Dask's current scheduler (or on *client*). Results equal
        the in-process run exactly.

    Returns
    -------
    BatchResult
        Rows with one study: tau2 = 0, estimate = yi. Rows without a study: NaN, ``converged``
        False; ``converged`` is also False where the result is not a finite root.

    Raises
    ------
    ModelError
        An unknown method, or a registered one without a batch estimator (the message names
        it), or bad input.

    Notes
    -----
    Validated against the single-fit :func:`acu_meta.results.pool` (1e-10 relative for every
    method with and without HKSJ, on random sets with ragged rows, k = 1, k = 2 and tau2 = 0)
    and against metafor 3.8.1 ``rma()`` (estimate, se, CI, tau2, I2, Q, prediction interval;
    1e-8) on the ``rand-*`` and ``rand10-*`` sets of ``tests/fixtures/metafor_reference.json``
    (``tests/results/test_batch.py``).
    """
    method = registry.get(method).name  # ModelError (a ValueError) for an unknown method
    level = level_fraction(level)
    if not 0 < level < 1:
        raise InputError("level must be between 0 and 100")
    if client is not None or _distributed.is_dask(yi) or _distributed.is_dask(vi):
        arrays = _distributed.map_rows(
            partial(_pool_block, method=method, hksj=hksj, level=level), (yi, vi), _ARRAYS,
            client=client, block_rows=chunk_rows)
        arrays["k"] = arrays["k"].astype(np.int64)
        arrays["converged"] = arrays["converged"].astype(bool)
        arrays["refitted"] = arrays["refitted"].astype(bool)
        return BatchResult(method=method, hksj=bool(hksj), level=level,
                           **{name: _readonly(a) for name, a in arrays.items()})
    f = fit_many(yi, vi, method=method, hksj=hksj, chunk_rows=chunk_rows)
    k = f.k
    se = np.sqrt(f.var_beta)
    crit = _crit(k, hksj, level)
    use_t = hksj & (k > 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = f.beta / se
        p = p_two_sided(statistic, np.where(use_t, k - 1.0, np.inf) if hksj else np.inf)
        half_pi = crit * np.sqrt(se**2 + f.tau2)
        Q_p = np.where(k > 1, chi2_sf(f.QE, np.maximum(k - 1, 1)), np.nan)
    p = np.where(np.isnan(statistic), np.nan, p)
    arrays = dict(
        k=k, estimate=f.beta, se=se, statistic=statistic, p_value=p,
        ci_low=f.beta - crit * se, ci_high=f.beta + crit * se, tau2=f.tau2, I2=f.I2, H2=f.H2,
        Q=f.QE, Q_p=Q_p, pi_low=f.beta - half_pi, pi_high=f.beta + half_pi,
        converged=f.converged, refitted=f.refitted,
    )
    return BatchResult(method=method, hksj=bool(hksj), level=level,
                       **{name: _readonly(a) for name, a in arrays.items()})


def _pool_block(y, v, method: str, hksj: bool, level: float) -> dict:
    """pool_many on one Dask block, as a dict of its arrays (runs on a worker)."""
    r = pool_many(y, v, method=method, hksj=hksj, level=level)
    return {name: getattr(r, name) for name in _ARRAYS}


# ---------------------------------------------------------------------------------- GOSH


@dataclass(frozen=True)
class GoshResult:
    """The model fitted to subsets of the studies (GOSH: graphical display of study
    heterogeneity).

    ``subsets`` is the ``(S, k)`` boolean membership matrix (row s, column j: study j is in
    subset s); in an exhaustive run row ``s`` is the subset whose bits are ``s + 1`` (bit j =
    study j), so the last row is the full set. ``estimate``, ``se``, ``tau2``, ``I2`` (percent),
    ``H2`` and ``Q`` hold one value per subset.
    """

    method: str
    hksj: bool
    exact: bool  # every non-empty subset (True) or a random sample of subsets
    studies: tuple[str, ...]
    subsets: np.ndarray
    k_subset: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    Q: np.ndarray

    @property
    def k(self) -> int:
        return self.subsets.shape[1]

    @property
    def bits(self) -> np.ndarray:
        """Each subset as an integer, bit j set when study j is in (k <= 62)."""
        if self.k > 62:
            raise ValueError("bits need k <= 62; use .subsets")
        return self.subsets.astype(np.int64) @ (np.int64(1) << np.arange(self.k, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.estimate)

    def to_frame(self) -> pd.DataFrame:
        """One row per subset: k_subset, estimate, se, tau2, I2, H2, Q, then one boolean
        column per study."""
        frame = pd.DataFrame({c: getattr(self, c) for c in
                              ("k_subset", "estimate", "se", "tau2", "I2", "H2", "Q")})
        members = pd.DataFrame(self.subsets, columns=list(self.studies))
        return pd.concat([frame, members], axis=1)

    def __repr__(self) -> str:
        kind = "all" if self.exact else "random"
        return (f"GoshResult(method={self.method!r}, k={self.k}, subsets={len(self)} ({kind}))")


_EXACT_MAX_K = 20
_DEFAULT_SAMPLE = 10**6  # metafor's gosh(subsets = 10^6)


def _membership(bits: np.ndarray, k: int) -> np.ndarray:
    return ((bits[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


def gosh(yi, vi=None, method: str = "FE", hksj: bool = False, max_subsets: int | None = None,
         seed=None, studies=None, chunk: int = 1 << 16, client=None) -> GoshResult:
    """Fit the model to every non-empty subset of the studies (GOSH), through :func:`pool_many`.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances of the k studies; or a :class:`MetaResult` as
        *yi*: its studies are used and, when *method* is left at "FE", the tau2 estimator of a
        random-effects result.
    method
        FE (default, as metafor's ``gosh()`` on an ``rma(method = "FE")`` fit), or any
        tau2 estimator of :func:`pool_many`.
    max_subsets
        With ``k <= 20`` and ``2^k - 1 <= max_subsets`` (or *max_subsets* None) every non-empty
        subset is fitted. Otherwise *max_subsets* (default 10^6, metafor's) random subsets are
        drawn: each study in with probability 1/2, empty draws redrawn (as metafor; duplicates
        are not removed).
    seed
        Seed of the numpy Generator that draws random subsets.
    chunk
        Subsets fitted per :func:`pool_many` call (bounds memory for k = 20: 2^20 subsets);
        with *client*, subsets per Dask block.
    client
        A ``dask.distributed.Client``: the subsets are fitted block by block on its workers
        through :func:`pool_many` (the membership matrix is built here, the fits there).

    Returns
    -------
    GoshResult

    Notes
    -----
    Validated in ``tests/results/test_batch.py``: for k = 16, 65,535 subsets, the full-set row
    equals :func:`acu_meta.results.pool` and random subsets equal pool() on the subset.
    """
    y, v, studies, method = _gosh_inputs(yi, vi, method, studies)
    k = len(y)
    n_all = 2**k - 1
    exact = k <= _EXACT_MAX_K and (max_subsets is None or n_all <= max_subsets)
    n = n_all if exact else int(max_subsets or _DEFAULT_SAMPLE)
    rng = None if exact else np.random.default_rng(seed)
    members = np.zeros((n, k), dtype=bool)
    out = {c: np.empty(n) for c in ("estimate", "se", "tau2", "I2", "H2", "Q")}
    if client is not None:
        members = (_membership(np.arange(1, n + 1, dtype=np.int64), k) if exact
                   else _random_subsets(rng, n, k))
        da = _distributed._dask_array()
        m = da.from_array(members, chunks=(chunk, k))
        r = pool_many(da.where(m, y, np.nan), da.where(m, v, np.nan), method=method,
                      hksj=hksj, client=client)
        out = {c: np.asarray(getattr(r, c)) for c in out}
    for start in range(0, n if client is None else 0, chunk):
        stop = min(start + chunk, n)
        m = (_membership(np.arange(start + 1, stop + 1, dtype=np.int64), k) if exact
             else _random_subsets(rng, stop - start, k))
        members[start:stop] = m
        r = pool_many(np.where(m, y, np.nan), np.where(m, v, np.nan), method=method, hksj=hksj)
        for c in out:
            out[c][start:stop] = getattr(r, c)
    return GoshResult(
        method=method.upper(), hksj=bool(hksj), exact=exact, studies=studies,
        subsets=_readonly(members), k_subset=_readonly(members.sum(axis=1)),
        **{c: _readonly(a) for c, a in out.items()},
    )


def _gosh_inputs(yi, vi, method: str, studies):
    """y, v, study labels and method of a GOSH run (from arrays or a MetaResult), checked."""
    from .meta import MetaResult

    if isinstance(yi, MetaResult):
        res = yi
        yi, vi = res.yi, res.vi
        studies = res.studies if studies is None else studies
        if method == "FE" and res.model == "random":
            method = res.method
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise ValueError("yi and vi must have the same length")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ModelError("yi must be finite and vi finite and positive")
    if len(y) == 0:
        raise ModelError("no studies")
    studies = tuple(str(s) for s in studies) if studies is not None else tuple(
        f"S{j + 1}" for j in range(len(y)))
    return y, v, studies, method


def _random_subsets(rng, n: int, k: int) -> np.ndarray:
    """n random subsets (each study in with probability 1/2), empty draws redrawn (metafor)."""
    m = rng.random((n, k)) < 0.5
    empty = ~m.any(axis=1)
    while empty.any():
        m[empty] = rng.random((int(empty.sum()), k)) < 0.5
        empty = ~m.any(axis=1)
    return m
