"""The shared root finder (_roots) and least-squares helper (_linalg) of the models layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acu_meta.errors import ModelError
from acu_meta.models import _linalg, _roots, fit
from acu_meta.models._tau2 import loglik, score


def test_decreasing_root_of_a_known_function():
    t, n = _roots.decreasing_root(lambda t: 2.0 - t * t, scale=0.1)
    assert t == pytest.approx(math.sqrt(2), rel=1e-14)
    assert n > 2
    # positive nowhere on [0, inf): 0 after one evaluation
    assert _roots.decreasing_root(lambda t: -1.0 - t, scale=1.0) == (0.0, 1)


def test_upper_end_is_the_first_doubling_with_the_large_tau2_sign():
    assert _roots.upper_end(lambda t: 5.0 - t, scale=1.0) == 8.0
    assert _roots.upper_end(lambda t: 4.0 - t, scale=1.0) == 4.0  # 0 counts as reached
    with pytest.raises(ModelError, match="could not bracket"):
        _roots.upper_end(lambda t: 1.0, scale=1.0)


def test_score_maximum_takes_the_global_of_two_local_maxima():
    # log-likelihood with local maxima at t = 0.5 (height 1) and t = 1.5 (height 2), a local
    # minimum between, and a negative score beyond 1.5 (so the search range [0, 2] holds
    # both): the score is its derivative
    def ll(t):
        return math.exp(-((t - 0.5) ** 2) / 0.02) + 2 * math.exp(-((t - 1.5) ** 2) / 0.02)

    def sc(t):
        return (-(t - 0.5) / 0.01 * math.exp(-((t - 0.5) ** 2) / 0.02)
                - 2 * (t - 1.5) / 0.01 * math.exp(-((t - 1.5) ** 2) / 0.02))

    t, n = _roots.score_maximum(sc, ll, scale=1.0)
    assert t == pytest.approx(1.5, rel=1e-10)
    assert n >= _roots.GRID + 1
    # the boundary wins when the score is negative at 0 and 0 is the highest point
    t0, _ = _roots.score_maximum(lambda t: -1.0 - t, lambda t: -t, scale=1.0)
    assert t0 == 0.0


def test_reml_estimate_is_a_score_root_and_beats_every_grid_point():
    y = np.array([-2.0, -2.01, -1.99, 2.0, 2.02, 1.98, 0.0])
    v = np.array([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 5.0])
    X = np.ones((7, 1))
    f = fit(y, v, method="REML")
    assert abs(score(f.tau2, y, v, X, True)) < 1e-8
    best = loglik(f.tau2, y, v, X, True)
    assert all(best >= loglik(t, y, v, X, True) - 1e-12 for t in np.geomspace(1e-6, 1e3, 300))
    assert f.iterations > _roots.GRID  # evaluations of the score: grid + bracket + Brent


def test_wls_vector_and_diagonal_matrix_weights_agree_and_match_the_normal_equations():
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(9), rng.normal(size=9), rng.normal(size=9)])
    y = rng.normal(size=9)
    w = rng.uniform(0.5, 3.0, size=9)
    a = _linalg.wls(y, X, w)
    b = _linalg.wls(y, X, np.diag(w))
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-12)
    assert a.rss == pytest.approx(b.rss, rel=1e-12)
    # second route: the normal equations by an explicit inverse
    A = X.T @ np.diag(w) @ X
    np.testing.assert_allclose(a.beta, np.linalg.inv(A) @ X.T @ (w * y), rtol=1e-12)
    np.testing.assert_allclose(a.Ainv @ a.A, np.eye(3), atol=1e-12)
    # the residual-maker annihilates X and gives the weighted RSS
    P = _linalg.pmat(w, X, a.Ainv)
    np.testing.assert_allclose(P @ X, 0, atol=1e-12)
    assert float(y @ P @ y) == pytest.approx(a.rss, rel=1e-12)
    np.testing.assert_allclose(_linalg.pmat(np.diag(w), X, b.Ainv), P, atol=1e-12)


def test_wls_rank_deficient_design_raises_model_error():
    X = np.column_stack([np.ones(4), np.ones(4)])
    with pytest.raises(ModelError, match="not of full rank"):
        _linalg.wls(np.arange(4.0), X, np.ones(4))
