"""acu_meta.numeric against independent values: closed forms, hand computations, a second
numerical route, and R's printed output where quoted.

Second routes used: critical values from the error function and the closed-form t quantiles for
1 and 2 df; p-values from the closed-form t distribution functions for 1 and 2 df; the exact
binomial interval from binomial tail sums solved by root finding (not the beta quantiles); the
Wilson intervals as the roots of the score equation (a quadratic), with and without the
continuity correction; Hedges' J from gamma values at half-integers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import optimize, special, stats

from acu_meta import numeric as nm

# ------------------------------------------------------------------ critical values, p-values


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_z_crit_equals_the_inverse_error_function(level):
    # Phi^-1(1/2 + L/2) = sqrt(2) erfinv(L)
    assert nm.z_crit(level) == pytest.approx(math.sqrt(2) * special.erfinv(level), rel=1e-14)
    assert nm.z_crit(100 * level) == nm.z_crit(level)  # percent or fraction


def test_z975_is_r_qnorm_0975():
    # R: sprintf("%.16g", qnorm(0.975)) is 1.959963984540054
    assert nm.Z975 == 1.959963984540054
    assert nm.z_crit(0.95) == nm.Z975 == nm.crit(0.95)


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99])
def test_t_crit_closed_forms_for_one_and_two_df(level):
    p = 0.5 + level / 2
    # df = 1 (Cauchy): tan(pi (p - 1/2)); df = 2: (2p - 1) / sqrt(2 p (1 - p))
    assert nm.t_crit(level, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-12)
    assert nm.t_crit(level, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)),
                                                rel=1e-12)
    assert nm.t_crit(level, math.inf) == nm.z_crit(level)
    assert nm.crit(level, 2) == nm.t_crit(level, 2)


def test_t_crit_decreases_to_the_normal_quantile():
    vals = [nm.t_crit(0.95, df) for df in (1, 2, 5, 30, 1000, 1e7)]
    assert all(a > b for a, b in zip(vals, vals[1:], strict=False))
    assert vals[-1] == pytest.approx(nm.Z975, rel=1e-6)


def test_p_two_sided_inverts_the_critical_values():
    assert nm.p_two_sided(nm.Z975) == pytest.approx(0.05, rel=1e-14)
    assert nm.p_two_sided(-nm.Z975) == pytest.approx(0.05, rel=1e-14)
    assert nm.p_two_sided(nm.t_crit(0.9, 7), 7) == pytest.approx(0.1, rel=1e-12)
    assert nm.p_two_sided(0.0) == 1.0


@pytest.mark.parametrize("t", [0.1, 1.0, 2.5, 12.0])
def test_p_two_sided_closed_forms_for_one_and_two_df(t):
    # df = 1: 1 - (2/pi) atan|t|; df = 2: 1 - |t| / sqrt(t^2 + 2)
    assert nm.p_two_sided(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), rel=1e-12)
    assert nm.p_two_sided(-t, 2) == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-12)


def test_p_two_sided_vectorized():
    z = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    p = nm.p_two_sided(z)
    assert isinstance(p, np.ndarray) and p.shape == (5,)
    np.testing.assert_allclose(p, special.erfc(np.abs(z) / math.sqrt(2)), rtol=1e-13)
    assert isinstance(nm.p_two_sided(1.0), float)


# ------------------------------------------------------------------ heterogeneity


def test_i2_and_h2_from_q_by_hand():
    assert nm.i2_from_q(20.0, 10) == 50.0
    assert nm.h2_from_q(20.0, 10) == 2.0
    assert nm.i2_from_q(8.0, 10) == 0.0  # Q below its df: truncated at 0
    assert nm.i2_from_q(0.0, 3) == 0.0
    assert nm.i2_from_q(5.0, 0) == 0.0  # one study: no heterogeneity can be shown
    assert math.isnan(nm.h2_from_q(5.0, 0))


def test_i2_h2_from_q_vectorized():
    Q = np.array([20.0, 8.0, 0.0, 5.0])
    df = np.array([10, 10, 3, 0])
    np.testing.assert_array_equal(nm.i2_from_q(Q, df), [50.0, 0.0, 0.0, 0.0])
    h2 = nm.h2_from_q(Q, df)
    np.testing.assert_array_equal(h2[:3], [2.0, 0.8, 0.0])
    assert math.isnan(h2[3])


def test_i2_h2_from_tau2_by_hand():
    assert nm.i2_from_tau2(0.1, 0.1) == 50.0
    assert nm.h2_from_tau2(0.1, 0.1) == 2.0
    assert nm.i2_from_tau2(0.0, 0.3) == 0.0 and nm.h2_from_tau2(0.0, 0.3) == 1.0
    np.testing.assert_allclose(nm.i2_from_tau2(np.array([0.0, 0.1, 0.3]), 0.1),
                               [0.0, 50.0, 75.0], rtol=1e-15)
    assert math.isnan(nm.i2_from_tau2(0.1, np.nan))


def test_tau2_based_i2_equals_the_q_based_one_for_the_dl_estimate():
    # intercept only: tau2_DL = (Q - df) / trP0 and vt = df / trP0, so the tau2-based I2 and
    # H2 (metafor's) equal 100 (Q - df) / Q and Q / df when Q > df (computed here from raw data)
    y = np.array([0.10, 0.62, -0.31, 0.95, 0.40])
    v = np.array([0.02, 0.05, 0.03, 0.08, 0.01])
    w = 1 / v
    mu = np.sum(w * y) / np.sum(w)
    Q = float(np.sum(w * (y - mu) ** 2))
    df = len(y) - 1
    trP0 = np.sum(w) - np.sum(w**2) / np.sum(w)
    assert Q > df
    tau2, vt = (Q - df) / trP0, df / trP0
    assert nm.i2_from_tau2(tau2, vt) == pytest.approx(nm.i2_from_q(Q, df), rel=1e-12)
    assert nm.h2_from_tau2(tau2, vt) == pytest.approx(nm.h2_from_q(Q, df), rel=1e-12)


# ------------------------------------------------------------------ binomial intervals


def _exact_by_tail_sums(x, n, level=0.95):
    """Clopper-Pearson by its definition: P(X >= x | lo) = a/2, P(X <= x | hi) = a/2."""
    a = 1 - level
    lo = 0.0 if x == 0 else optimize.brentq(
        lambda p: stats.binom.sf(x - 1, n, p) - a / 2, 1e-12, 1 - 1e-12, xtol=1e-15)
    hi = 1.0 if x == n else optimize.brentq(
        lambda p: stats.binom.cdf(x, n, p) - a / 2, 1e-12, 1 - 1e-12, xtol=1e-15)
    return lo, hi


@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (3, 10), (9, 10), (10, 10), (184, 387),
                                 (1, 1), (0, 1)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_clopper_pearson_by_binomial_tail_sums(x, n, level):
    got = nm.clopper_pearson(x, n, level)
    want = _exact_by_tail_sums(x, n, level)
    assert got == pytest.approx(want, abs=1e-10)


def test_clopper_pearson_edges_and_r_binom_test():
    # x = 0: upper limit 1 - (a/2)^(1/n); x = n: lower limit (a/2)^(1/n)
    assert nm.clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** 0.1, rel=1e-12))
    assert nm.clopper_pearson(10, 10) == (pytest.approx(0.025 ** 0.1, rel=1e-12), 1.0)
    # R: binom.test(682, 925) prints "0.7076683 0.7654066" (the example of ?binom.test);
    # binom.test(3, 10) prints "0.06673951 0.65245285"
    assert nm.clopper_pearson(682, 925) == pytest.approx((0.7076683, 0.7654066), abs=5e-8)
    assert nm.clopper_pearson(3, 10) == pytest.approx((0.06673951, 0.65245285), abs=5e-9)
    assert nm.clopper_pearson(3, 10, 95) == nm.clopper_pearson(3, 10, 0.95)


def _score_roots(x, n, level, shift=0.0):
    """Roots in p of (phat -/+ shift - p)^2 = z^2 p (1 - p) / n (lower with -shift for the lower
    limit, +shift for the upper): the Wilson interval, continuity-corrected when shift = 1/(2n)."""
    z = nm.z_crit(level)
    out = []
    for a, pick in ((x / n - shift, min), (x / n + shift, max)):
        # (n + z^2) p^2 - (2 n a + z^2) p + n a^2 = 0
        r = np.roots([n + z * z, -(2 * n * a + z * z), n * a * a]).real
        out.append(float(pick(r)))
    return out[0], out[1]


@pytest.mark.parametrize("x,n", [(1, 10), (3, 10), (50, 100), (184, 387), (9, 10)])
def test_wilson_is_the_root_of_the_score_equation(x, n):
    assert nm.wilson(x, n) == pytest.approx(_score_roots(x, n, 0.95), abs=1e-12)
    assert nm.wilson(x, n, 0.9) == pytest.approx(_score_roots(x, n, 0.9), abs=1e-12)


@pytest.mark.parametrize("x,n", [(1, 10), (3, 10), (50, 100), (184, 387), (9, 10)])
def test_wilson_cc_is_the_root_of_the_corrected_score_equation(x, n):
    # R's prop.test(x, n, correct = TRUE) interval
    want = _score_roots(x, n, 0.95, shift=1 / (2 * n))
    assert nm.wilson(x, n, cc=True) == pytest.approx(want, abs=1e-12)


def test_wilson_edges():
    lo, hi = nm.wilson(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-15) and hi == pytest.approx(
        nm.Z975**2 / (10 + nm.Z975**2), rel=1e-12)  # x = 0: upper limit z^2 / (n + z^2)
    assert nm.wilson(0, 10, cc=True)[0] == 0.0 and nm.wilson(10, 10, cc=True)[1] == 1.0
    lo_cc, hi_cc = nm.wilson(3, 10, cc=True)
    lo, hi = nm.wilson(3, 10)
    assert lo_cc < lo and hi_cc > hi  # the correction widens the interval


def test_wald_by_hand():
    lo, hi = nm.wald(50, 100)
    assert lo == pytest.approx(0.5 - 1.959963984540054 * 0.05, rel=1e-15)
    assert hi == pytest.approx(0.5 + 1.959963984540054 * 0.05, rel=1e-15)
    assert nm.wald(1, 10)[0] < 0  # not clipped
    assert nm.wald(0, 10) == (0.0, 0.0)


# ------------------------------------------------------------------ Hedges' J, SE from a CI


def test_hedges_j_exact_from_gamma_values():
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), metafor's .cmicalc
    sqrt_pi = math.sqrt(math.pi)
    assert nm.hedges_j(2.0) == pytest.approx(1 / sqrt_pi, rel=1e-14)  # Gamma(1/2) = sqrt(pi)
    assert nm.hedges_j(3.0) == pytest.approx((sqrt_pi / 2) / math.sqrt(1.5), rel=1e-14)
    gamma_45 = 3.5 * 2.5 * 1.5 * 0.5 * sqrt_pi
    assert nm.hedges_j(10.0) == pytest.approx(24 / (math.sqrt(5) * gamma_45), rel=1e-14)
    m = np.array([4.0, 7.0, 25.0, 120.0])
    np.testing.assert_allclose(
        nm.hedges_j(m), [math.gamma(x / 2) / (math.sqrt(x / 2) * math.gamma((x - 1) / 2))
                         for x in m], rtol=1e-12)


def test_hedges_j_edges_and_the_approximation():
    j = nm.hedges_j(np.array([0.0, 1.0, 1.5]))
    assert math.isnan(j[0]) and math.isnan(j[1]) and 0 < j[2] < 1
    m = np.array([10.0, 40.0, 400.0])
    approx = nm.hedges_j(m, exact=False)
    np.testing.assert_allclose(approx, 1 - 3 / (4 * m - 1), rtol=1e-15)
    # Hedges (1981): the approximation is accurate to O(m^-2)
    assert np.all(np.abs(approx - nm.hedges_j(m)) < 1 / m**2)


def test_se_from_ci():
    assert nm.se_from_ci(-0.2, 0.6) == pytest.approx(0.8 / (2 * 1.959963984540054), rel=1e-15)
    se = nm.se_from_ci(np.array([0.0, 1.0]), np.array([2.0, 2.0]), level=90)
    np.testing.assert_allclose(se, np.array([2.0, 1.0]) / (2 * nm.z_crit(0.9)), rtol=1e-15)


# ------------------------------------------------------------------ flat IV pooling, JSON


def test_pool_iv_by_hand():
    # w = 1, 1, 1/2: estimate (1 + 2 + 2) / 2.5 = 2, se = 1/sqrt(2.5), Q = 1 + 0 + 0.5 * 4 = 3
    r = nm.pool_iv([1.0, 2.0, 4.0], [1.0, 1.0, 2.0])
    assert r.estimate == pytest.approx(2.0, rel=1e-15)
    assert r.se == pytest.approx(1 / math.sqrt(2.5), rel=1e-15)
    assert r.Q == pytest.approx(3.0, rel=1e-15)
    assert r.df == 2


def test_pool_iv_equals_the_fixed_effect_model():
    from acu_meta.models import fit

    y = np.array([0.3, -0.1, 0.8, 0.25])
    v = np.array([0.04, 0.09, 0.2, 0.01])
    r = nm.pool_iv(y, v)
    f = fit(y, v, method="FE")
    assert r.estimate == pytest.approx(f.beta[0], rel=1e-13)
    assert r.se == pytest.approx(math.sqrt(f.vb[0, 0]), rel=1e-13)
    assert r.Q == pytest.approx(f.QE, rel=1e-13)


def test_json_number():
    assert nm.json_number(None) is None
    assert nm.json_number(float("nan")) is None
    assert nm.json_number(np.inf) is None and nm.json_number(-np.inf) is None
    assert type(nm.json_number(np.float64(1.5))) is float
    assert type(nm.json_number(np.int64(3))) is int and nm.json_number(np.int64(3)) == 3
    assert nm.json_number(np.bool_(True)) is True
    assert json.dumps([nm.json_number(x) for x in (np.nan, np.float32(0.25), 2)]) == \
        "[null, 0.25, 2]"


def test_p_values_through_special_functions_are_scipy_stats_bit_for_bit():
    """numeric.p_two_sided and chi2_sf use scipy.special directly (speed, issue #16); they
    must equal scipy.stats' norm.sf, t.sf and chi2.sf exactly, for mixed z and t rows too."""
    from scipy import stats

    from acu_meta.numeric import chi2_sf, p_two_sided

    rng = np.random.default_rng(3)
    a = rng.standard_t(3, 2000) * rng.uniform(0, 5, 2000)
    df = rng.integers(1, 30, 2000).astype(float)
    np.testing.assert_array_equal(p_two_sided(a), 2 * stats.norm.sf(np.abs(a)))
    np.testing.assert_array_equal(p_two_sided(a, 7), 2 * stats.t.sf(np.abs(a), 7))
    mixed = np.where(df > 15, np.inf, df)
    want = np.where(df > 15, 2 * stats.norm.sf(np.abs(a)), 2 * stats.t.sf(np.abs(a), df))
    np.testing.assert_array_equal(p_two_sided(a, mixed), want)
    np.testing.assert_array_equal(chi2_sf(a * a, df), stats.chi2.sf(a * a, df))
    assert p_two_sided(1.959963984540054) == pytest.approx(0.05, rel=1e-12)


_P = np.array([0.0, 1e-300, 1e-12, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999,
               1 - 1e-12, 1.0])
_X = np.array([0.0, 1e-12, 0.01, 0.5, 1.0, 1.96, 3.0, 10.0, 40.0, 200.0, np.inf])
_DF = [1.0, 2.0, 3.5, 10.0, 28.0, 1000.0]


def _same(a, b):
    """Bit for bit: equal values, nan where nan, and the same sign of zero (a nan's sign bit
    carries nothing and differs between code paths)."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a) & ~np.isnan(a), np.signbit(b) & ~np.isnan(b))


def test_normal_functions_are_bit_identical_to_scipy_stats():
    x = np.concatenate([-_X, _X])
    _same(nm.norm_cdf(x), stats.norm.cdf(x))
    _same(nm.norm_sf(x), stats.norm.sf(x))
    _same(nm.norm_ppf(_P), stats.norm.ppf(_P))
    _same(nm.norm_isf(_P), stats.norm.isf(_P))
    assert isinstance(nm.norm_ppf(0.975), float) and nm.norm_ppf(0.975) == nm.Z975


@pytest.mark.parametrize("df", _DF)
def test_t_chi2_and_f_functions_are_bit_identical_to_scipy_stats(df):
    _same(nm.t_ppf(_P, df), stats.t.ppf(_P, df))
    _same(nm.chi2_sf(_X, df), stats.chi2.sf(_X, df))
    _same(nm.chi2_cdf(_X, df), stats.chi2.cdf(_X, df))
    _same(nm.chi2_ppf(_P, df), stats.chi2.ppf(_P, df))
    for dfd in (1.0, 5.0, 60.0):
        _same(nm.f_sf(_X, df, dfd), stats.f.sf(_X, df, dfd))


#: Arguments outside the support, non-positive and infinite degrees of freedom, nan: the
#: special functions alone differ from scipy.stats here (chdtrc(0, 3) is 0, chi2.sf is nan;
#: chdtrc(1, -1) is nan, chi2.sf is 1; fdtrc(2, inf, 0) is nan, f.sf is 1).
_EDGE_X = [-np.inf, -1.0, 0.0, 1e-300, 0.5, 3.0, np.inf, np.nan]
_EDGE_P = [-0.1, 0.0, 1e-300, 0.3, 1.0, 1.1, np.nan]
_EDGE_DF = [-1.0, 0.0, 1e-3, 0.5, 1.0, 2.5, 30.0, np.inf, np.nan]


@pytest.mark.parametrize("df", _EDGE_DF)
def test_edges_of_the_support_and_of_the_degrees_of_freedom_match_scipy_stats(df):
    x, p = np.array(_EDGE_X), np.array(_EDGE_P)
    if not np.isinf(df):  # chi2 with infinite df: scipy.stats is not even self-consistent
        _same(nm.chi2_sf(x, df), stats.chi2.sf(x, df))
        _same(nm.chi2_cdf(x, df), stats.chi2.cdf(x, df))
        _same(nm.chi2_ppf(p, df), stats.chi2.ppf(p, df))
        for xi in _EDGE_X:  # scalars come back as floats, the same values
            assert isinstance(nm.chi2_sf(xi, df), float)
            _same(nm.chi2_sf(xi, df), stats.chi2.sf(xi, df))
    _same(nm.t_ppf(p, df), stats.t.ppf(p, df))
    for dfd in _EDGE_DF:
        _same(nm.f_sf(x, df, dfd), stats.f.sf(x, df, dfd))
    _same(nm.norm_cdf(x), stats.norm.cdf(x))
    _same(nm.norm_sf(x), stats.norm.sf(x))
    _same(nm.norm_ppf(p), stats.norm.ppf(p))
    _same(nm.norm_isf(p), stats.norm.isf(p))


@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (0.3, 2.5), (-1.0, 1e-3), (0.0, 1e4)])
def test_normal_densities_are_bit_identical_to_scipy_stats(loc, scale):
    x = np.concatenate([np.linspace(-40.0, 40.0, 801), _EDGE_X])
    _same(nm.norm_pdf(x, loc, scale), stats.norm.pdf(x, loc, scale))
    _same(nm.norm_logpdf(x, loc, scale), stats.norm.logpdf(x, loc, scale))
    assert nm.norm_pdf(0.2, loc, scale) == stats.norm.pdf(0.2, loc, scale)
    assert isinstance(nm.norm_logpdf(0.2, loc, scale), float)
    _same(nm.norm_pdf(x), stats.norm.pdf(x))


def test_clopper_pearson_quantiles_are_scipy_beta_ppf():
    for n in (1, 2, 7, 50, 387, 1162):
        for x in sorted({0, 1, n // 3, n - 1, n}):
            for level in (0.9, 0.95, 0.99):
                a = 1 - level
                lo = 0.0 if x == 0 else float(stats.beta.ppf(a / 2, x, n - x + 1))
                hi = 1.0 if x == n else float(stats.beta.ppf(1 - a / 2, x + 1, n - x))
                assert nm.clopper_pearson(x, n, level) == (lo, hi), (x, n, level)
