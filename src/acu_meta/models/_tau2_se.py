"""Standard errors of the closed-form and Paule-Mandel / empirical Bayes tau2 estimates, as
metafor 3.8.1's ``rma.uni`` reports them (``se.tau2``).

The ML and REML SEs (information-based) live beside their estimators in
:mod:`acu_meta.models._tau2`; the SEs here complete the set, one function per registered
estimator of :mod:`acu_meta.models.registry`, each with the registry's signature
``se(tau2, y, v, X) -> float`` (tau2 the estimate, already truncated at 0).

Method-of-moments estimators (DL, HS, HE, SJ)
    Each is a linear function of a quadratic form ``y'Ay`` (A symmetric with ``A X = 0``), and
    under the model ``y ~ N(X beta, V + tau2 I)`` (V = diag(v))

    ``Var(y'Ay) = 2 tr(A V A V) + 4 tau2 tr(A V A) + 2 tau2^2 tr(A A)``,

    evaluated at the estimate (metafor plugs in ``max(tau2, 0)``):

    DL
        ``A = P0`` (the FE residual-maker, ``P0 V P0 = P0``), tau2 = (Q - (k - p)) / tr(P0):
        ``se = sqrt(2 (k - p) + 4 tau2 tr(P0) + 2 tau2^2 tr(P0 P0)) / tr(P0)``.
    HS
        The same variance of Q, divided by ``sum(w)`` instead of ``tr(P0)``.
    HE
        ``A = R = I - X (X'X)^-1 X'`` (OLS residual-maker, ``R R = R``, tr(R) = k - p):
        ``se = sqrt(2 tr(R V R V) + 4 tau2 tr(R V) + 2 tau2^2 (k - p)) / (k - p)``.
    SJ
        ``tau2 = tau0 y'P(tau0)y / (k - p)`` with metafor's initial value ``tau0`` (the mean
        square around the unweighted mean): ``A = P(tau0)``, ``se = tau0 / (k - p) *
        sqrt(2 tr(P V P V) + 4 tau2 tr(P V P) + 2 tau2^2 tr(P P))``. The weights are those of
        the initial value tau0, not of the estimate.

PM and EB
    metafor uses Morris's (1983) approximation for both, with the weights at the estimate
    ``w = 1 / (v + tau2)``: ``se = sqrt(2 k^2 / (k - p)) / sum(w)``.

The square roots are formed on a scaled form (tau2 divided by ``max(1, tau2)``, SJ's and PM's
weights divided by their maximum) so that a huge tau2 gives a finite SE rather than an
overflow.

Validated against metafor 3.8.1 ``rma(...)$se.tau2`` for DL, HE, HS, SJ, PM and EB (and ML,
REML), intercept-only and with one or two moderators: the ``se_tau2`` family of
``tests/fixtures/metafor_gaps.json`` (written by ``validation/metafor/gaps_reference.R``),
checked in ``tests/models/test_tau2_se.py`` (closed forms at 1e-10, PM and EB at 1e-8), which
also checks the 914 intercept-only fits of ``tests/fixtures/metafor_reference.json``.
"""

from __future__ import annotations

import math

import numpy as np

from ._linalg import wls


def _quadratic_form_sd(tr_avav: float, tr_ava: float, tr_aa: float, tau2: float) -> float:
    """``sqrt(2 tr(AVAV) + 4 tau2 tr(AVA) + 2 tau2^2 tr(AA))``, scaled against overflow."""
    t = max(float(tau2), 0.0)
    s = max(1.0, t)
    ts = t / s
    inner = 2 * (tr_avav / s) / s + 4 * ts * (tr_ava / s) + 2 * ts * ts * tr_aa
    return math.sqrt(max(inner, 0.0)) * s


