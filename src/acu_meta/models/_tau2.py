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

No k x k matrix is formed for the pairwise model: ``P y = w r``, so the score is
``sum w^2 r^2 - tr(P)``, and ``tr(P)``, ``tr(P P)`` and the leverages (HE's ``tr(R V) =
sum v_i (1 - h_i)``) have the O(k p^2) forms derived in :mod:`acu_meta.models._linalg`. Every
sum of weights is formed with the weights divided by their maximum. The ML / REML screening
grid is evaluated as one ``(65, k)`` array (:func:`score_grid`), with the same arithmetic as a
single evaluation.

Network model (metafor's ``rma.mv`` with ``random = ~ comp | study, rho = 1/2``): the
estimators take ``(y, V, R, X)`` (V the within-study covariance, R the correlation of the
random effects) and return tau2: REML, maximized by the same root finder, and the generalized
DerSimonian-Laird ``(Q - df) / tr(P0 R)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._linalg import (
    WeightedFits,
    one_minus_leverage,
    sum_squares,
    trace_p,
    trace_pp,
    weighted_fits,
)
from ._network_linalg import NetworkSystem
from ._roots import decreasing_root, scale_of, score_maximum, variance

_LOG2PI = math.log(2 * math.pi)
#: Largest (grid points x studies) array of one vectorized score evaluation (512 kB of doubles).
_GRID_ELEMENTS = 1 << 16


# ------------------------------------------------------------------------------ pairwise model


def qgen(tau2: float, y, v, X) -> float:
    """Generalized Q: y' P(tau2) y (weighted RSS around the tau2-weighted fit)."""
    return float(_fits_at([tau2], y, v, X).rss[0])


def _fits_at(ts, y, v, X, rss: bool = True) -> WeightedFits:
    """The weighted fits at every tau2 of the 1-D array *ts* (one row each)."""
    W = v[None, :] + np.asarray(ts, dtype=float)[:, None]
    return weighted_fits(y, X, np.divide(1.0, W, out=W), overwrite=True, rss=rss)


def _scaled_score(F: WeightedFits, X, reml: bool) -> np.ndarray:
    """The score divided by the largest weight ``c`` of each row (same sign, same roots):
    ``c sum (ws r)^2 - tr(P) / c`` (ML: ``- sum ws``), the first term by
    :func:`acu_meta.models._linalg.sum_squares`: finite where ``y'PPy`` would overflow
    (``c^2`` for a variance below 1e-154), and no square of a tiny ``ws r`` lost to
    underflow."""
    tr = trace_p(F, X) if reml else F.ws.sum(axis=1)
    return sum_squares(F.ws * F.resid, s=np.sqrt(F.scale)) - tr  # c sum (ws r)^2


def score_grid(ts, y, v, X, reml: bool) -> np.ndarray:
    """The (restricted) likelihood score at every tau2 of *ts*, each divided by the largest
    weight ``max 1 / (v + tau2)`` (a positive factor: same signs and roots as :func:`score`),
    computed as ``(n, k)`` arrays of at most :data:`_GRID_ELEMENTS` entries (the whole grid at
    once for small k; row by row, in cache, for large k)."""
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    n = max(1, _GRID_ELEMENTS // max(len(y), 1))
    return np.concatenate([_scaled_score(_fits_at(ts[i:i + n], y, v, X, rss=False), X, reml)
                           for i in range(0, len(ts), n)])


def loglik(tau2: float, y, v, X, reml: bool) -> float:
    """The (restricted) log-likelihood of the pairwise model at tau2."""
    F = _fits_at([tau2], y, v, X)
    k, p = X.shape
    c = float(F.scale[0])
    ll = -0.5 * (np.sum(np.log(v + tau2)) + float(F.rss[0]))
    if reml:
        ll -= 0.5 * (np.linalg.slogdet(F.A_s[0])[1] + p * math.log(c))
        ll -= 0.5 * (k - p) * _LOG2PI
    else:
        ll -= 0.5 * k * _LOG2PI
    return float(ll)


def score(tau2: float, y, v, X, reml: bool) -> float:
    """The (restricted) likelihood score in tau2 (times 2): ``y'PPy - tr(P)`` (ML: ``sum w``),
    with ``y'PPy = sum w^2 r^2`` and tr(P) in the O(k p^2) form of :mod:`acu_meta.models._linalg`.
    """
    F = _fits_at([tau2], y, v, X)
    return float(F.scale[0]) * float(_scaled_score(F, X, reml)[0])  # Python floats: no warning


def tau2_fe(y, v, X) -> tuple[float, int]:
    """FE: tau2 = 0."""
    return 0.0, 0


def dl_from_q(Q, df, trP):
    """The DerSimonian-Laird formula from a given Q: ``max(0, (Q - df) / tr(P0))``.

    The one home of the formula: the DL estimators (single and batch) and RevMan 5's DL from Q
    around the Mantel-Haenszel estimate (:func:`acu_meta.results.pool`, ``profile="revman5"``)
    call it. For intercept-only data ``tr(P0) = sum(w) - sum(w^2) / sum(w)``. Vectorized.
    Scale-free: ``Q``, ``df`` and ``tr(P0)`` may all be divided by the largest weight.
    """
    return np.maximum(0.0, (Q - df) / trP)


def tau2_dl(y, v, X) -> tuple[float, int]:
    """DerSimonian-Laird: ``(Q - (k - p)) / tr(P0)``, every term divided by ``c = max(1/v)``
    (``(Q/c - (k - p)/c) / (tr(P0)/c)``: no overflow)."""
    k, p = X.shape
    F = weighted_fits(y, X, 1.0 / v)
    c = float(F.scale[0])
    return float(dl_from_q(float(F.rss[0]) / c, (k - p) / c, float(trace_p(F, X)[0]))), 0


def tau2_he(y, v, X) -> tuple[float, int]:
    """Hedges: ``(RSS_ols - tr(R V)) / (k - p)``, R the OLS residual-maker:
    ``tr(R V) = sum v_i (1 - h_i)``, h_i the OLS leverages (intercept only: 1/k)."""
    k, p = X.shape
    F = weighted_fits(y, X, np.ones(k))
    rss = float(F.rss[0])
    return max(0.0, (rss - float(np.sum(one_minus_leverage(F, X)[0] * v))) / (k - p)), 0


def tau2_hs(y, v, X) -> tuple[float, int]:
    """Hunter-Schmidt: ``(Q - k) / sum(w)``, as ``(Q/c - k/c) / sum(w/c)``, c = max(1/v)."""
    k = X.shape[0]
    F = weighted_fits(y, X, 1.0 / v)
    c = float(F.scale[0])
    return max(0.0, (float(F.rss[0]) / c - k / c) / float(F.ws[0].sum())), 0


def tau2_sj(y, v, X) -> tuple[float, int]:
    """Sidik-Jonkman from metafor 3.8's initial value (the mean square around the unweighted
    mean, also in meta-regression)."""
    k, p = X.shape
    tau0 = variance(y)
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
    """Empirical Bayes in metafor's form (see the module docstring); the weights enter as a
    ratio, so they are used divided by their maximum."""
    k, p = X.shape

    def f(t):  # sum ws r^2 = rss / c
        F = _fits_at([t], y, v, X)
        ws, c = F.ws[0], float(F.scale[0])
        return (k / (k - p) * float(F.rss[0]) / c - float(np.sum(ws * v))) / float(np.sum(ws)) - t

    return decreasing_root(f, scale_of(y, v))


def _likelihood_maximum(y, v, X, reml: bool) -> tuple[float, int]:
    def sc(t):
        return float(score_grid([t], y, v, X, reml)[0])

    return score_maximum(sc, lambda t: loglik(t, y, v, X, reml), scale_of(y, v),
                         score_many=lambda ts: score_grid(ts, y, v, X, reml))


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

    P is linear in the weights, so it is computed as ``sqrt(2 / t) / s`` with
    ``tr(P P) = t s^2`` from :func:`acu_meta.models._linalg.trace_pp` (O(k p^2); s the largest
    weight times the largest diagonal entry of P for those weights): finite where tr(P P) would
    underflow (huge tau2) or overflow (a tiny variance); NaN where even that scale fails.
    """
    F = weighted_fits(None, X, 1.0 / (v + tau2))
    t, scale = trace_pp(F, X)
    if not (t[0] > 0 and scale[0] > 0):
        return float("nan")
    return float(math.sqrt(2 / t[0]) / scale[0])


# ------------------------------------------------------------------------------ network model


def _system(y, V, R, X) -> NetworkSystem:
    """The block-diagonal form of the network model (:mod:`acu_meta.models._network_linalg`):
    a prebuilt :class:`NetworkSystem` passes through."""
    return V if isinstance(V, NetworkSystem) else NetworkSystem(y, V, R, X)


def network_score(t: float, y, V, R, X) -> float:
    """REML score of the network model: ``y'P R P y - tr(P R)``, by per-study blocks
    (equal to the dense form in ``tests/models/test_network_linalg.py``)."""
    return _system(y, V, R, X).score(t)


def network_loglik(t: float, y, V, R, X) -> float:
    """Restricted log-likelihood of the network model (up to a constant), by per-study
    blocks: ``-(sum log det S_s + log det X'WX + rss) / 2``."""
    return _system(y, V, R, X).loglik(t)


def network_fe(y, V, R, X) -> float:
    """Common-effect network model: tau2 = 0."""
    return 0.0


def network_reml(y, V, R, X) -> float:
    """REML tau2 of the network model (global maximum, as the pairwise REML). V may be a
    prebuilt :class:`~acu_meta.models._network_linalg.NetworkSystem` (then R is unused)."""
    if X.shape[0] <= X.shape[1]:
        return 0.0
    system = _system(y, V, R, X)
    t, _ = score_maximum(system.score, system.loglik, scale_of(y, system.diag_v))
    return float(t)


def network_dl(y, V, R, X) -> float:
    """Generalized DerSimonian-Laird: ``(Q - df) / tr(P0 R)`` (DL for two treatments). V may
    be a prebuilt :class:`~acu_meta.models._network_linalg.NetworkSystem`."""
    f, tr = _system(y, V, R, X).trace_p0r()
    df = X.shape[0] - X.shape[1]
    return max(0.0, (f.rss - df) / tr)
