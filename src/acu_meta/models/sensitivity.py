"""Numeric core of sensitivity and small-study-effect analyses, as metafor 3.8.1.

Numbers only (numpy / scipy); the public result objects are in
:mod:`acu_meta.results.sensitivity`. Every refit goes through :func:`acu_meta.models.fit`, or,
for the k refits of leave-one-out, cumulative and influence analyses, through the batch engine
:func:`acu_meta.models.batch.fit_many` (:func:`refits`: one vectorized call, O(k^2), k = 400 in
well under a second), so iterative tau2 estimators always converge. Each function states the
metafor rule it follows (read from metafor's source, implemented from the definitions).

Functions
---------
:func:`refit`
    One intercept-only model summarised as a row of metafor's ``leave1out()`` / ``cumul()``.
:func:`leave_one_out`, :func:`cumulative`
    ``leave1out.rma.uni`` / ``cumul.rma.uni``: refits with the model's method, test and level.
:func:`influence_measures`
    ``influence.rma.uni``: rstudent, dffits, cook.d, cov.r, tau2.del, QE.del, hat, weight,
    dfbetas and metafor's influence flag.
:func:`regression_test`
    ``regtest``: the meta-regression on sei (or vi) with the model's method and test
    (``model="rma"``), or the classical weighted regression (``model="lm"``).
:func:`rank_test`
    ``ranktest``: Kendall's tau between standardized deviates and sampling variances.
:func:`trim_and_fill`
    ``trimfill.rma.uni``: estimators L0 and R0, side estimated as metafor does.
:func:`wls_regression`, :func:`pet_peese`
    PET (yi on sei) and PEESE (yi on vi), weighted least squares with multiplicative dispersion.
:func:`fail_safe_n`
    ``fsn``: Rosenthal (Stouffer or Fisher), Orwin, Rosenberg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import numeric
from ..errors import ModelError
from ..numeric import Z975, p_two_sided, pool_iv
from ..numeric import crit as _crit
from . import registry
from ._core import fit
from ._linalg import wls
from .batch import fit_many

_EPS = np.finfo(float).eps


# ------------------------------------------------------------------------------ one refit


@dataclass(frozen=True)
class Refit:
    """One intercept-only fit, as a row of metafor's ``leave1out()`` / ``cumul()`` output."""

    k: int
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    df: float  # t-test df (k - 1) or inf for z
    Q: float
    Q_p: float
    tau2: float
    I2: float
    H2: float
    s2w: float  # Knapp-Hartung scale factor (1 for z tests)


def _pval(stat: float, df: float) -> float:
    return math.nan if math.isnan(stat) else p_two_sided(stat, df)