class _PTraces:
    """Traces of ``P = W - W X S X' W`` (``S = (X'WX)^-1``) in O(k p^2), no k x k matrix.

    With ``m_i = x_i' S x_i`` and ``C(d) = X' diag(w^2 d) X``:
    ``tr(P) = sum(w) - sum(m w^2)`` and
    ``tr(P D1 P D2) = sum(w^2 d1 d2) - 2 sum(m w^3 d1 d2) + tr(S C(d1) S C(d2))``
    for diagonal D1, D2 (expand the product; the middle terms are equal by symmetry).
    """

    def __init__(self, w: np.ndarray, X: np.ndarray):
        self.w, self.X = w, X
        self.S = wls(np.zeros(len(w)), X, w).Ainv
        self.m = np.sum((X @ self.S) * X, axis=1)

    def tr(self) -> float:
        return float(np.sum(self.w) - np.sum(self.m * self.w**2))

    def tr2(self, d1, d2) -> float:
        w, X, S, m = self.w, self.X, self.S, self.m
        dd = np.broadcast_to(d1, w.shape) * np.broadcast_to(d2, w.shape)
        c1 = (X * (w**2 * d1)[:, None]).T @ X
        c2 = (X * (w**2 * d2)[:, None]).T @ X
        return float(np.sum(w**2 * dd) - 2 * np.sum(m * w**3 * dd) + np.trace(S @ c1 @ S @ c2))


def _q_sd(tau2: float, v, X) -> tuple[float, float, float]:
    """SD of Q = y'P0 y at tau2, with tr(P0) and sum(w) (the DL and HS denominators)."""
    k, p = X.shape
    w = 1.0 / v
    c = float(np.max(w))  # P is linear in the weights: traces in units of c
    T = _PTraces(w / c, X)
    with np.errstate(all="ignore"):
        trP = c * T.tr()
        trPP = c * c * T.tr2(1.0, 1.0)
    if not (trP > 0 and math.isfinite(trP) and math.isfinite(trPP)):
        # one study's weight dwarfs the rest (e.g. vi = 1e-300 beside 0.1): tr(P0) is lost
        # to cancellation in double precision; the SE is reported as NaN, never a warning
        return math.nan, math.nan, c * float(np.sum(w / c))
    return _quadratic_form_sd(k - p, trP, trPP, tau2), trP, c * float(np.sum(w / c))


def se_tau2_dl(tau2: float, y, v, X) -> float:
    """SE of the DerSimonian-Laird estimate (see the module docstring)."""
    sd, trP, _ = _q_sd(tau2, v, X)
    return sd / trP if trP > 0 else math.nan


def se_tau2_hs(tau2: float, y, v, X) -> float:
    """SE of the Hunter-Schmidt estimate: the SD of Q divided by sum(1/v)."""
    sd, _, sw = _q_sd(tau2, v, X)
    return sd / sw


def se_tau2_he(tau2: float, y, v, X) -> float:
    """SE of Hedges' estimate, with R the OLS residual-maker (see the module docstring)."""
    k, p = X.shape
    T = _PTraces(np.ones(k), X)  # R = I - X (X'X)^-1 X'
    m = T.m
    tr_rv = float(np.sum(v) - np.sum(m * v))  # tr(R V)
    return _quadratic_form_sd(T.tr2(v, v), tr_rv, float(k - p), tau2) / (k - p)


def se_tau2_sj(tau2: float, y, v, X) -> float:
    """SE of the Sidik-Jonkman estimate, with the weights of its initial value tau0."""
    k, p = X.shape
    y = np.asarray(y, dtype=float)
    tau0 = float(np.mean((y - y.mean()) ** 2))
    w = 1.0 / (v + tau0)
    c = float(np.max(w))  # P is linear in the weights: P = c P(w / c), well scaled
    T = _PTraces(w / c, X)
    sd = _quadratic_form_sd(T.tr2(v, v), T.tr2(v, 1.0), T.tr2(1.0, 1.0), tau2)
    return (tau0 * c) * sd / (k - p)


def se_tau2_pm(tau2: float, y, v, X) -> float:
    """SE of the Paule-Mandel (and empirical Bayes) estimate: Morris's
    ``sqrt(2 k^2 / (k - p)) / sum(w)``, ``w = 1 / (v + tau2)``."""
    k, p = X.shape
    w = 1.0 / (v + tau2)
    c = float(np.max(w))
    return math.sqrt(2.0 / (k - p)) * k / float(np.sum(w / c)) / c


#: EB uses the same approximation as PM in metafor 3.8.1.
se_tau2_eb = se_tau2_pm

__all__ = ["se_tau2_dl", "se_tau2_eb", "se_tau2_he", "se_tau2_hs", "se_tau2_pm", "se_tau2_sj"]
