"""tau2 estimators for one data set, as registered in :mod:`acu_meta.models.registry`.

Pairwise model (metafor's ``rma.uni``): ``y_i = x_i' beta + u_i + e_i``, ``u_i ~ N(0, tau2)``,
``e_i ~ N(0, v_i)``. Each estimator takes ``(y, v, X)`` with ``k > p`` (the caller returns 0
otherwise) and returns ``(tau2, evaluations)``: the estimate, truncated at 0 as in metafor, and
the number of evaluations of its estimating function (0 for closed forms).

FE
    tau2 = 0 (fixed / common effect, inverse-variance weights).
DL
    DerSimonian-Laird: ``(Q - (k - p)) / tr(P0)``, P0 the FE residual-maker.
HE
    Hedges (unweighted method of moments): ``(RSS_ols - tr(R V)) / (k - p)``.
HS
    Hunter-Schmidt: ``(Q - k) / sum(w)``.
SJ
    Sidik-Jonkman: ``tau0 * y'P(tau0)y / (k - p)`` from the initial value
    ``tau0 = mean((y - mean(y))^2)`` (metafor's choice, also with moderators).
PM
    Paule-Mandel: the root of ``y'P(tau2)y = k - p``.
EB
    Empirical Bayes (Morris 1983; Berkey et al. 1995), in metafor's form: the root of
    ``sum w_i (k/(k-p) r_i^2 - v_i) / sum w_i = tau2``, which is algebraically the PM equation
    (so EB equals PM, as metafor's documentation notes).
ML, REML
    Maximum / restricted maximum likelihood: the maximizer of the (restricted) log-likelihood.

The iterative ones are solved by :mod:`acu_meta.models._roots` (bracketing and Brent's method:
they always converge, to the global maximum for ML / REML). The SE of tau2 (ML and REML) is
the information-based ``sqrt(2 / I)``, ``I = sum w^2`` (ML) or ``tr(P P)`` (REML).

Network model (metafor's ``rma.mv`` with ``random = ~ comp | study, rho = 1/2``): the
estimators take ``(y, V, R, X)`` (V the within-study covariance, R the correlation of the
random effects) and return tau2: REML, maximized by the same root finder, and the generalized
DerSimonian-Laird ``(Q - df) / tr(P0 R)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._linalg import pmat, wls
from ._roots import decreasing_root, scale_of, score_maximum

_LOG2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------------------ pairwise model


def qgen(tau2: float, y, v, X) -> float:
    """Generalized Q: y' P(tau2) y (weighted RSS around the tau2-weighted fit)."""
    return wls(y, X, 1.0 / (v + tau2)).rss


def loglik(tau2: float, y, v, X, reml: bool) -> float:
    """The (restricted) log-likelihood of the pairwise model at tau2."""
    f = wls(y, X, 1.0 / (v + tau2))
    k, p = X.shape
    ll = -0.5 * (np.sum(np.log(v + tau2)) + f.rss)
    if reml:
        ll -= 0.5 * np.linalg.slogdet(f.A)[1]
        ll -= 0.5 * (k - p) * _LOG2PI
    else:
        ll -= 0.5 * k * _LOG2PI
    return float(ll)


def score(tau2: float, y, v, X, reml: bool) -> float:
    """The (restricted) likelihood score in tau2 (times 2): ``y'PPy - tr(P)`` (ML: ``sum w``)."""
    w = 1.0 / (v + tau2)
    P = pmat(w, X, wls(y, X, w).Ainv)
    Py = P @ y
    tr = np.trace(P) if reml else np.sum(w)
    return float(Py @ Py - tr)


def tau2_fe(y, v, X) -> tuple[float, int]:
    """FE: tau2 = 0."""
    return 0.0, 0


def dl_from_q(Q, df, trP):
    """The DerSimonian-Laird formula from a given Q: ``max(0, (Q - df) / tr(P0))``.

    The one home of the formula: the DL estimators (single and batch) and RevMan 5's DL from Q
    around the Mantel-Haenszel estimate (:func:`acu_meta.results.pool`, ``profile="revman5"``)
    call it. For intercept-only data ``tr(P0) = sum(w) - sum(w^2) / sum(w)``. Vectorized.
    """
    return np.maximum(0.0, (Q - df) / trP)


def tau2_dl(y, v, X) -> tuple[float, int]:
    """DerSimonian-Laird: ``(Q - (k - p)) / tr(P0)``."""
    k, p = X.shape
    w = 1.0 / v
    f = wls(y, X, w)
    trP = np.trace(pmat(w, X, f.Ainv))
    return float(dl_from_q(f.rss, k - p, trP)), 0


def tau2_he(y, v, X) -> tuple[float, int]:
    """Hedges: ``(RSS_ols - tr(R V)) / (k - p)``, R the OLS residual-maker."""
    k, p = X.shape
    R = np.eye(k) - X @ wls(y, X, np.ones(k)).Ainv @ X.T
    rss = float(y @ R @ y)
    return max(0.0, (rss - float(np.sum(np.diag(R) * v))) / (k - p)), 0