def refit(y, v, method: str, hksj: bool, level: float) -> Refit:
    """Fit ``y``, ``v`` (intercept only) and summarise it as metafor's ``rma.uni`` would.

    metafor's rules for a single study (k = 1): the test falls back to z (``test="z"``, with a
    warning), tau2 = 0, Q = 0 with p = 1, I2 = 0 and H2 = 1.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    if k == 1:
        est, se = float(y[0]), float(math.sqrt(v[0]))
        stat = est / se
        crit = _crit(level, math.inf)
        return Refit(1, est, se, stat, _pval(stat, math.inf), est - crit * se, est + crit * se,
                     math.inf, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0)
    f = fit(y, v, method=method, hksj=hksj)
    est, se = float(f.beta[0]), float(math.sqrt(f.vb[0, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.divide(est, se))
    df = f.df if hksj else math.inf
    crit = _crit(level, df)
    return Refit(k, est, se, stat, _pval(stat, df), est - crit * se, est + crit * se, df,
                 f.QE, f.QE_p, f.tau2, f.I2, f.H2, f.s2_hksj)


#: Variances in [1 / _BATCH_RANGE, _BATCH_RANGE] and |effects| up to it go to the batch engine.
_BATCH_RANGE = 1e100
_SERIES = ("estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "df", "Q", "Q_p",
           "tau2", "I2", "H2")


def _stack(fits: list[Refit]) -> dict[str, np.ndarray]:
    return {n: np.array([getattr(f, n) for f in fits], dtype=float) for n in _SERIES}


def refits(Y, V, method: str, hksj: bool, level: float) -> list[Refit]:
    """:func:`refit` of every row of the ``(B, kmax)`` arrays *Y*, *V* (NaN: an absent study),
    through the batch engine :func:`acu_meta.models.batch.fit_many` (one vectorized call).

    Rows with one study follow metafor's k = 1 rule (as :func:`refit`); rows the batch engine
    could not fit, every row of a method without a batch function, and data with a variance or
    effect beyond ``1e+-100`` (:data:`_BATCH_RANGE`: the batch engine forms its sums without
    scaling, the single fit scales them) are refitted one by one with :func:`refit` (which
    raises what a single fit raises). The two engines agree to
    1e-10 (``tests/results/test_batch.py``); the refits are validated against metafor in
    ``tests/results/test_sensitivity.py``.
    """
    Y = np.asarray(Y, dtype=float)
    V = np.asarray(V, dtype=float)
    present = ~np.isnan(Y)
    y, v = Y[present], V[present]
    moderate = (v.size == 0 or (np.min(v) >= 1 / _BATCH_RANGE and np.max(v) <= _BATCH_RANGE
                                and np.max(np.abs(y)) <= _BATCH_RANGE))
    if registry.get(method).batch is None or not moderate:
        return [refit(y[m], v[m], method, hksj, level)
                for y, v, m in zip(Y, V, present, strict=True)]
    b = fit_many(Y, V, method=method, hksj=hksj)
    se = np.sqrt(b.var_beta)
    with np.errstate(divide="ignore", invalid="ignore"):  # R's IEEE x/0 (KnHa s2w = 0)
        stat = np.divide(b.beta, se)
    df = np.where(b.k > 1, b.k - 1.0, 1.0) if hksj else np.full(len(Y), math.inf)
    p = np.full(len(Y), math.nan)
    crit = np.empty(len(Y))
    for d in np.unique(df):  # one vectorized p-value and critical value per df
        at = (df == d) & ~np.isnan(stat)
        p[at] = p_two_sided(stat[at], float(d))
        crit[df == d] = _crit(level, float(d))
    q_p = numeric.chi2_sf(b.QE, np.maximum(b.k - 1, 1))
    out = []
    for i in range(len(Y)):
        k = int(b.k[i])
        if k <= 1 or not b.converged[i] or b.refitted[i]:
            out.append(refit(Y[i, present[i]], V[i, present[i]], method, hksj, level))
            continue
        est, e = float(b.beta[i]), float(se[i])
        out.append(Refit(k, est, e, float(stat[i]), float(p[i]), est - crit[i] * e,
                         est + crit[i] * e, float(df[i]), float(b.QE[i]), float(q_p[i]),
                         float(b.tau2[i]), float(b.I2[i]), float(b.H2[i]),
                         float(b.s2_hksj[i])))
    return out


def _leave_one_out_arrays(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row i: the studies other than i, in their order ((k, k - 1) arrays)."""
    k = len(y)
    keep = ~np.eye(k, dtype=bool)
    return (np.broadcast_to(y, (k, k))[keep].reshape(k, k - 1),
            np.broadcast_to(v, (k, k))[keep].reshape(k, k - 1))


def leave_one_out(y, v, method: str, hksj: bool, level: float) -> dict[str, np.ndarray]:
    """metafor's ``leave1out.rma.uni``: refit without each study in turn.

    Each refit uses the model's tau2 method, test (z or Knapp-Hartung) and level. Returns
    arrays keyed estimate, se, statistic, p_value, ci_low, ci_high, df, Q, Q_p, tau2, I2, H2.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    if k < 2:
        raise ModelError("leave-one-out needs at least 2 studies (metafor: stopped because k = 1)")
    return _stack(refits(*_leave_one_out_arrays(y, v), method, hksj, level))


def cumulative_order(keys, decreasing: bool = False) -> np.ndarray:
    """Indices sorting *keys* as R's ``order(keys, decreasing=)``: stable, ties keep input order."""
    keys = list(keys)
    return np.array(sorted(range(len(keys)), key=lambda i: keys[i], reverse=decreasing), dtype=int)


