"""Subgroup analysis (test of subgroup difference) and meta-regression (mixed-effects models).

Subgroups, separate tau2 (default): each subgroup is pooled on its own; the test of subgroup
difference is Cochran's Q over the subgroup estimates with weights 1/se^2 on G - 1 df (as
RevMan and meta; equal to metafor's ``rma(yi=b_g, sei=se_g, method="FE")$QE``).
Subgroups, common tau2: a mixed-effects meta-regression on subgroup indicators (one tau2), and
the omnibus test of the indicators (metafor's QM, an F test under HKSJ).

Meta-regression: ``y = X beta + u + e``, tau2 by any estimator (with its SE), Wald z (or
Knapp-Hartung t/F) tests, QE for residual heterogeneity, QM for the moderators, the Q-profile
interval of the residual tau2 (with I2 and H2), and R2 as metafor 3.8.1: for a random- or
mixed-effects method the pseudo-R2 ``100 (tau2_RE - tau2_ME) / tau2_RE`` (floored at 0; 0 when
tau2_RE = 0), for FE ``100 max(0, adjusted R2)`` of the weighted least-squares regression
``lm(yi ~ X, weights = 1/vi)``, i.e. ``1 - (QE / (k - p)) / (Q_0 / (k - 1))`` with Q_0 the
heterogeneity statistic of the intercept-only FE model.

Numerics: the model is fitted on a well-conditioned copy of the design (each moderator centred
and scaled, an invertible linear map ``X -> X M^-1`` that leaves tau2, QE, QM, I2, H2, the SE
of tau2 and the Q-profile interval unchanged in exact arithmetic); the coefficients and their
covariance are mapped back (``beta = M beta_c``, ``vb = M vb_c M'``). Moderators such as a
publication year (~2000, with an intercept) otherwise make ``X'WX`` ill-conditioned and cost
digits that metafor's QR-based solution keeps.

Validated against metafor 3.8.1 on dat.bcg (alloc subgroups; ablat meta-regression):
``tests/fixtures/metafor_reference.json``, checked in ``tests/models/test_metafor_reference.py``
and ``tests/results/test_moderators_metafor.py``; and on the ``metareg`` family of
``tests/fixtures/metafor_gaps.json`` (20 moderator sets x FE and 8 estimators x tests z and
knha, with the Q-profile interval of the residual tau2) in ``tests/results/test_metareg_gaps.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import numeric
from ..effects.escalc import EffectSizes
from ..models import fit, q_profile_ci, registry
from ._format import fmt, fmt_p, html_table, stars, subgroup_test_text, table
from ._shape import PooledRow, StudyRows
from .meta import MetaResult, pool


@dataclass(frozen=True)
class MetaRegressionResult:
    """A mixed-effects meta-regression."""

    measure: str
    method: str
    hksj: bool
    level: float
    k: int
    names: tuple[str, ...]
    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    tau2: float
    I2: float
    H2: float
    R2: float
    QE: float
    QE_df: int
    QE_p: float
    QM: float
    QM_df: int
    QM_df2: float  # denominator df of the F test under HKSJ, inf otherwise
    QM_p: float
    test: str
    se_tau2: float = math.nan  # SE of the residual tau2 (NaN for FE)
    tau2_ci: tuple[float, float] = (math.nan, math.nan)  # Q-profile CI of the residual tau2
    I2_ci: tuple[float, float] = (math.nan, math.nan)
    H2_ci: tuple[float, float] = (math.nan, math.nan)
    vt: float = math.nan  # metafor's typical within-study variance (k - p) / tr(P0)
    s2_hksj: float = 1.0  # Knapp-Hartung scale factor (1 when not used)

    def conf_int(self) -> pd.DataFrame:
        return pd.DataFrame({"ci_low": self.ci_low, "ci_high": self.ci_high},
                            index=list(self.names))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"term": list(self.names), "estimate": self.beta, "se": self.se,
             "statistic": self.statistic, "p_value": self.p_value, "ci_low": self.ci_low,
             "ci_high": self.ci_high}
        )

    def summary(self, digits: int = 4) -> str:
        se_t = "" if math.isnan(self.se_tau2) else f" (SE = {fmt(self.se_tau2, digits)})"
        fixed = self.method == "FE"
        lines = [f"{'Fixed' if fixed else 'Mixed'}-Effects Model (k = {self.k}"
                 + ("" if fixed else f"; tau^2 estimator: {self.method}") + ")", ""]
        if not fixed:
            lines.append("tau^2 (estimated amount of residual heterogeneity):     "
                         f"{fmt(self.tau2, digits)}{se_t}")
        lines += [f"I^2 (residual heterogeneity / unaccounted variability): {self.I2:.2f}%",
                  f"H^2 (unaccounted variability / sampling variability):   {self.H2:.2f}",
                  f"R^2 (amount of heterogeneity accounted for):            {self.R2:.2f}%"]
        if not math.isnan(self.tau2_ci[0]):
            pct = f"{100 * self.level:g}%"
            lines.append(f"tau^2 {pct} CI (Q-profile): {fmt(self.tau2_ci[0], digits)} to "
                         f"{fmt(self.tau2_ci[1], digits)}; I^2 {self.I2_ci[0]:.2f}% to "
                         f"{self.I2_ci[1]:.2f}%; H^2 {self.H2_ci[0]:.2f} to {self.H2_ci[1]:.2f}")
        lines += ["",
                  "Test for Residual Heterogeneity:",
                 f"QE(df = {self.QE_df}) = {fmt(self.QE, digits)}, p-val = "
                 f"{fmt_p(self.QE_p, digits)}", "",
                 "Test of Moderators:"]
        if self.test == "t":
            lines.append(f"F(df1 = {self.QM_df}, df2 = {self.QM_df2:g}) = {fmt(self.QM, digits)}, "
                         f"p-val = {fmt_p(self.QM_p, digits)}")
        else:
            lines.append(f"QM(df = {self.QM_df}) = {fmt(self.QM, digits)}, p-val = "
                         f"{fmt_p(self.QM_p, digits)}")
        lines += ["", "Model Results:", ""]
        head = ["", "estimate", "se", "tval" if self.test == "t" else "zval", "pval", "ci.lb",
                "ci.ub", ""]
        rows = [[n, fmt(b, digits), fmt(s, digits), fmt(z, digits), fmt_p(p, digits),
                 fmt(lo, digits), fmt(hi, digits), stars(p)]
                for n, b, s, z, p, lo, hi in zip(self.names, self.beta, self.se, self.statistic,
                                                 self.p_value, self.ci_low, self.ci_high,
                                                 strict=True)]
        lines.append(table(head, rows))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<p><b>Meta-regression (k = {self.k}; {self.method})</b></p>" + html_table(
            self.to_frame())


def _design(mods, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(mods, pd.DataFrame):
        X = mods.to_numpy(float)
        names = tuple(str(c) for c in mods.columns)
    elif isinstance(mods, pd.Series):
        X = mods.to_numpy(float)[:, None]
        names = (str(mods.name or "mod"),)
    else:
        X = np.asarray(mods, float)
        if X.ndim == 1:
            X = X[:, None]
        names = tuple(f"mod{i + 1}" for i in range(X.shape[1]))
    if X.shape[0] != k:
        raise ValueError(f"moderators have {X.shape[0]} rows for {k} studies")
    return np.column_stack([np.ones(k), X]), ("intrcpt", *names)


def _conditioned(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A well-conditioned design ``Xc = X M^-1`` (each moderator centred at its mean and divided
    by its largest absolute deviation) and the map ``M`` back: ``beta = M beta_c``,
    ``vb = M vb_c M'``. The first column of X is the intercept."""
    Z = X[:, 1:]
    mu = Z.mean(axis=0)
    s = np.max(np.abs(Z - mu), axis=0)
    s = np.where(s > 0, s, 1.0)  # a constant moderator: rank-deficient, fit() says so
    Xc = np.column_stack([X[:, 0], (Z - mu) / s])
    M = np.eye(X.shape[1])
    M[0, 1:] = -mu / s
    M[1:, 1:] = np.diag(1.0 / s)
    return Xc, M


