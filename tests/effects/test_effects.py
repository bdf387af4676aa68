"""Effect sizes beyond the metafor grid: the RevMan approximation, conversions, corrections."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from acu_meta.effects import (
    EffectSizeError,
    escalc,
    from_ci,
    from_p,
    from_t,
    mean_sd_from_median,
    se_from_ci,
)
from acu_meta.effects.escalc import hedges_j


def test_hedges_j_exact_vs_approximate():
    # exact J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); approximation 1 - 3/(4m - 1)
    for m in (2, 5, 18, 100):
        exact = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
        assert hedges_j(m) == pytest.approx(exact, rel=1e-12)
        assert abs(hedges_j(m, exact=False) - exact) < 0.05 / m**2  # error is O(1/m^2)


def test_smd_revman_approximation_by_hand():
    # RevMan 5: g = (m1-m2)/s_pooled * (1 - 3/(4N - 9)); SE^2 = N/(n1 n2) + g^2/(2(N - 3.94))
    es = escalc("SMD", m1i=[10.0], sd1i=[2.0], n1i=[20], m2i=[9.0], sd2i=[3.0], n2i=[25],
                exact=False)
    n = 45
    s = math.sqrt((19 * 4 + 24 * 9) / 43)
    g = (1 / s) * (1 - 3 / (4 * n - 9))
    assert es.yi[0] == pytest.approx(g, rel=1e-14)
    assert es.vi[0] == pytest.approx(n / (20 * 25) + g**2 / (2 * (n - 3.94)), rel=1e-14)


def test_double_zero_kept_by_default_and_dropped_on_request():
    es = escalc("OR", ai=[0, 2], n1i=[10, 10], ci=[0, 4], n2i=[10, 10], study=["DZ", "S"])
    assert es.yi[0] == 0.0 and es.corrected == ("DZ",)  # 1/2 added to every cell
    es = escalc("OR", ai=[0, 2], n1i=[10, 10], ci=[0, 4], n2i=[10, 10], study=["DZ", "S"],
                drop00=True)
    assert math.isnan(es.yi[0]) and es.excluded[0][0] == "DZ"


def test_ci_and_p_conversions_second_route():
    # a Wald CI built from (y, se) gives se back; its P gives se back
    y, se = 0.4, 0.15
    z = stats.norm.ppf(0.975)
    assert se_from_ci(y - z * se, y + z * se) == pytest.approx(se, rel=1e-12)
    est, var = from_ci(math.exp(y), math.exp(y - z * se), math.exp(y + z * se), log=True)
    assert est == pytest.approx(y) and var == pytest.approx(se**2, rel=1e-12)
    p = 2 * stats.norm.sf(y / se)
    assert from_p(y, p)[1] == pytest.approx(se**2, rel=1e-10)
    with pytest.raises(EffectSizeError):
        from_p(y, 1.5)


def test_smd_from_t_equals_smd_from_means():
    # t of a pooled-variance two-sample test carries the same d
    m1, m2, s, n1, n2 = 5.0, 4.2, 1.7, 30, 28
    t = (m1 - m2) / (s * math.sqrt(1 / n1 + 1 / n2))
    g, v = from_t(t, n1, n2)
    es = escalc("SMD", m1i=[m1], sd1i=[s], n1i=[n1], m2i=[m2], sd2i=[s], n2i=[n2])
    assert g == pytest.approx(es.yi[0], rel=1e-12) and v == pytest.approx(es.vi[0], rel=1e-12)


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
            assert r.mean == pytest.approx(mu, rel=1e-12)
            assert r.sd == pytest.approx(sigma, rel=1e-12)


def test_median_conversion_skewed_by_hand():
    # Luo (2018) S2 with n = 40: w = 0.7 + 0.39/40; Wan (2014) SD = IQR / eta(40)
    r = mean_sd_from_median(40, 10.0, q1=8.0, q3=14.0)
    w = 0.7 + 0.39 / 40
    assert r.mean == pytest.approx(w * 11.0 + (1 - w) * 10.0, rel=1e-14)
    assert r.sd == pytest.approx(6.0 / (2 * stats.norm.ppf((30 - 0.125) / 40.25)), rel=1e-14)
    assert r.scenario == "S2"
    with pytest.raises(EffectSizeError):
        mean_sd_from_median(40, 20.0, q1=8.0, q3=14.0)


def test_unknown_measure():
    with pytest.raises(EffectSizeError, match="unknown measure"):
        escalc("XYZ", yi=[1], vi=[1])
    np.testing.assert_array_equal(escalc("GEN", yi=[1.0], sei=[2.0]).vi, [4.0])
