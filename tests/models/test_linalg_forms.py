"""The O(k p^2) forms of the residual-maker P (``acu_meta.models._linalg``) against exact
rational arithmetic and the dense P, the scaled weights and sums of squares that neither over-
nor underflow (issue #17 item 4), and the vectorized screening grid (issue #16 item 2).

Second route: P = W - W X (X'WX)^-1 X'W built with ``fractions.Fraction`` from the same doubles
(exact, so only the package's rounding is measured: ``SECOND_ROUTE``), and the dense
``_linalg.pmat`` (``SECOND_ROUTE`` on well-conditioned data).
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from tolerances import SECOND_ROUTE

from acu_meta.errors import ModelError
from acu_meta.models import _linalg, _roots, _tau2, fit


def _exact_p(w, X):
    """P as a k x k list of Fractions (Gauss-Jordan inverse of X'WX)."""
    k, p = X.shape
    w = [Fraction(float(x)) for x in w]
    Xf = [[Fraction(float(a)) for a in row] for row in X]
    A = [[sum(w[i] * Xf[i][a] * Xf[i][b] for i in range(k)) for b in range(p)] for a in range(p)]
    M = [row[:] + [Fraction(int(i == j)) for j in range(p)] for i, row in enumerate(A)]
    for c in range(p):
        piv = next(r for r in range(c, p) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        M[c] = [x / M[c][c] for x in M[c]]
        for r in range(p):
            if r != c:
                f = M[r][c]
                M[r] = [a - f * b for a, b in zip(M[r], M[c], strict=True)]
    Ai = [row[p:] for row in M]
    H = [[sum(Xf[i][a] * Ai[a][b] * Xf[j][b] for a in range(p) for b in range(p))
          for j in range(k)] for i in range(k)]
    return [[(w[i] if i == j else 0) - w[i] * H[i][j] * w[j] for j in range(k)]
            for i in range(k)], [w[i] * H[i][i] for i in range(k)]


def _exact(w, X, y):
    P, lev = _exact_p(w, X)
    k = len(w)
    yf = [Fraction(float(x)) for x in y]
    Py = [sum(P[i][j] * yf[j] for j in range(k)) for i in range(k)]
    return {"trP": float(sum(P[i][i] for i in range(k))),
            "trPP": float(sum(P[i][j] * P[j][i] for i in range(k) for j in range(k))),
            "yPy": float(sum(a * b for a, b in zip(yf, Py, strict=True))),
            "yPPy": float(sum(a * a for a in Py)),
            "1-h": [float(1 - h) for h in lev]}


def _trpp(F, X) -> float:
    t, scale = _linalg.trace_pp(F, X)
    return float(t[0]) * float(scale[0]) ** 2


def _ours(w, X, y):
    F = _linalg.weighted_fits(y, X, w)
    c = float(F.scale[0])
    wr = F.ws[0] * F.resid[0] * np.sqrt(c)  # as _tau2's score
    return {"trP": float(_linalg.trace_p(F, X)[0]) * c,
            "trPP": _trpp(F, X),
            "yPy": float(F.rss[0]), "yPPy": float(wr @ wr) * c,
            "1-h": list(_linalg.one_minus_leverage(F, X)[0])}


def _data(seed, k, p, spread):
    rng = np.random.default_rng(seed)
    X = np.ones((k, 1)) if p == 1 else np.column_stack([np.ones(k), rng.normal(size=(k, p - 1))])
    w = 10.0 ** rng.uniform(-spread, spread, k)
    return w, X, rng.normal(size=k)


def _assert_forms(w, X, y, rel):
    got, want = _ours(w, X, y), _exact(w, X, y)
    for key in ("trP", "trPP", "yPy", "yPPy"):
        assert got[key] == pytest.approx(want[key], rel=rel), key
    np.testing.assert_allclose(got["1-h"], want["1-h"], rtol=rel, atol=0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 7])
def test_intercept_only_forms_are_exact_even_when_one_weight_dominates(seed, k):
    # weights over 24 decades: the dominant study's 1 - h and tr(P) are sums of the others,
    # never 1 - (something close to 1)
    w, X, y = _data(seed, k, 1, 12)
    _assert_forms(w, X, y, SECOND_ROUTE)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k,p", [(3, 2), (4, 2), (6, 3), (9, 2)])
def test_meta_regression_forms_equal_exact_arithmetic(seed, k, p):
    # moderate weights (ratio up to 100): the condition number of X'WX stays small
    w, X, y = _data(seed, k, p, 1)
    _assert_forms(w, X, y, SECOND_ROUTE)


def test_a_rank_one_residual_maker_keeps_its_digits():
    # k = 3, p = 2 and one weight 5000 times the others: P has rank 1 and tiny entries; the
    # dense P loses about 1e-12 of tr(PP), a subtraction-based O(k) form would lose 1e-7
    X = np.column_stack([np.ones(3), [-0.6204749, 0.48984205, 0.35688701]])
    w = 1 / np.array([2.44530747e-03, 5.91949786e00, 1.34956989e01])
    _assert_forms(w, X, np.array([0.3, -0.1, 0.2]), SECOND_ROUTE)


def test_o_k_forms_equal_the_dense_residual_maker():
    w, X, y = _data(11, 12, 3, 0.5)
    F = _linalg.weighted_fits(y, X, w)
    c = float(F.scale[0])
    P = _linalg.pmat(w, X, _linalg.wls(y, X, w).Ainv)
    assert float(_linalg.trace_p(F, X)[0]) * c == pytest.approx(np.trace(P), rel=SECOND_ROUTE)
    assert _trpp(F, X) == pytest.approx(np.trace(P @ P), rel=SECOND_ROUTE)
    assert float(F.rss[0]) == pytest.approx(float(y @ P @ y), rel=SECOND_ROUTE)


def test_weighted_rss_for_a_variance_of_1e_300_is_the_exact_one():
    # issue #17: Q overflowed to 1.9e266 (exact 0.5): 1e300 times the rounding of a residual
    for v, y in (([1e-300, 0.1, 0.1], [0.1, 0.2, 0.3]),
                 ([1e-300, 1e-300, 0.1, 0.2], [0.1, 0.1, 0.3, -0.2])):
        v, y = np.array(v), np.array(y)
        w = [1 / Fraction(float(x)) for x in v]
        yf = [Fraction(float(x)) for x in y]
        mean = sum(a * b for a, b in zip(w, yf, strict=True)) / sum(w)
        exact = float(sum(a * (b - mean) ** 2 for a, b in zip(w, yf, strict=True)))
        f = fit(y, v, method="FE")
        assert f.QE == pytest.approx(exact, rel=SECOND_ROUTE)
        assert 0 <= f.I2 < 100 and 0 < f.QE_p <= 1
        assert f.beta[0] == pytest.approx(float(mean), rel=SECOND_ROUTE)


def test_traces_when_one_variance_is_1e300_times_smaller():
    # tr(P P) / max(w)^2 is about 1e-597, below the smallest double: trace_pp keeps it in
    # units of the largest diagonal entry of P (the REML SE of tau2 once divided by 0 here)
    for X in (np.ones((3, 1)), np.column_stack([np.ones(3), [0.0, 1.0, 3.0]])):
        w = 1 / np.array([1e-300, 0.1, 0.1])
        _assert_forms(w, X, np.array([0.1, 0.2, 0.3]), SECOND_ROUTE)
    want = _exact(w, np.ones((3, 1)), np.zeros(3))["trPP"]
    assert fit([0.1, 0.2, 0.3], [1e-300, 0.1, 0.1], method="REML").se_tau2 == pytest.approx(
        (2 / want) ** 0.5, rel=SECOND_ROUTE)


def test_no_sum_overflows_at_the_smallest_variances():
    # 1/v near the largest double: every sum is formed with w / max(w)
    y, v = np.array([0.1, 0.3, 0.2]), np.array([6e-309, 6e-309, 1e-300])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for method in ("FE", "DL", "REML", "ML", "PM", "HS"):
            f = fit(y, v, method=method)
            assert np.isfinite([f.beta[0], f.vb[0, 0], f.QE, f.vt, f.I2]).all(), method


@pytest.mark.parametrize("k", [3, 10, 200, 5000])
def test_the_grid_is_the_same_arithmetic_as_single_evaluations(k):
    # intercept only: bit for bit; the chunked (n, k) evaluation included (k = 5000)
    rng = np.random.default_rng(k)
    y, v = rng.normal(size=k), rng.uniform(0.01, 1, k)
    X = np.ones((k, 1))
    ts = np.concatenate([[0.0], np.geomspace(1e-10, 1, _roots.GRID)])
    for reml in (True, False):
        grid = _tau2.score_grid(ts, y, v, X, reml)
        single = np.array([_tau2.score_grid([t], y, v, X, reml)[0] for t in ts])
        assert np.array_equal(grid, single)
        # the scaled score has the sign (and roots) of the score itself
        assert np.array_equal(np.sign(single),
                              np.sign([_tau2.score(t, y, v, X, reml) for t in ts]))


def _grid_search(y, v, X, reml, vectorized):
    def sc(t):
        return float(_tau2.score_grid([t], y, v, X, reml)[0])

    def ll(t):
        return _tau2.loglik(t, y, v, X, reml)

    many = (lambda ts: _tau2.score_grid(ts, y, v, X, reml)) if vectorized else None
    return _roots.score_maximum(sc, ll, _roots.scale_of(y, v), score_many=many)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_the_vectorized_grid_gives_the_same_estimate_as_a_pointwise_grid(p):
    rng = np.random.default_rng(40 + p)
    for _ in range(5):
        k = int(rng.integers(p + 2, 30))
        X = np.column_stack([np.ones(k), rng.normal(size=(k, p - 1))])
        y, v = rng.normal(size=k), rng.uniform(0.01, 1, k)
        for reml in (True, False):
            assert _grid_search(y, v, X, reml, True) == _grid_search(y, v, X, reml, False)


def test_sum_squares_neither_overflows_nor_underflows():
    # the exact sums in rational arithmetic; inf only where the sum is above 1.8e308
    cases = [([1.3e154, -1.3e154, 0.0], None, None),  # 3.38e308: inf
             ([1.2e154, -0.5e154], None, None),  # 1.69e308: finite, squares of 1.4e308
             ([3e-200, 4e-200], None, None),  # 2.5e-399 would underflow; as 2.5e-399 * s^2
             ([3e-200, 4e-200], None, [1e200]),
             ([2.0, 1e154], [1.0, 1e-300], [1e-10])]
    for a, w, s in cases:
        a = np.array(a)
        w8 = np.ones(len(a)) if w is None else np.array(w)
        s8 = 1.0 if s is None else s[0]
        exact = sum(Fraction(float(wi)) * Fraction(float(s8)) ** 2 * Fraction(float(x)) ** 2
                    for wi, x in zip(w8, a, strict=True))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = float(_linalg.sum_squares(a, None if w is None else w8,
                                            None if s is None else np.array(s))[0])
        want = float(exact) if exact < Fraction(np.finfo(float).max) else math.inf
        assert got == pytest.approx(want, rel=SECOND_ROUTE), (a, got, want)


def test_effects_of_1e154_give_a_fit_or_a_clean_refusal_without_warnings():
    y, v = [1.3e154, -1.3e154, 0.0], [2.3e-308, 2.3e-308, 1e154]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fit(y, v, method="FE")
        assert f.QE == math.inf and f.I2 == 100.0 and math.isfinite(f.beta[0])
        for method in ("DL", "REML", "PM"):
            with pytest.raises(ModelError, match="above the largest double"):
                fit(y, v, method=method)
