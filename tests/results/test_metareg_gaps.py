"""Meta-regression against metafor 3.8.1 on the ``metareg`` family of the issue #15 fixture.

Fixture: ``tests/fixtures/metafor_gaps.json`` (``validation/metafor/gaps_reference.R``): 20
moderator sets (bcg RR/OR ~ ablat, year, ablat + year; hackshaw1998 ~ year, cohort, year +
cohort; normand1999 ~ logn; raudenbush1985 ~ weeks; seeded random sets ~ x) x FE and the eight
tau2 estimators x tests z and knha. Its size is guarded in ``tests/models/test_gaps_grid.py``.

Tolerances (``tests/tolerances.py``): ``CLOSED_FORM`` for FE, DL, HE, HS, SJ, ``ITERATIVE`` for
REML, ML, PM, EB (the ``tol_for`` rule of ``tests/_metafor.py``), ``Q_PROFILE`` for the
Q-profile interval of the residual tau2 and the I2 / H2 bounds computed from it;
``METAFOR_ROUNDING`` for the eight cases of :data:`METAFOR_OFF`, where 60-digit decimal arithmetic
shows metafor's own closed-form value to be off by more than ``CLOSED_FORM`` (and acu_meta to
match the exact value to ``SECOND_ROUTE``; ``test_exact_arithmetic_on_ill_conditioned_designs``).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pytest
from _helpers import fixture_json
from _metafor import assert_close, close, tol_for
from tolerances import CLOSED_FORM, METAFOR_ROUNDING, Q_PROFILE, SECOND_ROUTE

from acu_meta import escalc, metareg

GAPS = fixture_json("metafor_gaps.json")
CASES = GAPS["metareg"]

#: DL / HS meta-regressions on a year moderator (ill-conditioned X'WX) where metafor's tau2,
#: intercept or R2 is off the 60-digit value by more than CLOSED_FORM (measured below).
METAFOR_OFF = frozenset(f"{s}-{t}" for s in ("bcg_RR-ablat+year-DL", "bcg_OR-ablat+year-HS",
                                              "hackshaw1998_OR-year-HS",
                                              "hackshaw1998_OR-year+cohort-HS")
                        for t in ("z", "knha"))


def _fit(case):
    d = GAPS["datasets"][case["dataset"]]
    es = escalc("GEN", yi=d["yi"], vi=d["vi"], study=d["study"])
    mods = pd.DataFrame({m: np.asarray(d[m], float) for m in case["mods"]})
    return metareg(es, mods, method=case["method"], hksj=case["test"] == "knha")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_metareg_against_metafor(case):
    res = _fit(case)
    tol = METAFOR_ROUNDING if case["id"] in METAFOR_OFF else tol_for(case["method"])
    assert res.k == case["k"] and len(res.beta) == case["p"]
    assert list(res.names) == case["coef_names"]
    for key, got in (("beta", res.beta), ("se", res.se), ("zval", res.statistic),
                     ("pval", res.p_value), ("ci_lb", res.ci_low), ("ci_ub", res.ci_high),
                     ("vb", res.vb.T.ravel())):  # vb: R's column-major order
        for i, (g, w) in enumerate(zip(got, case[key], strict=True)):
            assert_close(g, w, tol, f"{key}[{i}]")
    for key, got in (("tau2", res.tau2), ("se_tau2", res.se_tau2), ("QE", res.QE),
                     ("QEp", res.QE_p), ("QM", res.QM), ("QMp", res.QM_p), ("I2", res.I2),
                     ("H2", res.H2), ("R2", res.R2), ("vt", res.vt), ("s2w", res.s2_hksj)):
        assert_close(got, case[key], tol, key)
    assert res.QE_df == case["QEdf"]
    df2 = None if case["test"] == "z" else res.QM_df2
    assert [res.QM_df, df2] == case["QMdf"]


def test_fe_r2_is_the_adjusted_r2_of_the_weighted_regression():
    """metafor's FE R2 is 100 max(0, adjusted R2) of lm(yi ~ X, weights = 1/vi); the README
    of validation/metafor quotes 83.22 for bcg_OR ~ ablat. Here the same number by a second
    route: numpy's least squares on sqrt(w)-scaled data, R2 from the residual and total sums."""
    case = next(c for c in CASES if c["id"] == "bcg_OR-ablat-FE-z")
    assert round(case["R2"], 2) == 83.22
    d = GAPS["datasets"]["bcg_OR"]
    y, v, x = (np.asarray(d[c], float) for c in ("yi", "vi", "ablat"))
    sw = np.sqrt(1 / v)
    X = np.column_stack([np.ones_like(x), x])
    coef, rss, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    ybar = np.sum(y / v) / np.sum(1 / v)
    tss = np.sum((y - ybar) ** 2 / v)
    k, p = X.shape
    adj = 1 - (rss[0] / (k - p)) / (tss / (k - 1))
    res = _fit(case)
    assert close(res.R2, 100 * adj, CLOSED_FORM)
    assert close(res.R2, case["R2"], CLOSED_FORM)
    # never 0 any more (issue #15: FE meta-regression R2 was always 0)
    assert all(_fit(c).R2 > 0 for c in CASES if c["method"] == "FE" and c["R2"] > 0)


