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
    return FitStatistics(float(ll), parms, -2 * ll + 2 * parms, -2 * ll + parms * math.log(n),
                         reml)


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


def permutation_tests(y, v, X, method: str, hksj: bool, btt, perms: np.ndarray,
                      exact: bool) -> Permutations:
    """Refit with the rows of X permuted by each row of *perms* (metafor's permutest for a model
    with moderators); returns QM of *btt* and the z (t) statistics of every coefficient."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    X = np.asarray(X, dtype=float)
    n, p = len(perms), X.shape[1]
    QM = np.full(n, np.nan)
    stat = np.full((n, p), np.nan)
    m = len(btt)
    for i, order in enumerate(perms):
        r = fit_regression(y, v, X[order], method=method, hksj=hksj)
        q = wald(r, btt)
        QM[i] = q / m if hksj else q
        stat[i] = r.beta / np.sqrt(np.diag(r.vb))
    return Permutations(QM, stat, exact)


def permutation_p(observed, permuted) -> np.ndarray:
    """metafor's permutation p-value: the share of permuted statistics ``>= observed -
    COMPTOL`` (two-sided tests pass absolute values)."""
    permuted = np.asarray(permuted, dtype=float)
    return np.mean(permuted >= np.asarray(observed, dtype=float) - COMPTOL, axis=0)
