"""Numbers of a meta-regression beyond the fit itself: the conditioned design, Wald tests of a
set of coefficients, the log-likelihood and fit statistics as metafor's ``logLik``/``AIC``/``BIC``,
and the permutation test of the moderators (metafor's ``permutest``). Numpy only.

Conditioning: the model is fitted on ``Xc = X M^-1`` (each non-intercept column centred, when
there is an intercept, and divided by its largest absolute deviation); ``beta = M beta_c``,
``vb = M vb_c M'``. tau2, QE, the (restricted) log-likelihood with metafor's ``+ log|X'X| / 2``
term, and a Wald statistic of coefficients that exclude the intercept are the same on either
scale in exact arithmetic (M is diagonal on the moderators), and are computed on the
well-conditioned one.

Validated against metafor 3.8.1 (``rma(..., mods = ~ ablat + factor(alloc))`` on dat.bcg:
``anova(res, btt)``, ``anova(full, reduced)`` for ML and REML, ``logLik``, ``AIC``, ``BIC``;
``permutest(..., exact = TRUE)`` on six studies) in ``tests/results/test_api_metafor.py``, with
``tests/fixtures/metafor_api.json`` written by ``validation/metafor/api_reference.R``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from . import registry
from ._core import Fit, fit
from ._linalg import ones_column

#: metafor's ``comptol`` of ``permutest``: a permuted statistic counts as at least as extreme
#: as the observed one when it is above ``observed - sqrt(machine epsilon)``.
COMPTOL = float(np.finfo(float).eps ** 0.5)


def conditioned(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned design ``Xc = X M^-1`` and the map ``M`` (``beta = M beta_c``).

    With an intercept (a column of ones, any position) the other columns are centred at their
    mean and divided by their largest absolute deviation; without one they are only divided by
    their largest absolute value."""
    k, p = X.shape
    j0 = ones_column(X)
    M = np.eye(p)
    Xc = X.astype(float).copy()
    for j in range(p):
        if j == j0:
            continue
        z = X[:, j]
        mu = float(z.mean()) if j0 is not None else 0.0
        s = float(np.max(np.abs(z - mu)))
        s = s if s > 0 else 1.0  # a constant column: rank-deficient, fit() says so
        Xc[:, j] = (z - mu) / s
        M[j, j] = 1.0 / s
        if j0 is not None:
            M[j0, j] = -mu / s
    return Xc, M


@dataclass(frozen=True)
class RegFit:
    """One meta-regression fit on the original scale of X, with its conditioned fit."""

    fit: Fit  # on the conditioned design
    beta: np.ndarray
    vb: np.ndarray
    M: np.ndarray
    Xc: np.ndarray


def fit_regression(y, v, X, method: str = "REML", hksj: bool = False) -> RegFit:
    """Fit ``y = X beta + u + e`` on the conditioned design and map beta and vb back."""
    X = np.asarray(X, dtype=float)
    Xc, M = conditioned(X)
    f = fit(y, v, Xc, method=method, hksj=hksj)
    return RegFit(f, M @ f.beta, M @ f.vb @ M.T, M, Xc)


def wald(r: RegFit, btt) -> float:
    """Wald statistic ``b' V^-1 b`` of the coefficients at positions *btt* (chi2 form; divide by
    ``len(btt)`` for the F form). On the conditioned scale when *btt* has no intercept."""
    btt = np.asarray(btt, dtype=int)
    j0 = ones_column(r.Xc)
    if j0 is None or j0 not in btt:
        b, V = r.fit.beta[btt], r.fit.vb[np.ix_(btt, btt)]
    else:
        b, V = r.beta[btt], r.vb[np.ix_(btt, btt)]
    return float(b @ np.linalg.solve(V, b))


def default_btt(X: np.ndarray) -> np.ndarray:
    """metafor's default coefficients of the omnibus test: all but the intercept (all of them
    when there is no intercept)."""
    j0 = ones_column(np.asarray(X, dtype=float))
    return np.array([j for j in range(X.shape[1]) if j != j0], dtype=int)


@dataclass(frozen=True)
class FitStatistics:
    """metafor's ``fitstats``: log-likelihood, deviance-free AIC and BIC, number of parameters."""

    ll: float
    parms: int
    AIC: float
    BIC: float
    reml: bool


