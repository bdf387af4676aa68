"""Results of a meta-analysis: explicit frozen dataclasses, and :func:`pool` that builds them.

``pool`` is a short sequence of named steps, each a small private function: set-up
(:func:`_setup`: level, profile and explicit options) -> effect sizes (:func:`_effect_sizes`,
escalc) -> usable studies (:func:`_usable_studies`: missing / excluded) -> fit
(:func:`_fit`: weights, tau2, estimate) -> tests (:func:`_tests`: z or t, CI) ->
heterogeneity (:func:`_heterogeneity`: Q, I2, H2, Q-profile CIs) -> prediction interval
(:func:`_prediction`) -> result (:func:`_build`). Mantel-Haenszel and Peto pooling take their
own short path (:func:`_pool_fixed_binary`).

Method profiles
---------------
A profile is data: a frozen :class:`Profile` in :data:`PROFILES`.

===========  ======  ====================  =======================  =====  =========================
profile      tau2    SMD correction J      Q used for tau2 and I2   PI     CI of the pooled effect
===========  ======  ====================  =======================  =====  =========================
metafor      REML    exact (gamma)         inverse variance         yes    z (``hksj=True``: t)
revman5      DL      1 - 3/(4N - 9)        Mantel-Haenszel for      no     z
                                           binary data, else IV
revman_web   REML    exact (gamma)         inverse variance         yes    Hartung-Knapp-Sidik-
                                                                           Jonkman (t, k - 1 df)
===========  ======  ====================  =======================  =====  =========================

In every profile I2 and H2 of a random-effects model are tau2-based as metafor defines them
(``I2 = tau2 / (tau2 + s2)``, s2 the typical within-study variance), except ``revman5``
(``Profile.i2_from_q``), which reports RevMan 5's I2 and H2 from Q (Higgins & Thompson 2002,
:func:`acu_meta.numeric.i2_from_q`; for DL, the estimator RevMan 5 uses, the two I2 are the
same number). Explicit arguments (``method=``, ``hksj=``, ``exact=``) override the profile;
:attr:`MetaResult.options` is the profile as applied.

``revman5`` also follows RevMan 5 (R's meta 8.3, ``settings.meta("RevMan5")``) for 2x2 counts:
double-zero studies leave OR and RR analyses and k (``Profile.drop00_ratio``), and its
Mantel-Haenszel estimate (method MH, and the centre of Q for DL) adds 1/2 to every cell of a
study with a zero cell in the MH weights and variance, with the Greenland-Robins (1985) RD
variance (:func:`acu_meta.models._mh.mantel_haenszel_revman5`). For RD the per-study yi of a
zero-cell study stays the raw risk difference while vi comes from the corrected cells, as meta
(``Profile.rd_raw_yi``; metafor's profile corrects both). Checked against meta in
``tests/results/test_revman_profiles_meta.py``; the divergences left (meta's Inverse-method
Q, the RevMan Web prediction interval) are listed there.

Every MetaResult has the drawable shape of :mod:`acu_meta.results._shape` (``study_rows``,
``pooled_rows``, ``description``, ``footer``).
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import numeric
from ..effects.escalc import (
    BINARY_MEASURES,
    MEASURE_LABELS,
    EffectSizes,
    escalc,
)
from ..errors import InputError
from ..models import (
    ModelError,
    dl_from_q,
    fit,
    mantel_haenszel,
    peto,
    q_profile_ci,
    registry,
    typical_variance,
)
from ..models._mh import mantel_haenszel_revman5
from ._api import check_kwargs, hksj_from_test
from ._format import (
    fmt,
    fmt_p,
    heterogeneity_text,
    html_table,
    overall_text,
    stars,
    table,
)
from ._shape import PooledRow, StudyRows, is_ratio, usable


@dataclass(frozen=True)
class Profile:
    """A method profile: the defaults and rules of one program, as data.

    Attributes
    ----------
    name
        Key in :data:`PROFILES` ("metafor", "revman5", "revman_web").
    description
        One line for people.
    tau2_method
        Default method: a tau2 estimator (REML, DL, ...), FE, MH or PETO.
    hksj
        Hartung-Knapp-Sidik-Jonkman test and CI (t on k - 1 df) by default.
    exact_j
        Hedges' J of the SMD: exact gamma-function form (True) or ``1 - 3/(4N - 9)`` (False).
    prediction
        Report metafor's prediction interval.
    q_around_mh
        RevMan 5's rule for binary data (OR, RR, RD with 2x2 counts, DL): Q around the
        Mantel-Haenszel estimate (inverse-variance weights), and the DL tau2 from that Q. In
        :attr:`MetaResult.options` it is True only when the rule was applied.
    i2_from_q
        I2 and H2 from Q (:func:`acu_meta.numeric.i2_from_q`, :func:`~acu_meta.numeric.h2_from_q`)
        instead of metafor's tau2-based forms.
    drop00_ratio
        Double-zero studies (no events, or only events, in both arms) leave OR and RR analyses
        of 2x2 counts (escalc ``drop00=True``), as RevMan 5 and R's meta; metafor keeps them
        with 1/2 added. Validated against meta 8.3 (``tests/results/test_revman_profiles_meta.py``).
    hksj_adhoc
        With ``hksj``: the Knapp-Hartung ad hoc modification, scale factor ``max(1, s2)``
        (:func:`acu_meta.models.fit`).
    rd_raw_yi
        RD from 2x2 counts: a study with a zero cell keeps its raw risk difference as yi,
        while vi comes from the continuity-corrected cells, as R's meta (metabin) and RevMan 5;
        metafor's escalc corrects both. Validated against meta 8.3
        (``tests/results/test_revman_profiles_meta.py``).
    """

    name: str
    description: str
    tau2_method: str
    hksj: bool
    exact_j: bool
    prediction: bool
    q_around_mh: bool = False
    i2_from_q: bool = False
    drop00_ratio: bool = False
    hksj_adhoc: bool = False
    rd_raw_yi: bool = False


PROFILES: dict[str, Profile] = {
    "metafor": Profile("metafor", "metafor 3.8.1 defaults (rma.uni)", "REML", hksj=False,
                       exact_j=True, prediction=True),
    "revman5": Profile("revman5", "RevMan 5: DL, approximate J, Q around MH for binary data, "
                       "I2 from Q, no prediction interval", "DL", hksj=False, exact_j=False,
                       prediction=False, q_around_mh=True, i2_from_q=True,
                       drop00_ratio=True, rd_raw_yi=True),
    "revman_web": Profile("revman_web", "RevMan Web: REML with the Hartung-Knapp-Sidik-Jonkman "
                          "interval", "REML", hksj=True, exact_j=True, prediction=True),
}
COUNT_METHODS = ("MH", "PETO")  # fixed-effect methods on 2x2 counts, not tau2 estimators


def methods() -> tuple[str, ...]:
    """Every ``method`` :func:`pool` accepts: FE, MH, PETO and each registered tau2 estimator
    (read from :mod:`acu_meta.models.registry` when called, so a new registration is seen)."""
    return ("FE", *COUNT_METHODS, *[m for m in registry.names() if m != "FE"])


def __getattr__(name: str):
    # METHODS stays importable (``from acu_meta.results import METHODS``) and is never stale
    if name == "METHODS":
        return methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Homogeneity(NamedTuple):
    """Cochran's Q test for heterogeneity."""

    Q: float
    df: int
    p_value: float


