"""``pool_many`` on the extreme sets of the fuzz campaign equals ``pool``, with no warning, and
its ``converged`` flag means a finite root; the vectorized safeguarded Newton (``_rtsafe``)
never evaluates outside its bracket (issue #15, item 7).

Oracles: the single-fit engine (``pool``, which scales every weight by its maximum and centres
every residual), compared at ``SAME_ENGINE``; closed-form roots for ``_rtsafe``
(``SECOND_ROUTE``). PM and EB share an estimating equation, so they agree to ``SAME_ENGINE``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _metafor import close
from tolerances import SAME_ENGINE, SECOND_ROUTE

from acu_meta.models import batch as batch_engine
from acu_meta.models._tau2_batch import _rtsafe
from acu_meta.results import pool
from acu_meta.results.batch import pool_many

EXTREME_SETS = {
    "one-tiny-variance": ([0.1, 0.5, -0.2], [1e-300, 0.1, 0.1]),
    "all-equal-effects": ([0.3, 0.3, 0.3, 0.3], [0.1, 0.2, 0.05, 0.1]),
    "one-huge-weight": ([0.1, 0.5, -0.2, 0.4], [1e-12, 0.1, 0.1, 0.2]),
    "effects-1e150": ([1e150, -1e150, 0.0], [0.1, 0.1, 0.1]),
    "all-variances-1e-300": ([1e-200, 2e-200, -1e-200], [1e-300, 1e-300, 2e-300]),
    "variances-1e120": ([1.0, -2.0, 0.5], [1e120, 3e120, 2e120]),
}
METHODS = ("FE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")


@pytest.mark.parametrize("name", sorted(EXTREME_SETS))
@pytest.mark.parametrize("method", METHODS)
def test_pool_many_equals_pool_on_extreme_sets_without_warnings(name, method):
    y, v = EXTREME_SETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all, let alone a storm
        one = pool(yi=y, vi=v, method=method)
        many = pool_many(np.array([y, y]), np.array([v, v]), method=method)
    assert many.converged.all()
    for got, want in ((many.tau2[0], one.tau2), (many.estimate[0], one.estimate),
                      (many.se[0], one.se), (many.I2[0], one.I2), (many.Q[0], one.Q)):
        assert close(got, want, SAME_ENGINE), (name, method, got, want)
    assert many.tau2[0] == many.tau2[1]


def test_eb_equals_pm_on_the_tiny_variance_set():
    y, v = EXTREME_SETS["one-tiny-variance"]
    pm = pool_many(np.array([y]), np.array([v]), method="PM")
    eb = pool_many(np.array([y]), np.array([v]), method="EB")
    assert close(eb.tau2[0], pm.tau2[0], SAME_ENGINE)
    assert close(eb.tau2[0], pool(yi=y, vi=v, method="PM").tau2, SAME_ENGINE)


def test_extreme_columns_go_to_the_single_engine():
    y = np.array([[0.1, 0.5, -0.2], [0.1, 0.5, -0.2], [1e150, -1e150, 0.0]]).T
    v = np.array([[0.1, 0.2, 0.1], [1e-300, 0.1, 0.1], [0.1, 0.1, 0.1]]).T
    mf = np.ones_like(y)
    assert batch_engine.extreme_columns(y, v, mf).tolist() == [False, True, True]
    res = pool_many(y.T, v.T, method="REML")
    assert res.refitted.tolist() == [False, True, True]


def test_converged_is_false_where_the_estimate_is_not_a_finite_root(monkeypatch):
    import dataclasses

    rng = np.random.default_rng(5)
    Y, V = rng.normal(size=(6, 5)), rng.uniform(0.05, 0.2, size=(6, 5))
    est = batch_engine.registry.get("PM")
    good = pool_many(Y, V, method="PM")

    def broken(y, v, m, k):  # a batch function returning NaN, inf and a negative tau2
        t, flagged = est.batch(y, v, m, k)
        t = t.copy()
        t[1], t[3], t[4] = np.nan, np.inf, -1.0
        return t, flagged

    real_get = batch_engine.registry.get
    monkeypatch.setattr(batch_engine.registry, "get", lambda name: dataclasses.replace(
        real_get(name), batch=broken) if str(name).upper() == "PM" else real_get(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool_many(Y, V, method="PM")
    assert good.converged.all()
    assert res.converged.tolist() == [True, False, True, False, False, True]
    np.testing.assert_array_equal(good.tau2[[0, 2, 5]], res.tau2[[0, 2, 5]])


def test_rtsafe_never_leaves_its_bracket_and_shrinks_it_at_the_start():
    # f(x) = atan(r - x): decreasing, flat far from r, so a Newton step from x0 overshoots
    r = np.array([0.3, 2.0, 7.5, 0.001])
    lo, hi = np.zeros(4), np.array([10.0, 10.0, 10.0, 10.0])
    x0 = np.array([9.0, 0.01, 0.2, 5.0])  # far from the roots, on either side
    calls = []

    def fdf(x, idx):
        rr = r if idx is None else r[idx]
        calls.append((np.array(x, copy=True), None if idx is None else np.array(idx)))
        return np.arctan(rr - x), -1.0 / (1.0 + (rr - x) ** 2)

    roots, ok = _rtsafe(fdf, lo, hi, x0, np.ones(4))
    assert ok.all()
    np.testing.assert_allclose(roots, r, rtol=SECOND_ROUTE, atol=SECOND_ROUTE)
    # every evaluation inside [lo, hi]; after the start point, inside the half-bracket it left
    first = True
    for x, idx in calls:
        rows = np.arange(4) if idx is None else idx
        assert np.all(x >= lo[rows]) and np.all(x <= hi[rows])
        if not first:
            for xi, i in zip(x, rows, strict=True):
                if np.arctan(r[i] - x0[i]) > 0:  # root above the start point
                    assert xi >= x0[i]
                else:
                    assert xi <= x0[i]
        first = False


def test_rtsafe_bisects_through_non_finite_values():
    def fdf(x, idx):
        x = np.asarray(x, float)
        f = np.where(np.abs(x - 4.0) < 1.0, np.nan, 1.5 - x)  # NaN on (3, 5): no side known
        return f, -np.ones_like(x)

    # the start point is NaN, the bracket's midpoint is not: bisection finds the root
    roots, ok = _rtsafe(fdf, np.zeros(1), np.array([10.0]), np.array([4.0]), np.ones(1))
    assert ok.all() and roots[0] == pytest.approx(1.5, rel=SECOND_ROUTE)
    # the midpoint is NaN too: no progress is possible, and the bracket is not converged
    roots, ok = _rtsafe(fdf, np.zeros(1), np.array([8.0]), np.array([4.0]), np.ones(1))
    assert not ok.any()
