"""Sensitivity analyses and small-study effects of a pooled result, as metafor 3.8.1.

Public functions (each returns an explicit frozen dataclass with ``summary()``, ``to_frame()``
and ``_repr_html_()``):

=====================  ============================================  ==========================
function               what                                          metafor
=====================  ============================================  ==========================
:func:`leave_one_out`  refit without each study                      ``leave1out()``
:func:`cumulative`     refit with the first 1, 2, ..., k studies     ``cumul()``
:func:`influence`      rstudent, dffits, cook.d, cov.r, tau2.del,    ``influence()``
                       QE.del, hat, weight, dfbetas, flags
:func:`regtest`        Egger's regression test (``model="rma"``      ``regtest()``
                       default, or the classical ``model="lm"``)
:func:`ranktest`       Begg's rank correlation test                  ``ranktest()``
:func:`trimfill`       trim-and-fill (L0, R0), the filled data and   ``trimfill()``
                       the refitted model
:func:`pet_peese`      PET, PEESE and the conditional PET-PEESE      (``lm`` with weights 1/v)
:func:`fsn`            fail-safe N: Rosenthal, Orwin, Rosenberg      ``fsn()``
:func:`baujat`         each study's share of Q and its influence     ``baujat()``
                       on the estimate
=====================  ============================================  ==========================

plus :func:`small_study_effects` (the headline numbers in one :class:`BiasSummary`, with a note
for each method that cannot be computed), :func:`bias_summary` (its dict) and
:func:`leave_one_out_records` (plain rows for JSON output).

The results that plots draw (:class:`LeaveOneOutResult`, :class:`CumulativeResult`,
:class:`TrimfillResult`) have the drawable shape of :mod:`acu_meta.results._shape`.

Refits use the method, Knapp-Hartung setting (``hksj``) and level of the input
:class:`~acu_meta.results.MetaResult`, and its study ``yi``/``vi``. Exceptions, stated where
they apply: Mantel-Haenszel and Peto results are refitted as inverse-variance fixed-effect
models on their ``yi``/``vi`` (metafor refits MH/Peto instead); a RevMan 5 DL result (tau2 from
the Mantel-Haenszel Q) is refitted with the standard DL estimator; trim-and-fill's filled model
uses a z test at 95%, as metafor's ``trimfill`` does (``keep_test=True`` keeps the model's).

Validation: every function is checked against metafor 3.8.1 on the fixture
``tests/fixtures/metafor_sensitivity.json`` (``validation/metafor/sensitivity_reference.R``):
closed forms to 1e-10, quantities resting on an iterative tau2 to 1e-8, counts (k0, fail-safe
N) exactly.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import numeric
from ..effects.escalc import MEASURE_LABELS
from ..errors import AcuMetaError
from ..models import ModelError
from ..models import sensitivity as core
from ._format import Printable, fmt, fmt_p, html_table, table
from ._shape import PooledRow, StudyRows, is_ratio, usable
from .meta import MetaResult, pool

__all__ = [
    "CumulativeResult",
    "FsnResult",
    "BaujatResult",
    "BiasSummary",
    "InfluenceResult",
    "LeaveOneOutResult",
    "PetPeeseResult",
    "RanktestResult",
    "RegtestResult",
    "TrimfillResult",
    "WlsFit",
    "baujat",
    "bias_summary",
    "cumulative",
    "fsn",
    "influence",
    "leave_one_out",
    "leave_one_out_records",
    "pet_peese",
    "ranktest",
    "regtest",
    "small_study_effects",
    "trimfill",
]


# ------------------------------------------------------------------------------ helpers


class _Inputs(NamedTuple):
    y: np.ndarray
    v: np.ndarray
    studies: tuple[str, ...]
    method: str
    hksj: bool
    level: float
    notes: tuple[str, ...]


def _inputs(result: MetaResult) -> _Inputs:
    """The studies and settings a refit of *result* uses (see the module docstring)."""
    if not isinstance(result, MetaResult):
        caller = sys._getframe(1).f_code.co_name
        raise TypeError(f"{caller}() needs a MetaResult from pool() (e.g. "
                        f"{caller}(am.pool(es))), not {type(result).__name__}")
    notes = []
    method, hksj = result.method, result.hksj
    if method in ("MH", "PETO"):
        name = "Mantel-Haenszel" if method == "MH" else "Peto"
        notes.append(f"{name} result: refits are inverse-variance fixed-effect (FE) models on the "
                     "study yi/vi")
        method, hksj = "FE", False
    if result.options is not None and result.options.q_around_mh:
        notes.append("refits use the standard (inverse-variance) DL estimator, not RevMan 5's "
                     "Mantel-Haenszel-based Q")
    y = np.asarray(result.yi, dtype=float)
    v = np.asarray(result.vi, dtype=float)
    ok = usable(y, v)
    studies = tuple(s for s, keep in zip(result.studies, ok, strict=True) if keep)
    if not ok.all():
        notes.append(f"{int((~ok).sum())} study(ies) without an effect size left out")
    return _Inputs(y[ok], v[ok], studies, method, hksj, float(result.level), tuple(notes))


_num = numeric.json_number


def _peq(p: float, digits: int = 4) -> str:
    """metafor's ``.pval(showeq=TRUE)``: '= 0.0073' or '< .0001'."""
    s = fmt_p(p, digits)
    return "< " + s[1:] if s.startswith("<") else f"= {s}"


def _test_of(hksj: bool, k: int) -> str:
    return "t" if hksj and k > 1 else "z"


def _level_pct(level: float) -> str:
    return f"{level * 100:g}%"


# ------------------------------------------------------------------------------ leave-one-out
# and cumulative


