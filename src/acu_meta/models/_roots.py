"""Root finding for the one unknown tau2 >= 0: bracketing, then Brent's method.

Every iterative tau2 estimator of the models layer is a root of a continuous function of tau2,
so one strategy serves them all (pairwise and network models, and the Q-profile interval):

1. **Upper end.** ``hi`` is the smallest doubling ``scale * 2^j`` at which the function has the
   sign it must have for large tau2 (``<= 0``; every function here decreases for large tau2).
2. **Brackets.** A monotone function (PM, EB, the Q-profile) has one root in ``[0, hi]``. A
   likelihood score may have several: it is evaluated on a grid of 0 and :data:`GRID`
   geometric points on ``[hi 1e-10, hi]``, and every change from ``> 0`` to ``<= 0`` brackets a
   local maximum of the likelihood.
3. **Refinement.** Each bracket is refined by Brent's method (``scipy.optimize.brentq``,
   guaranteed to converge on a bracket) to ``xtol = 1e-15 * scale``, ``rtol = 4 eps``.
4. **Choice.** Among the local maxima, and tau2 = 0 when the score is ``<= 0`` there, the one
   with the largest log-likelihood is returned: a multimodal likelihood gives its global
   maximum, not whichever local one an iteration from a starting value would reach.

``scale`` (:func:`scale_of`) is ``max(var(y), mean(v), 1e-12)``. The vectorized engine
(:mod:`acu_meta.models._tau2_batch`) uses the same upper end, grid and tolerance, row by row.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ..errors import ModelError
from ._linalg import sum_squares

#: Geometric grid points (besides 0) on which a likelihood score is screened for sign changes.
GRID = 64
#: Relative tolerance of every Brent refinement (absolute: ``1e-15 * scale``).
RTOL = 4 * np.finfo(float).eps
_MAX_DOUBLINGS = 2000
_MAXITER = 1000


class _Counted:
    """A function that counts its evaluations."""

    def __init__(self, func):
        self.func = func
        self.calls = 0

    def __call__(self, t: float) -> float:
        self.calls += 1
        return self.func(t)


def variance(y) -> float:
    """``var(y)`` (divisor k, as ``numpy.var``) without an overflowing square: effects of
    +-1.3e154 have the finite variance 1.1e308."""
    y = np.asarray(y, dtype=float)
    return float(sum_squares(y - y.mean(), s=np.array([1 / math.sqrt(len(y))]))[0])


def scale_of(y, v) -> float:
    """The scale of tau2 for one data set: ``max(var(y), mean(v), 1e-12)``."""
    return max(variance(y), float(np.mean(v)), 1e-12)


def upper_end(func, scale: float) -> float:
    """The smallest doubling of *scale* at which ``func <= 0`` (the sign for large tau2)."""
    hi = scale
    for _ in range(_MAX_DOUBLINGS):
        if not math.isfinite(hi):
            raise ModelError("could not bracket tau2: it would be above the largest double "
                             "(1.8e308; the effects differ by more than about 1e154)")
        if func(hi) <= 0:
            return hi
        hi *= 2.0
    raise ModelError("could not bracket tau2 (the estimating function never changes sign)")


def brent(func, a: float, b: float, scale: float) -> float:
    """Brent's root of *func* on the bracket [a, b], to ``1e-15 * scale`` and ``4 eps``."""
    return optimize.brentq(func, a, b, xtol=1e-15 * scale, rtol=RTOL, maxiter=_MAXITER)


def decreasing_root(func, scale: float) -> tuple[float, int]:
    """The root in tau2 >= 0 of a function that decreases through it; 0 when ``func(0) <= 0``.

    Returns the root and the number of evaluations of *func*.
    """
    f = _Counted(func)
    if not f(0.0) > 0:
        return 0.0, f.calls
    hi = upper_end(f, scale)
    return float(brent(f, 0.0, hi, scale)), f.calls


def score_maximum(score, loglik, scale: float, score_many=None) -> tuple[float, int]:
    """The tau2 >= 0 maximizing a log-likelihood, from its *score* (see the module docstring).

    *score_many*, if given, evaluates the score on an array of tau2 at once (the grid of step
    2; it must agree with *score* in sign); each grid point still counts as one evaluation.
    Returns the maximizer and the number of evaluations of *score*.
    """
    sc = _Counted(score)
    hi = upper_end(sc, scale)
    grid = np.concatenate([[0.0], np.geomspace(hi * 1e-10, hi, GRID)])
    if score_many is None:
        vals = [sc(t) for t in grid]
    else:
        vals = np.asarray(score_many(grid), dtype=float)
        sc.calls += len(grid)
    cands = [0.0] if vals[0] <= 0 else []
    for i in range(GRID):
        if vals[i] > 0 >= vals[i + 1]:
            cands.append(float(brent(sc, grid[i], grid[i + 1], scale)))
    if not cands:  # pragma: no cover - score(0) > 0 and score(hi) <= 0 give a sign change
        raise ModelError("no maximum of the likelihood was bracketed")
    return max(cands, key=loglik), sc.calls
