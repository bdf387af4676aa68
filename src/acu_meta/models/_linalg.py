"""Weighted / generalized least squares: the one linear-algebra helper of the models layer.

``wls(y, X, W)`` fits ``y = X beta`` with weights ``W``: a vector (diagonal weights, the
pairwise model and the Egger-type regressions) or a full matrix (the inverse of a
block-diagonal covariance, the network model). :func:`weighted_fits` fits one data set under
``G`` weight vectors at once (the rows of a ``(G, k)`` array: the screening grid of the
likelihood score); ``wls`` with a weight vector is its ``G = 1`` case, so a grid point and a
single evaluation are the same arithmetic.

Diagonal weights: no k x k matrix, O(k p^2)
-------------------------------------------
With ``W = diag(w)``, ``A = X'WX``, the residuals ``r = y - X beta`` and the leverages
(hat values) ``h_i = w_i x_i' A^-1 x_i`` (``sum h = p``), the residual-maker
``P = W - W X A^-1 X' W`` enters only through

* ``P y = w * r``, so ``y'P y = sum w r^2`` and ``y'P P y = sum w^2 r^2``;
* ``tr(P) = sum w_i (1 - h_i)`` (:func:`trace_p`);
* ``tr(P P) = sum_i P_ii^2 + sum_{i != j} P_ij^2 = sum w_i^2 (1 - h_i)^2 +
  sum_i w_i^2 x_i' A^-1 B_(-i) A^-1 x_i``, ``B_(-i) = sum_{j != i} w_j^2 x_j x_j'``
  (:func:`trace_pp`).

Both are sums of positive terms. Where a term would lose digits to cancellation (``1 - h_i``
for a leverage above 1/2; ``B - w_i^2 x_i x_i'`` where that is more than half of B) the
term is summed directly over the other studies; fewer than 2p studies qualify for each, so
the cost stays O(k p^3).

For the intercept-only model (``x_i = 1``, ``S = sum w``, ``h_i = w_i / S``, r the study with
the largest weight, ``S_(-i)`` and ``T_(-i)`` the sums of ``w`` and ``w^2`` over the studies
other than i, each summed directly for i = r):

* ``tr(P) = sum w_i S_(-i) / S = (S_(-r) (S + w_r) - T_(-r)) / S``, where ``T_(-r)`` is at
  most half of ``S S_(-r)``;
* ``tr(P P) = sum w_i^2 (S_(-i)^2 + T_(-i)) / S^2`` (positive terms);

so no digit is lost to cancellation when one study dominates (``1 - h_r = S_(-r) / S`` is not
formed as ``1 - w_r / S``). Every formula is checked against exact rational arithmetic and
the dense ``P`` of :func:`pmat` in ``tests/models/test_linalg_forms.py``.

Scaling (issue #17: no overflow for finite positive variances)
--------------------------------------------------------------
Every sum of ``w``, ``w y`` and ``w y^2`` is formed with the weights divided by their maximum
``c`` (``LSFit.scale``; for a weight matrix, the power of two midway between its largest and
smallest entries, so that neither end under- or overflows, and y divided by a power of two
above its largest entry), so ``1 / v`` for a variance of
1e-300 never overflows a sum; ``A`` and ``A^-1`` are ``c`` times and ``1 / c``
times the scaled matrices. When X has a column of ones the data are centred at the effect of
the study with the largest weight before the fit (only the intercept moves), so that study's
residual is computed without cancellation: for ``v = [1e-300, 0.1, 0.1]`` the weighted RSS is
the exact 0.5 rather than 1e266 of rounding error times 1e300.

Used by :mod:`acu_meta.models._tau2` (every tau2 estimator), :mod:`acu_meta.models._core`,
:mod:`acu_meta.models.network` and :mod:`acu_meta.models.sensitivity` (``wls_regression``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..errors import ModelError


class LSFit(NamedTuple):
    """Weighted least squares fit: beta, residuals, weighted RSS, and ``A = X'WX`` as the
    scaled ``A_s = A / scale`` (``A`` and ``A^-1`` are properties)."""

    beta: np.ndarray
    A_s: np.ndarray
    Ainv_s: np.ndarray
    resid: np.ndarray
    rss: float
    scale: float = 1.0

    @property
    def A(self) -> np.ndarray:
        """``X'WX`` (may overflow where ``A_s`` does not, for weights near the largest double)."""
        return self.A_s * self.scale

    @property
    def Ainv(self) -> np.ndarray:
        """``(X'WX)^-1``, the covariance of beta under the weights."""
        return self.Ainv_s / self.scale