@dataclass(frozen=True)
class _SeriesResult(Printable):
    """Rows of refits (shared by leave-one-out and cumulative analyses)."""

    measure: str
    method: str
    hksj: bool
    level: float
    test: str  # "z" or "t" (the full model's)
    studies: tuple[str, ...]  # the study left out / added in each row
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray  # t-test df per row (inf for z)
    Q: np.ndarray
    Q_p: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray  # percent
    H2: np.ndarray
    full_estimate: float
    full_ci_low: float
    full_ci_high: float
    notes: tuple[str, ...] = ()

    _title = "Refits"
    _row_prefix = ""

    @property
    def k(self) -> int:
        return len(self.studies)

    @property
    def ratio(self) -> bool:
        return is_ratio(self.measure)

    def to_frame(self) -> pd.DataFrame:
        """One row per refit (analysis scale; ``exp_*`` columns for ratio measures)."""
        out = pd.DataFrame({
            "study": list(self.studies), "estimate": self.estimate, "se": self.se,
            "statistic": self.statistic, "p_value": self.p_value, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "Q": self.Q, "Q_p": self.Q_p, "tau2": self.tau2,
            "I2": self.I2, "H2": self.H2,
        })
        if self.ratio:
            for c in ("estimate", "ci_low", "ci_high"):
                out[f"exp_{c}"] = numeric.exp_or_inf(out[c].to_numpy(float))
        return out

    # drawable shape (acu_meta.results._shape): one row per refit, the full model pooled
    @property
    def study_rows(self) -> StudyRows:
        """One row per refit: its estimate (as ``yi``, ``se^2`` as ``vi``) and its own CI."""
        return StudyRows(labels=self.studies, yi=self.estimate, vi=self.se**2,
                         weight=np.full(len(self.studies), np.nan), ci_low=self.ci_low,
                         ci_high=self.ci_high)

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]:
        """The full model (all studies) as the pooled row."""
        return (PooledRow("pooled", f"All studies ({self.method})", self.full_estimate,
                          self.full_ci_low, self.full_ci_high,
                          interval=f"{_level_pct(self.level)} CI",
                          model="fixed" if self.method == "FE" else "random",
                          description="the model fitted to all studies"),)

    @property
    def description(self) -> str:
        model = "fixed-effect" if self.method == "FE" else f"random-effects, {self.method}"
        return f"{self._title} ({model})"

    @property
    def footer(self) -> tuple[tuple[str, str], ...]:
        return ()

    def records(self) -> list[dict]:
        """Plain rows: study, estimate, ci_low, ci_high, tau2, I2 (percent); None for NaN."""
        return [{"study": s, "estimate": _num(e), "ci_low": _num(lo), "ci_high": _num(hi),
                 "tau2": _num(t), "I2": _num(i)}
                for s, e, lo, hi, t, i in zip(self.studies, self.estimate, self.ci_low,
                                               self.ci_high, self.tau2, self.I2, strict=True)]

    def summary(self, digits: int = 4) -> str:
        """Table laid out like metafor's print of ``leave1out()`` / ``cumul()``."""
        label = MEASURE_LABELS.get(self.measure, self.measure)
        model = ("fixed-effect" if self.method == "FE" else
                 f"random-effects, tau^2 estimator: {self.method}")
        lines = [f"{self._title} (k = {self.k}; {model}; {label})", ""]
        stat = "tval" if self.test == "t" else "zval"
        fe = self.method == "FE"
        head = ["", "estimate", "se", stat, "pval", "ci.lb", "ci.ub", "Q", "Qp",
                *([] if fe else ["tau2"]), "I2", "H2"]
        rows = []
        width = max(len(self._row_prefix + s) for s in self.studies)
        for i, s in enumerate(self.studies):
            rows.append([(self._row_prefix + s).ljust(width), fmt(self.estimate[i], digits),
                         fmt(self.se[i], digits), fmt(self.statistic[i], digits),
                         fmt(self.p_value[i], digits), fmt(self.ci_low[i], digits),
                         fmt(self.ci_high[i], digits), fmt(self.Q[i], digits),
                         fmt(self.Q_p[i], digits),
                         *([] if fe else [fmt(self.tau2[i], digits)]),
                         fmt(self.I2[i], digits), fmt(self.H2[i], digits)])
        lines.append(table(head, rows))
        lines += ["", f"Full model: {fmt(self.full_estimate, digits)} "
                      f"[{fmt(self.full_ci_low, digits)}, {fmt(self.full_ci_high, digits)}] "
                      f"({_level_pct(self.level)} CI)"]
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)



@dataclass(frozen=True)
class LeaveOneOutResult(_SeriesResult):
    """Leave-one-out analysis: row i is the model refitted without ``studies[i]``."""

    _title = "Leave-one-out analysis"
    _row_prefix = "- "


@dataclass(frozen=True)
class CumulativeResult(_SeriesResult):
    """Cumulative meta-analysis: row i is the model of the first i + 1 studies in ``order``
    (``studies[i]`` is the study added at step i)."""

    order: tuple[int, ...] = ()  # indices into the input result's studies, in cumulative order

    _title = "Cumulative meta-analysis"
    _row_prefix = "+ "


def _series(cls, result: MetaResult, inp: _Inputs, rows: dict, studies, notes, **extra):
    return cls(
        measure=result.measure, method=inp.method, hksj=inp.hksj, level=inp.level,
        test=_test_of(inp.hksj, len(inp.y)), studies=tuple(studies),
        estimate=rows["estimate"], se=rows["se"], statistic=rows["statistic"],
        p_value=rows["p_value"], ci_low=rows["ci_low"], ci_high=rows["ci_high"], df=rows["df"],
        Q=rows["Q"], Q_p=rows["Q_p"], tau2=rows["tau2"], I2=rows["I2"], H2=rows["H2"],
        full_estimate=result.estimate, full_ci_low=result.ci_low, full_ci_high=result.ci_high,
        notes=tuple(notes), **extra,
    )


