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

import html
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import numeric
from ..effects.escalc import EffectSizes
from ..errors import InputError
from ..models import fit, q_profile_ci, registry
from ..models.metareg import (
    FitStatistics,
    RegFit,
    default_btt,
    fit_regression,
    fit_statistics,
    wald,
)
from ._api import check_kwargs, hksj_from_test
from ._format import fmt, fmt_p, html_table, stars, subgroup_test_text, table
from ._formula import Design, design, new_rows
from ._shape import PooledRow, StudyRows
from .meta import MetaResult, _effect_sizes, pool


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
    vb: np.ndarray  # variance-covariance of beta (metafor's res$vb; vcov() gives a DataFrame)
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
    studies: tuple[str, ...] = ()  # labels of the studies used
    yi: np.ndarray | None = field(default=None, repr=False)
    vi: np.ndarray | None = field(default=None, repr=False)
    X: np.ndarray | None = field(default=None, repr=False)  # model matrix of the studies used
    design: Design | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # rows used
    _regfit: RegFit | None = field(default=None, repr=False)
    fit_stats: FitStatistics | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ metafor's methods
    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """CIs of the coefficients at ``level`` (95 or 0.95; default: the fit's), recomputed
        from the stored SEs with the fit's test (z, or t on k - p df)."""
        if level is None:
            lo, hi = self.ci_low, self.ci_high
        else:
            crit = numeric.t_crit(numeric.level_fraction(level),
                                  self.k - len(self.names) if self.test == "t" else math.inf)
            lo, hi = self.beta - crit * self.se, self.beta + crit * self.se
        return pd.DataFrame({"ci_low": lo, "ci_high": hi}, index=list(self.names))

    def coef(self) -> pd.Series:
        """The coefficients, named as metafor (``intrcpt``, moderators)."""
        return pd.Series(self.beta, index=list(self.names), name="estimate")

    def vcov(self) -> pd.DataFrame:
        """Variance-covariance matrix of the coefficients (Hartung-Knapp-scaled under HKSJ)."""
        return pd.DataFrame(self.vb, index=list(self.names), columns=list(self.names))

    def fitted(self) -> pd.Series:
        """``X beta`` per study."""
        return pd.Series(self.X @ self.beta, index=list(self.studies), name="fitted")

    def residuals(self) -> pd.Series:
        """``yi - X beta`` per study (metafor's ``residuals()``)."""
        return pd.Series(self.yi - self.X @ self.beta, index=list(self.studies), name="resid")

    def rstandard(self) -> pd.DataFrame:
        """Standardized residuals (metafor's ``rstandard()``): ``resid / se``, ``se^2 = v_i +
        tau2 - x_i' (X'WX)^-1 x_i`` (unscaled by Hartung-Knapp, as metafor). Checked in
        ``tests/results/test_api_metafor.py``."""
        f = self._regfit.fit
        Vc = f.vb / f.s2_hksj if f.s2_hksj > 0 else f.vb
        Xc = self._regfit.Xc
        h = np.einsum("ij,jk,ik->i", Xc, Vc, Xc)
        se = np.sqrt(self.vi + self.tau2 - h)
        resid = self.yi - self.X @ self.beta
        return pd.DataFrame({"resid": resid, "se": se, "z": resid / se},
                            index=list(self.studies))

    def predict(self, newmods=None, *, transf=None, level: float | None = None,
                intercept: bool = True):
        """metafor's ``predict(res, newmods = ..., transf = ...)``.

        ``newmods``: moderator values without the intercept, as an array of shape (m,) (one
        row) or (n, m) in the order of the coefficients after the intercept; or, for a model
        given by a formula or column names, a DataFrame (or dict) with those variables (coded
        as in the fit). None: the fitted values of the studies. ``transf`` (e.g. ``np.exp``)
        transforms the estimate and both intervals. The prediction interval is ``pred +/- crit
        sqrt(se^2 + tau2)`` (none for FE), crit as the model's test. Returns a
        :class:`~acu_meta.results.regression.Prediction`."""
        from .regression import Prediction

        lv = self.level if level is None else numeric.level_fraction(level)
        j0 = list(self.names).index("intrcpt") if "intrcpt" in self.names else None
        if newmods is None:
            Xn = self.X
        elif isinstance(newmods, (pd.DataFrame, dict)):
            Xn = new_rows(self.design, newmods)
        else:
            Z = np.asarray(newmods, dtype=float)
            m = len(self.names) - (1 if j0 is not None else 0)
            if Z.ndim == 1:
                Z = Z[None, :] if m > 1 or Z.size == 1 else Z[:, None]
            if Z.shape[1] != m:
                raise InputError(f"newmods has {Z.shape[1]} columns; the model has {m} "
                                 f"moderator coefficient(s): "
                                 f"{', '.join(n for n in self.names if n != 'intrcpt')}")
            if j0 is not None:
                Z = np.insert(Z, j0, 1.0 if intercept else 0.0, axis=1)
            Xn = Z
        pred = Xn @ self.beta
        V = self.vb
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, V, Xn))
        crit = numeric.t_crit(lv, self.k - len(self.names) if self.test == "t" else math.inf)
        if self.method == "FE":
            pil = pih = np.full(len(pred), np.nan)
        else:
            half = crit * np.sqrt(se**2 + self.tau2)
            pil, pih = pred - half, pred + half
        return Prediction.build(pred, se, pred - crit * se, pred + crit * se, pil, pih, lv,
                                transf)

    def anova(self, reduced=None, *, btt=None):
        """Wald test of coefficients ``btt`` or, given a reduced model, the likelihood-ratio test
        (:func:`acu_meta.results.regression.anova`)."""
        from .regression import anova

        return anova(self, reduced, btt=btt)

    def permutest(self, **kwargs):
        """Permutation test of the moderators (:func:`acu_meta.results.regression.permutest`)."""
        from .regression import permutest

        return permutest(self, **kwargs)

    @property
    def ll(self) -> float:
        """Log-likelihood (REML for a REML fit, else ML), as metafor's ``logLik``."""
        return self.fit_stats.ll if self.fit_stats is not None else math.nan

    @property
    def AIC(self) -> float:
        return self.fit_stats.AIC if self.fit_stats is not None else math.nan

    @property
    def BIC(self) -> float:
        return self.fit_stats.BIC if self.fit_stats is not None else math.nan

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
        na = f"not estimable (k - p = {self.QE_df})"
        lines += ["I^2 (residual heterogeneity / unaccounted variability): "
                  + (na if math.isnan(self.I2) else f"{self.I2:.2f}%"),
                  "H^2 (unaccounted variability / sampling variability):   "
                  + (na if math.isnan(self.H2) else f"{self.H2:.2f}"),
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
        """The whole summary (tau2, I2, R2, QE, QM) and the coefficient table."""
        return (f"<div class='acu-meta-result'><pre>{html.escape(self.summary())}</pre>"
                + html_table(self.to_frame()) + "</div>")


def _fe_r2(QE: float, Q0: float, k: int, p: int) -> float:
    """metafor's R2 of an FE meta-regression: ``100 max(0, adjusted R2)`` of the weighted lm,
    ``1 - (QE / (k - p)) / (Q0 / (k - 1))`` (Q0: Q of the intercept-only FE model)."""
    if k - p <= 0 or not Q0 > 0:
        return math.nan
    return 100.0 * max(0.0, 1.0 - (QE / (k - p)) / (Q0 / (k - 1)))


_METAREG_DATA = ("yi", "vi", "sei", "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i",
                 "sd2i", "ri", "ni", "xi", "mi", "x1i", "t1i", "x2i", "t2i", "add", "to",
                 "drop00", "vtype")


def metareg(
    es,
    mods=None,
    *,
    method: str = "REML",
    hksj: bool | None = None,
    level: float = 95,
    test: str | None = None,
    measure: str | None = None,
    study=None,
    **data,
) -> MetaRegressionResult:
    """Mixed-effects (or, with ``method="FE"``, fixed-effects) meta-regression of ``es`` on
    moderators ``mods``, as metafor's ``rma(yi, vi, mods = ...)``.

    Parameters
    ----------
    es
        Effect sizes (from ``escalc``, with ``data=`` if the moderators are columns of it), or a
        DataFrame with the column names as keywords (``metareg(df, "~ year", yi="yi",
        vi="vi")``; ``metareg(df, mods)`` reads columns yi and vi). Studies with a missing yi,
        vi or moderator are left out.
    mods
        A formula (``"~ ablat + C(alloc)"``; strings are categorical, ``C()`` makes a number
        categorical, ``- 1`` drops the intercept), a column name or list of column names of the
        data, a DataFrame or Series (non-numeric columns become indicators), or an array of
        shape (k,) or (k, m); None: intercept only (for ``anova(full, reduced)``). An
        intercept is added unless a formula removes it. See :mod:`acu_meta.results._formula`.
    method
        Any registered tau2 estimator (``acu_meta.models.registry.names()``), or FE.
    hksj, test
        Knapp-Hartung t tests of the coefficients and an F test of the moderators (``hksj=True``
        or metafor's ``test="knha"``).
    level
        Confidence level (95 or 0.95) of the coefficients' intervals and of the Q-profile
        interval of the residual tau2.

    Returns
    -------
    MetaRegressionResult
        Coefficients, tests, residual tau2 with its SE and Q-profile interval (NaN for FE), I2,
        H2 (Q-based for FE), R2 (see the module docstring), QE and QM; ``predict``, ``anova``,
        ``permutest``, ``coef``, ``vcov``, ``residuals``, ``rstandard``.

    Notes
    -----
    Validated against metafor 3.8.1 ``rma(yi, vi, mods = ...)``: on dat.bcg ~ ablat for REML,
    DL, ML and PM (``tests/results/test_moderators_metafor.py``), on dat.bcg ~ ablat +
    factor(alloc) with predict, anova and permutest (``tests/results/test_api_metafor.py``),
    and on the ``metareg`` family of ``tests/fixtures/metafor_gaps.json`` (bcg, hackshaw1998,
    normand1999, raudenbush1985 and seeded random sets; FE, DL, HE, HS, SJ, PM, EB, ML, REML;
    tests z and knha; coefficients, vb, tau2, se_tau2, QE, QM, I2, H2, R2, vt, s2w and the
    Q-profile interval of the residual tau2) in ``tests/results/test_metareg_gaps.py``.
    """
    check_kwargs("metareg", data, _METAREG_DATA)
    hksj = bool(hksj_from_test(test, hksj))
    level = numeric.level_fraction(level)
    if not isinstance(es, EffectSizes):
        if isinstance(es, MetaResult):
            raise TypeError("metareg() needs effect sizes (escalc) or a DataFrame, not a "
                            "MetaResult")
        es = _effect_sizes(es, measure, True, study, dict(data))
    elif data:
        raise TypeError(f"metareg() got data arguments ({', '.join(data)}) beside EffectSizes")
    k_all = len(es.yi)
    if mods is None:
        d = Design(np.ones((k_all, 1)), ("intrcpt",), np.ones(k_all, dtype=bool))
    else:
        d = design(mods, es.data, k_all)
    ok_es = np.isfinite(es.yi) & np.isfinite(es.vi)
    ok = ok_es & d.rows
    dropped = int((ok_es & ~d.rows).sum())
    if dropped:
        warnings.warn(f"{dropped} study(ies) with a missing moderator left out", stacklevel=2)
    X = d.X[ok[d.rows]]
    y, v = es.yi[ok], es.vi[ok]
    k, p = X.shape
    rf = fit_regression(y, v, X, method=method, hksj=hksj)
    f = rf.fit
    beta, vb = rf.beta, rf.vb
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    df = k - p if hksj else math.inf
    crit = numeric.t_crit(level, df)
    pv = numeric.p_two_sided(stat, df)
    btt = default_btt(X)
    m = len(btt)
    if m:
        QM = wald(rf, btt)
        if hksj:
            QM = QM / m
            QM_p = float(numeric.f_sf(QM, m, k - p))
        else:
            QM_p = float(numeric.chi2_sf(QM, m))
    else:
        QM, QM_p = math.nan, math.nan
    df2 = float(k - p) if hksj else math.inf
    f0 = fit(y, v, None, method=method)
    fixed = registry.get(method).kind == "fixed"
    if fixed:
        R2 = _fe_r2(f.QE, f0.QE, k, p)
        tau2_ci = I2_ci = H2_ci = (math.nan, math.nan)
    else:
        R2 = max(0.0, 100 * (f0.tau2 - f.tau2) / f0.tau2) if f0.tau2 > 0 else 0.0
        tau2_ci = tuple(float(t) for t in q_profile_ci(y, v, rf.Xc, level))
        I2_ci = tuple(numeric.i2_from_tau2(t, f.vt) for t in tau2_ci)
        H2_ci = tuple(numeric.h2_from_tau2(t, f.vt) for t in tau2_ci)
    studies = tuple(s for s, keep in zip(es.study, ok, strict=True) if keep)
    return MetaRegressionResult(
        measure=es.measure, method=f.method, hksj=hksj, level=level, k=k, names=d.names,
        beta=beta, se=se, statistic=stat, p_value=pv, ci_low=beta - crit * se,
        ci_high=beta + crit * se, vb=vb, tau2=f.tau2, I2=f.I2, H2=f.H2, R2=R2, QE=f.QE,
        QE_df=f.QE_df, QE_p=f.QE_p, QM=QM, QM_df=m, QM_df2=df2, QM_p=QM_p,
        test="t" if hksj else "z", se_tau2=f.se_tau2, tau2_ci=tau2_ci, I2_ci=I2_ci,
        H2_ci=H2_ci, vt=f.vt, s2_hksj=f.s2_hksj, studies=studies, yi=y, vi=v, X=X,
        design=d, data=es.data[ok].reset_index(drop=True) if es.data is not None else None,
        _regfit=rf, fit_stats=fit_statistics(rf, y, v),
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
        """Each subgroup's and the overall tau2, I2, Q, and the test of subgroup differences."""
        return (html_table(self.to_frame())
                + f"<p>{html.escape(self.summary().splitlines()[-1])}</p>")


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
        One label per study (same order as ``es``), or the name of a column of the data given
        to ``escalc(..., data=df)``.
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
    level = numeric.level_fraction(level)
    if not isinstance(es, EffectSizes):
        raise TypeError(f"subgroups() needs EffectSizes (from escalc), not {type(es).__name__}")
    if isinstance(groups, str):
        if es.data is None or groups not in es.data.columns:
            cols = "" if es.data is None else (": the columns are "
                                               + ", ".join(map(str, es.data.columns)))
            raise InputError(f"groups={groups!r} names no column of the data (give "
                             f"escalc(..., data=df) or one label per study){cols}")
        groups = es.data[groups].tolist()
    labels = np.asarray([str(g) for g in groups])
    if len(labels) != len(es.yi):
        raise ValueError(f"{len(labels)} group labels for {len(es.yi)} studies")
    order = list(dict.fromkeys(labels))
    per = {}
    for g in order:
        sel = labels == g
        sub = es.subset(sel)
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
        pb = float(numeric.chi2_sf(Qb, dfb)) if dfb > 0 else math.nan
    return SubgroupResult(per, overall, Qb, dfb, pb, common_tau2, common, tuple(labels))