def tau2_hs(y, v, X) -> tuple[float, int]:
    """Hunter-Schmidt: ``(Q - k) / sum(w)``."""
    k = X.shape[0]
    w = 1.0 / v
    return max(0.0, (wls(y, X, w).rss - k) / np.sum(w)), 0


def tau2_sj(y, v, X) -> tuple[float, int]:
    """Sidik-Jonkman from metafor 3.8's initial value (the mean square around the unweighted
    mean, also in meta-regression)."""
    k, p = X.shape
    tau0 = float(np.mean((y - y.mean()) ** 2))
    if tau0 <= 0:
        return 0.0, 0
    return max(0.0, tau0 * qgen(tau0, y, v, X) / (k - p)), 0


def tau2_pm(y, v, X) -> tuple[float, int]:
    """Paule-Mandel: the root of ``Q(tau2) = k - p``."""
    k, p = X.shape

    def f(t):
        return qgen(t, y, v, X) - (k - p)

    return decreasing_root(f, scale_of(y, v))


def tau2_eb(y, v, X) -> tuple[float, int]:
    """Empirical Bayes in metafor's form (see the module docstring)."""
    k, p = X.shape

    def f(t):
        w = 1.0 / (v + t)
        resid = wls(y, X, w).resid
        return float(np.sum(w * (k / (k - p) * resid**2 - v)) / np.sum(w)) - t

    return decreasing_root(f, scale_of(y, v))


def _likelihood_maximum(y, v, X, reml: bool) -> tuple[float, int]:
    return score_maximum(lambda t: score(t, y, v, X, reml),
                         lambda t: loglik(t, y, v, X, reml), scale_of(y, v))


def tau2_ml(y, v, X) -> tuple[float, int]:
    """Maximum likelihood (global maximum)."""
    return _likelihood_maximum(y, v, X, reml=False)


def tau2_reml(y, v, X) -> tuple[float, int]:
    """Restricted maximum likelihood (global maximum)."""
    return _likelihood_maximum(y, v, X, reml=True)


def se_tau2_ml(tau2: float, y, v, X) -> float:
    """Information-based SE of the ML estimate: ``sqrt(2 / sum(w^2))``.

    Computed with the weights scaled by their maximum c (``sqrt(2 / sum((w/c)^2)) / c``), so
    that a huge tau2 (w^2 below the smallest double) gives the finite SE rather than inf.
    """
    w = 1.0 / (v + tau2)
    c = float(np.max(w))
    return float(np.sqrt(2 / np.sum((w / c) ** 2)) / c)


def se_tau2_reml(tau2: float, y, v, X) -> float:
    """Information-based SE of the REML estimate: ``sqrt(2 / tr(P P))``.

    P is linear in the weights, so with ``w' = w / max(w)`` it is computed as
    ``sqrt(2 / tr(P' P')) / max(w)``: finite where tr(P P) would underflow (huge tau2).
    """
    w = 1.0 / (v + tau2)
    c = float(np.max(w))
    ws = w / c
    P = pmat(ws, X, wls(y, X, ws).Ainv)
    return float(np.sqrt(2 / np.trace(P @ P)) / c)


# ------------------------------------------------------------------------------ network model


def _network_gls(t: float, y, V, R, X):
    S = V + t * R
    W = np.linalg.inv(S)
    return S, W, wls(y, X, W)


def network_score(t: float, y, V, R, X) -> float:
    """REML score of the network model: ``y'P R P y - tr(P R)``."""
    _, W, f = _network_gls(t, y, V, R, X)
    P = pmat(W, X, f.Ainv)
    Py = P @ y
    return float(Py @ R @ Py - np.trace(P @ R))


def network_loglik(t: float, y, V, R, X) -> float:
    """Restricted log-likelihood of the network model (up to a constant)."""
    S, _, f = _network_gls(t, y, V, R, X)
    return float(-0.5 * (np.linalg.slogdet(S)[1] + np.linalg.slogdet(f.A)[1] + f.rss))


def network_fe(y, V, R, X) -> float:
    """Common-effect network model: tau2 = 0."""
    return 0.0


def network_reml(y, V, R, X) -> float:
    """REML tau2 of the network model (global maximum, as the pairwise REML)."""
    if X.shape[0] <= X.shape[1]:
        return 0.0
    t, _ = score_maximum(lambda t: network_score(t, y, V, R, X),
                         lambda t: network_loglik(t, y, V, R, X), scale_of(y, np.diag(V)))
    return float(t)


def network_dl(y, V, R, X) -> float:
    """Generalized DerSimonian-Laird: ``(Q - df) / tr(P0 R)`` (DL for two treatments)."""
    W0 = np.linalg.inv(V)
    f = wls(y, X, W0)
    df = X.shape[0] - X.shape[1]
    P0 = pmat(W0, X, f.Ainv)
    return max(0.0, (f.rss - df) / float(np.trace(P0 @ R)))