def leave_one_out(result: MetaResult) -> LeaveOneOutResult:
    """Leave-one-out analysis, as metafor's ``leave1out()``.

    Each study is left out in turn and the model refitted with the same tau2 method, test (z
    or Knapp-Hartung t) and level. metafor's rule for a refit of a single study (k = 2): z
    test, tau2 = 0, Q = 0 (p = 1), I2 = 0, H2 = 1.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult` (MH / Peto results are refitted as FE on yi/vi).

    Returns
    -------
    LeaveOneOutResult

    Notes
    -----
    Validated against metafor 3.8.1 ``leave1out()`` (dat.bcg RR with FE, REML, DL, PM, and
    z / knha; dat.egger2001, dat.hackshaw1998 and simulated sets): closed forms 1e-10,
    iterative 1e-8. metafor itself fails on one refit of dat.egger2001 (REML, Fisher scoring
    does not converge, NA); acu_meta's bracketing estimator converges and matches metafor run
    with step-halving (``stepadj = 0.5``).
    """
    inp = _inputs(result)
    rows = core.leave_one_out(inp.y, inp.v, inp.method, inp.hksj, inp.level)
    return _series(LeaveOneOutResult, result, inp, rows, inp.studies, inp.notes)


def cumulative(result: MetaResult, order: Sequence | None = None,
               decreasing: bool = False) -> CumulativeResult:
    """Cumulative meta-analysis, as metafor's ``cumul()``.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult`.
    order
        None (the studies' order in *result*), or one sort key per study (e.g. publication
        year), as metafor's ``order`` argument: studies are added in ascending order of the
        keys (``decreasing=True``: descending); ties keep the input order (R's stable
        ``order()``).
    decreasing
        Sort the keys in decreasing order.

    Returns
    -------
    CumulativeResult
        The last row equals the full model.

    Notes
    -----
    Each step is refitted with the model's method, test and level; step 1 (one study) follows
    metafor's k = 1 rule (z test, tau2 = 0, Q = 0 with p = 1, I2 = 0, H2 = 1). Validated against
    metafor 3.8.1 ``cumul()`` on dat.bcg (FE, REML, DL, knha, ordered by year) and
    dat.hackshaw1998: closed forms 1e-10, iterative 1e-8.
    """
    inp = _inputs(result)
    idx = None
    if order is not None:
        keys = list(order)
        if len(keys) != len(result.yi):
            raise ValueError(f"order has {len(keys)} keys for {len(result.yi)} studies")
        ok = usable(result.yi, result.vi)
        keys = [kk for kk, keep in zip(keys, ok, strict=True) if keep]
        idx = core.cumulative_order(keys, decreasing=decreasing)
    rows = core.cumulative(inp.y, inp.v, inp.method, inp.hksj, inp.level, order=idx)
    o = rows["order"]
    return _series(CumulativeResult, result, inp, rows, [inp.studies[i] for i in o], inp.notes,
                   order=tuple(int(i) for i in o))


def leave_one_out_records(result: MetaResult) -> list[dict]:
    """Leave-one-out rows as plain dicts with keys study, estimate, ci_low, ci_high, tau2, I2
    (I2 in percent; analysis scale; None for a missing number), for JSON output."""
    return leave_one_out(result).records()


# ------------------------------------------------------------------------------ influence


@dataclass(frozen=True)
class InfluenceResult(Printable):
    """Case-deletion diagnostics (metafor's ``influence()``); row i concerns ``studies[i]``."""

    measure: str
    method: str
    hksj: bool
    k: int
    studies: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    QE_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray  # percent
    dfbs: np.ndarray  # DFBETAS of the intercept
    influential: np.ndarray  # bool: metafor's "*"
    outlier: np.ndarray  # bool: |rstudent| > qnorm(0.975)
    tau2: float
    QE: float
    dffits_limit: float
    cook_limit: float
    hat_limit: float
    rstudent_limit: float
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "study": list(self.studies), "rstudent": self.rstudent, "dffits": self.dffits,
            "cook_d": self.cook_d, "cov_r": self.cov_r, "tau2_del": self.tau2_del,
            "QE_del": self.QE_del, "hat": self.hat, "weight": self.weight, "dfbs": self.dfbs,
            "influential": self.influential, "outlier": self.outlier,
        })

    def summary(self, digits: int = 4) -> str:
        """Table laid out like metafor's print of ``influence()``."""
        head = ["", "rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del", "hat",
                "weight", "dfbs", "inf"]
        width = max(len(s) for s in self.studies)
        rows = [[s.ljust(width), fmt(self.rstudent[i], digits), fmt(self.dffits[i], digits),
                 fmt(self.cook_d[i], digits), fmt(self.cov_r[i], digits),
                 fmt(self.tau2_del[i], digits), fmt(self.QE_del[i], digits),
                 fmt(self.hat[i], digits), fmt(self.weight[i], digits),
                 fmt(self.dfbs[i], digits), "*" if self.influential[i] else ""]
                for i, s in enumerate(self.studies)]
        lines = [f"Influence diagnostics (k = {self.k}; method: {self.method})", "",
                 table(head, rows), "",
                 f"* influential (metafor): |dffits| > {self.dffits_limit:.4f}, or cook.d > "
                 f"{self.cook_limit:.4f} (median of chi2(1)), or hat > {self.hat_limit:.4f}, "
                 "or |dfbs| > 1"]
        out = [s for s, o in zip(self.studies, self.outlier, strict=True) if o]
        lines.append(f"Outliers (|rstudent| > {self.rstudent_limit:.2f}): "
                     + (", ".join(out) if out else "none"))
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)



