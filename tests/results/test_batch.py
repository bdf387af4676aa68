"""The batch engine (pool_many) against the single-fit engine and metafor; GOSH.

Tolerances (``tests/tolerances.py``): ``SAME_ENGINE`` between the two engines of acu_meta,
which evaluate the same definitions and differ only by summation order and by where in the
root's tolerance (1e-15 * scale) the iterations stop; ``ITERATIVE`` against metafor 3.8.1, as
in ``tests/models/test_metafor_reference.py``; ``MC_SE`` for the random GOSH subsets. The GOSH
plot: ``tests/plots/test_batch_plots.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _helpers import fixture_json, gosh_example
from tolerances import ITERATIVE, MC_SE, SAME_ENGINE

from acu_meta.models import TAU2_METHODS, ModelError, fit
from acu_meta.results import pool
from acu_meta.results.batch import BatchResult, GoshResult, gosh, pool_many

REF = fixture_json("metafor_reference.json")
FIELDS = ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "tau2", "I2", "H2",
          "Q", "Q_p", "pi_low", "pi_high")


def close(a, b, tol):
    if isinstance(b, float) and math.isnan(b):
        return math.isnan(a)
    return abs(a - b) <= tol + tol * abs(b)


def random_sets(seed=20261127, B=200, kmax=12):
    """Ragged random meta-analyses: k = 1 and k = 2 rows, rows with tau2 = 0, NaN anywhere."""
    rng = np.random.default_rng(seed)
    Y = np.full((B, kmax), np.nan)
    V = np.full((B, kmax), np.nan)
    for i in range(B):
        k = (1, 2)[i] if i < 2 else (1 if i % 17 == 0 else 2 if i % 7 == 0 else
                                    int(rng.integers(3, kmax + 1)))
        v = rng.uniform(0.005, 0.25, k) * (10.0 ** rng.uniform(-1, 1, k) if i % 5 == 0 else 1)
        tau2 = (0.0, 0.01, 0.05, 0.3)[i % 4]
        y = 0.3 + rng.normal(0, np.sqrt(tau2), k) + rng.normal(0, np.sqrt(v))
        if i % 9 == 0:  # homogeneous: Q < k - 1, every estimator truncates tau2 at 0
            y = 0.3 + 0.05 * rng.normal(0, np.sqrt(v))
        cols = rng.choice(kmax, size=k, replace=False)  # studies scattered among the NaN
        Y[i, cols], V[i, cols] = y, v
    return Y, V


Y, V = random_sets()


@pytest.mark.parametrize("hksj", [False, True], ids=["z", "hksj"])
@pytest.mark.parametrize("method", TAU2_METHODS)
def test_pool_many_equals_pool(method, hksj):
    res = pool_many(Y, V, method=method, hksj=hksj)
    assert isinstance(res, BatchResult) and len(res) == len(Y)
    assert res.converged.all()
    assert not res.refitted.any()  # the safety net is not needed on these sets
    for i in range(len(Y)):
        keep = np.isfinite(Y[i])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = pool(yi=Y[i, keep], vi=V[i, keep], method=method, hksj=hksj)
        assert res.k[i] == one.k == keep.sum()
        for name in FIELDS:
            got, want = float(getattr(res, name)[i]), float(getattr(one, name))
            assert close(got, want, SAME_ENGINE), (
                f"row {i} (k = {one.k}) {name}: {got!r} != {want!r}")
    k1 = res.k == 1
    assert np.all(res.tau2[k1] == 0)
    assert np.array_equal(res.estimate[k1], np.nansum(Y[k1], axis=1))
    if method not in ("FE", "SJ"):  # SJ's estimate is positive whenever the y differ
        assert np.any(res.tau2[res.k > 1] == 0) and np.any(res.tau2 > 0)


def test_level_in_percent_and_fraction():
    a = pool_many(Y[:20], V[:20], level=0.9)
    b = pool_many(Y[:20], V[:20], level=90)
    np.testing.assert_array_equal(a.ci_low, b.ci_low)
    one = pool(yi=Y[5][np.isfinite(Y[5])], vi=V[5][np.isfinite(V[5])], level=90)
    assert close(a.ci_low[5], one.ci_low, SAME_ENGINE)


def test_rows_without_studies_and_input_checks():
    y = np.array([[np.nan, np.nan], [0.1, np.nan], [0.1, 0.4]])
    v = np.array([[np.nan, np.nan], [0.02, np.nan], [0.02, 0.03]])
    res = pool_many(y, v)
    assert list(res.converged) == [False, True, True]
    assert list(res.k) == [0, 1, 2]
    assert all(math.isnan(getattr(res, f)[0]) for f in FIELDS)
    assert res.estimate[1] == 0.1 and res.tau2[1] == 0 and math.isnan(res.I2[1])
    assert pool_many(y, v, method="FE").I2[1] == 0  # as pool(): FE with k = 1 gives I2 = 0
    assert len(pool_many([0.1, 0.2, 0.5], [0.01, 0.02, 0.03])) == 1  # a 1-D pair is one row
    with pytest.raises(ModelError):
        pool_many([[0.1, 0.2]], [[0.01, 0.0]])
    with pytest.raises(ModelError):
        pool_many([[0.1, np.inf]], [[0.01, 0.02]])
    with pytest.raises(ValueError):
        pool_many(y, v, method="XX")
    with pytest.raises(ValueError):
        res.estimate[1] = 0.0  # arrays are read-only


def test_chunking_does_not_change_results():
    a = pool_many(Y, V, method="REML")
    b = pool_many(Y, V, method="REML", chunk_rows=7)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_to_frame_and_row():
    res = pool_many(Y[:5], V[:5], method="DL", hksj=True)
    frame = res.to_frame()
    assert list(frame.columns[:3]) == ["k", "estimate", "se"] and len(frame) == 5
    assert res.row(2)["estimate"] == res.estimate[2]
    assert "B=5" in repr(res)


# ------------------------------------------------------------------ multimodal likelihoods

# Data sets whose restricted likelihood has two local maxima (found by a random search over
# Cauchy effects and variances spanning 4 orders of magnitude). In the last one the global
# maximum is the *second* local maximum: taking the first root of the score would be wrong.
MULTIMODAL = [
    ([5.44, -0.14, -0.74, -0.12, -0.01], [1.1594, 0.0025, 0.205, 0.0054, 0.0168]),
    ([0.9, -0.24, 1.59, -0.21], [0.1374, 0.0178, 6.3784, 0.0055]),
    ([3.25, 2.76, -0.77], [0.0627, 0.0098, 2.5715]),
    ([-0.36, -0.62, -13.71, 0.32], [0.5377, 0.005, 15.4028, 0.1472]),
    ([-6.85, -3.66, 0.27, -3.51], [0.9358, 0.0031, 8.5469, 0.0117]),
]


def _ragged(sets):
    kmax = max(len(y) for y, _ in sets)
    Yr = np.full((len(sets), kmax), np.nan)
    Vr = np.full((len(sets), kmax), np.nan)
    for i, (y, v) in enumerate(sets):
        Yr[i, : len(y)], Vr[i, : len(v)] = y, v
    return Yr, Vr


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_multimodal_likelihood_gives_the_global_maximum(method):
    Yr, Vr = _ragged(MULTIMODAL)
    res = pool_many(Yr, Vr, method=method)
    for i, (y, v) in enumerate(MULTIMODAL):
        f = fit(y, v, method=method)
        assert close(res.tau2[i], f.tau2, SAME_ENGINE), (i, res.tau2[i], f.tau2)
        assert close(res.estimate[i], f.beta[0], SAME_ENGINE)
    if method == "REML":
        assert res.tau2[-1] > 2.8  # the second, higher maximum


def test_safety_net_refits_rows_with_the_single_engine(monkeypatch):
    """With the Newton iteration cut to one step no bracket converges: every iterative row is
    handed to the single engine, and the numbers are unchanged."""
    monkeypatch.setattr("acu_meta.models._tau2_batch._MAXITER", 1)
    # the numpy path's safety net (the kernel hands its unconverged rows to this path:
    # tests/models/test_kernel.py)
    monkeypatch.setenv("ACU_META_KERNEL", "numpy")
    for method in ("REML", "PM"):
        res = pool_many(Y[:40], V[:40], method=method)
        assert res.refitted.sum() > 10 and res.converged.all()
        for i in np.flatnonzero(res.refitted):
            keep = np.isfinite(Y[i])
            assert close(res.tau2[i], fit(Y[i, keep], V[i, keep], method=method).tau2, SAME_ENGINE)


# ------------------------------------------------------------------ metafor


def _rand_cases():
    cases = [r for r in REF["rma"] if r["dataset"].startswith(("rand-", "rand10-"))]
    groups = {}
    for r in cases:
        groups.setdefault((r["method"], r["test"]), []).append(r)
    return groups


RAND = _rand_cases()


@pytest.mark.parametrize("key", sorted(RAND), ids=[f"{m}-{t}" for m, t in sorted(RAND)])
def test_pool_many_against_metafor(key):
    method, test = key
    cases = RAND[key]
    sets = [(REF["datasets"][r["dataset"]]["yi"], REF["datasets"][r["dataset"]]["vi"])
            for r in cases]
    Yr, Vr = _ragged(sets)
    res = pool_many(Yr, Vr, method=method, hksj=test == "knha", level=cases[0]["level"])
    pairs = {"beta": "estimate", "se": "se", "ci_lb": "ci_low", "ci_ub": "ci_high",
             "tau2": "tau2", "I2": "I2", "H2": "H2", "QE": "Q", "QEp": "Q_p", "zval": "statistic",
             "pval": "p_value", "pi_lb": "pi_low", "pi_ub": "pi_high"}
    for i, case in enumerate(cases):
        assert res.k[i] == case["k"]
        for theirs, ours in pairs.items():
            want = case[theirs]
            if want is None:
                assert math.isnan(getattr(res, ours)[i]), (case["id"], ours)
                continue
            got = float(getattr(res, ours)[i])
            assert close(got, want, ITERATIVE), f"{case['id']} {ours}: {got!r} != metafor {want!r}"


def test_metafor_grid_covers_every_method_and_small_k():
    assert {m for m, _ in RAND} == set(TAU2_METHODS)
    ks = {len(REF["datasets"][r["dataset"]]["yi"]) for rs in RAND.values() for r in rs}
    assert 2 in ks and 10 in ks


# ------------------------------------------------------------------ GOSH


def test_gosh_k16_every_subset():
    y, v = gosh_example()
    g = gosh(y, v)
    assert isinstance(g, GoshResult) and g.exact
    assert len(g) == 65_535 == 2**16 - 1
    assert g.subsets.shape == (65_535, 16) and g.subsets.any(axis=1).all()
    np.testing.assert_array_equal(g.bits, np.arange(1, 2**16))
    np.testing.assert_array_equal(g.k_subset, g.subsets.sum(axis=1))
    full = pool(yi=y, vi=v, method="FE")
    assert g.subsets[-1].all()
    for name in ("estimate", "se", "tau2", "I2", "H2", "Q"):
        assert close(getattr(g, name)[-1], getattr(full, name), SAME_ENGINE), name
    rng = np.random.default_rng(1)
    for s in rng.choice(len(g), 25, replace=False):
        m = g.subsets[s]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = pool(yi=y[m], vi=v[m], method="FE")
        assert close(g.estimate[s], one.estimate, SAME_ENGINE)
        assert close(g.I2[s], one.I2, SAME_ENGINE)


def test_gosh_random_effects_and_result_input():
    y, v = gosh_example()
    y, v = y[:7], v[:7]
    res = pool(yi=y, vi=v, method="REML")
    g = gosh(res)
    assert g.method == "REML" and len(g) == 127
    for s in range(len(g)):
        m = g.subsets[s]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = pool(yi=y[m], vi=v[m], method="REML")
        for name in ("estimate", "tau2", "I2", "Q"):
            assert close(getattr(g, name)[s], getattr(one, name), SAME_ENGINE), (s, name)
    assert close(g.estimate[-1], res.estimate, SAME_ENGINE)
    assert list(g.to_frame().columns[-7:]) == list(res.studies)


def test_gosh_random_subsets_above_the_limit():
    rng = np.random.default_rng(3)
    y, v = rng.normal(0, 0.2, 22), rng.uniform(0.01, 0.05, 22)
    g = gosh(y, v, max_subsets=5000, seed=7)
    assert not g.exact and len(g) == 5000 and g.subsets.any(axis=1).all()
    again = gosh(y, v, max_subsets=5000, seed=7)
    np.testing.assert_array_equal(g.subsets, again.subsets)
    # each study is in a subset with probability 1/2: the mean subset size is k / 2 = 11
    se = g.k_subset.std() / math.sqrt(len(g))
    assert abs(g.k_subset.mean() - 11) < MC_SE * se
    small = gosh(y[:5], v[:5], max_subsets=10, seed=1)  # 31 subsets > 10: sampled
    assert not small.exact and len(small) == 10
