"""``pool()`` at k = 100,000 (issue #16 item 2, issue #17: once a MemoryError on a 74.5 GiB
k x k matrix, for every method): no k x k matrix, and the same numbers as the batch engine.

Second route: ``pool_many`` (the vectorized engine, one row) evaluates the same definitions
with its own sums and root finder: ``SAME_ENGINE``. Timings are benchmarks, not tests
(``benchmarks/``); here the peak memory of one fit is bounded instead.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from tolerances import SAME_ENGINE

from acu_meta.models import TAU2_METHODS
from acu_meta.results import pool
from acu_meta.results.batch import pool_many

K = 100_000
RNG = np.random.default_rng(16)
V = RNG.uniform(0.01, 0.2, K)
Y = 0.3 + RNG.normal(0, 0.2, K) + RNG.normal(0, np.sqrt(V))
FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "Q", "I2", "H2", "pi_low", "pi_high")


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_pool_at_k_100000_equals_the_batch_engine(method):
    one = pool(yi=Y, vi=V, method=method)
    many = pool_many(Y[None, :], V[None, :], method=method)
    assert one.k == K and many.k[0] == K
    for name in FIELDS:
        got, want = float(getattr(one, name)), float(getattr(many, name)[0])
        assert abs(got - want) <= SAME_ENGINE + SAME_ENGINE * abs(want), (name, got, want)
    assert math.isclose(float(np.sum(one.weights)), 100.0, rel_tol=SAME_ENGINE)


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_no_k_by_k_matrix_is_formed(method):
    # a k x k matrix of doubles would be 80 GB; the O(k) fit needs a few arrays of 0.8 MB
    # (and the vectorized grid at most 512 kB at a time)
    tracemalloc.start()
    try:
        pool(yi=Y, vi=V, method=method)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 8 * K, peak  # 40 arrays of k doubles (32 MB)