def influence(result: MetaResult) -> InfluenceResult:
    """Influence diagnostics, as metafor's ``influence()`` (Viechtbauer & Cheung 2010).

    Every quantity is defined in :func:`acu_meta.models.sensitivity.influence_measures`; in
    short: the studentized deleted residual (``rstudent``) uses the leave-one-out tau2 (and,
    under Knapp-Hartung, the leave-one-out scale factor), DFFITS uses the full model's hat
    value, Cook's distance and the covariance ratio use the full model's variance of the
    estimate. ``influential`` is metafor's ``"*"`` flag (|dffits| > 3 sqrt(p / (k - p)), or
    pchisq(cook.d, 1) > 0.5, or hat > 3p / k, or |dfbs| > 1); ``outlier`` is
    |rstudent| > 1.96, the reference lines of metafor's plot of the diagnostics.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult` with k >= 2.

    Returns
    -------
    InfluenceResult

    Notes
    -----
    Validated against metafor 3.8.1 ``influence()`` (all eight columns, dfbs and the flag) on
    dat.bcg (FE, REML, DL, PM; z and knha), dat.egger2001, dat.hackshaw1998 and simulated sets:
    closed forms 1e-10, iterative 1e-8.
    """
    inp = _inputs(result)
    o = core.influence_measures(inp.y, inp.v, inp.method, inp.hksj, inp.level)
    k = len(inp.y)
    return InfluenceResult(
        measure=result.measure, method=inp.method, hksj=inp.hksj, k=k, studies=inp.studies,
        rstudent=o["rstudent"], dffits=o["dffits"], cook_d=o["cook_d"], cov_r=o["cov_r"],
        tau2_del=o["tau2_del"], QE_del=o["QE_del"], hat=o["hat"], weight=o["weight"],
        dfbs=o["dfbs"], influential=np.asarray(o["influential"], bool),
        outlier=np.asarray(o["outlier"], bool), tau2=float(o["tau2"]), QE=float(o["QE"]),
        dffits_limit=3 * math.sqrt(1 / (k - 1)), cook_limit=float(numeric.chi2_ppf(0.5, 1)),
        hat_limit=3 / k, rstudent_limit=numeric.Z975, notes=inp.notes,
    )


# ------------------------------------------------------------------------------ regtest


@dataclass(frozen=True)
class RegtestResult(Printable):
    """Regression test for funnel plot asymmetry (Egger's test), as metafor's ``regtest``."""

    model: str  # "rma" (meta-regression) or "lm" (classical weighted regression)
    predictor: str  # "sei" or "vi"
    method: str  # tau2 method of the meta-regression ("FE" for lm)
    test: str  # "z" or "t"
    level: float
    k: int
    statistic: float  # zval or tval of the predictor
    df: float  # inf for z
    p_value: float
    limit_estimate: float  # b: the intercept (effect as sei -> 0)
    limit_ci_low: float
    limit_ci_high: float
    slope: float
    slope_se: float
    tau2: float  # residual tau2 of the meta-regression (nan for lm)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "model": self.model, "predictor": self.predictor, "method": self.method,
            "test": self.test, "statistic": self.statistic, "df": self.df,
            "p_value": self.p_value, "limit_estimate": self.limit_estimate,
            "limit_ci_low": self.limit_ci_low, "limit_ci_high": self.limit_ci_high,
            "slope": self.slope, "slope_se": self.slope_se, "tau2": self.tau2, "k": self.k,
        }])

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's print.regtest."""
        if self.model == "lm":
            model = "weighted regression with multiplicative dispersion"
        else:
            model = ("fixed-effects" if self.method == "FE" else "mixed-effects") + \
                " meta-regression model"
        pred = "standard error" if self.predictor == "sei" else "sampling variance"
        lines = ["Regression Test for Funnel Plot Asymmetry", "", f"Model:     {model}",
                 f"Predictor: {pred}", ""]
        if self.test == "t":
            lines.append(f"Test for Funnel Plot Asymmetry: t = {fmt(self.statistic, digits)}, "
                         f"df = {round(self.df, 2):g}, p {_peq(self.p_value, digits)}")
        else:
            lines.append(f"Test for Funnel Plot Asymmetry: z = {fmt(self.statistic, digits)}, "
                         f"p {_peq(self.p_value, digits)}")
        limit = "Limit Estimate (as sei -> 0):   " if self.predictor == "sei" else \
            "Limit Estimate (as vi -> 0):    "
        lines.append(f"{limit}b = {fmt(self.limit_estimate, digits)} (CI: "
                     f"{fmt(self.limit_ci_low, digits)}, {fmt(self.limit_ci_high, digits)})")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)



def regtest(result: MetaResult, model: str = "rma", predictor: str = "sei") -> RegtestResult:
    """Egger's regression test for funnel plot asymmetry, as metafor's ``regtest``.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult` (k >= 3).
    model
        ``"rma"`` (metafor's default): the meta-regression ``yi ~ 1 + sei`` fitted with the
        result's tau2 method and test (z, or Knapp-Hartung t on k - 2 df) and level; tau2 is
        re-estimated in that meta-regression (the residual heterogeneity), not taken from the
        result. ``"lm"``: the classical Egger test, ``lm(yi ~ 1 + sei, weights = 1/vi)``
        (weighted regression with multiplicative dispersion, t on k - 2 df).
    predictor
        ``"sei"`` (default) or ``"vi"``.

    Returns
    -------
    RegtestResult
        The test statistic and p of the predictor's coefficient, and the limit estimate b (the
        intercept, the effect as sei -> 0) with its CI.

    Notes
    -----
    Validated against metafor 3.8.1 ``regtest()`` (both models, both predictors) on dat.bcg
    (FE, REML, DL, PM; z and knha), dat.egger2001 without ISIS-4 (classical test
    t = -3.1783, p = 0.0073) and dat.hackshaw1998: closed forms 1e-10, iterative 1e-8.
    """
    inp = _inputs(result)
    r = core.regression_test(inp.y, inp.v, inp.method, inp.hksj, inp.level, model=model,
                             predictor=predictor)
    return RegtestResult(
        model=r.model, predictor=r.predictor, method=r.method,
        test="z" if math.isinf(r.df) else "t", level=inp.level, k=r.k, statistic=r.statistic,
        df=r.df, p_value=r.p_value, limit_estimate=r.limit_estimate,
        limit_ci_low=r.limit_ci_low, limit_ci_high=r.limit_ci_high, slope=r.slope,
        slope_se=r.slope_se, tau2=r.tau2, notes=inp.notes,
    )


# ------------------------------------------------------------------------------ ranktest


@dataclass(frozen=True)
class RanktestResult(Printable):
    """Rank correlation test for funnel plot asymmetry (Begg & Mazumdar 1994)."""

    k: int
    tau: float  # Kendall's tau (tau-b)
    statistic: float  # T (concordant pairs) for the exact test, z for the normal approximation
    p_value: float
    exact: bool
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"k": self.k, "tau": self.tau, "statistic": self.statistic,
                              "p_value": self.p_value, "exact": self.exact}])

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's print.ranktest."""
        lines = ["Rank Correlation Test for Funnel Plot Asymmetry", "",
                 f"Kendall's tau = {fmt(self.tau, digits)}, p {_peq(self.p_value, digits)}"]
        if not self.exact:
            lines.append("Note: ties: p from the normal approximation (as cor.test)")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)