class WeightedFits(NamedTuple):
    """``G`` weighted fits of one ``(y, X)`` (one row per weight vector); see the module
    docstring. Every weight-dependent quantity is for the scaled weights ``ws = w / scale``."""

    scale: np.ndarray  # (G,) the largest weight of each row
    ws: np.ndarray  # (G, k) weights / scale (largest exactly 1)
    ref: np.ndarray  # (G,) index of the largest weight of each row
    others: np.ndarray  # (G,) sum of ws over every study but ref (intercept only, else None)
    beta: np.ndarray | None  # (G, p)
    resid: np.ndarray | None  # (G, k)
    rss: np.ndarray | None  # (G,) the weighted RSS sum w r^2 (sum_squares: inf only above 1.8e308)
    A_s: np.ndarray  # (G, p, p) X' diag(ws) X
    Ainv_s: np.ndarray  # (G, p, p)
    lev: np.ndarray | None  # (G, k) leverages h_i (scale-free; None for intercept only)
    intercept_only: bool


def ones_column(X: np.ndarray) -> int | None:
    """Index of the first column of X that is all ones (an intercept), or None."""
    for j in range(X.shape[1]):
        if np.all(X[:, j] == 1.0):
            return j
    return None


def weighted_fits(y: np.ndarray | None, X: np.ndarray, W: np.ndarray, *,
                  overwrite: bool = False, rss: bool = True) -> WeightedFits:
    """Fit ``y = X beta`` under each row of the ``(G, k)`` weights *W* (diagonal weights).

    O(G k p^2) time and memory; no k x k matrix. ``y = None`` gives only the weight-dependent
    parts (``A``, leverages; beta, residuals and RSS are then None), e.g. for
    :func:`trace_p`; ``rss=False`` leaves the RSS out (None). ``overwrite=True`` lets the
    scaled weights replace *W* (a temporary of the caller). Raises
    :class:`~acu_meta.errors.ModelError` when ``X'WX`` is singular (X not of full rank).
    """
    W = np.asarray(W, dtype=float)
    if W.ndim == 1:
        W = W[None, :]
    G, p = W.shape[0], X.shape[1]
    rows = np.arange(G)
    ref = W.argmax(axis=1)
    scale = W[rows, ref]
    ws = np.divide(W, scale[:, None], out=W if overwrite else None)
    one = ones_column(X)
    intercept_only = p == 1 and one == 0
    others = lev = None
    if intercept_only:
        ws[rows, ref] = 0.0
        others = ws.sum(axis=1)
        ws[rows, ref] = 1.0
        sw = 1.0 + others
        A_s = sw[:, None, None]
        Ainv_s = 1.0 / A_s
    else:
        A_s = np.einsum("gk,ki,kl->gil", ws, X, X)
        try:
            Ainv_s = np.linalg.inv(A_s)
        except np.linalg.LinAlgError as err:
            raise ModelError("model matrix is not of full rank") from err
        lev = ws * np.einsum("ki,gil,kl->gk", X, Ainv_s, X)
    if y is None:
        return WeightedFits(scale, ws, ref, others, None, None, None, A_s, Ainv_s, lev,
                            intercept_only)
    # centre at the effect of the study with the largest weight (moves only the intercept)
    y0 = y[ref] if one is not None else np.zeros(G)
    resid = y[None, :] - y0[:, None]
    buf = ws * resid
    if intercept_only:
        d = buf.sum(axis=1) / sw
        resid -= d[:, None]
        beta = (y0 + d)[:, None]
    else:
        rhs = np.einsum("gk,ki->gi", buf, X)
        try:
            beta = np.linalg.solve(A_s, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError as err:
            raise ModelError("model matrix is not of full rank") from err
        resid -= beta @ X.T
        if one is not None:
            beta[:, one] += y0
    q = sum_squares(resid, ws, np.sqrt(scale)) if rss else None
    return WeightedFits(scale, ws, ref, others, beta, resid, q, A_s, Ainv_s, lev,
                        intercept_only)


def sum_squares(a: np.ndarray, w: np.ndarray | None = None,
                s: np.ndarray | None = None) -> np.ndarray:
    """Row sums of ``s^2 w a^2`` (w in [0, 1] or None for 1; s one positive factor per row or
    None for 1), formed as ``(s m)^2 sum w (a / m)^2`` with ``m`` the largest ``|a|`` of the
    row: no square of a huge or tiny entry over- or underflows (effects of 1e154, weights of
    1e308), and the result is ``inf``, without a warning, only when the sum itself is above
    the largest double."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    m = np.maximum(a.max(axis=1), -a.min(axis=1))
    ms = m if s is None else m * s
    if np.all((m <= _SQ_SAFE) & (m >= 1 / _SQ_SAFE) & (ms <= _SQ_SAFE) & (ms >= 1 / _SQ_SAFE)):
        # the largest square m^2 and the largest term (s m)^2 are within 1e-280..1e280: no
        # square over- or underflows harmfully (a term that underflows is below 1e-16 of the
        # largest); the common case
        q = a * a if w is None else (w * a) * a
        t = q.sum(axis=1)
        return t if s is None else t * (s * s)
    m = np.where(m > 0, m, 1.0)
    q = a / m[:, None]
    q *= q
    if w is not None:
        q *= w
    t = q.sum(axis=1)
    out = np.empty(len(a))
    for g in range(len(a)):  # Python floats: a product above 1.8e308 is inf, not a warning
        sm = float(m[g]) * (1.0 if s is None else float(s[g]))
        out[g] = float(t[g]) * sm * sm if t[g] > 0 else 0.0
    return out


#: |a| in [1 / _SQ_SAFE, _SQ_SAFE] needs no rescaling in sum_squares (squares in 1e-280..1e280).
_SQ_SAFE = 1e140


def _without_ref(a: np.ndarray, ref: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """Row sums of *a* leaving out the entry *ref* of each row (summed directly; with
    ``overwrite=True`` those entries of *a* are set to 0)."""
    b = a if overwrite else a.copy()
    b[np.arange(len(a)), ref] = 0.0
    return b.sum(axis=1)


def one_minus_leverage(F: WeightedFits, X: np.ndarray) -> np.ndarray:
    """``1 - h_i`` of every study and row, to full relative accuracy.

    Intercept only: ``S_(-i) / S``. Otherwise ``1 - h_i`` directly where ``h_i <= 1/2`` (no
    cancellation), and where ``h_i > 1/2`` (fewer than 2p studies, since ``sum h = p``) by the
    matrix determinant lemma, ``det(A_(-i)) / det(A)`` with ``A_(-i)`` the sum over the other
    studies (0 when they leave X rank-deficient).
    """
    if F.intercept_only:
        sw = F.A_s[:, 0, :]
        out = (sw - F.ws) / sw
        out[np.arange(len(sw)), F.ref] = F.others / sw[:, 0]
        return out
    out = 1.0 - F.lev
    for g, i in zip(*np.nonzero(F.lev > 0.5), strict=True):
        others = F.ws[g].copy()
        others[i] = 0.0
        sign, logdet = np.linalg.slogdet((X.T * others) @ X)
        full = np.linalg.slogdet(F.A_s[g])[1]
        out[g, i] = float(np.exp(logdet - full)) if sign > 0 else 0.0
    return out


def trace_p(F: WeightedFits, X: np.ndarray) -> np.ndarray:
    """``tr(P) / scale`` of every row: ``sum ws_i (1 - h_i)``, positive terms with
    ``1 - h_i`` from :func:`one_minus_leverage`; intercept only
    ``(S_(-r) (S + 1) - T_(-r)) / S`` (see the module docstring)."""
    if F.intercept_only:
        sw = F.A_s[:, 0, 0]
        t_others = _without_ref(F.ws * F.ws, F.ref, overwrite=True)
        return (F.others * (sw + 1.0) - t_others) / sw
    return (F.ws * one_minus_leverage(F, X)).sum(axis=1)


def trace_pp(F: WeightedFits, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tr(P P)`` of every row as ``(t, d)``: ``tr(P P) = t (scale d)^2``, positive terms.

    ``d`` is the largest ``P_ii / scale = ws_i (1 - h_i)``, which bounds every ``|P_ij| /
    scale`` (P is positive semi-definite), so the terms of ``t`` are at most 1 in size and
    neither under- nor overflow, also where ``tr(P P) / scale^2`` is below the smallest double
    (one study with a variance 1e300 times smaller than the others).

    ``tr(P P) = sum_i P_ii^2 + sum_i sum_{j != i} P_ij^2``. Intercept only (S = sum ws, r the
    study with weight 1): ``P_ii = ws_i S_(-i) / S``, ``P_ij = -ws_i ws_j / S``; the
    off-diagonal sum of row i is ``(ws_i / S)^2 T_(-i)`` (``T_(-i) = sum_{j != i} ws_j^2`` >= 1
    for i != r), and row r's is summed directly. Otherwise, with the thin QR factorization
    ``Ws^(1/2) X = Q R`` (rows ``q_i``, ``h_i = |q_i|^2``): ``P_ij = -sqrt(ws_i ws_j) q_i.q_j``,
    so row i's off-diagonal sum is ``ws_i q_i' E_(-i) q_i``, ``E_(-i) = sum_{j != i} ws_j q_j'
    q_j``; it is formed as ``ws_i (|L' q_i|^2 - ws_i h_i^2)`` (``E = Q' Ws Q = L L'``) where
    the subtracted term is at most half, and directly, in O(k p), where it is more: at most
    2p - 1 studies, since the ratios ``ws_i h_i^2 / q_i E q_i'`` are ``K_ii^2 / (K^2)_ii`` of
    the rank-p matrix ``K_ij = sqrt(ws_i ws_j) q_i.q_j``, which sum to at most p.
    """
    m = one_minus_leverage(F, X)
    d = (F.ws * m).max(axis=1)  # the largest P_ii / scale of each row
    t = np.empty(len(F.ws))
    for g, ws in enumerate(F.ws):
        if not d[g] > 0:  # P / scale below the smallest double: not representable here
            t[g] = np.nan
            continue
        u = ws / d[g]  # weights in units of the largest diagonal entry of P
        diag = float(np.sum((u * m[g]) ** 2))
        if F.intercept_only:
            r, sw = int(F.ref[g]), float(F.A_s[g, 0, 0])
            others = ws.copy()
            others[r] = 0.0
            t_others = float(np.sum(others * others))
            t_minus = (t_others + 1.0) - ws * ws
            u_others = u.copy()
            u_others[r] = 0.0
            off_r = float(np.sum((others / (sw * d[g])) ** 2))  # row r, summed directly
            t[g] = diag + float(np.sum((u_others / sw) ** 2 * t_minus)) + off_r
            continue
        Q = np.linalg.qr(np.sqrt(ws)[:, None] * X)[0]
        h = (Q * Q).sum(axis=1)
        L = np.linalg.cholesky((Q.T * u) @ Q)
        T = Q @ L
        e = (T * T).sum(axis=1)  # q_i E q_i' / d
        own = u * h * h
        off = u * (e - own)
        for i in np.flatnonzero(own > 0.5 * e):
            qq = Q @ Q[i]
            qq[i] = 0.0
            off[i] = u[i] * float(np.sum(u * qq * qq))
        t[g] = diag + float(np.sum(off))
    return t, F.scale * d


def wls(y: np.ndarray, X: np.ndarray, W: np.ndarray) -> LSFit:
    """Weighted (W a vector) or generalized (W a matrix) least squares of y on X.

    Raises :class:`~acu_meta.errors.ModelError` when ``X'WX`` is singular (X not of full rank).
    """
    if W.ndim == 1:
        F = weighted_fits(y, X, W)
        return LSFit(F.beta[0], F.A_s[0], F.Ainv_s[0], F.resid[0], float(F.rss[0]),
                     float(F.scale[0]))
    c = _balanced_scale(W)
    Ws = W / c
    big = float(np.max(np.abs(y))) if len(y) else 0.0
    sy = math.ldexp(1.0, math.frexp(big)[1]) if big > 1.0 else 1.0  # y / sy: |y| <= 1, exact
    XtW = X.T @ Ws
    A_s = XtW @ X
    try:
        Ainv_s = np.linalg.inv(A_s)
        beta = np.linalg.solve(A_s, XtW @ (y / sy))
    except np.linalg.LinAlgError as err:
        raise ModelError("model matrix is not of full rank") from err
    r = y / sy - X @ beta
    rss = float(r @ Ws @ r) * c * sy * sy  # Python floats: inf, not a warning, above 1.8e308
    return LSFit(beta * sy, A_s, Ainv_s, r * sy, rss, c)


def _balanced_scale(W: np.ndarray) -> float:
    """A power of two between the largest and smallest non-zero ``|W_ij|`` (their geometric
    middle): dividing by it is exact, and neither end over- or underflows (a weight matrix of
    a network can hold 6e200 beside 1e-199)."""
    a = np.abs(W[np.isfinite(W)])
    a = a[a > 0]
    if a.size == 0:
        return 1.0
    return math.ldexp(1.0, round((math.log2(float(a.max())) + math.log2(float(a.min()))) / 2))


def pmat(W: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> np.ndarray:
    """The residual-maker ``P = W - W X (X'WX)^-1 X' W`` (W a weight vector or matrix), dense.

    The pairwise model never forms it (see the module docstring); it is the network model's
    (W a full matrix) and the reference the O(k p^2) forms are tested against.
    """
    if W.ndim == 1:
        WX = X * W[:, None]
        return np.diag(W) - WX @ Ainv @ WX.T
    return W - W @ X @ Ainv @ X.T @ W