def cumulative(y, v, method: str, hksj: bool, level: float,
               order=None) -> dict[str, np.ndarray]:
    """metafor's ``cumul.rma.uni``: fit the first 1, 2, ..., k studies in the given order.

    ``order`` is an index array (a permutation of ``range(k)``); None keeps the input order.
    Refits use the model's method, test and level (a single study: see :func:`refit`).
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    idx = np.arange(len(y)) if order is None else np.asarray(order, dtype=int)
    if sorted(idx.tolist()) != list(range(len(y))):
        raise ValueError("order must be a permutation of the studies")
    ys, vs = y[idx], v[idx]
    first = np.tri(len(y), dtype=bool)  # row i: the first i + 1 studies, the rest absent (NaN)
    out = _stack(refits(np.where(first, ys, np.nan), np.where(first, vs, np.nan), method, hksj,
                        level))
    out["order"] = idx
    return out


# ------------------------------------------------------------------------------ influence


def influence_measures(y, v, method: str, hksj: bool, level: float) -> dict[str, np.ndarray]:
    """metafor's ``influence.rma.uni`` for an intercept-only model (p = 1).

    With b, vb (Knapp-Hartung-scaled when ``hksj``), tau2 and w_i = 1 / (v_i + tau2) from the
    full fit, and b_(-i), vb_(-i), tau2_(-i), s2w_(-i), QE_(-i) from the refit without study i
    (same method and test; a refit of one study uses z, so s2w = 1):

    * hat_i = w_i / sum(w); weight_i = 100 hat_i.
    * rstudent_i = (y_i - b_(-i)) / sqrt(v_i s2w_(-i) + vb_(-i) + tau2_(-i) s2w_(-i)) -- the
      studentized deleted residual uses the leave-one-out tau2 (and the residual is set to 0
      when below 100 machine epsilons, as metafor).
    * dffits_i = (b - b_(-i)) / sqrt(s2w_(-i) hat_i (tau2_(-i) + v_i)) (hat of the full model).
    * dfbs_i (DFBETAS) = (b - b_(-i)) / sqrt(s2w_(-i) / sum_j 1 / (v_j + tau2_(-i))), the sum
      over all k studies.
    * cook.d_i = (b - b_(-i))^2 / vb; cov.r_i = vb_(-i) / vb.
    * influential (metafor's ``"*"``): |dffits| > 3 sqrt(p / (k - p)), or
      pchisq(cook.d, 1) > 0.5, or hat > 3 p / k, or |dfbs| > 1.
    * outlier: |rstudent| > qnorm(0.975), the reference lines of metafor's
      ``plot(influence(res))`` (metafor marks no outliers itself).
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k, p = len(y), 1
    if k < 2:
        raise ModelError("influence diagnostics need at least 2 studies")
    full = fit(y, v, method=method, hksj=hksj)
    b, vb, tau2 = float(full.beta[0]), float(full.vb[0, 0]), full.tau2
    w = 1.0 / (v + tau2)
    hat = w / w.sum()
    names = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "dfbs")
    out = {n: np.full(k, np.nan) for n in names}
    deleted = refits(*_leave_one_out_arrays(y, v), method, hksj, level)
    for i, d in enumerate(deleted):
        bi, vbi, t2i, s2i, QEi = d.estimate, d.se**2, d.tau2, d.s2w, d.Q
        resid = y[i] - bi
        if abs(resid) < 100 * _EPS:
            resid = 0.0
        vb_del = 1.0 / float(np.sum(1.0 / (v + t2i)))
        with np.errstate(divide="ignore", invalid="ignore"):  # R's IEEE 0/0, x/0 (KnHa s2w = 0)
            d = np.float64(b - bi)
            out["rstudent"][i] = resid / np.sqrt(np.float64(v[i] * s2i + vbi + t2i * s2i))
            out["dffits"][i] = d / np.sqrt(np.float64(s2i * hat[i] * (t2i + v[i])))
            out["dfbs"][i] = d / np.sqrt(np.float64(s2i * vb_del))
            out["cook_d"][i] = d**2 / np.float64(vb)
            out["cov_r"][i] = np.float64(vbi) / np.float64(vb)
        out["tau2_del"][i] = t2i
        out["QE_del"][i] = QEi
    out["hat"] = hat
    out["weight"] = 100 * hat
    out["influential"], out["outlier"] = _influence_flags(out, hat, k, p)
    out["tau2"] = np.float64(tau2)
    out["QE"] = np.float64(full.QE)
    return out


def _influence_flags(out: dict, hat: np.ndarray, k: int, p: int):
    """metafor's influence flag and the |rstudent| > qnorm(0.975) outlier flag."""
    with np.errstate(invalid="ignore"):
        infl = ((np.abs(out["dffits"]) > 3 * math.sqrt(p / (k - p)))
                | (numeric.chi2_cdf(out["cook_d"], p) > 0.5)
                | (hat > 3 * p / k)
                | (np.abs(out["dfbs"]) > 1))
        return infl & ~np.isnan(out["dffits"]), np.abs(out["rstudent"]) > Z975


# ------------------------------------------------------------------------------ regression tests


@dataclass(frozen=True)
class RegressionTest:
    """Egger-type regression test (metafor's ``regtest``)."""

    model: str  # "rma" or "lm"
    predictor: str  # "sei" or "vi"
    method: str
    statistic: float  # z (or t) of the predictor's coefficient
    df: float  # residual df of the t test, inf for z
    p_value: float
    limit_estimate: float  # the intercept (effect as sei -> 0 or vi -> 0)
    limit_ci_low: float
    limit_ci_high: float
    slope: float
    slope_se: float
    intercept_se: float
    tau2: float  # residual tau2 of the meta-regression (nan for "lm")
    k: int