def ranktest(result: MetaResult) -> RanktestResult:
    """Begg's rank correlation test, as metafor's ``ranktest``.

    Kendall's tau between the standardized deviates ``(yi - b) / sqrt(vi - vb)`` (b and vb the
    *fixed-effect* estimate and its variance, whatever the result's method) and ``vi``. metafor
    3.8 calls ``cor.test(..., method="kendall", exact=TRUE)``: the exact permutation p-value,
    or, when there are ties, the normal approximation with the tie-corrected variance.

    Returns
    -------
    RanktestResult

    Notes
    -----
    Validated against metafor 3.8.1 ``ranktest()``: dat.bcg RR gives tau = 0.0256,
    p = 0.9524 (the documented example); also dat.egger2001, dat.hackshaw1998 (k = 37), a set
    with ties and simulated sets, to 1e-10.
    """
    inp = _inputs(result)
    tau, stat, p, exact = core.rank_test(inp.y, inp.v)
    return RanktestResult(k=len(inp.y), tau=tau, statistic=stat, p_value=p, exact=exact,
                          notes=inp.notes)


# ------------------------------------------------------------------------------ trim and fill


@dataclass(frozen=True)
class TrimfillResult(Printable):
    """Trim-and-fill analysis: k0 estimated missing studies and the model refitted with them."""

    measure: str
    estimator: str  # "L0" or "R0"
    side: str  # side of the funnel where studies are missing
    side_estimated: bool
    k0: int
    se_k0: float
    p_k0: float  # R0 only: test of H0 no missing studies (nan for L0)
    k: int  # observed studies
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float
    tau2: float
    I2: float
    H2: float
    Q: float
    Q_p: float
    studies: tuple[str, ...]  # observed studies, then "Filled 1", ..., "Filled k0"
    yi: np.ndarray
    vi: np.ndarray
    filled: np.ndarray  # bool mask over yi / vi
    original: MetaResult
    filled_result: MetaResult  # the refitted model (the original when k0 = 0)
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> bool:
        return is_ratio(self.measure)

    # drawable shape (acu_meta.results._shape): observed and filled studies, the filled model
    @property
    def study_rows(self) -> StudyRows:
        """Observed then filled studies, with the filled model's weights."""
        w = self.filled_result.weights
        if len(w) != len(self.yi):
            w = np.full(len(self.yi), np.nan)
        return StudyRows(labels=self.studies, yi=self.yi, vi=self.vi, weight=w)

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]:
        return self.filled_result.pooled_rows

    @property
    def description(self) -> str:
        return (f"Trim and fill ({self.estimator}; k0 = {self.k0}, {self.side}): "
                + self.filled_result.description)

    @property
    def footer(self) -> tuple[tuple[str, str], ...]:
        return self.filled_result.footer

    def to_frame(self) -> pd.DataFrame:
        """The filled data: one row per study, observed and filled."""
        out = pd.DataFrame({"study": list(self.studies), "yi": self.yi, "vi": self.vi,
                            "sei": np.sqrt(self.vi), "filled": self.filled})
        if self.ratio:
            out["exp_yi"] = numeric.exp_or_inf(out["yi"].to_numpy(float))
        return out

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's print of a ``trimfill()`` result."""
        se = fmt(self.se_k0, digits)
        lines = [f"Estimated number of missing studies on the {self.side} side: {self.k0} "
                 f"(SE = {se})"]
        if self.estimator == "R0":
            lines.append(f"Test of H0: no missing studies on the {self.side} side:"
                         f"{' ' * (7 if self.side == 'left' else 6)}p-val "
                         f"{_peq(self.p_k0, digits)}")
        lines.append("")
        lines.append(self.filled_result.summary(digits))
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p><b>Trim and fill ({self.estimator}): k0 = {self.k0} on the {self.side} " \
               f"side; estimate {self.estimate:.4f} [{self.ci_low:.4f}, {self.ci_high:.4f}]" \
               "</b></p>" + html_table(self.to_frame())


def _filled_model(result: MetaResult, inp: _Inputs, tf, keep_test: bool):
    """Labels of the filled data, the model refitted to it (the result itself when k0 = 0),
    and the notes."""
    notes = list(inp.notes)
    if tf.k0 == 0:
        return inp.studies, result, tuple(notes)
    labels = (*inp.studies, *(f"Filled {i + 1}" for i in range(tf.k0)))
    hksj = inp.hksj if keep_test else False
    level = inp.level if keep_test else 0.95
    filled = pool(yi=tf.yi, vi=tf.vi, method=inp.method, hksj=hksj, level=level,
                  study=list(labels))
    filled = dataclasses.replace(filled, measure=result.measure)
    if not keep_test and (inp.hksj or inp.level != 0.95):
        notes.append("the filled model uses a z test and a 95% CI, as metafor's trimfill")
    return labels, filled, tuple(notes)


