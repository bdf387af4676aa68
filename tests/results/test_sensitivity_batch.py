"""The k refits of leave-one-out, cumulative and influence analyses go through the batch engine
(issue #16 item 3): they equal one single-engine refit per row (``SAME_ENGINE``: two engines
evaluating the same definitions), keep metafor's k = 1 rule, and a registered method without
a batch function is refitted row by row. Against metafor: ``tests/results/test_sensitivity.py``;
timings: ``benchmarks/`` (k = 400 in well under a second).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tolerances import SAME_ENGINE

from acu_meta.models import TAU2_METHODS, _tau2, registry
from acu_meta.models import sensitivity as core
from acu_meta.models.registry import Tau2Estimator
from acu_meta.results import leave_one_out, pool

RNG = np.random.default_rng(316)
K = 14
V = RNG.uniform(0.01, 0.3, K) * 10.0 ** RNG.uniform(-1, 1, K)
Y = 0.2 + RNG.normal(0, 0.25, K) + RNG.normal(0, np.sqrt(V))
FIELDS = ("k", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "df", "Q", "Q_p",
          "tau2", "I2", "H2", "s2w")


def _close(a, b):
    if math.isnan(b) or math.isinf(b):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= SAME_ENGINE + SAME_ENGINE * abs(b)


def _ragged():
    """Row i: the first i + 1 studies (the cumulative layout), absent ones NaN."""
    first = np.tri(K, dtype=bool)
    return np.where(first, Y, np.nan), np.where(first, V, np.nan)


@pytest.mark.parametrize("hksj", [False, True], ids=["z", "knha"])
@pytest.mark.parametrize("method", TAU2_METHODS)
def test_batch_refits_equal_single_refits(method, hksj):
    Ys, Vs = _ragged()
    got = core.refits(Ys, Vs, method, hksj, 0.95)
    for i, r in enumerate(got):
        want = core.refit(Y[: i + 1], V[: i + 1], method, hksj, 0.95)
        for name in FIELDS:
            assert _close(getattr(r, name), getattr(want, name)), (i, name)
    assert got[0].k == 1 and got[0].df == math.inf and got[0].Q_p == 1.0  # metafor's k = 1


def test_a_method_without_a_batch_function_is_refitted_row_by_row():
    half = Tau2Estimator("HALFDL", "half of DL (test only)", "closed",
                         lambda y, v, X: (_tau2.tau2_dl(y, v, X)[0] / 2, 0))
    with registry.registered(half):
        res = pool(yi=Y, vi=V, method="HALFDL")
        loo = leave_one_out(res)
        for i in range(K):
            keep = np.arange(K) != i
            want = core.refit(Y[keep], V[keep], "HALFDL", False, 0.95)
            assert loo.tau2[i] == want.tau2 and loo.estimate[i] == want.estimate


def test_influence_with_two_studies_uses_the_one_study_rule():
    o = core.influence_measures(Y[:2], V[:2], "REML", False, 0.95)
    assert np.array_equal(o["tau2_del"], [0.0, 0.0]) and np.array_equal(o["QE_del"], [0, 0])