CI_CASES = [c for c in CASES if c["method"] != "FE"]


@pytest.mark.parametrize("case", CI_CASES, ids=[c["id"] for c in CI_CASES])
def test_q_profile_interval_of_the_residual_tau2(case):
    res = _fit(case)
    if case["tau2_ci_null"]:
        assert res.tau2_ci == (0.0, 0.0)
    truncated = case["tau2_ci_ub_sign"] == ">"
    for key, got in (("tau2_ci_lb", res.tau2_ci[0]), ("tau2_ci_ub", res.tau2_ci[1]),
                     ("I2_ci_lb", res.I2_ci[0]), ("I2_ci_ub", res.I2_ci[1]),
                     ("H2_ci_lb", res.H2_ci[0]), ("H2_ci_ub", res.H2_ci[1])):
        if truncated and key.endswith("_ub"):
            # metafor stops its search at max(100, 10 tau2) and prints "> bound" (the known
            # divergence of validation/metafor/README.md): acu_meta's bound lies beyond it
            assert got >= case[key] * (1 - CLOSED_FORM), f"{key}: {got} < {case[key]}"
            continue
        assert_close(got, case[key], Q_PROFILE, key)


def test_summary_prints_the_se_and_the_q_profile_interval():
    case = next(c for c in CASES if c["id"] == "bcg_OR-ablat-REML-z")
    res = _fit(case)
    text = res.summary()
    assert f"{case['tau2']:.4f} (SE = {case['se_tau2']:.4f})" in text
    assert (f"tau^2 95% CI (Q-profile): {case['tau2_ci_lb']:.4f} to {case['tau2_ci_ub']:.4f}"
            in text)
    assert f"R^2 (amount of heterogeneity accounted for):            {case['R2']:.2f}%" in text
    fe = _fit(next(c for c in CASES if c["id"] == "bcg_OR-ablat-FE-z"))
    assert fe.summary().startswith("Fixed-Effects Model (k = 13)")
    assert "Q-profile" not in fe.summary() and math.isnan(fe.se_tau2)
    assert math.isnan(fe.tau2_ci[0])


def test_an_ill_conditioned_design_keeps_its_digits():
    """A publication year with an intercept makes X'WX ill-conditioned (condition number above
    1e9): the coefficients of hackshaw1998 ~ year + cohort still match metafor's QR-based
    solution to CLOSED_FORM, and a shift of the year (an equivalent model) moves the slopes by
    no more than rounding."""
    case = next(c for c in CASES if c["id"] == "hackshaw1998_OR-year+cohort-FE-z")
    d = GAPS["datasets"]["hackshaw1998_OR"]
    X = np.column_stack([np.ones(len(d["yi"])), d["year"], d["cohort"]])
    assert np.linalg.cond((X.T / np.asarray(d["vi"])) @ X) > 1e9
    res = _fit(case)
    for g, w in zip(res.beta, case["beta"], strict=True):
        assert_close(g, w, CLOSED_FORM, "beta")
    es = escalc("GEN", yi=d["yi"], vi=d["vi"])
    shifted = metareg(es, pd.DataFrame({"year": np.asarray(d["year"]) - 1990.0,
                                        "cohort": d["cohort"]}), method="FE")
    for g, w in zip(shifted.beta[1:], res.beta[1:], strict=True):
        assert close(g, w, CLOSED_FORM)


# ------------------------------------------------------------------ 60-digit arithmetic