def trimfill(result: MetaResult, estimator: str = "L0", side: str | None = None,
             keep_test: bool = False) -> TrimfillResult:
    """Trim-and-fill (Duval & Tweedie 2000), as metafor's ``trimfill``.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult` (k >= 2).
    estimator
        ``"L0"`` (default) or ``"R0"`` (which also gives a test of no missing studies).
    side
        ``"left"`` or ``"right"``; None estimates it as metafor does: from the slope of the
        meta-regression ``yi ~ 1 + sqrt(vi)`` (same tau2 method) -- negative slope: missing on
        the right, else on the left.
    keep_test
        metafor refits the filled data with a z test at 95% whatever the model's test and level
        (its ``trimfill`` does not pass them on); ``True`` keeps the result's Knapp-Hartung
        setting and level instead.

    Returns
    -------
    TrimfillResult
        k0, its SE, the filled data (observed studies followed by the mirrored ones, labelled
        "Filled 1", ...), and the refitted model. With k0 = 0 the original result is returned
        unchanged (as metafor).

    Notes
    -----
    The iteration (trim the k0 most extreme studies, re-estimate, re-rank with ties broken by
    order, recompute k0 until it is stable) is described in
    :func:`acu_meta.models.sensitivity.trim_and_fill`. Validated against metafor 3.8.1
    ``trimfill()`` on dat.bcg (FE, REML, DL; L0, R0; side given and estimated; knha),
    dat.hackshaw1998, dat.egger2001 and simulated sets: k0 and side exactly, filled data and
    refit to 1e-10 (closed forms) / 1e-8 (iterative).
    """
    inp = _inputs(result)
    tf = core.trim_and_fill(inp.y, inp.v, inp.method, estimator=estimator, side=side)
    labels, filled, notes = _filled_model(result, inp, tf, keep_test)
    return TrimfillResult(
        measure=result.measure, estimator=tf.estimator, side=tf.side,
        side_estimated=tf.side_estimated, k0=tf.k0, se_k0=tf.se_k0, p_k0=tf.p_k0,
        k=len(inp.y), method=inp.method, test=filled.test, level=filled.level,
        estimate=filled.estimate, se=filled.se, statistic=filled.statistic,
        p_value=filled.p_value, ci_low=filled.ci_low, ci_high=filled.ci_high, tau2=filled.tau2,
        I2=filled.I2, H2=filled.H2, Q=filled.Q, Q_p=filled.Q_p, studies=tuple(labels),
        yi=tf.yi, vi=tf.vi, filled=tf.filled, original=result, filled_result=filled,
        notes=notes,
    )


# ------------------------------------------------------------------------------ Baujat


@dataclass(frozen=True)
class BaujatResult(Printable):
    """metafor's ``baujat()`` coordinates: each study's contribution to Q (``x``) and its
    influence on the pooled estimate (``y``)."""

    measure: str
    method: str
    studies: tuple[str, ...]
    x: np.ndarray  # (y_i - b)^2 / (v_i + tau2)
    y: np.ndarray  # (b - b_(-i))^2 / vb_(-i)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"study": list(self.studies), "x": self.x, "y": self.y})

    def summary(self, digits: int = 4) -> str:
        width = max(len(s) for s in self.studies)
        rows = [[s.ljust(width), fmt(a, digits), fmt(b, digits)]
                for s, a, b in zip(self.studies, self.x, self.y, strict=True)]
        lines = [f"Baujat coordinates (k = {len(self.studies)}; method: {self.method})", "",
                 table(["", "x (Q share)", "y (influence)"], rows)]
        return "\n".join(lines + [f"Note: {n}" for n in self.notes])


def baujat(result: MetaResult) -> BaujatResult:
    """Baujat coordinates of *result*, as metafor's ``baujat()``.

    x_i = (y_i - b)^2 / (v_i + tau2), the study's share of the (generalized) Q; y_i =
    (b - b_(-i))^2 / vb_(-i), its influence on the pooled estimate, with b_(-i) and vb_(-i)
    from the leave-one-out refits of :func:`acu_meta.models.sensitivity.leave_one_out` (same
    method and test; see :func:`acu_meta.models.sensitivity.baujat_coordinates`).

    Returns
    -------
    BaujatResult

    Notes
    -----
    Validated against metafor 3.8.1 ``baujat()`` on dat.bcg (FE, DL and REML;
    ``tests/fixtures/metafor_baujat.json``, ``tests/plots/test_plots.py``): closed forms to 1e-10,
    REML to 1e-7.
    """
    inp = _inputs(result)
    x, y = core.baujat_coordinates(inp.y, inp.v, result.estimate, result.tau2, inp.method,
                                   inp.hksj)
    return BaujatResult(measure=result.measure, method=inp.method, studies=inp.studies, x=x,
                        y=y, notes=inp.notes)


# ------------------------------------------------------------------------------ PET-PEESE


@dataclass(frozen=True)
class WlsFit:
    """A weighted regression ``yi ~ 1 + x`` (weights 1/vi, multiplicative dispersion)."""

    predictor: str  # "sei" (PET) or "vi" (PEESE)
    intercept: float
    intercept_se: float
    intercept_t: float
    intercept_p: float
    ci_low: float  # CI of the intercept (t, k - 2 df)
    ci_high: float
    slope: float
    slope_se: float
    slope_t: float
    slope_p: float
    df: float


@dataclass(frozen=True)
class PetPeeseResult(Printable):
    """PET, PEESE and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014)."""

    measure: str
    k: int
    level: float
    pet: WlsFit
    peese: WlsFit
    alpha: float
    selected: str  # "PET" or "PEESE"
    estimate: float
    se: float
    p_value: float
    ci_low: float
    ci_high: float
    rule: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for name, f in (("PET", self.pet), ("PEESE", self.peese)):
            rows.append({"model": name, "predictor": f.predictor, "estimate": f.intercept,
                         "se": f.intercept_se, "tval": f.intercept_t, "p_value": f.intercept_p,
                         "ci_low": f.ci_low, "ci_high": f.ci_high, "slope": f.slope,
                         "slope_se": f.slope_se, "slope_p": f.slope_p, "df": f.df,
                         "selected": name == self.selected})
        return pd.DataFrame(rows)

    def summary(self, digits: int = 4) -> str:
        head = ["", "estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub", "slope", "pval"]
        rows = [[name, fmt(f.intercept, digits), fmt(f.intercept_se, digits),
                 fmt(f.intercept_t, digits), f"{f.df:g}", fmt_p(f.intercept_p, digits),
                 fmt(f.ci_low, digits), fmt(f.ci_high, digits), fmt(f.slope, digits),
                 fmt_p(f.slope_p, digits)]
                for name, f in (("PET (sei)", self.pet), ("PEESE (vi)", self.peese))]
        lines = [f"PET-PEESE (k = {self.k}; weighted least squares, weights 1/vi)", "",
                 table(head, rows), "",
                 f"Rule: {self.rule}",
                 f"Selected: {self.selected}: {fmt(self.estimate, digits)} "
                 f"[{fmt(self.ci_low, digits)}, {fmt(self.ci_high, digits)}] "
                 f"({_level_pct(self.level)} CI), p {_peq(self.p_value, digits)}"]
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p><b>PET-PEESE (k = {self.k}): {self.selected}</b></p>" + html_table(
            self.to_frame())