def regression_test(y, v, method: str = "REML", hksj: bool = False, level: float = 0.95,
                    model: str = "rma", predictor: str = "sei") -> RegressionTest:
    """metafor's ``regtest``.

    ``model="rma"`` (metafor's default): the meta-regression ``y ~ 1 + sei`` (or ``+ vi``) fitted
    with the *model's* tau2 method and test; tau2 is re-estimated in that model (residual
    heterogeneity, not the tau2 of the model being tested). The test is the Wald z (or, for
    Knapp-Hartung models, t on k - 2 df) of the predictor; the limit estimate is the intercept
    with the model's CI.

    ``model="lm"``: the classical Egger test, ``lm(y ~ 1 + sei, weights = 1/v)``: weighted least
    squares with multiplicative dispersion, t on k - 2 df; the limit estimate's CI uses that t.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    if predictor not in ("sei", "vi"):
        raise ValueError("predictor must be 'sei' or 'vi'")
    if model not in ("rma", "lm"):
        raise ValueError("model must be 'rma' or 'lm'")
    if k < 3:
        raise ModelError("the regression test needs at least 3 studies")
    x = np.sqrt(v) if predictor == "sei" else v
    if np.ptp(x) == 0:
        raise ModelError("all studies have the same precision: the predictor is constant")
    X = np.column_stack([np.ones(k), x])
    if model == "rma":
        f = fit(y, v, X=X, method=method, hksj=hksj)
        beta, vb, df, tau2 = f.beta, f.vb, f.df if hksj else math.inf, f.tau2
        used = f.method
    else:
        c = wls_regression(y, v, x)
        beta, vb, df, tau2, used = c["beta"], c["vcov"], c["df"], math.nan, "FE"
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.divide(beta[1], se[1]))
    crit = _crit(level, df)
    return RegressionTest(
        model=model, predictor=predictor, method=used, statistic=stat, df=float(df),
        p_value=_pval(stat, df), limit_estimate=float(beta[0]),
        limit_ci_low=float(beta[0] - crit * se[0]), limit_ci_high=float(beta[0] + crit * se[0]),
        slope=float(beta[1]), slope_se=float(se[1]), intercept_se=float(se[0]),
        tau2=float(tau2), k=k,
    )


def wls_regression(y, v, x) -> dict:
    """``lm(y ~ x, weights = 1/v)``: coefficients, their covariance (scaled by the residual
    mean square, i.e. multiplicative dispersion), t statistics and p-values on k - 2 df."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    if k < 3:
        raise ModelError("a weighted regression with a slope needs at least 3 studies")
    X = np.column_stack([np.ones(k), np.asarray(x, dtype=float)])
    try:
        f = wls(y, X, 1.0 / v)
    except ModelError as err:
        raise ModelError("the predictor is constant") from err
    beta = f.beta
    df = k - 2
    s2 = f.rss / df
    vcov = s2 * f.Ainv
    se = np.sqrt(np.diag(vcov))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    p = np.array([_pval(float(ti), df) for ti in t])
    return {"beta": beta, "vcov": vcov, "se": se, "t": t, "p": p, "df": float(df), "s2": s2}


# ------------------------------------------------------------------------------ rank test


# Above these sizes (issue #17's fuzz campaign: ``pool --bias`` on 100,000 studies ran out of
# memory): tau-b from scipy's O(n log n) count instead of the n x n sign matrices (the same
# definition; equal to 1e-16), and the normal approximation instead of the exact permutation
# distribution, whose O(n^3) recursion takes about 1 s at n = 500 and 13 s at n = 1000 (the
# approximation's p differs from it by < 1e-3 there; ``exact`` is then False, as R's cor.test
# says when it does not use the exact test).
KENDALL_PAIRS_MAX = 2000
KENDALL_EXACT_MAX = 500


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    n = len(x)
    if n > KENDALL_PAIRS_MAX:
        from scipy.stats import kendalltau  # loads scipy.stats on first use only
        return float(kendalltau(x, y).statistic)
    iu = np.triu_indices(n, 1)
    dx = np.sign(x[:, None] - x[None, :])[iu]
    dy = np.sign(y[:, None] - y[None, :])[iu]
    s = float(np.sum(dx * dy))
    t0 = n * (n - 1) / 2
    nx, ny = float(np.sum(dx == 0)), float(np.sum(dy == 0))
    den = math.sqrt((t0 - nx) * (t0 - ny))
    return s / den if den > 0 else math.nan