def fit_statistics(r: RegFit, y, v) -> FitStatistics:
    """metafor's ``logLik``, ``AIC`` and ``BIC`` of a fit (REML for method REML, else ML).

    ML: ``-k/2 log(2 pi) - 1/2 sum log(v + tau2) - 1/2 RSS``. REML: ``-(k-p)/2 log(2 pi)
    + 1/2 log|X'X| - 1/2 sum log(v + tau2) - 1/2 log|X'WX| - 1/2 RSS``. Parameters: p, plus 1
    when tau2 is estimated. BIC uses log(k) (ML) or log(k - p) (REML), as metafor."""
    from ._tau2 import loglik

    f = r.fit
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    reml = f.method == "REML"
    ll = loglik(f.tau2, y, v, r.Xc, reml)
    if reml:
        ll += 0.5 * float(np.linalg.slogdet(r.Xc.T @ r.Xc)[1])
    parms = f.p + (0 if registry.get(f.method).kind == "fixed" else 1)
    n = f.k - f.p if reml else f.k
    # k = p under REML: log(0), BIC undefined (R gives -Inf); NaN, never an exception
    bic = -2 * ll + parms * math.log(n) if n > 0 else math.nan
    return FitStatistics(float(ll), parms, -2 * ll + 2 * parms, bic, reml)


@dataclass(frozen=True)
class Permutations:
    """Statistics of the permuted fits (row 0: the data as observed)."""

    QM: np.ndarray  # (n,)
    stat: np.ndarray  # (n, p) z or t of each coefficient
    exact: bool


def permutation_indices(k: int, iter: int, exact: bool | None, rng) -> tuple[np.ndarray, bool]:
    """Row orders of the permutation test: all k! (exact, or ``exact=None`` and k! <= iter) or
    ``iter`` random ones (the first is the identity)."""
    n_all = math.factorial(k) if k <= 20 else math.inf
    if exact or (exact is None and n_all <= iter):
        if n_all > 1e6:
            raise ValueError(f"an exact permutation test of {k} studies needs {k}! fits")
        return np.array(list(itertools.permutations(range(k))), dtype=int), True
    perms = np.empty((iter, k), dtype=int)
    perms[0] = np.arange(k)
    for i in range(1, iter):
        perms[i] = rng.permutation(k)
    return perms, False


#: Methods the vectorized permutation engine fits itself (FE, DL closed forms; ML and REML by
#: Fisher scoring from the DL value); any other registered method is refitted one permutation at
#: a time with the single engine.
BATCH_METHODS = ("FE", "DL", "ML", "REML")
_CHUNK = 256  # permutations per chunk: (chunk, k, k) arrays of P


def _p_parts(y, v, Xs, tau2):
    """For designs ``Xs`` (B, k, p) at ``tau2`` (B,): W, (X'WX)^-1, P, P y."""
    W = 1.0 / (v[None, :] + tau2[:, None])
    WX = Xs * W[:, :, None]  # (B, k, p)
    Ainv = np.linalg.inv(np.einsum("bkp,bkq->bpq", Xs, WX))
    H = np.einsum("bkp,bpq,bjq->bkj", WX, Ainv, WX)
    P = -H
    idx = np.arange(len(v))
    P[:, idx, idx] += W
    return W, WX, Ainv, P, P @ y