def _wls_fit(c: dict, predictor: str, level: float) -> WlsFit:
    crit = numeric.t_crit(level, c["df"])
    b, se = c["beta"], c["se"]
    return WlsFit(predictor=predictor, intercept=float(b[0]), intercept_se=float(se[0]),
                  intercept_t=float(c["t"][0]), intercept_p=float(c["p"][0]),
                  ci_low=float(b[0] - crit * se[0]), ci_high=float(b[0] + crit * se[0]),
                  slope=float(b[1]), slope_se=float(se[1]), slope_t=float(c["t"][1]),
                  slope_p=float(c["p"][1]), df=float(c["df"]))


def pet_peese(result: MetaResult, alpha: float = 0.10) -> PetPeeseResult:
    """PET-PEESE (Stanley & Doucouliagos 2014).

    PET is the weighted regression ``yi ~ 1 + sei`` and PEESE ``yi ~ 1 + vi`` (weights 1/vi,
    multiplicative dispersion, i.e. R's ``lm(..., weights = 1/vi)``, t tests on k - 2 df); the
    intercept is the effect corrected for small-study effects.

    Conditional rule implemented: report PEESE when PET's intercept differs from zero with a
    two-sided p < *alpha* (default 0.10, the same as a one-sided p < 0.05 in the direction of
    the PET estimate), else PET.

    Returns
    -------
    PetPeeseResult

    Notes
    -----
    Both regressions are validated against R's ``summary(lm(yi ~ sqrt(vi), weights = 1/vi))``
    and ``summary(lm(yi ~ vi, weights = 1/vi))`` to 1e-10 (PET equals metafor's
    ``regtest(model = "lm")`` limit estimate).
    """
    inp = _inputs(result)
    o = core.pet_peese(inp.y, inp.v, alpha=alpha)
    pet = _wls_fit(o["pet"], "sei", inp.level)
    peese = _wls_fit(o["peese"], "vi", inp.level)
    sel = peese if o["selected"] == "PEESE" else pet
    rule = (f"PEESE if PET's intercept has two-sided p < {alpha:g} (one-sided p < {alpha / 2:g} "
            "in its direction; Stanley & Doucouliagos 2014), else PET")
    return PetPeeseResult(
        measure=result.measure, k=len(inp.y), level=inp.level, pet=pet, peese=peese,
        alpha=alpha, selected=o["selected"], estimate=sel.intercept, se=sel.intercept_se,
        p_value=sel.intercept_p, ci_low=sel.ci_low, ci_high=sel.ci_high, rule=rule,
        notes=inp.notes,
    )


# ------------------------------------------------------------------------------ fail-safe N


@dataclass(frozen=True)
class FsnResult(Printable):
    """Fail-safe N (file-drawer analysis), as metafor's ``fsn``."""

    type: str  # Rosenthal, Orwin, Rosenberg
    test: str  # Stouffer or Fisher (Rosenthal only)
    fsnum: float  # whole number (or inf)
    alpha: float
    p_value: float  # observed significance (nan for Orwin)
    mean_effect: float  # Orwin / Rosenberg (nan for Rosenthal)
    target: float  # Orwin (nan otherwise)
    weighted: bool
    k: int
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int | float:
        """The fail-safe N as an int (inf stays a float)."""
        return int(self.fsnum) if math.isfinite(self.fsnum) else self.fsnum

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"type": self.type, "test": self.test, "fsnum": self.fsnum,
                              "alpha": self.alpha, "p_value": self.p_value,
                              "mean_effect": self.mean_effect, "target": self.target,
                              "k": self.k}])

    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's print.fsn."""
        lines = [f"Fail-safe N Calculation Using the {self.type} Approach", ""]
        if self.type == "Rosenthal":
            lines += [f"Observed Significance Level: {fmt_p(self.p_value, digits)}",
                      f"Target Significance Level:   {self.alpha:g}"]
        elif self.type == "Orwin":
            lines += [f"Average Effect Size: {fmt(self.mean_effect, digits)}",
                      f"Target Effect Size:  {fmt(self.target, digits)}"]
        else:
            lines += [f"Average Effect Size:         {fmt(self.mean_effect, digits)}",
                      f"Observed Significance Level: {fmt_p(self.p_value, digits)}",
                      f"Target Significance Level:   {self.alpha:g}"]
        n = "Inf" if math.isinf(self.fsnum) else f"{self.n}"
        lines += ["", f"Fail-safe N: {n}"]
        if self.type == "Rosenthal" and self.test == "Fisher":
            lines.append("Note: Fisher's method of combining p-values")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)



def fsn(result: MetaResult | None = None, *, yi=None, vi=None, sei=None,
        type: str = "Rosenthal", alpha: float = 0.05, target: float | None = None,
        weighted: bool = False, test: str = "Stouffer") -> FsnResult:
    """Fail-safe N, as metafor's ``fsn``.

    Parameters
    ----------
    result
        A :class:`~acu_meta.results.MetaResult` (its study yi / vi are used); or leave it out
        and pass ``yi`` with ``vi`` or ``sei``.
    type
        ``"Rosenthal"`` (default; Stouffer's combined z, or Fisher's method with
        ``test="Fisher"``), ``"Orwin"`` (number of null studies that bring the mean effect --
        unweighted, or inverse-variance weighted with ``weighted=True`` -- down to *target*,
        default half the mean) or ``"Rosenberg"`` (weighted, fixed-effect z). metafor's
        simulation-based ``"REM"`` type is not implemented.
    alpha
        Target significance level (Rosenthal: one-sided; Rosenberg: two-sided).

    Returns
    -------
    FsnResult

    Notes
    -----
    Formulas are in :func:`acu_meta.models.sensitivity.fail_safe_n`; N is rounded up as metafor.
    For Fisher's method metafor's objective counts ``floor(N)`` added studies but ``N`` in the
    degrees of freedom; its root (found by R's ``uniroot``) is reproduced with R's search.
    Validated against metafor 3.8.1 ``fsn()``: dat.bcg RR gives Rosenthal 598, Orwin 175
    (target log(0.95)) and Rosenberg 370 (the documented examples); all types on
    dat.egger2001, dat.hackshaw1998 and a simulated set, N exactly, other numbers to 1e-10.
    """
    notes: tuple[str, ...] = ()
    if result is not None:
        inp = _inputs(result)
        y, v, notes = inp.y, inp.v, inp.notes
    else:
        if yi is None:
            raise ValueError("pass a MetaResult or yi (with vi or sei)")
        y = np.asarray(yi, dtype=float)
        v = np.asarray(vi, dtype=float) if vi is not None else (
            np.asarray(sei, dtype=float) ** 2 if sei is not None else None)
    o = core.fail_safe_n(y, v, type=type, alpha=alpha, target=target, weighted=weighted,
                         test=test)
    return FsnResult(type=o["type"], test=test.capitalize() if o["type"] == "Rosenthal" else "",
                     fsnum=float(o["fsnum"]), alpha=alpha, p_value=o["p_value"],
                     mean_effect=o["mean_effect"], target=o["target"],
                     weighted=bool(weighted), k=o["k"], notes=notes)


