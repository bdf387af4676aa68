"""Properties every pooling method must have (hypothesis), edge cases of the tau2 estimators,
and input checks of the fitting engine.

Tolerances (``tests/tolerances.py``): ``REFIT`` and ``REFIT_SAME_ORDER`` for two fits of
equivalent data, ``EQUIVARIANT`` for location-scale transformed data, ``ITERATIVE`` against
metafor's tight-control fit and for the score at the REML root, ``LOGLIK`` across a grid.
The results API (summary, frames, profiles) is tested in ``tests/results/test_meta_api.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import fixture_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tolerances import EQUIVARIANT, ITERATIVE, LOGLIK, REFIT, REFIT_SAME_ORDER, ZERO

from acu_meta import pool
from acu_meta.models import estimate_tau2, fit

METHODS = ["FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"]
REF = fixture_json("metafor_reference.json")

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
variances = st.floats(0.005, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return y, v


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.booleans(), st.randoms())
def test_permutation_invariance(data, method, hksj, rnd):
    y, v = data
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a = pool(yi=y, vi=v, method=method, hksj=hksj)
    b = pool(yi=y[perm], vi=v[perm], method=method, hksj=hksj)
    assert b.estimate == pytest.approx(a.estimate, **REFIT["estimate"])
    assert b.tau2 == pytest.approx(a.tau2, **REFIT["tau2"])
    assert b.se == pytest.approx(a.se, **REFIT["se"])


@SETTINGS
@given(studies(), st.sampled_from(METHODS), finite, st.floats(0.1, 10))
def test_location_scale_equivariance(data, method, shift, scale):
    # MD-type data: y -> a + b y, v -> b^2 v gives estimate -> a + b est, tau2 -> b^2 tau2
    y, v = data
    a = pool(yi=y, vi=v, method=method)
    b = pool(yi=shift + scale * y, vi=scale**2 * v, method=method)
    assert b.estimate == pytest.approx(shift + scale * a.estimate, **EQUIVARIANT["estimate"])
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, **EQUIVARIANT["tau2"])
    assert b.I2 == pytest.approx(a.I2, **EQUIVARIANT["I2"])


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.booleans())
def test_tau2_nonnegative_and_ci_contains_estimate(data, method, hksj):
    y, v = data
    r = pool(yi=y, vi=v, method=method, hksj=hksj)
    assert r.tau2 >= 0
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + ZERO and r.pi_high >= r.ci_high - ZERO
    if method != "FE":
        assert r.tau2_ci[0] <= r.tau2_ci[1]
        assert 0 <= r.I2 <= 100


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30), st.integers(0, 30),
                          st.integers(1, 30)), min_size=2, max_size=8),
       st.sampled_from(["RD", "OR", "RR"]))
def test_arm_swap_flips_sign(tables, measure):
    ai = np.array([min(a, n) for a, n, _, _ in tables], float)
    n1 = np.array([n for _, n, _, _ in tables], float)
    ci = np.array([min(c, m) for _, _, c, m in tables], float)
    n2 = np.array([m for _, _, _, m in tables], float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = pool(measure=measure, ai=ai, n1i=n1, ci=ci, n2i=n2, method="DL")
        except ValueError:
            return  # nothing estimable (e.g. every study all-events): nothing to compare
        b = pool(measure=measure, ai=ci, n1i=n2, ci=ai, n2i=n1, method="DL")
    assert b.estimate == pytest.approx(-a.estimate, **REFIT_SAME_ORDER)
    assert b.tau2 == pytest.approx(a.tau2, **REFIT_SAME_ORDER)


def test_k1_is_handled():
    r = pool(yi=[0.3], vi=[0.04])
    assert r.k == 1 and r.tau2 == 0 and r.estimate == 0.3
    assert r.se == pytest.approx(0.2)
    assert any("k = 1" in n for n in r.notes)


def test_fisher_scoring_failure_case_converges():
    # rand10-50: metafor's default Fisher scoring does not converge; acu_meta brackets the
    # REML score and matches metafor's tight-control fit
    case = next(r for r in REF["rma"] if not r["default_converged"])
    d = REF["datasets"][case["dataset"]]
    r = pool(yi=d["yi"], vi=d["vi"], method="REML")
    assert r.tau2 == pytest.approx(case["tau2"], rel=ITERATIVE)


def test_reml_global_maximum_on_a_bimodal_likelihood():
    # two tight clusters far apart give a flat/bimodal REML surface; the estimate must be a
    # root of the score and at least as likely as every other root or the boundary
    from acu_meta.models._core import _loglik, _score

    y = np.array([-2.0, -2.01, -1.99, 2.0, 2.02, 1.98, 0.0])
    v = np.array([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 5.0])
    X = np.ones((7, 1))
    t, _ = estimate_tau2("REML", y, v, X)
    assert abs(_score(t, y, v, X, True)) < ITERATIVE
    for other in np.geomspace(1e-6, 100, 200):
        assert _loglik(t, y, v, X, True) >= _loglik(other, y, v, X, True) - LOGLIK


def test_fit_rejects_bad_input():
    from acu_meta.models import ModelError

    with pytest.raises(ModelError):
        fit([0.1, 0.2], [0.1, -0.1])
    with pytest.raises(ModelError):
        fit([0.1, np.inf], [0.1, 0.1])
    with pytest.raises(ValueError):
        pool(yi=[0.1, 0.2], vi=[0.1, 0.1], method="XX")
