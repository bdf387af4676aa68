"""Block-diagonal GLS for the network model (issue #16 build item 4): no dense n x n inverse.

In the network model ``y = X d + u + e`` both ``V`` (within-study covariance) and ``R`` (the
correlation of the random effects) are block-diagonal: one block per study, of size arms - 1.
So is ``S = V + tau2 R`` and its inverse ``W``. Every quantity of the GLS fit, the REML score
and the restricted log-likelihood is a sum over studies:

* ``A = X'WX = sum_s X_s' W_s X_s`` and ``X'Wy = sum_s X_s' W_s y_s`` (O(n p^2));
* ``rss = sum_s r_s' W_s r_s``, ``r = y - X beta``;
* ``P y = W r`` (P the residual-maker ``W - W X A^-1 X' W``), so
  ``y'P R P y = sum_s (W_s r_s)' R_s (W_s r_s)``;
* ``tr(P R) = sum_s tr(W_s R_s) - tr(A^-1 sum_s X_s' W_s R_s W_s X_s)``;
* ``log det S = sum_s log det S_s``.

The studies are grouped by block size ``m``; each group is one stacked ``(k_m, m, m)`` array,
inverted (``m = 1``: a division) and its log-determinants taken by batched LAPACK calls, so a
likelihood evaluation costs O(n p^2 + sum k_m m^3) instead of the four O(n^3) steps of the
dense form. The scaling is the dense :func:`acu_meta.models._linalg.wls`'s (issue #17): the
weights divided by the power of two midway between the largest and smallest non-zero
``|W_ij|`` (those of the blocks: the rest of W is 0) and y by a power of two above ``max |y|``.

The blocks are found from the non-zero pattern of ``V`` and ``R`` (connected components of
the graph of rows; :func:`blocks_of`) or from the study labels (:func:`blocks_from_study`), so
the rows of a study need not be adjacent.

Validated in ``tests/models/test_network_linalg.py`` against the dense formulas (a dense
reference implementation kept in the test: ``inv(V + tau2 R)``, ``pmat``) at 1e-10 on random
networks with multi-arm studies, for the fit, score, log-likelihood and the tau2 estimators.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import ModelError
from ._linalg import LSFit


class Blocks(NamedTuple):
    """The per-study block structure of ``n`` stacked contrasts: ``groups[g]`` is a ``(k, m)``
    array of row indices, one row per study with ``m`` contrasts (rows in their stacked
    order); ``first[g]`` the position (in the order of first appearance) of each study."""

    n: int
    groups: tuple[np.ndarray, ...]
    first: tuple[np.ndarray, ...]


def _group(labels: np.ndarray) -> Blocks:
    """Blocks from one integer label per row (rows with the same label form a block)."""
    n = len(labels)
    _, first_row, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first_row), dtype=np.intp)  # order of first appearance
    rank[np.argsort(first_row, kind="stable")] = np.arange(len(first_row))
    lab = rank[inv]
    order = np.argsort(lab, kind="stable")  # rows by study, stacked order within a study
    sizes = np.bincount(lab)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    groups, first = [], []
    for m in np.unique(sizes):
        studies = np.nonzero(sizes == m)[0]
        idx = order[starts[studies][:, None] + np.arange(m)[None, :]]
        groups.append(idx)
        first.append(studies)
    return Blocks(n, tuple(groups), tuple(first))


def blocks_from_study(study) -> Blocks:
    """Blocks of the rows with the same study label."""
    _, lab = np.unique(np.asarray(study, dtype=str), return_inverse=True)
    return _group(lab.ravel())


def blocks_of(*matrices: np.ndarray) -> Blocks:
    """Blocks of the rows connected through the non-zero entries of the square *matrices*."""
    n = matrices[0].shape[0]
    mask = np.zeros((n, n), dtype=bool)
    for M in matrices:
        mask |= np.asarray(M) != 0
    i, j = np.nonzero(mask)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, lab = connected_components(graph, directed=False)
    return _group(lab)


def _gather(M: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The ``(k, m, m)`` diagonal blocks of the dense *M* at the row groups *idx*."""
    return M[idx[:, :, None], idx[:, None, :]]


