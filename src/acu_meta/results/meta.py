"""Results of a meta-analysis: explicit frozen dataclasses, and :func:`pool` that builds them.

``pool`` runs metafor's steps in order, each a small function: set-up (measure, profile,
options) -> effect sizes (escalc) -> missing / excluded studies -> model fit (weights, tau2,
estimate, tests, intervals) -> heterogeneity (Q, I2, H2, Q-profile CIs) -> prediction interval
-> results object.

Method profiles
---------------
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
(``I2 = tau2 / (tau2 + s2)``, s2 the typical within-study variance), except ``revman5``, which
reports RevMan 5's ``I2 = (Q - df) / Q``. Explicit arguments (``method=``, ``hksj=``) override
the profile.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from ..effects.escalc import (
    BINARY_MEASURES,
    MEASURE_LABELS,
    RATIO_MEASURES,
    EffectSizes,
    escalc,
)
from ..models import TAU2_METHODS, ModelError, fit, mantel_haenszel, peto, q_profile_ci
from ._format import fmt, fmt_p, html_table, stars, table

PROFILES = {
    "metafor": {"method": "REML", "hksj": False, "exact": True, "prediction": True},
    "revman5": {"method": "DL", "hksj": False, "exact": False, "prediction": False},
    "revman_web": {"method": "REML", "hksj": True, "exact": True, "prediction": True},
}
METHODS = ("FE", "MH", "PETO", *[m for m in TAU2_METHODS if m != "FE"])


class Homogeneity(NamedTuple):
    """Cochran's Q test for heterogeneity."""

    Q: float
    df: int
    p_value: float


@dataclass(frozen=True)
class MetaResult:
    """A pooled meta-analysis, on the analysis scale (log scale for ratio measures).

    Every number is stored unrounded; :meth:`summary` and :meth:`_repr_html_` only format.
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

    # ------------------------------------------------------------------ derived views
    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2) if self.tau2 >= 0 else math.nan

    @property
    def ratio(self) -> bool:
        """True when the analysis scale is the log of a ratio."""
        return self.measure in RATIO_MEASURES

    def conf_int(self, exp: bool = False) -> tuple[float, float]:
        """CI of the pooled effect (exponentiated with ``exp=True`` for ratio measures)."""
        lo, hi = self.ci_low, self.ci_high
        return (math.exp(lo), math.exp(hi)) if exp else (lo, hi)

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
                return math.nan, math.nan
            crit = stats.t.ppf(0.5 + self.level / 2, self.k - 2)
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
            "estimate": math.exp(self.estimate),
            "ci_low": math.exp(self.ci_low),
            "ci_high": math.exp(self.ci_high),
            "pi_low": math.exp(self.pi_low) if not math.isnan(self.pi_low) else math.nan,
            "pi_high": math.exp(self.pi_high) if not math.isnan(self.pi_high) else math.nan,
        }

    def study_frame(self) -> pd.DataFrame:
        """One row per study: yi, vi, sei, CI, weight (percent)."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        sei = np.sqrt(self.vi)
        frame = pd.DataFrame(
            {
                "study": list(self.studies),
                "yi": self.yi,
                "vi": self.vi,
                "sei": sei,
                "ci_low": self.yi - z * sei,
                "ci_high": self.yi + z * sei,
                "weight": self.weights,
            }
        )
        if self.arms is not None:
            frame = pd.concat([frame, self.arms.reset_index(drop=True)], axis=1)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """Per-study rows plus the pooled row (and a prediction row for random effects)."""
        studies = self.study_frame()[["study", "yi", "sei", "ci_low", "ci_high", "weight"]]
        studies = studies.rename(columns={"yi": "estimate", "sei": "se"})
        studies.insert(0, "row", "study")
        pooled = pd.DataFrame(
            [
                {"row": "pooled", "study": f"{self.model.capitalize()} effects ({self.method})",
                 "estimate": self.estimate, "se": self.se, "ci_low": self.ci_low,
                 "ci_high": self.ci_high, "weight": 100.0},
            ]
        )
        frames = [studies, pooled]
        if self.model == "random" and not math.isnan(self.pi_low):
            frames.append(pd.DataFrame([{"row": "prediction", "study": "Prediction interval",
                                         "estimate": self.estimate, "se": math.nan,
                                         "ci_low": self.pi_low, "ci_high": self.pi_high,
                                         "weight": math.nan}]))
        out = pd.concat(frames, ignore_index=True)
        if self.ratio:
            for c in ("estimate", "ci_low", "ci_high"):
                out[f"exp_{c}"] = np.exp(out[c])
        return out

    def to_dict(self) -> dict:
        """The numbers of ``acu-meta pool --json`` (analysis scale; I2 and weights in percent)."""
        def num(x):
            return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x

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
            "excluded": [{"study": s, "reason": r} for s, r in self.excluded],
            "notes": list(self.notes),
            "studies": [
                {"study": s, "yi": num(float(y)), "vi": num(float(v)), "weight": num(float(w))}
                for s, y, v, w in zip(self.studies, self.yi, self.vi, self.weights, strict=True)
            ],
        }

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
        lines.append(f"I^2 (total heterogeneity / total variability):   {self.I2:.2f}%")
        lines.append(f"H^2 (total variability / sampling variability):  {self.H2:.2f}")
        lines += ["", "Test for Heterogeneity:",
                  f"Q(df = {self.Q_df}) = {fmt(self.Q, digits)}, p-val {_pv(self.Q_p, digits)}",
                  "", "Model Results:", ""]
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
        head = self.summary().split("\n\n")[0]
        return f"<p><b>{head}</b></p>" + html_table(self.to_frame())