def _fe_r2(QE: float, Q0: float, k: int, p: int) -> float:
    """metafor's R2 of an FE meta-regression: ``100 max(0, adjusted R2)`` of the weighted lm,
    ``1 - (QE / (k - p)) / (Q0 / (k - 1))`` (Q0: Q of the intercept-only FE model)."""
    if k - p <= 0 or not Q0 > 0:
        return math.nan
    return 100.0 * max(0.0, 1.0 - (QE / (k - p)) / (Q0 / (k - 1)))


def metareg(
    es: EffectSizes,
    mods,
    *,
    method: str = "REML",
    hksj: bool = False,
    level: float = 95,
) -> MetaRegressionResult:
    """Mixed-effects (or, with ``method="FE"``, fixed-effects) meta-regression of ``es`` on
    moderators ``mods`` (an intercept is added).

    Parameters
    ----------
    es
        Effect sizes; studies with a missing yi or vi are left out.
    mods
        Moderators: a DataFrame (column names become coefficient names), a Series, or an array
        of shape (k,) or (k, m).
    method
        Any registered tau2 estimator (``acu_meta.models.registry.names()``), or FE.
    hksj
        Knapp-Hartung t tests of the coefficients and an F test of the moderators (metafor's
        ``test = "knha"``).
    level
        Confidence level (fraction or percent) of the coefficients' intervals and of the
        Q-profile interval of the residual tau2.

    Returns
    -------
    MetaRegressionResult
        Coefficients, tests, residual tau2 with its SE and Q-profile interval (NaN for FE), I2,
        H2 (Q-based for FE), R2 (see the module docstring), QE and QM.

    Notes
    -----
    Validated against metafor 3.8.1 ``rma(yi, vi, mods = ...)``: on dat.bcg ~ ablat for REML,
    DL, ML and PM (``tests/results/test_moderators_metafor.py``), and on the ``metareg``
    family of ``tests/fixtures/metafor_gaps.json`` (bcg, hackshaw1998, normand1999,
    raudenbush1985 and seeded random sets; FE, DL, HE, HS, SJ, PM, EB, ML, REML; tests z and
    knha; coefficients, vb, tau2, se_tau2, QE, QM, I2, H2, R2, vt, s2w and the Q-profile
    interval of the residual tau2) in ``tests/results/test_metareg_gaps.py``.
    """
    level = level / 100 if level > 1 else float(level)
    ok = np.isfinite(es.yi) & np.isfinite(es.vi)
    y, v = es.yi[ok], es.vi[ok]
    X, names = _design(mods, len(es.yi))
    X = X[ok]
    k, p = X.shape
    Xc, M = _conditioned(X)
    f = fit(y, v, Xc, method=method, hksj=hksj)
    beta = M @ f.beta
    vb = M @ f.vb @ M.T
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    df = k - p if hksj else math.inf
    crit = numeric.t_crit(level, df)
    pv = numeric.p_two_sided(stat, df)
    b = f.beta[1:]  # the moderators' coefficients on the conditioned scale: QM is invariant
    QM = float(b @ np.linalg.solve(f.vb[1:, 1:], b))
    m = p - 1
    if hksj:
        QM = QM / m
        QM_p = float(stats.f.sf(QM, m, k - p))
        df2 = float(k - p)
    else:
        QM_p = float(stats.chi2.sf(QM, m))
        df2 = math.inf
    f0 = fit(y, v, None, method=method)
    fixed = registry.get(method).kind == "fixed"
    if fixed:
        R2 = _fe_r2(f.QE, f0.QE, k, p)
        tau2_ci = I2_ci = H2_ci = (math.nan, math.nan)
    else:
        R2 = max(0.0, 100 * (f0.tau2 - f.tau2) / f0.tau2) if f0.tau2 > 0 else 0.0
        tau2_ci = tuple(float(t) for t in q_profile_ci(y, v, Xc, level))
        I2_ci = tuple(numeric.i2_from_tau2(t, f.vt) for t in tau2_ci)
        H2_ci = tuple(numeric.h2_from_tau2(t, f.vt) for t in tau2_ci)
    return MetaRegressionResult(
        measure=es.measure, method=f.method, hksj=hksj, level=level, k=k, names=names,
        beta=beta, se=se, statistic=stat, p_value=pv, ci_low=beta - crit * se,
        ci_high=beta + crit * se, vcov=vb, tau2=f.tau2, I2=f.I2, H2=f.H2, R2=R2, QE=f.QE,
        QE_df=f.QE_df, QE_p=f.QE_p, QM=QM, QM_df=m, QM_df2=df2, QM_p=QM_p,
        test="t" if hksj else "z", se_tau2=f.se_tau2, tau2_ci=tau2_ci, I2_ci=I2_ci,
        H2_ci=H2_ci, vt=f.vt, s2_hksj=f.s2_hksj,
    )


