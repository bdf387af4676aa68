"""Conversions to an effect size and its variance (``acu_meta.effects.conversions``), each
validated by a second route: a Wald CI built from (y, se) gives se back, its P gives se back, a
t statistic carries the same SMD as the means, and the median-to-mean/SD estimators (Luo 2018,
Wan 2014) return mu and sigma from the expected order statistics of a normal sample.

Tolerances (``tests/tolerances.py``): ``SECOND_ROUTE`` for closed-form round trips,
``CLOSED_FORM`` for the round trip through the inverse normal quantile (p -> z -> se),
``SAME_ARITHMETIC`` for the Luo/Wan formulas written out again.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats
from tolerances import CLOSED_FORM, SAME_ARITHMETIC, SECOND_ROUTE

from acu_meta.effects import (
    EffectSizeError,
    escalc,
    from_ci,
    from_p,
    from_t,
    mean_sd_from_median,
    se_from_ci,
)


def test_ci_and_p_conversions_second_route():
    # a Wald CI built from (y, se) gives se back; its P gives se back
    y, se = 0.4, 0.15
    z = stats.norm.ppf(0.975)
    assert se_from_ci(y - z * se, y + z * se) == pytest.approx(se, rel=SECOND_ROUTE)
    est, var = from_ci(math.exp(y), math.exp(y - z * se), math.exp(y + z * se), log=True)
    assert est == pytest.approx(y) and var == pytest.approx(se**2, rel=SECOND_ROUTE)
    p = 2 * stats.norm.sf(y / se)
    assert from_p(y, p)[1] == pytest.approx(se**2, rel=CLOSED_FORM)
    with pytest.raises(EffectSizeError):
        from_p(y, 1.5)


def test_smd_from_t_equals_smd_from_means():
    # t of a pooled-variance two-sample test carries the same d
    m1, m2, s, n1, n2 = 5.0, 4.2, 1.7, 30, 28
    t = (m1 - m2) / (s * math.sqrt(1 / n1 + 1 / n2))
    g, v = from_t(t, n1, n2)
    es = escalc("SMD", m1i=[m1], sd1i=[s], n1i=[n1], m2i=[m2], sd2i=[s], n2i=[n2])
    assert g == pytest.approx(es.yi[0], rel=SECOND_ROUTE)
    assert v == pytest.approx(es.vi[0], rel=SECOND_ROUTE)


@pytest.mark.parametrize("n", [20, 100, 10_000])
def test_median_conversions_recover_normal_parameters(n):
    # expected order statistics of N(mu, sigma): the estimators are built to return mu, sigma
    mu, sigma = 50.0, 10.0
    xi = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
    eta = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    a, b = mu - sigma * xi / 2, mu + sigma * xi / 2
    q1, q3 = mu - sigma * eta / 2, mu + sigma * eta / 2
    for kw in (dict(minimum=a, maximum=b), dict(q1=q1, q3=q3),
               dict(minimum=a, maximum=b, q1=q1, q3=q3)):
        for method in ("luo", "wan"):
            r = mean_sd_from_median(n, mu, mean_method=method, **kw)
            assert r.mean == pytest.approx(mu, rel=SECOND_ROUTE)
            assert r.sd == pytest.approx(sigma, rel=SECOND_ROUTE)


def test_median_conversion_skewed_by_hand():
    # Luo (2018) S2 with n = 40: w = 0.7 + 0.39/40; Wan (2014) SD = IQR / eta(40)
    r = mean_sd_from_median(40, 10.0, q1=8.0, q3=14.0)
    w = 0.7 + 0.39 / 40
    assert r.mean == pytest.approx(w * 11.0 + (1 - w) * 10.0, rel=SAME_ARITHMETIC)
    eta = 2 * stats.norm.ppf((30 - 0.125) / 40.25)
    assert r.sd == pytest.approx(6.0 / eta, rel=SAME_ARITHMETIC)
    assert r.scenario == "S2"
    with pytest.raises(EffectSizeError):
        mean_sd_from_median(40, 20.0, q1=8.0, q3=14.0)