class NetworkSystem:
    """``y``, ``X`` and the blocks of ``V`` and ``R`` of one network, gathered per block size.

    Built once (O(n^2) only for reading blocks out of dense ``V`` and ``R``; O(n m) from
    blocks), then evaluated at any tau2 in O(n p^2 + sum k_m m^3).
    """

    def __init__(self, y, V, R, X, blocks: Blocks | None = None):
        y = np.asarray(y, dtype=float)
        X = np.asarray(X, dtype=float)
        V = np.asarray(V, dtype=float)
        R = np.asarray(R, dtype=float)
        if blocks is None:
            blocks = blocks_of(V, R)
        self.blocks = blocks
        self.y, self.X = y, X
        self.p = X.shape[1]
        self.V = [_gather(V, g) for g in blocks.groups]
        self.R = [_gather(R, g) for g in blocks.groups]
        self.Xg = [X[g] for g in blocks.groups]  # (k, m, p)
        self.diag_v = np.diag(V).copy()

    @classmethod
    def from_blocks(cls, y, X, V_blocks, R_blocks, blocks: Blocks) -> NetworkSystem:
        """From per-group ``(k, m, m)`` blocks of V and R (no dense matrix)."""
        self = cls.__new__(cls)
        self.blocks = blocks
        self.y = np.asarray(y, dtype=float)
        self.X = np.asarray(X, dtype=float)
        self.p = self.X.shape[1]
        self.V = [np.asarray(v, dtype=float) for v in V_blocks]
        self.R = [np.asarray(r, dtype=float) for r in R_blocks]
        self.Xg = [self.X[g] for g in blocks.groups]
        self.diag_v = np.empty(blocks.n)
        for g, v in zip(blocks.groups, self.V, strict=True):
            self.diag_v[g] = np.diagonal(v, axis1=1, axis2=2)
        return self

    # -------------------------------------------------------------------------- per tau2

    def _weights(self, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``S_s = V_s + t R_s`` and ``W_s = S_s^-1`` of every group."""
        S = [v + t * r for v, r in zip(self.V, self.R, strict=True)] if t != 0 else self.V
        W = []
        for s in S:
            if s.shape[1] == 1:
                W.append(1.0 / s)
            else:
                try:
                    W.append(np.linalg.inv(s))
                except np.linalg.LinAlgError as err:
                    raise ModelError("a study's covariance block is singular") from err
        return S, W

    def wls(self, t: float) -> tuple[LSFit, list[np.ndarray], list[np.ndarray]]:
        """The GLS fit at tau2 = t (as :func:`acu_meta.models._linalg.wls` with
        ``W = inv(V + t R)``), and the groups' ``S`` and ``W`` blocks."""
        S, W = self._weights(t)
        c = _balanced_scale(W)
        Ws = [w / c for w in W]
        y = self.y
        big = float(np.max(np.abs(y))) if len(y) else 0.0
        sy = math.ldexp(1.0, math.frexp(big)[1]) if big > 1.0 else 1.0
        ys = y / sy
        p = self.p
        A_s = np.zeros((p, p))
        b = np.zeros(p)
        for g, w, xg in zip(self.blocks.groups, Ws, self.Xg, strict=True):
            wx = w @ xg  # (k, m, p)
            A_s += np.einsum("kmi,kmj->ij", xg, wx)
            b += np.einsum("kmi,km->i", wx, ys[g])
        try:
            Ainv_s = np.linalg.inv(A_s)
            beta = np.linalg.solve(A_s, b)
        except np.linalg.LinAlgError as err:
            raise ModelError("model matrix is not of full rank") from err
        r = ys - self.X @ beta
        q = 0.0
        for g, w in zip(self.blocks.groups, Ws, strict=True):
            rg = r[g]
            q += float(np.einsum("km,kmn,kn->", rg, w, rg))
        rss = q * c * sy * sy  # Python floats: inf, not a warning, above 1.8e308
        return LSFit(beta * sy, A_s, Ainv_s, r * sy, rss, c), S, W

    def score(self, t: float) -> float:
        """REML score ``y'P R P y - tr(P R)`` at tau2 = t."""
        f, _, W = self.wls(t)
        r = f.resid
        quad = 0.0
        tr_wr = 0.0
        M = np.zeros((self.p, self.p))
        for g, w, rr, xg in zip(self.blocks.groups, W, self.R, self.Xg, strict=True):
            u = np.einsum("kmn,kn->km", w, r[g])  # (W r)_s = (P y)_s
            quad += float(np.einsum("km,kmn,kn->", u, rr, u))
            wr = w @ rr  # (k, m, m)
            tr_wr += float(np.einsum("kmm->", wr))
            wx = w @ xg
            M += np.einsum("kmi,kmn,knj->ij", wx, rr, wx)
        return float(quad - (tr_wr - np.sum(f.Ainv * M)))

    def loglik(self, t: float) -> float:
        """Restricted log-likelihood at tau2 = t (up to a constant), as the dense
        ``-(log det S + log det A + rss) / 2``."""
        f, S, _ = self.wls(t)
        logdet_s = 0.0
        for s in S:
            if s.shape[1] == 1:
                logdet_s += float(np.sum(np.log(s[:, 0, 0])))
            else:
                logdet_s += float(np.sum(np.linalg.slogdet(s)[1]))
        logdet_a = np.linalg.slogdet(f.A_s)[1] + self.p * math.log(f.scale)
        return float(-0.5 * (logdet_s + logdet_a + f.rss))

    def trace_p0r(self) -> tuple[LSFit, float]:
        """The common-effect fit and ``tr(P0 R)`` (P0 the residual-maker at tau2 = 0)."""
        f, _, W = self.wls(0.0)
        tr_wr = 0.0
        M = np.zeros((self.p, self.p))
        for w, rr, xg in zip(W, self.R, self.Xg, strict=True):
            tr_wr += float(np.einsum("kmm->", w @ rr))
            wx = w @ xg
            M += np.einsum("kmi,kmn,knj->ij", wx, rr, wx)
        return f, float(tr_wr - np.sum(f.Ainv * M))


def _balanced_scale(W: list[np.ndarray]) -> float:
    """:func:`acu_meta.models._linalg._balanced_scale` over the entries of the blocks (the
    entries of W outside them are 0 and do not count)."""
    hi, lo = -math.inf, math.inf
    for w in W:
        a = np.abs(w[np.isfinite(w)])
        a = a[a > 0]
        if a.size:
            hi, lo = max(hi, float(a.max())), min(lo, float(a.min()))
    if hi == -math.inf:
        return 1.0
    return math.ldexp(1.0, round((math.log2(hi) + math.log2(lo)) / 2))