@dataclass(frozen=True)
class SubgroupResult:
    """Pooled results per subgroup, overall, and the test of subgroup difference.

    Has the drawable shape of :mod:`acu_meta.results._shape` (the overall model's study rows,
    pooled rows, description and footer) and is a ``SubgroupedResult`` (``groups``,
    ``group_of``, ``subgroup_test``).
    """

    groups: dict[str, MetaResult]
    overall: MetaResult
    Q_between: float
    Q_between_df: int
    Q_between_p: float
    common_tau2: bool
    common: MetaRegressionResult | None = None
    group_of: tuple[str, ...] = ()  # subgroup label of each study, in the order of ``overall``

    # ------------------------------------------------------------------ drawable shape
    @property
    def measure(self) -> str:
        return self.overall.measure

    @property
    def level(self) -> float:
        return self.overall.level

    @property
    def study_rows(self) -> StudyRows:
        return self.overall.study_rows

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]:
        return self.overall.pooled_rows

    @property
    def description(self) -> str:
        return self.overall.description

    @property
    def footer(self) -> tuple[tuple[str, str], ...]:
        return self.overall.footer

    @property
    def subgroup_test(self) -> str:
        """RevMan's line: the test for subgroup differences, with its I2 (from Q)."""
        return subgroup_test_text(self.Q_between, self.Q_between_df, self.Q_between_p,
                                  numeric.i2_from_q(self.Q_between, self.Q_between_df))

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for g, r in self.groups.items():
            rows.append({"group": g, "k": r.k, "estimate": r.estimate, "se": r.se,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "tau2": r.tau2, "I2": r.I2,
                         "Q": r.Q, "Q_p": r.Q_p})
        o = self.overall
        rows.append({"group": "Overall", "k": o.k, "estimate": o.estimate, "se": o.se,
                     "ci_low": o.ci_low, "ci_high": o.ci_high, "tau2": o.tau2, "I2": o.I2,
                     "Q": o.Q, "Q_p": o.Q_p})
        return pd.DataFrame(rows)

    def summary(self, digits: int = 4) -> str:
        head = ["group", "k", "estimate", "ci.lb", "ci.ub", "tau^2", "I^2"]
        rows = [[str(r["group"]), str(r["k"]), fmt(r["estimate"], digits), fmt(r["ci_low"], digits),
                 fmt(r["ci_high"], digits), fmt(r["tau2"], digits), f"{r['I2']:.1f}%"]
                for _, r in self.to_frame().iterrows()]
        kind = "common tau^2" if self.common_tau2 else "separate tau^2"
        test = (f"Test for subgroup differences ({kind}): Chi^2 = {fmt(self.Q_between, 2)}, "
                f"df = {self.Q_between_df}, P = {fmt_p(self.Q_between_p, 4)}")
        return table(head, rows) + "\n\n" + test

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return html_table(self.to_frame()) + f"<p>{self.summary().splitlines()[-1]}</p>"