def _exact_residual_maker(w, X):
    """P = W - W X (X'WX)^-1 X'W in Decimals (Gauss-Jordan on X'WX)."""
    k, p = len(w), len(X[0])
    A = [[sum(X[i][a] * w[i] * X[i][b] for i in range(k)) for b in range(p)] for a in range(p)]
    M = [row[:] + [Decimal(int(a == b)) for b in range(p)] for a, row in enumerate(A)]
    for c in range(p):
        piv = next(r for r in range(c, p) if M[r][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        M[c] = [x / M[c][c] for x in M[c]]
        for r in range(p):
            if r != c and M[r][c] != 0:
                M[r] = [a - M[r][c] * b for a, b in zip(M[r], M[c], strict=True)]
    Ai = [row[p:] for row in M]
    WX = [[w[i] * X[i][a] for a in range(p)] for i in range(k)]
    H = [[sum(WX[i][a] * Ai[a][b] * WX[j][b] for a in range(p) for b in range(p))
          for j in range(k)] for i in range(k)]
    return [[(w[i] if i == j else 0) - H[i][j] for j in range(k)] for i in range(k)], Ai


def _exact(method, y, v, X):
    """tau2 (DL, HS, HE, SJ, FE) and the weighted least-squares beta at it, in the current
    decimal context."""
    k, p = len(y), len(X[0])

    def quad(P):
        return sum(y[i] * P[i][j] * y[j] for i in range(k) for j in range(k))

    if method in ("DL", "HS", "FE"):
        w = [1 / x for x in v]
        P, _ = _exact_residual_maker(w, X)
        denom = sum(P[i][i] for i in range(k)) if method == "DL" else sum(w)
        t = {"DL": (quad(P) - (k - p)) / denom, "HS": (quad(P) - k) / denom}.get(method, 0)
    elif method == "HE":
        R, _ = _exact_residual_maker([Decimal(1)] * k, X)
        t = (quad(R) - sum(R[i][i] * v[i] for i in range(k))) / (k - p)
    else:  # SJ
        ybar = sum(y) / k
        t0 = sum((a - ybar) ** 2 for a in y) / k
        t = t0 * quad(_exact_residual_maker([1 / (x + t0) for x in v], X)[0]) / (k - p)
    t = max(Decimal(0), t)
    w = [1 / (x + t) for x in v]
    _, Ai = _exact_residual_maker(w, X)
    Xwy = [sum(X[i][a] * w[i] * y[i] for i in range(k)) for a in range(p)]
    return t, [sum(Ai[a][b] * Xwy[b] for b in range(p)) for a in range(p)]


YEAR_CASES = [c for c in CASES if c["test"] == "z" and c["method"] in ("FE", "DL", "HS", "HE", "SJ")
              and "year" in c["mods"]]


@pytest.mark.parametrize("case", YEAR_CASES, ids=[c["id"] for c in YEAR_CASES])
def test_exact_arithmetic_on_ill_conditioned_designs(case):
    """On every closed-form meta-regression with a year moderator, acu_meta's tau2, beta and R2
    equal 60-digit decimal arithmetic on the same double inputs to SECOND_ROUTE; where metafor's
    value is off the exact one by more than CLOSED_FORM, the case is in METAFOR_OFF (and only
    then)."""
    d = GAPS["datasets"][case["dataset"]]
    with localcontext() as ctx:
        ctx.prec = 60  # 60 significant digits: rounding far below every tolerance here
        y = [Decimal(x) for x in d["yi"]]  # Decimal(float) is the double's exact value
        v = [Decimal(x) for x in d["vi"]]
        X = [[Decimal(1)] + [Decimal(float(d[m][i])) for m in case["mods"]]
             for i in range(len(y))]
        t, beta = _exact(case["method"], y, v, X)
        if case["method"] == "FE":
            R2 = None  # FE R2 is checked by a second route above
        else:
            t0, _ = _exact(case["method"], y, v, [[Decimal(1)] for _ in y])
            R2 = max(Decimal(0), 100 * (t0 - t) / t0) if t0 > 0 else Decimal(0)
    res = _fit(case)
    assert close(res.tau2, float(t), SECOND_ROUTE, SECOND_ROUTE * abs(float(t)) + 1e-300)
    for g, b in zip(res.beta, beta, strict=True):
        assert close(g, float(b), SECOND_ROUTE)
    metafor_off = not close(case["tau2"], float(t), CLOSED_FORM) or not all(
        close(g, float(b), CLOSED_FORM) for g, b in zip(case["beta"], beta, strict=True))
    if R2 is not None:
        assert close(res.R2, float(R2), SECOND_ROUTE)
        metafor_off |= not close(case["R2"], float(R2), CLOSED_FORM)
    assert metafor_off == (case["id"] in METAFOR_OFF)