# ------------------------------------------------------------------------------ summary dict

BIAS_KEYS = ("egger_stat", "egger_p", "egger_classic_t", "egger_classic_p", "begg_tau",
             "begg_p", "trimfill_k0", "trimfill_side", "trimfill_estimate", "failsafe_n")

# the errors meaning "this method cannot be computed for these studies" (too few studies, a
# constant predictor, ...): the project's own, never a bug. ``models.ModelError`` is listed
# as well while it is not yet a subclass of ``acu_meta.errors.ModelError``.
_CANNOT_COMPUTE = (AcuMetaError, ModelError)


@dataclass(frozen=True)
class BiasSummary(Printable):
    """The headline small-study-effect numbers of a pooled result (see :func:`bias_summary`).

    A number is None when the method cannot be computed for these studies (``notes`` says
    which and why) or is not finite.
    """

    k: int
    egger_stat: float | None = None
    egger_p: float | None = None
    egger_classic_t: float | None = None
    egger_classic_p: float | None = None
    begg_tau: float | None = None
    begg_p: float | None = None
    trimfill_k0: int | None = None
    trimfill_side: str | None = None
    trimfill_estimate: float | None = None
    failsafe_n: float | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """Exactly the keys of :data:`BIAS_KEYS`, JSON-ready."""
        return {key: getattr(self, key) for key in BIAS_KEYS}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"quantity": list(BIAS_KEYS),
                             "value": [getattr(self, key) for key in BIAS_KEYS]})

    def summary(self, digits: int = 4) -> str:
        def show(x):
            return "NA" if x is None else x if isinstance(x, str) else (
                f"{x:g}" if isinstance(x, int) else fmt(x, digits))

        lines = [f"Small-study effects (k = {self.k})", ""]
        lines += [f"{key:<18} {show(getattr(self, key))}" for key in BIAS_KEYS]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _egger(result: MetaResult) -> dict:
    r = regtest(result)
    return {"egger_stat": _num(r.statistic), "egger_p": _num(r.p_value)}


def _egger_classic(result: MetaResult) -> dict:
    r = regtest(result, model="lm")
    return {"egger_classic_t": _num(r.statistic), "egger_classic_p": _num(r.p_value)}


def _begg(result: MetaResult) -> dict:
    r = ranktest(result)
    return {"begg_tau": _num(r.tau), "begg_p": _num(r.p_value)}


def _trimfill_numbers(result: MetaResult) -> dict:
    t = trimfill(result)
    return {"trimfill_k0": int(t.k0), "trimfill_side": t.side,
            "trimfill_estimate": _num(t.estimate)}


def _failsafe(result: MetaResult) -> dict:
    return {"failsafe_n": _num(fsn(result).n)}


_BIAS_METHODS = (
    ("Egger's test (regtest)", _egger),
    ("Egger's classical test (regtest, model='lm')", _egger_classic),
    ("Begg's rank test (ranktest)", _begg),
    ("trim and fill", _trimfill_numbers),
    ("fail-safe N (Rosenthal)", _failsafe),
)


def small_study_effects(result: MetaResult) -> BiasSummary:
    """Egger, Begg, trim-and-fill and fail-safe N of *result* in one object.

    Each method that cannot be computed for these studies (it raises one of the project's
    errors: too few studies, a constant predictor, ...) is left as None and the reason is kept
    in ``notes``; any other exception is a bug and propagates.

    Returns
    -------
    BiasSummary

    Notes
    -----
    The numbers are those of :func:`regtest`, :func:`ranktest`, :func:`trimfill` and
    :func:`fsn`, validated against metafor 3.8.1 in ``tests/results/test_sensitivity.py``.
    """
    inp = _inputs(result)
    values: dict = {}
    notes = list(inp.notes)
    for name, method in _BIAS_METHODS:
        try:
            values.update(method(result))
        except _CANNOT_COMPUTE as err:
            notes.append(f"{name} not computed: {err}")
    return BiasSummary(k=len(inp.y), notes=tuple(notes), **values)


def bias_summary(result: MetaResult) -> dict:
    """The headline small-study-effect numbers of *result*, for JSON output.

    Keys (exactly): ``egger_stat``, ``egger_p`` (:func:`regtest` default, the meta-regression
    on sei: z, or t for Knapp-Hartung), ``egger_classic_t``, ``egger_classic_p``
    (``regtest(model="lm")``), ``begg_tau``, ``begg_p`` (:func:`ranktest`), ``trimfill_k0``,
    ``trimfill_side``, ``trimfill_estimate`` (:func:`trimfill` with L0, side estimated; the
    estimate on the analysis scale), ``failsafe_n`` (:func:`fsn`, Rosenthal). A value is None
    when it cannot be computed (e.g. k < 3 for the tests) or is not finite; why is in the
    ``notes`` of :func:`small_study_effects`, which this is the ``to_dict()`` of.
    """
    return small_study_effects(result).to_dict()