def subgroups(
    es: EffectSizes,
    groups: Sequence,
    *,
    method: str = "REML",
    hksj: bool = False,
    level: float = 95,
    common_tau2: bool = False,
    profile: str = "metafor",
) -> SubgroupResult:
    """Pool each subgroup and test the difference between subgroups.

    Parameters
    ----------
    groups
        One label per study (same order as ``es``).
    common_tau2
        False (default): separate tau2 per subgroup, Q-between on G - 1 df. True: one tau2
        from a mixed-effects model on subgroup indicators; the test is its omnibus QM.

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Validated against metafor 3.8.1 on dat.bcg by allocation (separate and common tau2,
    ``tests/models/test_metafor_reference.py``).
    """
    labels = np.asarray([str(g) for g in groups])
    if len(labels) != len(es.yi):
        raise ValueError(f"{len(labels)} group labels for {len(es.yi)} studies")
    order = list(dict.fromkeys(labels))
    per = {}
    for g in order:
        sel = labels == g
        sub = EffectSizes(es.measure, es.yi[sel], es.vi[sel],
                          tuple(s for s, k in zip(es.study, sel, strict=True) if k),
                          arms=es.arms[sel].reset_index(drop=True) if es.arms is not None
                          else None, options=es.options)
        per[g] = pool(sub, method=method, hksj=hksj, level=level, profile=profile)
    overall = pool(es, method=method, hksj=hksj, level=level, profile=profile)
    common = None
    if common_tau2:
        dummies = pd.get_dummies(pd.Series(labels), drop_first=True, dtype=float)
        common = metareg(es, dummies, method=method, hksj=hksj, level=level)
        Qb, dfb, pb = common.QM, common.QM_df, common.QM_p
    else:
        b = np.array([r.estimate for r in per.values()])
        Qb = numeric.pool_iv(b, np.array([r.se for r in per.values()]) ** 2).Q
        dfb = len(b) - 1
        pb = float(stats.chi2.sf(Qb, dfb)) if dfb > 0 else math.nan
    return SubgroupResult(per, overall, Qb, dfb, pb, common_tau2, common, tuple(labels))