def kendall_cdf(q: float, n: int) -> float:
    """P(C <= q) for the number C of concordant pairs among n untied pairs (R's ``pkendall``):
    the Mahonian distribution of the number of inversions of a random permutation."""
    tmax = n * (n - 1) // 2
    if q < 0:
        return 0.0
    if q >= tmax:
        return 1.0
    dist = np.array([1.0])
    for m in range(2, n + 1):
        c = np.concatenate([[0.0], np.cumsum(dist)])  # c[j] = sum(dist[:j])
        size = len(dist) + m - 1
        idx = np.arange(size)
        hi = np.minimum(idx + 1, len(dist))
        lo = np.maximum(idx - m + 1, 0)
        dist = (c[hi] - c[lo]) / m
    return float(min(1.0, np.sum(dist[: int(math.floor(q)) + 1])))


def kendall_test(x, y, exact: bool = True) -> tuple[float, float, float, bool]:
    """R's ``cor.test(x, y, method="kendall", exact=exact)``, two-sided.

    Returns (tau, statistic, p, used_exact). Without ties and ``exact``: T = the number of
    concordant pairs, exact p from the permutation distribution. With ties (in x or y) R falls
    back, with a warning, to the normal approximation of S with the tie-corrected variance (no
    continuity correction); so does this function.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    tau = _kendall_tau_b(x, y)
    if math.isnan(tau):
        return math.nan, math.nan, math.nan, False
    ties = min(len(np.unique(x)), len(np.unique(y))) < n
    if exact and not ties and n <= KENDALL_EXACT_MAX:
        q = round((tau + 1) * n * (n - 1) / 4)
        if q > n * (n - 1) / 4:
            p = 1 - kendall_cdf(q - 1, n)
        else:
            p = kendall_cdf(q, n)
        return tau, float(q), min(2 * p, 1.0), True

    def tie_sizes(a):
        _, counts = np.unique(a, return_counts=True)
        return counts[counts > 1].astype(float)

    tx, ty = tie_sizes(x), tie_sizes(y)
    t0 = n * (n - 1) / 2
    t1 = float(np.sum(tx * (tx - 1))) / 2
    t2 = float(np.sum(ty * (ty - 1))) / 2
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(tx * (tx - 1) * (2 * tx + 5)))
    vu = float(np.sum(ty * (ty - 1) * (2 * ty + 5)))
    v1 = float(np.sum(tx * (tx - 1))) * float(np.sum(ty * (ty - 1)))
    v2 = float(np.sum(tx * (tx - 1) * (tx - 2))) * float(np.sum(ty * (ty - 1) * (ty - 2)))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + (
        v2 / (9 * n * (n - 1) * (n - 2)) if n > 2 else 0.0)
    z = s / math.sqrt(var_s)
    p = 2 * min(numeric.norm_cdf(z), numeric.norm_sf(z))
    return tau, z, float(p), False


def rank_test(y, v, exact: bool = True) -> tuple[float, float, float, bool]:
    """metafor's ``ranktest`` (Begg & Mazumdar): Kendall's tau between the standardized
    deviates ``(y_i - b) / sqrt(v_i - vb)`` (b, vb the fixed-effect estimate and its variance,
    whatever the model's method) and the sampling variances ``v_i``; metafor 3.8 calls
    ``cor.test(..., method="kendall", exact=TRUE)``. Returns (tau, statistic, p, used_exact)."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if len(y) < 3:
        raise ModelError("the rank correlation test needs at least 3 studies")
    fe = pool_iv(y, v)
    ystar = (y - fe.estimate) / np.sqrt(v - fe.se**2)
    return kendall_test(ystar, v, exact=exact)


# ------------------------------------------------------------------------------ trim and fill


@dataclass(frozen=True)
class TrimFill:
    """Trim-and-fill: the estimated missing studies and the filled data."""

    estimator: str
    side: str  # side on which studies are missing ("left" or "right")
    side_estimated: bool
    k0: int
    se_k0: float
    p_k0: float  # R0 only: P(k0 or more missing | none missing); nan for L0
    iterations: int
    yi: np.ndarray  # observed studies (input order) followed by the filled ones
    vi: np.ndarray
    filled: np.ndarray  # bool mask, True for filled studies
    fill_source: np.ndarray  # index of the observed study each filled one mirrors


def estimate_side(y, v, method: str) -> str:
    """metafor's rule: fit ``y ~ 1 + sqrt(v)`` with the model's tau2 method; missing studies are
    on the right when the slope is negative, else on the left."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    if np.ptp(v) == 0:
        raise ModelError("cannot estimate the side of the missing studies: all studies have the "
                         "same precision (metafor fails too); give side='left' or 'right'")
    X = np.column_stack([np.ones(len(y)), np.sqrt(v)])
    f = fit(y, v, X=X, method=method)
    return "right" if f.beta[1] < 0 else "left"


def trim_and_fill(y, v, method: str = "REML", estimator: str = "L0", side: str | None = None,
                  maxiter: int = 100) -> TrimFill:
    """metafor's ``trimfill.rma.uni`` (Duval & Tweedie 2000).

    Rules (metafor 3.8.1):

    * side: given, or estimated by :func:`estimate_side` (the sign of the slope on sqrt(v)).
      For side "right" the effects are negated, so the algorithm always trims the right tail.
    * Effects are sorted (stable). Iterate: fit the model (same tau2 method) to the k - k0
      smallest effects; centre all k effects at that estimate b; rank |y - b| (ties by order,
      R's ``ties.method="first"``); signed ranks.
      L0: k0 = (4 S_r - k (k + 1)) / (2k - 1), S_r the sum of the positive signed ranks,
      se(k0) = 4 sqrt(var(S_r)) / (2k - 1).
      R0: k0 = k - (largest rank among negative deviations) - 1, se(k0) = sqrt(2 max(0, k0) + 2)
      and p(k0) = 0.5^(k0 + 1).
      k0 = max(0, round(k0)); repeat until k0 no longer changes (at most *maxiter* times).
    * Filled studies mirror the k0 most extreme effects about the last b: ``2 b - y``, with the
      same sampling variances; they are appended after the observed studies.
    """
    y0 = np.asarray(y, dtype=float)
    v0 = np.asarray(v, dtype=float)
    estimator = estimator.upper()
    if estimator not in ("L0", "R0"):
        raise ValueError("estimator must be 'L0' or 'R0'")
    k = len(y0)
    if k < 2:
        raise ModelError("trim and fill needs at least 2 studies (metafor: stopped because k = 1)")
    side_estimated = side is None
    if side is None:
        side = estimate_side(y0, v0, method)
    if side not in ("left", "right"):
        raise ValueError("side must be 'left', 'right' or None")
    ys = -y0 if side == "right" else y0.copy()
    ix = np.argsort(ys, kind="stable")
    ys, vs = ys[ix], v0[ix]
    k0, se_k0, beta, it = _trim_iterations(ys, vs, method, estimator, maxiter)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else math.nan
    if k0 > 0:
        fill = 2 * beta - ys[k - k0:]
        if side == "right":
            fill = -fill
        src = ix[k - k0:]
        yi = np.concatenate([y0, fill])
        vi = np.concatenate([v0, vs[k - k0:]])
    else:
        src = np.array([], dtype=int)
        yi, vi = y0.copy(), v0.copy()
    filled = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
    return TrimFill(estimator=estimator, side=side, side_estimated=side_estimated, k0=int(k0),
                    se_k0=float(se_k0), p_k0=float(p_k0), iterations=it, yi=yi, vi=vi,
                    filled=filled, fill_source=np.asarray(src, dtype=int))


def _signed_ranks(yc: np.ndarray) -> np.ndarray:
    """Ranks of |yc| (ties by order, R's ``ties.method="first"``) with the signs of yc."""
    ranks = np.empty(len(yc))
    ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, len(yc) + 1)
    return np.sign(yc) * ranks


def _k0_l0(signed: np.ndarray, k: int) -> tuple[float, float]:
    """L0: k0 = (4 S_r - k (k + 1)) / (2k - 1) and its SE."""
    sr = float(np.sum(signed[signed > 0]))
    k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0f**3 + 27 * k0f**2 + 17 * k0f
              - 18 * k * k0f**2 - 18 * k * k0f + 6 * k**2 * k0f) / 24
    return k0f, 4 * math.sqrt(var_sr) / (2 * k - 1) if var_sr >= 0 else math.nan


def _k0_r0(signed: np.ndarray, k: int) -> tuple[float, float]:
    """R0: k0 = k - (largest rank among negative deviations) - 1 and its SE."""
    neg = -signed[signed < 0]
    if len(neg) == 0 and np.any(signed > 0):
        # metafor stops here (max() of no ranks is -Inf, so k0 = Inf)
        raise ModelError("trim and fill (R0): no study below the trimmed estimate")
    # every study on the estimate: no run of positive ranks, k0 = 0
    k0f = (k - float(np.max(neg))) - 1 if len(neg) else -1.0
    return k0f, math.sqrt(2 * max(0.0, k0f) + 2)


_K0 = {"L0": _k0_l0, "R0": _k0_r0}


def _trim_iterations(ys, vs, method: str, estimator: str, maxiter: int):
    """Iterate trim (fit the k - k0 smallest) and count (k0) until k0 is stable, on sorted
    effects. Returns k0, se(k0), the last estimate b and the number of iterations."""
    k = len(ys)
    k0_prev, k0, it = -1, 0, 0
    beta, se_k0 = math.nan, math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ModelError("trim and fill algorithm did not converge")
        if k - k0 < 1:
            raise ModelError("trim and fill trimmed every study")
        if k - k0 == 1:
            beta = float(ys[0])
        else:
            beta = float(fit(ys[: k - k0], vs[: k - k0], method=method).beta[0])
        k0f, se_k0 = _K0[estimator](_signed_ranks(ys - beta), k)
        k0 = max(0, round(k0f))
        se_k0 = max(0.0, se_k0) if not math.isnan(se_k0) else math.nan
    return k0, se_k0, beta, it


# ------------------------------------------------------------------------------ PET-PEESE


def pet_peese(y, v, alpha: float = 0.10) -> dict:
    """PET and PEESE (Stanley & Doucouliagos 2014) as weighted least squares (weights 1/v) with
    multiplicative dispersion, t tests on k - 2 df.

    PET: ``y ~ 1 + sei``; PEESE: ``y ~ 1 + vi``; the intercept is the bias-corrected effect.
    Conditional rule implemented: use PEESE when PET's intercept differs from 0 with a
    two-sided p < *alpha* (default 0.10, i.e. a one-sided p < 0.05 in the direction of the PET
    estimate), else PET.
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    pet = wls_regression(y, v, np.sqrt(v))
    peese = wls_regression(y, v, v)
    use_peese = bool(pet["p"][0] < alpha)
    return {"pet": pet, "peese": peese, "selected": "PEESE" if use_peese else "PET"}


# ------------------------------------------------------------------------------ fail-safe N


def _r_zeroin(f, a: float, b: float, fa: float, fb: float, tol: float,
              maxit: int = 1000) -> float:
    """Brent's root finder exactly as R's C ``R_zeroin2`` (behind ``uniroot``), step by step,
    so that functions with several roots give R's root."""
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ModelError("root finding did not converge")


def _r_uniroot_up(f, lower: float, upper: float) -> float:
    """R's ``uniroot(f, c(lower, upper), extendInt = "upX")`` with the default tolerance
    (``.Machine$double.eps^0.25``): while f(upper) < 0 the upper end is widened as R does
    (steps of 0.01 max(1e-4, |upper|), doubled before each step)."""
    tol = _EPS**0.25
    flo, fup = f(lower), f(upper)
    delta = 0.01 * max(1e-4, abs(upper))
    for _ in range(1000):
        if not fup < 0:
            break
        delta *= 2
        upper += delta
        fup = f(upper)
    return _r_zeroin(f, lower, upper, flo, fup, tol)


def _fsn_round(x: float) -> float:
    """metafor: ceiling, unless within sqrt(machine epsilon) of an integer (then round)."""
    if math.isinf(x):
        return x
    if abs(x - round(x)) >= math.sqrt(_EPS):
        return float(math.ceil(x))
    return float(round(x))


def fail_safe_n(y, v=None, type: str = "Rosenthal", alpha: float = 0.05,
                target: float | None = None, weighted: bool = False,
                test: str = "Stouffer") -> dict:
    """metafor's ``fsn``.

    * Rosenthal, Stouffer (default): z_i = y_i / sqrt(v_i), Z = |sum z_i| / sqrt(k) (one-sided
      p = 1 - Phi(Z)); N = max(0, k (Z / z_(1-alpha))^2 - k).
    * Rosenthal, Fisher: N solves p_Fisher(p_1..p_k, N studies with p = 0.5) = alpha, p_i the
      one-sided p of |z_i| (0 when the observed combined p >= alpha).
    * Orwin: mean effect (unweighted, or weighted by 1/v with ``weighted=True``);
      target defaults to half of it (sign matched to the mean); N = max(0, k (mean - target) /
      target); Inf when target = 0.
    * Rosenberg: fixed-effect estimate b with z = b sqrt(sum w); N = max(0, k ((sum w y /
      z_(1-alpha/2))^2 - sum w) / sum w).

    N is rounded up (metafor: ceiling unless within sqrt(eps) of an integer). Returns a dict
    with fsnum, p_value, mean_effect, target, k.
    """
    y = np.asarray(y, dtype=float)
    k = len(y)
    type_ = type.capitalize() if type.lower() != "rem" else "REM"
    if type_ == "Rem" or type_ == "REM":
        raise NotImplementedError("fsn type 'REM' is simulation-based (random draws) and is not "
                                  "implemented")
    if type_ not in ("Rosenthal", "Orwin", "Rosenberg"):
        raise ValueError("type must be 'Rosenthal', 'Orwin' or 'Rosenberg'")
    needs_v = type_ in ("Rosenthal", "Rosenberg") or weighted
    if needs_v:
        if v is None:
            raise ValueError(f"fsn type {type_} needs the sampling variances")
        v = np.asarray(v, dtype=float)
    if k == 0:
        raise ModelError("no studies")
    pval = mean = tgt = math.nan
    if type_ == "Rosenthal":
        fsnum, pval = _fsn_rosenthal(y, v, alpha, test)
    elif type_ == "Orwin":
        fsnum, mean, tgt = _fsn_orwin(y, v, target, weighted)
    else:
        fsnum, pval, mean = _fsn_rosenberg(y, v, alpha)
    return {"type": type_, "fsnum": _fsn_round(fsnum), "p_value": pval, "mean_effect": mean,
            "target": tgt, "k": k}


def _fsn_rosenthal(y, v, alpha: float, test: str) -> tuple[float, float]:
    """Rosenthal's N (Stouffer or Fisher combination) and the combined p-value."""
    k = len(y)
    zi = y / np.sqrt(v)
    if test.capitalize() == "Stouffer":
        zavg = abs(float(np.sum(zi))) / math.sqrt(k)
        return max(0.0, k * (zavg / numeric.norm_isf(alpha)) ** 2 - k), float(numeric.norm_sf(zavg))
    if test.capitalize() != "Fisher":
        raise ValueError("test must be 'Stouffer' or 'Fisher'")
    # metafor's .fsn.fisher: the N added studies enter as rep(0.5, N), which R truncates to
    # floor(N), while the df 2 (k + N) use N itself; the function is a saw-tooth with several
    # roots, so the root found depends on the search path. metafor takes uniroot(interval =
    # c(0, 1000), extendInt = "upX") with its default tolerance; R's zeroin is reproduced step
    # by step (_r_zeroin) to land on the same root.
    logp = float(np.sum(np.log(numeric.norm_sf(np.abs(zi)))))

    def fisher(n):
        x2 = -2 * (logp + math.floor(n) * math.log(0.5))
        return float(numeric.chi2_sf(x2, 2 * (k + n))) - alpha

    pval = float(numeric.chi2_sf(-2 * logp, 2 * k))
    return (0.0 if pval >= alpha else _r_uniroot_up(fisher, 0.0, 1000.0)), pval


def _fsn_orwin(y, v, target, weighted: bool) -> tuple[float, float, float]:
    """Orwin's N, the mean effect (weighted: the fixed-effect estimate) and the target."""
    mean = pool_iv(y, v).estimate if weighted else float(np.mean(y))
    tgt = mean / 2 if target is None else float(target)
    if tgt == 0:
        return math.inf, mean, tgt
    if np.sign(tgt) != np.sign(mean):
        tgt = -tgt
    return max(0.0, len(y) * (mean - tgt) / tgt), mean, tgt


def _fsn_rosenberg(y, v, alpha: float) -> tuple[float, float, float]:
    """Rosenberg's N, the p-value of the fixed-effect estimate and that estimate."""
    fe = pool_iv(y, v)
    w = 1.0 / v
    wp = (float(np.sum(w * y)) / numeric.norm_isf(alpha / 2)) ** 2 - float(np.sum(w))
    return max(0.0, len(y) * wp / float(np.sum(w))), p_two_sided(fe.estimate / fe.se), fe.estimate


# ------------------------------------------------------------------------------ Baujat


def baujat_coordinates(y, v, estimate: float, tau2: float, method: str,
                       hksj: bool) -> tuple[np.ndarray, np.ndarray]:
    """metafor's ``baujat.rma``: each study's share of Q (x) and influence on the estimate (y).

    ``x_i = (y_i - b)^2 / (v_i + tau2)`` with the full model's estimate b and tau2 (the terms
    of the generalized Q); ``y_i = (b - b_(-i))^2 / vb_(-i)``, b_(-i) and vb_(-i) from
    :func:`leave_one_out` (same method and test). Validated against metafor 3.8.1 ``baujat()``
    on dat.bcg (FE, DL, REML; ``tests/plots/test_plots.py``).
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    loo = leave_one_out(y, v, method, hksj, 0.95)  # the level does not enter b or vb
    x = (y - estimate) ** 2 / (v + tau2)
    return x, (estimate - loo["estimate"]) ** 2 / loo["se"] ** 2