def _pv(p: float, digits: int) -> str:
    s = fmt_p(p, digits)
    return "< " + s[1:] if s.startswith("<") else f"= {s}"


# ---------------------------------------------------------------------------------- pool


def _setup(measure, method, hksj, profile, exact):
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    method = (method or prof["method"]).upper()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    hksj = prof["hksj"] if hksj is None else bool(hksj)
    exact = prof["exact"] if exact is None else exact
    return method, hksj, exact, prof


def _effect_sizes(es, measure, exact, study, kwargs) -> EffectSizes:
    if isinstance(es, EffectSizes):
        return es
    if es is not None:
        raise TypeError("the first argument must be EffectSizes (from escalc) or None")
    if measure is None:
        measure = "GEN" if "yi" in kwargs else (
            "OR" if "ai" in kwargs else "SMD")
    if measure.upper() == "SMD":
        kwargs.setdefault("exact", exact)
    return escalc(measure, study=study, **kwargs)


def _usable(es: EffectSizes):
    ok = np.isfinite(es.yi) & np.isfinite(es.vi) & (es.vi > 0)
    excluded = list(es.excluded)
    known = {s for s, _ in excluded}
    for i in np.flatnonzero(~ok):
        if es.study[i] not in known:
            excluded.append((es.study[i], "no usable effect size (missing, infinite, or zero "
                                          "variance)"))
    return ok, tuple(excluded)


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
    **data,
) -> MetaResult:
    """Pool studies in one call, with metafor's defaults.

    Parameters
    ----------
    es
        Effect sizes from :func:`acu_meta.effects.escalc`; or leave it out and pass the data as
        keyword arguments (``yi``/``vi``/``sei``, ``m1i``/``sd1i``/``n1i``/..., or
        ``ai``/``n1i``/``ci``/``n2i``) with ``measure``.
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
    tau2
        Fix tau2 at this value instead of estimating it.

    Returns
    -------
    MetaResult

    Notes
    -----
    Validated against metafor 3.8.1 (``rma``, ``rma.mh``, ``rma.peto``, ``predict``,
    ``confint``) on the fixture grid in ``tests/fixtures/metafor_reference.json``: closed forms to
    1e-10, iterative estimators to 1e-8.
    """
    method, hksj, exact, prof = _setup(measure, method, hksj, profile, exact)
    level = level / 100 if level > 1 else float(level)
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 100")
    es = _effect_sizes(es, measure, exact, study, dict(data))
    if method in ("MH", "PETO"):
        return _pool_fixed_binary(es, method, level, profile)
    ok, excluded = _usable(es)
    if excluded:
        warnings.warn(
            "excluded from the analysis: " + "; ".join(f"{s} ({r})" for s, r in excluded),
            stacklevel=2,
        )
    y, v = es.yi[ok], es.vi[ok]
    studies = tuple(s for s, keep in zip(es.study, ok, strict=True) if keep)
    arms = es.arms[ok].reset_index(drop=True) if es.arms is not None else None
    if len(y) == 0:
        raise ModelError("no study has a usable effect size")
    notes = []
    if es.corrected:
        notes.append(f"{len(es.corrected)} study(ies) with a zero cell got the continuity "
                     f"correction {es.options.get('add', 0.5)} added to every cell")
    model_method = "FE" if method == "FE" else method
    fixed_tau2 = tau2
    q_override = None
    if profile == "revman5" and method == "DL" and es.measure in ("OR", "RR", "RD") \
            and es.arms is not None and tau2 is None:
        # RevMan 5: DL with Q computed around the Mantel-Haenszel estimate
        a = es.arms[ok]
        mh = mantel_haenszel(es.measure, a.ai, a.n1i - a.ai, a.ci, a.n2i - a.ci)
        w = 1 / v
        q_override = float(np.sum(w * (y - mh.beta) ** 2))
        fixed_tau2 = max(0.0, (q_override - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
        notes.append("RevMan 5: tau2 (DL) and I2 from Q around the Mantel-Haenszel estimate")
    if len(y) == 1 and model_method != "FE":
        notes.append("k = 1: tau2 cannot be estimated and is set to 0")
    f = fit(y, v, method=model_method, hksj=hksj, tau2=fixed_tau2)
    beta, se = float(f.beta[0]), float(math.sqrt(f.vb[0, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.divide(beta, se))
    if hksj and len(y) > 1:
        crit = stats.t.ppf(0.5 + level / 2, f.df)
        pval = 2 * stats.t.sf(abs(statistic), f.df)
        test, df = "t", f.df
        if se == 0:
            notes.append("HKSJ scale factor is 0 (all estimates identical): the interval has "
                         "zero width")
    else:
        crit = stats.norm.ppf(0.5 + level / 2)
        pval = 2 * stats.norm.sf(abs(statistic))
        test, df = "z", math.inf
    random = model_method != "FE"
    # heterogeneity: Q-profile CIs (random-effects models with k > 1)
    if random and len(y) > 1:
        t_lo, t_hi = q_profile_ci(y, v, np.ones((len(y), 1)), level)
        vt = f.vt
        I2_ci = (100 * t_lo / (vt + t_lo), 100 * t_hi / (vt + t_hi))
        H2_ci = (1 + t_lo / vt, 1 + t_hi / vt)
    else:
        t_lo = t_hi = math.nan
        I2_ci = H2_ci = (math.nan, math.nan)
    Q, Q_p = f.QE, f.QE_p
    I2, H2 = f.I2, f.H2
    if q_override is not None:
        Q = q_override
        Q_p = float(stats.chi2.sf(Q, len(y) - 1)) if len(y) > 1 else math.nan
        I2 = max(0.0, 100 * (Q - (len(y) - 1)) / Q) if Q > 0 else 0.0
        H2 = Q / (len(y) - 1) if len(y) > 1 else math.nan
    # prediction interval (metafor's predict)
    if prof["prediction"] or profile == "metafor":
        half = crit * math.sqrt(se**2 + f.tau2)
        pi_low, pi_high = beta - half, beta + half
        pi_method = "metafor (t, k - 1 df)" if test == "t" else "metafor (normal)"
    else:
        pi_low = pi_high = math.nan
        pi_method = "none (RevMan 5)"
    if len(y) > 1 and model_method != "FE" and f.tau2 == 0:
        notes.append("tau2 estimated as 0: the random-effects estimate equals the fixed-effect one")
    weights = 100 * f.weights / f.weights.sum()
    return MetaResult(
        measure=es.measure, method=method, model="random" if random else "fixed",
        profile=profile, hksj=hksj, level=level, k=len(y), estimate=beta, se=se,
        statistic=float(statistic), test=test, df=float(df), p_value=float(pval),
        ci_low=beta - crit * se, ci_high=beta + crit * se, pi_low=pi_low, pi_high=pi_high,
        pi_method=pi_method, tau2=f.tau2, se_tau2=f.se_tau2, tau2_ci=(t_lo, t_hi), I2=I2,
        I2_ci=I2_ci, H2=H2, H2_ci=H2_ci, Q=Q, Q_df=f.QE_df, Q_p=Q_p, studies=studies, yi=y,
        vi=v, weights=weights, excluded=excluded, notes=tuple(notes), arms=arms,
    )


def _pool_fixed_binary(es: EffectSizes, method: str, level: float, profile: str) -> MetaResult:
    if es.arms is None or es.measure not in BINARY_MEASURES:
        raise ValueError(f"method {method} needs 2x2 counts (measure OR, RR, RD or PETO)")
    a = es.arms
    ai, n1i, ci, n2i = (a[c].to_numpy(float) for c in ("ai", "n1i", "ci", "n2i"))
    if method == "MH":
        if es.measure not in ("OR", "RR", "RD"):
            raise ValueError("Mantel-Haenszel pooling is for OR, RR and RD")
        r = mantel_haenszel(es.measure, ai, n1i - ai, ci, n2i - ci)
    else:
        r = peto(ai, n1i - ai, ci, n2i - ci)
    crit = stats.norm.ppf(0.5 + level / 2)
    z = r.beta / r.se
    double0 = ((ai == 0) & (ci == 0)) | ((ai == n1i) & (ci == n2i))
    notes, excluded = [], []
    for i in np.flatnonzero(double0):
        excluded.append((es.study[i], "double-zero study: no contribution to the pooled estimate "
                                      "(still counted in k); left out of Q"))
    if excluded:
        warnings.warn("; ".join(f"{s}: {r_}" for s, r_ in excluded), stacklevel=3)
        notes.append(f"k = {r.k} counts {len(excluded)} double-zero study(ies), as metafor")
    return MetaResult(
        measure=es.measure, method=method, model="fixed", profile=profile, hksj=False,
        level=level, k=r.k, estimate=r.beta, se=r.se, statistic=z, test="z", df=math.inf,
        p_value=float(2 * stats.norm.sf(abs(z))), ci_low=r.beta - crit * r.se,
        ci_high=r.beta + crit * r.se, pi_low=r.beta - crit * r.se, pi_high=r.beta + crit * r.se,
        pi_method="fixed effect (equals the CI)", tau2=0.0, se_tau2=math.nan,
        tau2_ci=(math.nan, math.nan), I2=r.I2, I2_ci=(math.nan, math.nan), H2=r.H2,
        H2_ci=(math.nan, math.nan), Q=r.QE, Q_df=max(r.k_yi - 1, 0), Q_p=r.QE_p,
        studies=es.study, yi=r.yi, vi=r.vi, weights=r.weights, excluded=tuple(excluded),
        notes=tuple(notes), arms=es.arms,
    )