def _batch_tau2(y, v, Xs, method: str):
    """tau2 of every design: FE 0; DL closed form; ML/REML Fisher scoring (truncated at 0)
    from DL. Returns tau2 and a mask of rows that did not converge (to refit singly)."""
    B, k, p = Xs.shape
    if method == "FE":
        return np.zeros(B), np.zeros(B, dtype=bool)
    _, _, _, P0, P0y = _p_parts(y, v, Xs, np.zeros(B))
    Q = np.einsum("bk,k->b", P0y, y)
    trP0 = np.trace(P0, axis1=1, axis2=2)
    t = np.maximum(0.0, (Q - (k - p)) / trP0)
    if method == "DL":
        return t, np.zeros(B, dtype=bool)
    reml = method == "REML"

    def scores(t):
        W, _, _, P, Py = _p_parts(y, v, Xs, t)
        yPPy = np.einsum("bk,bk->b", Py, Py)
        if reml:
            return yPPy - np.trace(P, axis1=1, axis2=2), np.einsum("bij,bij->b", P, P)
        return yPPy - W.sum(axis=1), (W * W).sum(axis=1)

    def scoring(t):
        done = np.zeros(B, dtype=bool)
        for _ in range(500):
            u, info = scores(t)
            new = np.maximum(0.0, t + u / info)
            step = np.abs(new - t)
            t = np.where(done, t, new)
            done |= step <= 1e-13 * np.maximum(1.0, t)
            if done.all():
                break
        return t, done

    # two starts (DL, and far above it) and the boundary: a row where they disagree, or where
    # tau2 = 0 is a local maximum beside an interior one, may have several maxima; the single
    # engine (global maximum on a grid) refits it
    ta, da = scoring(t)
    tb, db = scoring(np.maximum(10 * ta, 10 * np.var(y) + 1.0))
    u0, _ = scores(np.zeros(B))
    ambiguous = (np.abs(ta - tb) > 1e-8 * np.maximum(1.0, ta)) | ((u0 < 0) & (ta > 0))
    return ta, ~(da & db) | ambiguous


def _batch_fits(y, v, Xs, method: str, hksj: bool, M, btt):
    """QM of *btt* and the z (t) statistics of every coefficient, for designs ``Xs``."""
    B, k, p = Xs.shape
    tau2, bad = _batch_tau2(y, v, Xs, method)
    _, WX, Ainv, P, Py = _p_parts(y, v, Xs, tau2)
    bc = np.einsum("bpq,bkq,k->bp", Ainv, WX, y)
    vc = Ainv
    if hksj and k > p:
        s2 = np.einsum("bk,k->b", Py, y) / (k - p)
        vc = Ainv * s2[:, None, None]
    beta = bc @ M.T
    vb = np.einsum("ij,bjk,lk->bil", M, vc, M)
    stat = beta / np.sqrt(np.einsum("bii->bi", vb))
    b = bc[:, btt]
    QM = np.einsum("bi,bi->b", b, np.linalg.solve(vc[:, btt][:, :, btt], b[:, :, None])[..., 0])
    if hksj:
        QM = QM / len(btt)
    return QM, stat, bad


def permutation_tests(y, v, X, method: str, hksj: bool, btt, perms: np.ndarray,
                      exact: bool) -> Permutations:
    """Refit with the rows of X permuted by each row of *perms* (metafor's permutest for a model
    with moderators); returns QM of *btt* and the z (t) statistics of every coefficient.

    The permuted designs are fitted together, in chunks of :data:`_CHUNK` ``(k, k)`` projection
    matrices (FE, DL, ML, REML: :data:`BATCH_METHODS`); a row whose Fisher scoring does not
    converge, and every row of another method, is refitted with the single engine
    (:func:`fit_regression`). The two routes agree to 1e-10
    (``tests/models/test_metareg_batch.py``). The intercept must not be among *btt* (the
    conditioned scale; :func:`default_btt`)."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.asarray(X, dtype=float)
    btt = np.asarray(btt, dtype=int)
    n, p = len(perms), X.shape[1]
    QM = np.full(n, np.nan)
    stat = np.full((n, p), np.nan)
    m = len(btt)
    Xc, M = conditioned(X)
    name = registry.get(method).name
    single = np.ones(n, dtype=bool)
    if name in BATCH_METHODS and X.shape[0] > p:
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            q, z, bad = _batch_fits(y, v, Xc[perms[sl]], name, hksj, M, btt)
            QM[sl], stat[sl], single[sl] = q, z, bad
    for i in np.flatnonzero(single):
        r = fit_regression(y, v, X[perms[i]], method=method, hksj=hksj)
        q = wald(r, btt)
        QM[i] = q / m if hksj else q
        stat[i] = r.beta / np.sqrt(np.diag(r.vb))
    return Permutations(QM, stat, exact)


def permutation_p(observed, permuted) -> np.ndarray:
    """metafor's permutation p-value: the share of permuted statistics ``>= observed -
    COMPTOL`` (two-sided tests pass absolute values)."""
    permuted = np.asarray(permuted, dtype=float)
    return np.mean(permuted >= np.asarray(observed, dtype=float) - COMPTOL, axis=0)
