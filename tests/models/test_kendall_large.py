"""Begg's rank test on many studies (issue #17's fuzz campaign: ``pool --bias`` on 100,000
studies ran out of memory in the n x n sign matrices of Kendall's tau, and the exact
permutation distribution is O(n^3)): above ``KENDALL_PAIRS_MAX`` tau-b comes from scipy's
O(n log n) count, above ``KENDALL_EXACT_MAX`` the p-value from the normal approximation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from tolerances import EXACT_DISTRIBUTION, SECOND_ROUTE

from acu_meta.models import sensitivity as core


@pytest.mark.parametrize("n", [core.KENDALL_EXACT_MAX + 1, core.KENDALL_PAIRS_MAX + 1, 100_000])
def test_many_pairs_use_the_normal_approximation(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = rng.normal(size=n) + 0.05 * x
    tau, z, p, exact = core.kendall_test(x, y)
    ref = stats.kendalltau(x, y, method="asymptotic")  # the same test by another route
    assert not exact
    assert tau == pytest.approx(ref.statistic, rel=SECOND_ROUTE, abs=SECOND_ROUTE)
    assert p == pytest.approx(ref.pvalue, rel=SECOND_ROUTE, abs=SECOND_ROUTE)
    assert z == pytest.approx(stats.norm.isf(p / 2) * np.sign(tau), rel=SECOND_ROUTE)


def test_the_pair_count_switch_changes_nothing():
    """Just above KENDALL_PAIRS_MAX, tau-b from the sign matrices equals scipy's count."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=core.KENDALL_PAIRS_MAX + 1)
    y = np.round(rng.normal(size=x.size), 1)  # with ties
    fast = core._kendall_tau_b(x, y)
    iu = np.triu_indices(x.size, 1)
    dx = np.sign(x[:, None] - x[None, :])[iu]
    dy = np.sign(y[:, None] - y[None, :])[iu]
    t0 = x.size * (x.size - 1) / 2
    slow = np.sum(dx * dy) / np.sqrt((t0 - np.sum(dx == 0)) * (t0 - np.sum(dy == 0)))
    assert fast == pytest.approx(slow, rel=SECOND_ROUTE, abs=SECOND_ROUTE)


def test_at_the_exact_limit_the_exact_distribution_is_kept():
    n = core.KENDALL_EXACT_MAX
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=n), rng.normal(size=n)
    tau, _, p, exact = core.kendall_test(x, y)
    assert exact
    ref = stats.kendalltau(x, y, method="exact")
    assert p == pytest.approx(ref.pvalue, **EXACT_DISTRIBUTION)
    # and the approximation the larger sizes use is within 1e-3 of it here
    assert abs(core.kendall_test(x, y, exact=False)[2] - p) < 1e-3
