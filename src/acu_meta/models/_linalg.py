"""Weighted / generalized least squares: the one linear-algebra helper of the models layer.

``wls(y, X, W)`` fits ``y = X beta`` with weights ``W``: a vector (diagonal weights, the
pairwise model and the Egger-type regressions) or a full matrix (the inverse of a
block-diagonal covariance, the network model). The coefficients come from
``numpy.linalg.solve`` on the normal equations; the inverse of ``X'WX`` is formed as well,
because every caller needs it (the variance of beta and the residual-maker P).

Used by :mod:`acu_meta.models._tau2` (every tau2 estimator), :mod:`acu_meta.models._core`,
:mod:`acu_meta.models.network` and :mod:`acu_meta.models.sensitivity` (``wls_regression``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ModelError


class LSFit(NamedTuple):
    """Weighted least squares fit: beta, ``A = X'WX``, ``A^-1``, residuals, weighted RSS."""

    beta: np.ndarray
    A: np.ndarray
    Ainv: np.ndarray
    resid: np.ndarray
    rss: float


def wls(y: np.ndarray, X: np.ndarray, W: np.ndarray) -> LSFit:
    """Weighted (W a vector) or generalized (W a matrix) least squares of y on X.

    Raises :class:`~acu_meta.errors.ModelError` when ``X'WX`` is singular (X not of full rank).
    """
    XtW = X.T * W if W.ndim == 1 else X.T @ W
    A = XtW @ X
    try:
        Ainv = np.linalg.inv(A)
        beta = np.linalg.solve(A, XtW @ y)
    except np.linalg.LinAlgError as err:
        raise ModelError("model matrix is not of full rank") from err
    resid = y - X @ beta
    rss = float(np.sum(W * resid**2)) if W.ndim == 1 else float(resid @ W @ resid)
    return LSFit(beta, A, Ainv, resid, rss)


def pmat(W: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> np.ndarray:
    """The residual-maker ``P = W - W X (X'WX)^-1 X' W`` (W a weight vector or matrix)."""
    if W.ndim == 1:
        WX = X * W[:, None]
        return np.diag(W) - WX @ Ainv @ WX.T
    return W - W @ X @ Ainv @ X.T @ W
