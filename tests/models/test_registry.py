"""The tau2 estimator registry: one registration per method, read by fit, fit_many / pool_many
and the network model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tolerances import SAME_ARITHMETIC

from acu_meta.errors import ModelError
from acu_meta.models import TAU2_METHODS, _tau2, _tau2_batch, estimate_tau2, fit, fit_many, registry
from acu_meta.models.network import NetworkError, contrasts_from_table, fit_network
from acu_meta.models.registry import Tau2Estimator
from acu_meta.results.batch import pool_many

Y = np.array([0.12, 0.55, -0.20, 0.90, 0.31, 0.05])
V = np.array([0.020, 0.050, 0.030, 0.080, 0.010, 0.040])


def _half_dl(y, v, X):
    """A made-up estimator: half the DerSimonian-Laird estimate."""
    t, n = _tau2.tau2_dl(y, v, X)
    return t / 2, n


HALF_DL = Tau2Estimator("HALFDL", "half of DL (test only)", "closed", _half_dl)


def test_builtin_methods_and_their_parts():
    assert TAU2_METHODS == registry.BUILTIN == ("FE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML",
                                                "REML")
    assert registry.names(batch=True) == TAU2_METHODS
    assert registry.names(network=True) == ("FE", "DL", "REML")
    kinds = {m: registry.get(m).kind for m in TAU2_METHODS}
    assert [m for m, k in kinds.items() if k == "fixed"] == ["FE"]
    assert {m for m, k in kinds.items() if k == "iterative"} == {"PM", "EB", "ML", "REML"}
    assert [m for m in TAU2_METHODS if registry.get(m).se is not None] == list(TAU2_METHODS[1:])
    assert all(registry.get(m).description for m in TAU2_METHODS)


def test_lookup_is_case_insensitive_and_unknown_names_raise():
    assert registry.get("reml") is registry.get("REML")
    with pytest.raises(ModelError, match="unknown method 'XX'; use one of FE, DL"):
        registry.get("xx")
    with pytest.raises(ModelError, match="unknown method"):
        fit(Y, V, method="xx")
    with pytest.raises(ModelError, match="unknown method"):
        pool_many(Y, V, method="xx")


def test_registration_rules():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Tau2Estimator("DL", "again", "closed", _tau2.tau2_dl))
    with pytest.raises(ValueError, match="kind"):
        Tau2Estimator("NEW", "bad kind", "approximate", _tau2.tau2_dl)
    with pytest.raises(ValueError, match="upper case"):
        Tau2Estimator("new", "lower-case name", "closed", _tau2.tau2_dl)


def test_a_registered_estimator_is_used_by_fit_and_gone_afterwards():
    dl = fit(Y, V, method="DL")
    with registry.registered(HALF_DL):
        assert "HALFDL" in registry.names() and "HALFDL" not in registry.names(batch=True)
        f = fit(Y, V, method="halfdl")
        assert f.method == "HALFDL"
        assert f.tau2 == pytest.approx(dl.tau2 / 2, rel=1e-15)
        # every other number is the model at that tau2
        fixed = fit(Y, V, method="DL", tau2=dl.tau2 / 2)
        assert f.beta[0] == pytest.approx(fixed.beta[0], rel=1e-15)
        assert f.I2 == pytest.approx(fixed.I2, rel=1e-15)  # tau2-based: kind is not "fixed"
        assert math.isnan(f.se_tau2)  # no SE function registered
        # meta-regression reads the registry through fit
        X = np.column_stack([np.ones(len(Y)), np.arange(len(Y))])
        assert estimate_tau2("HALFDL", Y, V, X)[0] == pytest.approx(
            _tau2.tau2_dl(Y, V, X)[0] / 2, rel=1e-15)
    assert "HALFDL" not in registry.names()
    with pytest.raises(ModelError):
        fit(Y, V, method="HALFDL")


def test_pool_and_the_method_list_read_the_registry_when_called():
    from acu_meta import results
    from acu_meta.results import pool

    assert "HALFDL" not in results.METHODS
    with registry.registered(HALF_DL):
        assert "HALFDL" in results.METHODS and "HALFDL" in results.methods()
        res = pool(yi=Y, vi=V, method="HALFDL")
        assert res.tau2 == pytest.approx(fit(Y, V, method="DL").tau2 / 2, rel=1e-15)
    assert "HALFDL" not in results.METHODS
    with pytest.raises(ValueError, match="unknown method 'HALFDL'"):
        pool(yi=Y, vi=V, method="HALFDL")


def test_a_method_without_a_batch_function_makes_pool_many_raise():
    with registry.registered(HALF_DL):
        with pytest.raises(ModelError, match="HALFDL has no vectorized"):
            pool_many(np.tile(Y, (3, 1)), np.tile(V, (3, 1)), method="HALFDL")
        with pytest.raises(ModelError, match="HALFDL"):
            fit_many(Y, V, method="HALFDL")


def test_a_registered_batch_function_is_used_by_pool_many():
    # before the registry, a listed method that was neither closed-form nor PM / EB fell
    # through to ML: a DL copy under a new name must give DL's numbers, not ML's
    Yb = np.tile(Y, (4, 1)) + np.linspace(0, 0.3, 4)[:, None] * np.arange(len(Y))
    Vb = np.tile(V, (4, 1))
    copy = Tau2Estimator("DLCOPY", "DL under another name (test only)", "closed",
                         _tau2.tau2_dl, _tau2_batch.batch_dl)
    with registry.registered(copy):
        got = pool_many(Yb, Vb, method="DLCOPY")
    want = pool_many(Yb, Vb, method="DL")
    ml = pool_many(Yb, Vb, method="ML")
    # DL runs in the compiled kernel, the copy in the numpy path (its tr(P0) formed without
    # cancellation): the same numbers to a few units in the last place
    np.testing.assert_allclose(got.tau2, want.tau2, rtol=SAME_ARITHMETIC)
    np.testing.assert_allclose(got.estimate, want.estimate, rtol=SAME_ARITHMETIC)
    assert got.method == "DLCOPY"
    assert not np.allclose(got.tau2, ml.tau2)


def test_the_batch_safety_net_refits_with_the_registered_single_fit_estimator():
    flag_all = Tau2Estimator(
        "FLAGGED", "DL whose batch function flags every row (test only)", "closed",
        _half_dl, lambda y, v, m, k: (np.zeros(len(k)), np.ones(len(k), dtype=bool)))
    with registry.registered(flag_all):
        res = pool_many(np.tile(Y, (2, 1)), np.tile(V, (2, 1)), method="FLAGGED")
    assert res.refitted.all()
    np.testing.assert_allclose(res.tau2, fit(Y, V, method="DL").tau2 / 2, rtol=1e-15)


def test_the_fixed_kind_selects_the_q_based_i2():
    zero = Tau2Estimator("ZERO", "tau2 = 0 (test only)", "fixed", _tau2.tau2_fe,
                         _tau2_batch.batch_fe)
    fe = fit(Y, V, method="FE")
    with registry.registered(zero):
        f = fit(Y, V, method="ZERO")
        b = pool_many(Y, V, method="ZERO")
    assert f.I2 == fe.I2 == pytest.approx(100 * (fe.QE - 5) / fe.QE, rel=1e-14)
    assert b.I2[0] == pytest.approx(fe.I2, rel=1e-12)


def test_the_network_model_takes_only_methods_with_a_network_estimator():
    c, order = contrasts_from_table(["s1", "s2", "s3"], ["B", "B", "C"], ["A", "A", "A"],
                                    [0.3, 0.5, 0.1], [0.04, 0.05, 0.03])
    for m in ("PM", "HALFDL"):
        with registry.registered(HALF_DL):
            with pytest.raises(NetworkError, match="must be one of FE, DL, REML"):
                fit_network(c, order, method=m)
    assert issubclass(NetworkError, ModelError)
    # a network estimator registered under a new name is used
    twice = Tau2Estimator("NETTEST", "0.01 in the network model (test only)", "closed",
                          _tau2.tau2_dl, network=lambda y, V, R, X: 0.01)
    with registry.registered(twice):
        f = fit_network(c, order, method="NETTEST")
    assert f.tau2 == 0.01 and f.method == "NETTEST"
    assert fit_network(c, order, method="FE", tau2=0.01).beta == pytest.approx(f.beta)