@dataclass(frozen=True)
class MetaResult:
    """A pooled meta-analysis, on the analysis scale (log scale for ratio measures).

    Every number is stored unrounded; :meth:`summary` and :meth:`_repr_html_` only format.
    ``options`` is the :class:`Profile` as applied (explicit arguments and data-dependent
    rules resolved). A MetaResult has the drawable shape of :mod:`acu_meta.results._shape`.
    """

    measure: str
    method: str
    model: str  # "fixed" or "random"
    profile: str
    hksj: bool
    level: float
    k: int
    estimate: float
    se: float
    statistic: float
    test: str  # "z" or "t"
    df: float  # degrees of freedom of the t test (inf for z)
    p_value: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    pi_method: str
    tau2: float
    se_tau2: float
    tau2_ci: tuple[float, float]
    I2: float
    I2_ci: tuple[float, float]
    H2: float
    H2_ci: tuple[float, float]
    Q: float
    Q_df: int
    Q_p: float
    studies: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray  # percent
    excluded: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    arms: pd.DataFrame | None = field(default=None, repr=False)
    options: Profile | None = None
    #: method MH: the tests rma.mh prints (MH, MHp, CO, COp, BD, BDp, TA, TAp; NaN where
    #: metafor gives NA), from :meth:`acu_meta.models._mh.FixedFit.tests`; else empty
    mh_tests: dict = field(default_factory=dict)
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # rows used

    # ------------------------------------------------------------------ derived views
    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2) if self.tau2 >= 0 else math.nan

    @property
    def ratio(self) -> bool:
        """True when the analysis scale is the log of a ratio."""
        return is_ratio(self.measure)

    def conf_int(self, level: float | None = None, exp: bool = False) -> tuple[float, float]:
        """CI of the pooled effect at ``level`` (95 or 0.95; default: the fit's level),
        recomputed from the stored SE with the fit's test (z, or t on ``df``); exponentiated
        with ``exp=True``. At the fit's level it is the stored interval. Checked against
        metafor's ``rma(..., level = 90)`` in ``tests/results/test_api_metafor.py``."""
        if level is None:
            lo, hi = self.ci_low, self.ci_high
        else:
            half = numeric.t_crit(numeric.level_fraction(level), self.df) * self.se
            lo, hi = self.estimate - half, self.estimate + half
        return (numeric.exp_or_inf(lo), numeric.exp_or_inf(hi)) if exp else (lo, hi)

    def coef(self) -> pd.Series:
        """The pooled estimate as metafor's ``coef()``: a Series with the index ``intrcpt``."""
        return pd.Series([self.estimate], index=["intrcpt"], name="estimate")

    def vcov(self) -> pd.DataFrame:
        """Variance of the pooled estimate (1 x 1, as metafor's ``vcov()``)."""
        return pd.DataFrame([[self.se**2]], index=["intrcpt"], columns=["intrcpt"])

    def residuals(self) -> pd.Series:
        """``yi - estimate`` per study (metafor's ``residuals()``), indexed by study."""
        return pd.Series(self.yi - self.estimate, index=list(self.studies), name="resid")

    def rstandard(self) -> pd.DataFrame:
        """Standardized residuals (metafor's ``rstandard()``): ``resid / se`` with
        ``se^2 = v_i + tau2 - 1 / sum(w)`` (the variance of ``y_i - estimate``, unscaled by
        Hartung-Knapp as in metafor). Checked in ``tests/results/test_api_metafor.py``."""
        w = 1.0 / (self.vi + self.tau2)
        ws = w / np.max(w)
        var_hat = 1.0 / (np.max(w) * ws.sum())
        se = np.sqrt(self.vi + self.tau2 - var_hat)
        resid = self.yi - self.estimate
        return pd.DataFrame({"resid": resid, "se": se, "z": resid / se},
                            index=list(self.studies))

    def predict(self, transf=None, level: float | None = None):
        """metafor's ``predict()``: the pooled estimate with its CI and prediction interval at
        ``level`` (default: the fit's), optionally transformed by ``transf`` (e.g. ``np.exp``).
        Returns a :class:`~acu_meta.results.regression.Prediction`."""
        from .regression import Prediction

        lv = self.level if level is None else numeric.level_fraction(level)
        crit = numeric.t_crit(lv, self.df)
        half = crit * self.se
        if self.model == "random" and (self.options is None or self.options.prediction):
            pi_half = crit * math.sqrt(self.se**2 + self.tau2)
            pi = (self.estimate - pi_half, self.estimate + pi_half)
        else:
            pi = (math.nan, math.nan)
        return Prediction.build([self.estimate], [self.se],
                                [self.estimate - half], [self.estimate + half],
                                [pi[0]], [pi[1]], lv, transf)

    def prediction_interval(self, method: str = "metafor") -> tuple[float, float]:
        """Prediction interval for the effect in a new study.

        ``"metafor"``: metafor's predict(): estimate +/- crit * sqrt(se^2 + tau2), crit the
        normal quantile (or t with k - 1 df under HKSJ). ``"higgins"``: Higgins, Thompson &
        Spiegelhalter (2009) / Riley et al. (2011): t with k - 2 df (needs k >= 3).
        """
        if method == "metafor":
            return self.pi_low, self.pi_high
        if method == "higgins":
            if self.k < 3:
                warnings.warn(f"the Higgins-Thompson-Spiegelhalter prediction interval needs "
                              f"k >= 3 (t with k - 2 df); k = {self.k}: (nan, nan)",
                              stacklevel=2)
                return math.nan, math.nan
            crit = numeric.t_crit(self.level, self.k - 2)
            half = crit * math.sqrt(self.se**2 + self.tau2)
            return self.estimate - half, self.estimate + half
        raise ValueError("method must be 'metafor' or 'higgins'")

    def test_homogeneity(self) -> Homogeneity:
        return Homogeneity(self.Q, self.Q_df, self.Q_p)

    def exp(self) -> dict[str, float]:
        """Estimate, CI and PI on the natural scale (ratio measures only)."""
        if not self.ratio:
            raise ValueError(f"{self.measure} is not a ratio measure")
        return {
            "estimate": numeric.exp_or_inf(self.estimate),
            "ci_low": numeric.exp_or_inf(self.ci_low),
            "ci_high": numeric.exp_or_inf(self.ci_high),
            "pi_low": numeric.exp_or_inf(self.pi_low),  # NaN stays NaN
            "pi_high": numeric.exp_or_inf(self.pi_high),
        }

    def study_frame(self) -> pd.DataFrame:
        """One row per study: yi, vi, sei, CI, weight (percent)."""
        lo, hi = self.study_rows.interval(self.level)
        frame = pd.DataFrame(
            {
                "study": list(self.studies),
                "yi": self.yi,
                "vi": self.vi,
                "sei": np.sqrt(self.vi),
                "ci_low": lo,
                "ci_high": hi,
                "weight": self.weights,
            }
        )
        if self.arms is not None:
            frame = pd.concat([frame, self.arms.reset_index(drop=True)], axis=1)
        if self.data is not None:
            extra = self.data.drop(columns=[c for c in self.data.columns if c in frame.columns])
            frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """Per-study rows plus the pooled row (and a prediction row for random effects)."""
        studies = self.study_frame()[["study", "yi", "sei", "ci_low", "ci_high", "weight"]]
        studies = studies.rename(columns={"yi": "estimate", "sei": "se"})
        studies.insert(0, "row", "study")
        frames = [studies] + [
            pd.DataFrame([{"row": p.kind, "study": p.label, "estimate": p.estimate,
                           "se": self.se if p.kind == "pooled" else math.nan,
                           "ci_low": p.ci_low, "ci_high": p.ci_high,
                           "weight": 100.0 if p.kind == "pooled" else math.nan}])
            for p in self.pooled_rows]
        out = pd.concat(frames, ignore_index=True)
        if self.ratio:
            for c in ("estimate", "ci_low", "ci_high"):
                out[f"exp_{c}"] = numeric.exp_or_inf(out[c].to_numpy(float))
        return out

    def to_dict(self) -> dict:
        """The numbers of ``acu-meta pool --json`` (analysis scale; I2 and weights in percent)."""
        num = numeric.json_number
        return {
            "measure": self.measure,
            "method": self.method,
            "hksj": self.hksj,
            "profile": self.profile,
            "level": self.level,
            "k": self.k,
            "estimate": num(self.estimate),
            "se": num(self.se),
            "statistic": num(self.statistic),
            "test": self.test,
            "df": num(self.df),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "pi_low": num(self.pi_low),
            "pi_high": num(self.pi_high),
            "tau2": num(self.tau2),
            "tau2_ci_low": num(self.tau2_ci[0]),
            "tau2_ci_high": num(self.tau2_ci[1]),
            "I2": num(self.I2),
            "I2_ci_low": num(self.I2_ci[0]),
            "I2_ci_high": num(self.I2_ci[1]),
            "H2": num(self.H2),
            "Q": num(self.Q),
            "Q_df": self.Q_df,
            "Q_p": num(self.Q_p),
            "p_value": num(self.p_value),
            **({"mh_tests": {k: num(v) for k, v in self.mh_tests.items()}}
               if self.mh_tests else {}),
            "excluded": [{"study": s, "reason": r} for s, r in self.excluded],
            "notes": list(self.notes),
            "studies": [
                {"study": s, "yi": num(float(y)), "vi": num(float(v)), "weight": num(float(w))}
                for s, y, v, w in zip(self.studies, self.yi, self.vi, self.weights, strict=True)
            ],
        }

    # ------------------------------------------------------------------ drawable shape
    @property
    def study_rows(self) -> StudyRows:
        """The study rows (labels, yi, vi, weight in percent, arm data)."""
        return StudyRows(labels=self.studies, yi=self.yi, vi=self.vi, weight=self.weights,
                         arms=self.arms)

    @property
    def description(self) -> str:
        """The model in words: "Random-effects model (REML)", "Fixed-effect model (MH)"."""
        kind = "Random-effects model" if self.model == "random" else "Fixed-effect model"
        return f"{kind} ({self.method})"

    def _method_text(self) -> str:
        name = {"FE": "inverse variance", "MH": "Mantel-Haenszel", "PETO": "Peto"}.get(
            self.method, self.method)
        hk = "Hartung-Knapp ad hoc (q >= 1)" if self.options.hksj_adhoc else "Hartung-Knapp"
        return f"{name}, " + (f"{hk} t({self.df:g})" if self.test == "t" else "z")

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]:
        """The pooled row, and for a random-effects model with a prediction interval the
        prediction row."""
        interval = f"{self.level * 100:g}% CI"
        out = [PooledRow("pooled", f"{self.model.capitalize()} effects ({self.method})",
                         self.estimate, self.ci_low, self.ci_high, interval=interval,
                         model=self.model, description=self._method_text())]
        if self.model == "random" and not math.isnan(self.pi_low):
            out.append(PooledRow("prediction", "Prediction interval", self.estimate,
                                 self.pi_low, self.pi_high, interval=interval,
                                 model=self.model, description=self.pi_method))
        return tuple(out)

    @property
    def footer(self) -> tuple[tuple[str, str], ...]:
        """RevMan's two lines under a forest plot: heterogeneity, and the test of the effect."""
        return (("heterogeneity", heterogeneity_text(self)), ("overall", overall_text(self)))

    # ------------------------------------------------------------------ printing
    def summary(self, digits: int = 4) -> str:
        """Text laid out like metafor's print.rma (numbers are formatted, not changed)."""
        lines = []
        label = MEASURE_LABELS.get(self.measure, self.measure)
        if self.method in ("MH", "PETO"):
            name = "Mantel-Haenszel" if self.method == "MH" else "Peto's method"
            lines.append(f"Fixed-Effects Model ({name}; k = {self.k}; {label})")
        elif self.model == "fixed":
            lines.append(f"Fixed-Effects Model (k = {self.k}; {label})")
        else:
            lines.append(f"Random-Effects Model (k = {self.k}; tau^2 estimator: {self.method}; "
                         f"{label})")
        lines.append("")
        if self.model == "random":
            se_t = f" (SE = {fmt(self.se_tau2, digits)})" if not math.isnan(self.se_tau2) else ""
            lines.append(f"tau^2 (estimated amount of total heterogeneity): "
                         f"{fmt(self.tau2, digits)}{se_t}")
            lines.append("tau (square root of estimated tau^2 value):      "
                         f"{fmt(self.tau, digits)}")
        na = f"not estimable (k = {self.k})"
        lines.append("I^2 (total heterogeneity / total variability):   "
                     + (na if math.isnan(self.I2) else f"{self.I2:.2f}%"))
        lines.append("H^2 (total variability / sampling variability):  "
                     + (na if math.isnan(self.H2) else f"{self.H2:.2f}"))
        lines += ["", "Test for Heterogeneity:",
                  f"Q(df = {self.Q_df}) = {fmt(self.Q, digits)}, p-val {_pv(self.Q_p, digits)}"]
        lines += _mh_test_lines(self.mh_tests, digits)
        lines += ["", "Model Results:", ""]
        stat = "tval" if self.test == "t" else "zval"
        head = ["estimate", "se", stat, *(["df"] if self.test == "t" else []), "pval", "ci.lb",
                "ci.ub", ""]
        row = [fmt(self.estimate, digits), fmt(self.se, digits), fmt(self.statistic, digits),
               *([f"{self.df:g}"] if self.test == "t" else []), fmt_p(self.p_value, digits),
               fmt(self.ci_low, digits), fmt(self.ci_high, digits), stars(self.p_value)]
        lines.append(table(head, [row]))
        if self.model == "random" and not math.isnan(self.pi_low):
            lines += ["", f"Prediction interval ({self.pi_method}): "
                          f"{fmt(self.pi_low, digits)} to {fmt(self.pi_high, digits)}"]
        if self.model == "random" and not math.isnan(self.tau2_ci[0]):
            lines.append(f"Q-profile {self.level * 100:g}% CI: tau^2 "
                         f"{fmt(self.tau2_ci[0], digits)} "
                         f"to {fmt(self.tau2_ci[1], digits)}; I^2 {self.I2_ci[0]:.2f}% to "
                         f"{self.I2_ci[1]:.2f}%")
        if self.ratio:
            e = self.exp()
            lines.append(f"Exponentiated: {fmt(e['estimate'], digits)} ({fmt(e['ci_low'], digits)}"
                         f" to {fmt(e['ci_high'], digits)})")
        for s, r in self.excluded:
            lines.append(f"Excluded: {s}: {r}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The whole summary (tau2, I2, Q, the test) above the table of study and pooled rows."""
        text = html.escape(self.summary())
        return (f"<div class='acu-meta-result'><pre>{text}</pre>"
                + html_table(self.to_frame()) + "</div>")


def _mh_test_lines(tests: dict, digits: int) -> list[str]:
    """rma.mh's extra lines: the CMH test and Breslow-Day / Tarone (where defined)."""
    out = []
    if tests and not math.isnan(tests.get("MH", math.nan)):
        out += ["", f"Cochran-Mantel-Haenszel Test: CMH = {fmt(tests['MH'], digits)}, df = 1, "
                    f"p-val {_pv(tests['MHp'], digits)}"]
    if tests and not math.isnan(tests.get("TAp", math.nan)):
        out += [f"Breslow-Day Test: X^2 = {fmt(tests['BD'], digits)}, p-val "
                f"{_pv(tests['BDp'], digits)}; with Tarone's correction: X^2 = "
                f"{fmt(tests['TA'], digits)}, p-val {_pv(tests['TAp'], digits)}"]
    return out


def _pv(p: float, digits: int) -> str:
    s = fmt_p(p, digits)
    return "< " + s[1:] if s.startswith("<") else f"= {s}"


# ---------------------------------------------------------------------------------- pool


class _Studies(NamedTuple):
    """The usable studies: what the model is fitted to."""

    y: np.ndarray
    v: np.ndarray
    studies: tuple[str, ...]
    arms: pd.DataFrame | None
    excluded: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    data: pd.DataFrame | None = None


class _Fitted(NamedTuple):
    fit: object  # acu_meta.models.Fit
    q_mh: float | None  # Q around the Mantel-Haenszel estimate (revman5), else None
    notes: tuple[str, ...]


class _Tests(NamedTuple):
    beta: float
    se: float
    statistic: float
    crit: float
    p_value: float
    test: str
    df: float
    notes: tuple[str, ...]


class _Heterogeneity(NamedTuple):
    Q: float
    Q_p: float
    I2: float
    H2: float
    tau2_ci: tuple[float, float]
    I2_ci: tuple[float, float]
    H2_ci: tuple[float, float]


def _setup(method, hksj, profile, exact, level, hksj_adhoc=False) -> tuple[Profile, float]:
    """The profile with explicit arguments applied, and the level as a fraction."""
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    method = (method or prof.tau2_method).upper()
    if method not in methods():
        raise InputError(f"unknown method {method!r}; use one of {', '.join(methods())}")
    level = numeric.level_fraction(level)
    return dataclasses.replace(
        prof, tau2_method=method, hksj=prof.hksj if hksj is None else bool(hksj),
        exact_j=prof.exact_j if exact is None else exact,
        hksj_adhoc=bool(hksj_adhoc) or prof.hksj_adhoc), level


_DATA_ARGS = tuple(n for n in inspect.signature(escalc).parameters
                   if n not in ("measure", "study", "exact", "data", "slab"))


def _effect_sizes(es, measure, exact, study, kwargs) -> EffectSizes:
    if isinstance(es, EffectSizes):
        if kwargs:
            raise TypeError(f"pool() got data arguments ({', '.join(kwargs)}) beside "
                            "EffectSizes; give one or the other")
        return es
    if isinstance(es, pd.DataFrame):
        if not kwargs:  # metafor: escalc() output has yi and vi columns
            if not {"yi", "vi"} <= set(es.columns):
                raise TypeError("pool(df) needs the column names of the data, e.g. "
                                "pool(df, yi='yi', vi='vi') or ai=, n1i=, ... (columns found: "
                                f"{', '.join(map(str, es.columns))})")
            kwargs = {"yi": "yi", "vi": "vi"}
        if study is None and "study" in es.columns:  # escalc's to_frame() has the labels
            study = "study"
        kwargs["data"] = es
    elif es is not None:
        raise TypeError("pool() needs EffectSizes (from escalc), a DataFrame with column names "
                        f"(pool(df, yi='yi', vi='vi')), or keyword data, not {type(es).__name__}")
    if study is not None:
        kwargs["study"] = study
    if measure is None:
        measure = "GEN" if "yi" in kwargs else (
            "OR" if "ai" in kwargs else "SMD")
    if measure.upper() == "SMD":
        kwargs.setdefault("exact", exact)
    return escalc(measure, **kwargs)


def _raw_rd(es: EffectSizes) -> EffectSizes:
    """RevMan 5 / meta for RD with zero cells: yi the raw risk difference, vi unchanged (from
    the continuity-corrected cells). Other measures, and RD without corrected studies, pass."""
    if es.measure != "RD" or es.arms is None or not es.corrected:
        return es
    a = es.arms
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = (a["ai"].to_numpy(float) / a["n1i"].to_numpy(float)
               - a["ci"].to_numpy(float) / a["n2i"].to_numpy(float))
    yi = np.where(np.isfinite(es.yi), raw, es.yi)  # excluded studies stay NaN
    return dataclasses.replace(es, yi=yi)


def _usable_studies(es: EffectSizes) -> _Studies:
    """Studies with a usable effect size; the others are listed (and warned about)."""
    ok = usable(es.yi, es.vi)
    excluded = list(es.excluded)
    known = {s for s, _ in excluded}
    for i in np.flatnonzero(~ok):
        if es.study[i] not in known:
            excluded.append((es.study[i], "no usable effect size (missing, infinite, or zero "
                                          "variance)"))
    if excluded:
        warnings.warn(
            "excluded from the analysis: " + "; ".join(f"{s} ({r})" for s, r in excluded),
            stacklevel=3,
        )
    if not ok.any():
        raise ModelError("no study has a usable effect size")
    notes = []
    if es.corrected:
        notes.append(f"{len(es.corrected)} study(ies) with a zero cell got the continuity "
                     f"correction {es.options.get('add', 0.5)} added to every cell")
    return _Studies(es.yi[ok], es.vi[ok],
                    tuple(s for s, keep in zip(es.study, ok, strict=True) if keep),
                    es.arms[ok].reset_index(drop=True) if es.arms is not None else None,
                    tuple(excluded), tuple(notes),
                    es.data[ok].reset_index(drop=True) if es.data is not None else None)


def _q_around_mh(st: _Studies, measure: str) -> tuple[float, float]:
    """RevMan 5: Q around the Mantel-Haenszel estimate (IV weights) and the DL tau2 from it
    (k > 1; with one study tau2 is 0 as in every profile)."""
    a = st.arms
    mh = mantel_haenszel_revman5(measure, a.ai, a.n1i - a.ai, a.ci, a.n2i - a.ci)
    k = len(st.y)
    w = 1 / st.v
    c = float(np.max(w))  # weights scaled by their maximum: no overflow in the sums
    q = c * float(np.sum(w / c * (st.y - mh.beta) ** 2))
    trP0 = (k - 1) / typical_variance(st.v, np.ones((k, 1)))
    return q, float(dl_from_q(q, k - 1, trP0))


def _fit(st: _Studies, prof: Profile, measure: str, tau2: float | None) -> _Fitted:
    """Fit the model (tau2, weights, estimate); RevMan 5's Mantel-Haenszel Q when it applies."""
    method, notes, q_mh = prof.tau2_method, [], None
    if (prof.q_around_mh and method == "DL" and measure in ("OR", "RR", "RD")
            and st.arms is not None and tau2 is None and len(st.y) > 1):
        q_mh, tau2 = _q_around_mh(st, measure)
        notes.append("RevMan 5: tau2 (DL) and I2 from Q around the Mantel-Haenszel estimate")
    if len(st.y) == 1 and method != "FE":
        notes.append("k = 1: tau2 cannot be estimated and is set to 0")
    f = fit(st.y, st.v, method=method, hksj=prof.hksj, tau2=tau2,
            hksj_adhoc=prof.hksj and prof.hksj_adhoc)
    return _Fitted(f, q_mh, tuple(notes))


def _tests(fitted: _Fitted, prof: Profile, level: float) -> _Tests:
    """Test and CI of the pooled effect: z, or Hartung-Knapp t on k - 1 df."""
    f = fitted.fit
    beta, se = float(f.beta[0]), float(math.sqrt(f.vb[0, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.divide(beta, se))
    notes = []
    if prof.hksj and f.k > 1:
        test, df = "t", f.df
        if se == 0:
            notes.append("HKSJ scale factor is 0 (all estimates identical): the interval has "
                         "zero width")
    else:
        test, df = "z", math.inf
    return _Tests(beta, se, statistic, numeric.t_crit(level, df),
                  numeric.p_two_sided(statistic, df), test, df, tuple(notes))


def _heterogeneity(st: _Studies, fitted: _Fitted, prof: Profile, level: float) -> _Heterogeneity:
    """Q with its test, I2 and H2 (tau2-based, or from Q), Q-profile CIs of tau2, I2, H2."""
    f, k = fitted.fit, len(st.y)
    if prof.tau2_method != "FE" and k > 1:
        t_lo, t_hi = q_profile_ci(st.y, st.v, np.ones((k, 1)), level)
        I2_ci = (numeric.i2_from_tau2(t_lo, f.vt), numeric.i2_from_tau2(t_hi, f.vt))
        H2_ci = (numeric.h2_from_tau2(t_lo, f.vt), numeric.h2_from_tau2(t_hi, f.vt))
    else:
        t_lo = t_hi = math.nan
        I2_ci = H2_ci = (math.nan, math.nan)
    Q, Q_p = f.QE, f.QE_p
    if fitted.q_mh is not None:
        Q = fitted.q_mh
        Q_p = float(numeric.chi2_sf(Q, k - 1)) if k > 1 else math.nan
    I2, H2 = f.I2, f.H2
    if prof.i2_from_q:
        # RevMan 5 / meta: H = max(1, sqrt(Q / df)), so H2 >= 1 as I2 = 1 - 1 / H2 >= 0
        # (tests/fixtures/meta_revman5.json, checked in tests/results/test_api_conventions.py)
        I2, H2 = numeric.i2_from_q(Q, k - 1), numeric.h2_from_q(Q, k - 1)
        H2 = max(1.0, H2) if not math.isnan(H2) else H2
    return _Heterogeneity(Q, Q_p, I2, H2, (t_lo, t_hi), I2_ci, H2_ci)


def _prediction(t: _Tests, fitted: _Fitted, prof: Profile) -> tuple[float, float, str]:
    """metafor's predict(): estimate +/- crit sqrt(se^2 + tau2), crit of the model's test."""
    if not prof.prediction:
        return math.nan, math.nan, f"none ({prof.name} profile)"
    half = t.crit * math.sqrt(t.se**2 + fitted.fit.tau2)
    method = "metafor (t, k - 1 df)" if t.test == "t" else "metafor (normal)"
    return t.beta - half, t.beta + half, method


def _percent(w: np.ndarray) -> np.ndarray:
    """Weights in percent of their sum, formed from ``w / max(w)`` (no overflow)."""
    ws = w / np.max(w)
    return 100 * ws / ws.sum()


def _build(es, st, prof, level, fitted, t, het, pi, profile) -> MetaResult:
    f = fitted.fit
    random = prof.tau2_method != "FE"
    notes = [*st.notes, *fitted.notes, *t.notes]
    if len(st.y) > 1 and random and f.tau2 == 0:
        notes.append("tau2 estimated as 0: the random-effects estimate equals the fixed-effect one")
    return MetaResult(
        measure=es.measure, method=prof.tau2_method, model="random" if random else "fixed",
        profile=profile, hksj=prof.hksj, level=level, k=len(st.y), estimate=t.beta, se=t.se,
        statistic=t.statistic, test=t.test, df=float(t.df), p_value=float(t.p_value),
        ci_low=t.beta - t.crit * t.se, ci_high=t.beta + t.crit * t.se, pi_low=pi[0],
        pi_high=pi[1], pi_method=pi[2], tau2=f.tau2, se_tau2=f.se_tau2, tau2_ci=het.tau2_ci,
        I2=het.I2, I2_ci=het.I2_ci, H2=het.H2, H2_ci=het.H2_ci, Q=het.Q, Q_df=f.QE_df,
        Q_p=het.Q_p, studies=st.studies, yi=st.y, vi=st.v, weights=_percent(f.weights),
        excluded=st.excluded, notes=tuple(notes), arms=st.arms,
        options=dataclasses.replace(prof, q_around_mh=fitted.q_mh is not None), data=st.data,
    )


def pool(
    es: EffectSizes | None = None,
    *,
    measure: str | None = None,
    method: str | None = None,
    hksj: bool | None = None,
    level: float = 95,
    profile: str = "metafor",
    study: Sequence | None = None,
    exact: bool | None = None,
    tau2: float | None = None,
    test: str | None = None,
    hksj_adhoc: bool = False,
    **data,
) -> MetaResult:
    """Pool studies in one call, with metafor's defaults.

    Parameters
    ----------
    es
        Effect sizes from :func:`acu_meta.effects.escalc`; or a DataFrame with the column names
        as keyword arguments, as metafor's ``data=`` (``pool(df, yi="yi", vi="vi")``,
        ``pool(df, measure="RR", ai="tpos", ...)``; ``pool(df)`` reads columns yi and vi); or
        leave it out and pass the data as keyword arguments (``yi``/``vi``/``sei``,
        ``m1i``/``sd1i``/``n1i``/..., or ``ai``/``n1i``/``ci``/``n2i``) with ``measure``. Any
        other keyword raises TypeError (naming the argument meant, e.g. ``method=`` for
        ``tau2_method=``).
    measure
        MD, SMD, ROM, RR, OR, RD, PETO or GEN (defaults: GEN for yi, OR for counts, SMD for means).
    method
        FE, MH, PETO, or a tau2 estimator: DL, REML, ML, PM, HE, SJ, EB, HS (profile default).
    hksj
        Hartung-Knapp-Sidik-Jonkman CI and test (metafor's ``test="knha"``).
    level
        Confidence level in percent (or as a fraction).
    profile
        "metafor" (default), "revman5" or "revman_web"; see the module docstring.
    exact
        Hedges' J of the SMD: exact (True) or approximate (False); default from the profile.
    tau2
        Fix tau2 at this value instead of estimating it.
    test
        metafor's name for ``hksj``: ``"z"`` or ``"knha"``.
    hksj_adhoc
        With ``hksj``: the Knapp-Hartung ad hoc modification, the HKSJ scale factor truncated
        below at 1 (``max(1, s2)``; Roever, Knapp & Friede 2015; Jackson et al. 2017), so the
        interval is never narrower than the Wald interval with t quantiles; metafor's
        ``test="adhoc"``. Validated against metafor 3.8.1 ``rma(yi, vi, method, test="adhoc")``
        (and ``test="knha"`` without it) on a grid of 112 cases (k = 2 to 10, q below and above
        1, REML/DL/PM/FE, levels 95 and 90, the answer's trial data) in
        ``tests/results/test_adhoc_metafor.py`` (``tests/fixtures/metafor_adhoc.json``, written
        by ``validation/metafor/adhoc_reference.R``), and against the hand formula in
        ``tests/analyses/test_answer.py``.

    Returns
    -------
    MetaResult

    Notes
    -----
    Validated against metafor 3.8.1 (``rma``, ``rma.mh``, ``rma.peto``, ``predict``,
    ``confint``) on the fixture grid in ``tests/fixtures/metafor_reference.json``
    (``tests/models/test_metafor_reference.py``): closed forms to 1e-10, iterative estimators to
    1e-8; the profiles in ``tests/models/test_models_properties.py``.
    """
    check_kwargs("pool", data, _DATA_ARGS)
    hksj = hksj_from_test(test, hksj)
    prof, level = _setup(method, hksj, profile, exact, level, hksj_adhoc)
    data = dict(data)
    if (prof.drop00_ratio and es is None and "ai" in data
            and str(measure or "OR").upper() in ("OR", "RR")):
        data.setdefault("drop00", True)
    es = _effect_sizes(es, measure, prof.exact_j, study, data)
    if prof.tau2_method in ("MH", "PETO"):
        return _pool_fixed_binary(es, prof, level)
    raw_rd = prof.rd_raw_yi and _raw_rd(es) is not es
    if raw_rd:
        es = _raw_rd(es)
    st = _usable_studies(es)
    if raw_rd:
        st = st._replace(notes=(*st.notes, "RevMan 5 / meta: RD yi of the corrected studies is "
                                           "the raw risk difference; only vi uses the correction"))
    fitted = _fit(st, prof, es.measure, tau2)
    t = _tests(fitted, prof, level)
    het = _heterogeneity(st, fitted, prof, level)
    return _build(es, st, prof, level, fitted, t, het, _prediction(t, fitted, prof), profile)


def _pool_fixed_binary(es: EffectSizes, prof: Profile, level: float) -> MetaResult:
    method = prof.tau2_method
    if es.arms is None or es.measure not in BINARY_MEASURES:
        raise InputError(f"method {method} needs 2x2 counts (measure OR, RR, RD or PETO)")
    a = es.arms
    ai, n1i, ci, n2i = (a[c].to_numpy(float) for c in ("ai", "n1i", "ci", "n2i"))
    if method == "MH":
        if es.measure not in ("OR", "RR", "RD"):
            raise InputError("Mantel-Haenszel pooling is for OR, RR and RD")
        mh = mantel_haenszel_revman5 if prof.q_around_mh else mantel_haenszel
        r = mh(es.measure, ai, n1i - ai, ci, n2i - ci)
    else:
        if es.measure in ("RR", "RD"):
            raise InputError(f"method PETO pools log odds ratios; it cannot report measure "
                             f"{es.measure} (use --measure OR or PETO, or --method MH)")
        r = peto(ai, n1i - ai, ci, n2i - ci)
    crit = numeric.z_crit(level)
    z = r.beta / r.se
    double0 = ((ai == 0) & (ci == 0)) | ((ai == n1i) & (ci == n2i))
    drop_k = prof.drop00_ratio and es.measure in ("OR", "RR", "PETO")
    k = r.k - int(double0.sum()) if drop_k else r.k
    notes, excluded = [], []
    for i in np.flatnonzero(double0):
        excluded.append((es.study[i], "double-zero study: no contribution to the pooled estimate "
                                      f"({'not ' if drop_k else 'still '}counted in k); left "
                                      "out of Q"))
    if excluded:
        warnings.warn("; ".join(f"{s}: {r_}" for s, r_ in excluded), stacklevel=3)
        if not drop_k:
            notes.append(f"k = {r.k} counts {len(excluded)} double-zero study(ies), as metafor")
        else:
            notes.append(f"k = {k} leaves out {len(excluded)} double-zero study(ies), as RevMan 5")
    return MetaResult(
        measure=es.measure, method=method, model="fixed", profile=prof.name, hksj=False,
        level=level, k=k, estimate=r.beta, se=r.se, statistic=z, test="z", df=math.inf,
        p_value=numeric.p_two_sided(z), ci_low=r.beta - crit * r.se,
        ci_high=r.beta + crit * r.se, pi_low=r.beta - crit * r.se, pi_high=r.beta + crit * r.se,
        pi_method="fixed effect (equals the CI)", tau2=0.0, se_tau2=math.nan,
        tau2_ci=(math.nan, math.nan), I2=r.I2, I2_ci=(math.nan, math.nan), H2=r.H2,
        H2_ci=(math.nan, math.nan), Q=r.QE, Q_df=max(r.k_yi - 1, 0), Q_p=r.QE_p,
        studies=es.study, yi=r.yi, vi=r.vi, weights=r.weights, excluded=tuple(excluded),
        notes=tuple(notes), arms=es.arms,
        options=dataclasses.replace(prof, hksj=False, q_around_mh=False, i2_from_q=False),
        mh_tests=r.tests() if method == "MH" else {},
        data=es.data,
    )
