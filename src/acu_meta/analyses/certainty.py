"""Certainty of the evidence, GRADE-style, per comparison: every downgrade computed from inputs.

A rating starts at *high* (randomized trials) and loses one level per downgrade in five domains
(Guyatt et al. 2008, BMJ 336:924; GRADE guidelines 5-8, J Clin Epidemiol 2011;64:1283-1316).
Each domain's downgrade (0, 1 or 2) is computed by a stated rule from stated inputs; the reasons
are plain sentences. The thresholds are the named module constants below, each with its source.

Domains and rules
-----------------
risk of bias
    From Cochrane Mu 2020's per-trial, per-domain judgements (``data/risk_of_bias.csv``). A trial
    is at *high* risk if any domain is high, at *unclear* risk if none is high and any is unclear.
    A judgement that is not transcribed counts as unclear, and the reason says how many were
    missing. Downgrade 1 when trials at high or unclear risk carry more than
    :data:`ROB_WEIGHT_SHARE` of the inverse-variance weight; 2 when trials at high risk in at
    least :data:`ROB_VERY_SERIOUS_DOMAINS` domains carry more than that share.
inconsistency
    From the trials' own estimates: Cochran's Q and its p-value, I2 with its Q-profile interval,
    and the prediction interval (REML, via :func:`acu_meta.results.pool`). Downgrade 1 when
    I2 >= :data:`I2_SERIOUS` or Q's p < :data:`Q_P_SERIOUS`, or when the prediction interval
    crosses an importance threshold (+-MID) that the confidence interval does not cross;
    downgrade 2 when I2 >= :data:`I2_VERY_SERIOUS` and Q's p < :data:`Q_P_SERIOUS`. One trial:
    not assessable, no downgrade (said so). At k = 2 the I2 interval spans almost 0-100%, and
    the reason says that a low I2 cannot show consistency.
indirectness
    From the evidence structure (``data/trial_outcomes.csv``, ``data/arm_types.csv``). One issue
    each: trials measure different outcome domains (e.g. pain pooled with function); a trial's
    domain differs from the question's; trials measure at different time-point classes; the
    sham node lumps unlike sham types (penetrating off-point with non-penetrating); the control
    node lumps unlike control types (guideline-based care with usual care). Downgrade = number
    of issues, at most 2.
imprecision
    The confidence interval against the minimal important difference (MID) on the comparison's
    scale: count the thresholds -MID and +MID lying strictly inside the interval (0: the
    interval lies within one region - important benefit, trivial, or important harm; 1: it
    spans two regions; 2: it spans from important harm to important benefit). Downgrade = that
    count; in addition, on the SMD scale, 1 when the total sample is below the optimal
    information size for the MID (two-sided alpha :data:`OIS_ALPHA`, power :data:`OIS_POWER`,
    Guyatt et al. 2011, GRADE guidelines 6).
publication bias
    Not assessable at k < :data:`PUBLICATION_BIAS_MIN_K` (funnel-plot tests need at least 10
    trials; Sterne et al. 2011, BMJ 343:d4002): downgrade 0 with that sentence. At k >= 10 an
    Egger p below :data:`Q_P_SERIOUS` given by the caller downgrades 1.

The rating is high, moderate, low or very low (4 minus the downgrades, at least very low), shown
beside Mu 2020's own rating for the same comparison, outcome domain and time class
(``data/review_certainty.csv``; *not transcribed* where Mu's table is a source-sheet gap).

Examples
--------
From ``data/`` (function at the end of treatment, REML + HKSJ, MID SMD 0.2):

>>> from acu_meta.analyses import certainty
>>> r = certainty.rate_from_data("verum_vs_usual_care")
>>> r.rating, r.review_rating
('very low', 'low')
>>> r.downgrades["indirectness"]  # guideline-based care lumped with usual care
1

From a sensitivity-table row (any method's interval, any trials, e.g. a Chinn-converted
responder SMD built by the caller as :class:`TrialInput`):

>>> t = certainty.trial_inputs("verum_vs_sham")
>>> certainty.rate("verum_vs_sham", t, outcome_domain="function",
...                timepoint_class="end_of_treatment", estimate=0.0, ci=(-0.2, 0.2),
...                interval="REML, Wald 95% CI").downgrades["imprecision"]
0

Validated by ``tests/analyses/test_certainty.py``: each rule by hand on constructed inputs, the
I2 / Q inputs against :func:`acu_meta.numeric.i2_from_q` and a hand Q, the trial SMDs against a
hand Hedges' g, and perturbation tests that change one transcribed number (an SD, a risk-of-bias
judgement) and assert exactly which ratings change.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import data
from ..effects import combine_arms, escalc
from ..numeric import z_crit
from ..results import pool
from ..results._format import Printable

__all__ = [
    "COMPARISONS",
    "I2_SERIOUS",
    "I2_VERY_SERIOUS",
    "LEVELS",
    "MID",
    "MID_RMDQ_HIGH",
    "MID_RMDQ_LOW",
    "MID_SMD_MODERATE",
    "MID_SMD_SMALL",
    "OIS_ALPHA",
    "OIS_POWER",
    "PUBLICATION_BIAS_MIN_K",
    "Q_P_SERIOUS",
    "ROB_DOMAINS",
    "ROB_VERY_SERIOUS_DOMAINS",
    "ROB_WEIGHT_SHARE",
    "CertaintyRating",
    "CertaintyTable",
    "DomainRating",
    "TrialInput",
    "rate",
    "rate_all",
    "rate_from_data",
    "trial_inputs",
]

# ------------------------------------------------------------------------------ thresholds

#: I2 (percent) from which inconsistency is serious: the Cochrane Handbook (version 6, section
#: 10.10.2) reads 50-90% as "may represent substantial heterogeneity"; Higgins et al. 2003 (BMJ
#: 327:557) call 50% moderate-to-high.
I2_SERIOUS = 50.0
#: I2 (percent) from which inconsistency is very serious (with Q's p below Q_P_SERIOUS): the
#: Handbook's 75-100% "considerable heterogeneity" (section 10.10.2).
I2_VERY_SERIOUS = 75.0
#: p-value of Cochran's Q below which heterogeneity is taken as shown: 0.10 rather than 0.05,
#: because the test has low power with few trials (Cochrane Handbook, section 10.10.2).
Q_P_SERIOUS = 0.10
#: Share of inverse-variance weight from trials at high or unclear risk above which risk of bias
#: is serious: GRADE's "most of the information" (Guyatt et al. 2011, GRADE guidelines 4, J Clin
#: Epidemiol 64:407) read as more than half. acu_meta's choice; the Cochrane Back and Neck group
#: uses a share of participants instead (its threshold is not on the source sheets).
ROB_WEIGHT_SHARE = 0.5
#: Number of high-risk domains that makes a trial's limitations very serious (acu_meta's rule,
#: after GRADE guidelines 4: "very serious limitations" when most information comes from trials
#: with crucial limitations in more than one criterion).
ROB_VERY_SERIOUS_DOMAINS = 2
#: Funnel-plot asymmetry tests need at least 10 trials (Sterne et al. 2011, BMJ 343:d4002;
#: Cochrane Handbook, section 13.3.5.4); below this publication bias is "not assessable".
PUBLICATION_BIAS_MIN_K = 10
#: Two-sided alpha and power of the optimal information size (GRADE guidelines 6, Guyatt et al.
#: 2011, J Clin Epidemiol 64:1283: a conventional sample-size calculation for the MID).
OIS_ALPHA = 0.05
OIS_POWER = 0.80

#: The certainty levels, best first.
LEVELS = ("high", "moderate", "low", "very low")
#: Comparisons rated (first arm class vs second arm class, arm classes of data/arm_types.csv).
COMPARISONS = {"verum_vs_sham": ("verum", "sham"),
               "verum_vs_usual_care": ("verum", "control"),
               "sham_vs_usual_care": ("sham", "control")}
_DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")
#: Risk-of-bias domains of data/risk_of_bias.csv (Cochrane tool); a trial lacking a row for
#: one counts it as unclear.
ROB_DOMAINS = ("random_sequence_generation", "allocation_concealment",
               "blinding_participants_personnel", "blinding_outcome_assessment",
               "incomplete_outcome_data", "selective_reporting", "other_bias")


@dataclass(frozen=True)
class MID:
    """A minimal important difference: value (> 0) on a scale, with its source."""

    value: float
    scale: str
    source: str

    def __post_init__(self):
        if not self.value > 0:
            raise ValueError(f"an MID must be positive, not {self.value!r}")


#: SMD 0.2: Cohen's "small" effect (Cohen J. Statistical Power Analysis for the Behavioral
#: Sciences, 2nd ed., 1988), the usual lower bound of an important standardized difference; it
#: is not on the source sheets (a convention, cited, not transcribed). Vickers 2018 (source
#: sheet vickers.md) summarizes acupuncture vs sham as "close to 0.2 SDs".
MID_SMD_SMALL = MID(0.2, "SMD", "Cohen 1988 convention for a small standardized effect "
                    "(not on the source sheets)")
#: SMD 0.5: Cohen's "medium" effect (Cohen 1988), the stricter threshold; Vickers 2018 (vickers.md)
#: summarizes acupuncture vs no-acupuncture control as "close to 0.5 SDs".
MID_SMD_MODERATE = MID(0.5, "SMD", "Cohen 1988 convention for a medium standardized effect "
                       "(not on the source sheets)")
#: RMDQ 3 points: Cherkin 2009's "clinically meaningful improvement" of at least 3 points
#: (cherkin2009.md; secondary, via DataEx). It is a within-patient improvement threshold, used
#: here as a between-group MID: a generous reading (a between-group MID is usually smaller).
MID_RMDQ_HIGH = MID(3.0, "RMDQ points", "Cherkin 2009 clinically meaningful RMDQ improvement, "
                    ">= 3 points (secondary, DataEx; a within-patient threshold)")
#: RMDQ 2 points: the lower end of the "2-3 points" range named in issue #13; no source on the
#: sheets prints 2 points for the RMDQ (Cherkin's 2 points are for bothersomeness, 0-10).
MID_RMDQ_LOW = MID(2.0, "RMDQ points", "lower end of the 2-3 point range in issue #13 "
                   "(no source sheet prints it for the RMDQ)")


# ------------------------------------------------------------------------------ inputs

@dataclass(frozen=True)
class TrialInput:
    """One trial's contribution to a comparison: effect (positive = benefit with the first arm)
    and variance on the comparison's scale, with the evidence-structure facts the rating uses."""

    study_id: str
    yi: float
    vi: float
    outcome: str = ""
    timepoint: str = ""
    domain: str = ""
    timepoint_class: str = ""
    treat_arms: tuple[str, ...] = ()
    control_arms: tuple[str, ...] = ()
    n_total: float = math.nan
    note: str = ""


@dataclass(frozen=True)
class DomainRating:
    """One GRADE domain: downgrade 0/1/2, reasons as sentences, and whether it was assessable."""

    domain: str
    downgrade: int
    reasons: tuple[str, ...]
    assessable: bool = True


@dataclass(frozen=True)
class CertaintyRating(Printable):
    """GRADE-style certainty of one comparison (see the module docstring for every rule).

    ``estimate`` and ``ci`` are on ``scale`` with positive = benefit with the first arm.
    ``review_rating`` is Mu 2020's own rating for the same comparison and outcome domain (None
    when not transcribed); ``review_note`` says which."""

    comparison: str
    outcome_domain: str
    timepoint_class: str
    scale: str
    estimate: float
    ci: tuple[float, float]
    interval: str
    mid: MID
    k: int
    trials: tuple[str, ...]
    domains: tuple[DomainRating, ...]
    rating: str
    review_rating: str | None
    review_note: str
    inputs: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def downgrades(self) -> dict[str, int]:
        """Downgrade per domain, in GRADE order."""
        return {d.domain: d.downgrade for d in self.domains}

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every reason sentence, domain by domain."""
        return tuple(f"{d.domain}: {r}" for d in self.domains for r in d.reasons)

    def domain(self, name: str) -> DomainRating:
        for d in self.domains:
            if d.domain == name:
                return d
        raise KeyError(name)

    def conf_int(self) -> tuple[float, float]:
        """The interval the imprecision rule judged."""
        return self.ci

    def to_frame(self) -> pd.DataFrame:
        """One row per domain: downgrade, assessable, reasons; then the rating and Mu's."""
        rows = [{"comparison": self.comparison, "domain": d.domain, "downgrade": d.downgrade,
                 "assessable": d.assessable, "reasons": " ".join(d.reasons)}
                for d in self.domains]
        rows.append({"comparison": self.comparison, "domain": "rating (acu_meta)",
                     "downgrade": sum(self.downgrades.values()), "assessable": True,
                     "reasons": self.rating})
        rows.append({"comparison": self.comparison, "domain": "rating (Mu 2020)",
                     "downgrade": None, "assessable": self.review_rating is not None,
                     "reasons": self.review_rating or self.review_note})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lo, hi = self.ci
        mu = self.review_rating if self.review_rating is not None else "not transcribed"
        lines = [f"Certainty, {self.comparison.replace('_', ' ')} ({self.outcome_domain}, "
                 f"{self.timepoint_class.replace('_', ' ')}): {self.rating.upper()} "
                 f"(Mu 2020: {mu})",
                 f"{self.scale} {self.estimate:.2f} ({lo:.2f} to {hi:.2f}), {self.interval}; "
                 f"k = {self.k} ({', '.join(self.trials)}); MID {self.mid.value:g} "
                 f"{self.mid.scale} ({self.mid.source})"]
        for d in self.domains:
            flag = "" if d.assessable else " [not assessable]"
            lines.append(f"- {d.domain}: downgrade {d.downgrade}{flag}. " + " ".join(d.reasons))
        if self.review_rating is None:
            lines.append(f"Mu 2020: {self.review_note}")
        return "\n".join(lines)


@dataclass(frozen=True)
class CertaintyTable(Printable):
    """Several ratings side by side (one row per comparison)."""

    ratings: tuple[CertaintyRating, ...]

    def __getitem__(self, comparison: str) -> CertaintyRating:
        for r in self.ratings:
            if r.comparison == comparison:
                return r
        raise KeyError(comparison)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for r in self.ratings:
            row = {"comparison": r.comparison, "outcome_domain": r.outcome_domain,
                   "timepoint_class": r.timepoint_class, "scale": r.scale,
                   "estimate": r.estimate, "ci_low": r.ci[0], "ci_high": r.ci[1], "k": r.k}
            row.update({d: r.downgrades[d] for d in _DOMAINS})
            row.update({"rating": r.rating, "mu2020": r.review_rating})
            rows.append(row)
        return pd.DataFrame(rows)

    def conf_int(self) -> pd.DataFrame:
        return self.to_frame()[["comparison", "ci_low", "ci_high"]]

    def summary(self) -> str:
        lines = ["Certainty of the evidence (GRADE-style, acu_meta) beside Mu 2020"]
        for r in self.ratings:
            mu = r.review_rating if r.review_rating is not None else "not transcribed"
            lines.append(f"- {r.comparison.replace('_', ' ')}: {r.rating} (Mu 2020: {mu}); "
                         + ", ".join(f"{d} -{n}" for d, n in r.downgrades.items() if n))
        return "\n".join(lines)


# ------------------------------------------------------------------------------ the rules

def _level(total: int) -> str:
    return LEVELS[min(max(total, 0), len(LEVELS) - 1)]


def _weights(trials) -> list[float]:
    w = [1.0 / t.vi for t in trials]
    s = sum(w)
    return [x / s for x in w]


def _rob(trials, where) -> DomainRating:
    rob = data.load("risk_of_bias", where)
    w = _weights(trials)
    high_share = unclear_share = vs_share = 0.0
    missing = 0
    reasons = []
    for t, wi in zip(trials, w, strict=True):
        r = rob[rob.study_id == t.study_id]
        judg = {row.domain: (row.judgement if isinstance(row.judgement, str) and row.judgement
                             else None) for row in r.itertuples()}
        n_missing = sum(judg.get(d) is None for d in ROB_DOMAINS)
        missing += n_missing
        highs = sorted(d for d, v in judg.items() if v == "high")
        unclear = sorted(d for d, v in judg.items() if v in ("unclear", None))
        if highs:
            high_share += wi
            if len(highs) >= ROB_VERY_SERIOUS_DOMAINS:
                vs_share += wi
            reasons.append(f"{t.study_id} ({100 * wi:.0f}% of the weight) is at high risk in "
                           f"{', '.join(d.replace('_', ' ') for d in highs)}.")
        elif unclear or n_missing:
            unclear_share += wi
            what = (f"{n_missing} of its {len(ROB_DOMAINS)} judgements are not transcribed and "
                    f"count as unclear"
                    if n_missing else f"unclear in {', '.join(unclear)}")
            reasons.append(f"{t.study_id} ({100 * wi:.0f}% of the weight) is at unclear risk: "
                           f"{what}.")
        else:
            reasons.append(f"{t.study_id} ({100 * wi:.0f}% of the weight) is at low risk in "
                           f"every domain.")
    if vs_share > ROB_WEIGHT_SHARE:
        down = 2
        reasons.append(f"Trials at high risk in {ROB_VERY_SERIOUS_DOMAINS} or more domains carry "
                       f"{100 * vs_share:.0f}% of the weight (> {100 * ROB_WEIGHT_SHARE:.0f}%): "
                       f"very serious.")
    elif high_share + unclear_share > ROB_WEIGHT_SHARE:
        down = 1
        reasons.append(f"Trials at high or unclear risk carry "
                       f"{100 * (high_share + unclear_share):.0f}% of the weight "
                       f"(> {100 * ROB_WEIGHT_SHARE:.0f}%): serious.")
    else:
        down = 0
        reasons.append(f"Trials at high or unclear risk carry "
                       f"{100 * (high_share + unclear_share):.0f}% of the weight "
                       f"(<= {100 * ROB_WEIGHT_SHARE:.0f}%): not serious.")
    if missing:
        reasons.append(f"{missing} judgements of Mu 2020 are not transcribed (data/risk_of_bias"
                       f".csv); this rating treats them as unclear.")
    return DomainRating("risk of bias", down, tuple(reasons))


def _crossed(lo: float, hi: float, m: float) -> int:
    return sum(lo < x < hi for x in (-m, m))


def _inconsistency(het: dict, ci, mid: MID) -> DomainRating:
    k = het["k"]
    if k < 2:
        return DomainRating("inconsistency", 0, ("One trial: inconsistency cannot be assessed "
                                                 "(not downgraded)." ,), assessable=False)
    i2, q, df, qp = het["I2"], het["Q"], het["Q_df"], het["Q_p"]
    i2lo, i2hi = het["I2_ci"]
    pilo, pihi = het["pi"]
    txt = (f"Q = {q:.2f} (df {df}, p = {qp:.3f}); I2 = {i2:.0f}% (95% CI {i2lo:.0f}% to "
           f"{i2hi:.0f}%); prediction interval {pilo:.2f} to {pihi:.2f}.")
    reasons = [txt]
    pi_extra = _crossed(pilo, pihi, mid.value) > _crossed(ci[0], ci[1], mid.value)
    if i2 >= I2_VERY_SERIOUS and qp < Q_P_SERIOUS:
        down = 2
        reasons.append(f"I2 >= {I2_VERY_SERIOUS:.0f}% with Q's p < {Q_P_SERIOUS}: the trials "
                       f"disagree beyond chance (very serious).")
    elif i2 >= I2_SERIOUS or qp < Q_P_SERIOUS or pi_extra:
        down = 1
        why = []
        if i2 >= I2_SERIOUS:
            why.append(f"I2 >= {I2_SERIOUS:.0f}%")
        if qp < Q_P_SERIOUS:
            why.append(f"Q's p < {Q_P_SERIOUS}")
        if pi_extra:
            why.append(f"the prediction interval crosses an importance threshold "
                       f"(+-{mid.value:g}) that the confidence interval does not")
        reasons.append("Serious: " + "; ".join(why) + ".")
    else:
        down = 0
        reasons.append("Not serious by the rule.")
        if i2hi - i2lo > 90:
            reasons.append(f"With k = {k} the I2 interval spans almost 0-100%, so a low I2 "
                           f"cannot show that the trials agree.")
    return DomainRating("inconsistency", down, tuple(reasons))


def _indirectness(trials, outcome_domain: str, comparison: str, where) -> DomainRating:
    at = data.load("arm_types", where).set_index(["study_id", "arm"])
    issues = []
    doms = {t.study_id: t.domain for t in trials}
    if len(set(doms.values())) > 1:
        issues.append("The pooled trials measure different outcome domains ("
                      + "; ".join(f"{s} {t.outcome} ({doms[s]})" for s, t in
                                  ((t.study_id, t) for t in trials)) + ").")
    off = [t for t in trials if t.domain and t.domain != outcome_domain]
    if off:
        issues.append(f"The question is about {outcome_domain}, but "
                      + "; ".join(f"{t.study_id} contributes {t.outcome} ({t.domain})"
                                  for t in off) + ".")
    tcs = {t.timepoint_class for t in trials}
    if len(tcs) > 1:
        issues.append("The trials are measured at different time-point classes ("
                      + "; ".join(f"{t.study_id} {t.timepoint_class.replace('_', ' ')}"
                                  for t in trials) + ").")
    first, second = COMPARISONS[comparison]
    for cls, side in ((first, "treat_arms"), (second, "control_arms")):
        col = {"sham": "sham_type", "control": "control_type"}.get(cls)
        if col is None:
            continue
        kinds = {}
        for t in trials:
            for arm in getattr(t, side):
                if (t.study_id, arm) in at.index:
                    kinds.setdefault(at.loc[(t.study_id, arm), col], []).append(t.study_id)
        if len(kinds) > 1:
            node = "sham" if cls == "sham" else "control (usual care)"
            issues.append(f"The {node} node lumps unlike arm types: "
                          + "; ".join(f"{k.replace('_', ' ')} ({', '.join(v)})"
                                      for k, v in kinds.items()) + ".")
    notes = tuple(issues) if issues else ("Same outcome domain, time-point class and arm "
                                          "types in every trial.",)
    down = min(2, len(issues))
    return DomainRating("indirectness", down, notes + (f"{len(issues)} issue(s): downgrade "
                                                       f"{down}.",))


def optimal_information_size(mid: float, alpha: float = OIS_ALPHA,
                             power: float = OIS_POWER) -> float:
    """Total sample size (two equal groups) to detect an SMD of ``mid``:
    ``2 * 2 (z_{1-alpha/2} + z_{power})^2 / mid^2`` (GRADE guidelines 6)."""
    za = z_crit(1 - alpha)
    zb = z_crit(2 * power - 1)  # z_crit(level) is the (1 + level) / 2 quantile
    return 4 * (za + zb) ** 2 / mid**2


def _imprecision(ci, mid: MID, trials) -> DomainRating:
    lo, hi = ci
    m = mid.value
    n = _crossed(lo, hi, m)
    where_ = {0: "the interval lies within one region (important benefit, trivial, or important "
                 "harm)",
              1: "the interval spans two regions (an important effect and a trivial one)",
              2: "the interval spans from an important harm to an important benefit"}[n]
    reasons = [f"Interval {lo:.2f} to {hi:.2f} against MID +-{m:g} {mid.scale} "
               f"({mid.source}): {n} threshold(s) crossed; {where_}."]
    down = n
    if mid.scale == "SMD":
        total = sum(t.n_total for t in trials)
        ois = optimal_information_size(m)
        if math.isfinite(total) and total < ois:
            if down == 0:
                down = 1
            reasons.append(f"Total n = {total:.0f} is below the optimal information size "
                           f"{ois:.0f} for an SMD of {m:g} (alpha {OIS_ALPHA}, power "
                           f"{OIS_POWER}).")
        elif math.isfinite(total):
            reasons.append(f"Total n = {total:.0f} reaches the optimal information size "
                           f"{ois:.0f}.")
    return DomainRating("imprecision", down, tuple(reasons))


def _publication(k: int, egger_p: float | None) -> DomainRating:
    if k < PUBLICATION_BIAS_MIN_K:
        return DomainRating("publication bias", 0, (
            f"Not assessable at k = {k} < {PUBLICATION_BIAS_MIN_K} (funnel-plot tests need at "
            f"least {PUBLICATION_BIAS_MIN_K} trials); not downgraded, not ruled out.",),
            assessable=False)
    if egger_p is None:
        return DomainRating("publication bias", 0, ("No asymmetry test given; not downgraded.",),
                            assessable=False)
    down = int(egger_p < Q_P_SERIOUS)
    return DomainRating("publication bias", down, (f"Egger p = {egger_p:.3f}: "
                                                   + ("suspected." if down else "not suspected."),))


def _heterogeneity(trials) -> dict:
    k = len(trials)
    if k < 2:
        return {"k": k}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pool(escalc("GEN", yi=[t.yi for t in trials], vi=[t.vi for t in trials],
                        study=[t.study_id for t in trials]), method="REML")
    return {"k": k, "Q": r.Q, "Q_df": r.Q_df, "Q_p": r.Q_p, "I2": r.I2, "I2_ci": r.I2_ci,
            "pi": (r.pi_low, r.pi_high), "tau2": r.tau2}


def _pooled(trials, interval: str) -> tuple[float, tuple[float, float], str]:
    if len(trials) == 1:
        t = trials[0]
        h = z_crit(0.95) * math.sqrt(t.vi)
        return t.yi, (t.yi - h, t.yi + h), "single trial, Wald 95% CI"
    hksj = {"hksj": True, "wald": False}[interval]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pool(escalc("GEN", yi=[t.yi for t in trials], vi=[t.vi for t in trials],
                        study=[t.study_id for t in trials]), method="REML", hksj=hksj)
    return r.estimate, (r.ci_low, r.ci_high), ("REML, HKSJ 95% CI" if hksj
                                               else "REML, Wald 95% CI")


def _review(comparison, outcome_domain, timepoint_class, where) -> tuple[str | None, str]:
    rc = data.load("review_certainty", where)
    sel = rc[(rc.comparison == comparison) & (rc.outcome_domain == outcome_domain)
             & (rc.timepoint_class == timepoint_class)]
    if sel.empty:
        return None, "Mu 2020 prints no rating for this comparison, outcome and time."
    row = sel.iloc[0]
    if isinstance(row.certainty, str) and row.certainty:
        return row.certainty.replace("_", " "), f"{row.location} ({row.label})"
    return None, f"not transcribed ({row.certainty_id}: {row.note})"


def rate(comparison: str, trials, *, outcome_domain: str, timepoint_class: str,
         estimate: float | None = None, ci: tuple[float, float] | None = None,
         interval: str = "hksj", scale: str = "SMD", mid: MID = MID_SMD_SMALL,
         egger_p: float | None = None, where: Path | str | None = None) -> CertaintyRating:
    """Rate one comparison from its trials (:class:`TrialInput`) and an interval.

    Parameters
    ----------
    comparison
        A key of :data:`COMPARISONS`.
    trials
        The trials pooled, effects positive = benefit with the first arm, on ``scale``.
    outcome_domain, timepoint_class
        The question (as in ``data/trial_outcomes.csv``): what the rating is about.
    estimate, ci
        The estimate and interval to judge for imprecision (e.g. one method of the sensitivity
        table: fixed effect, REML Wald, HKSJ, HKSJ with q >= 1, Bayesian, network). Leave both
        out to pool ``trials`` by REML with the HKSJ interval (``interval="hksj"``) or the Wald
        interval (``interval="wald"``).
    interval
        Without ``estimate``/``ci``: ``"hksj"`` or ``"wald"``. With them: a free-text label of
        the method that produced them, shown in the summary.
    mid
        The minimal important difference (:data:`MID_SMD_SMALL`, :data:`MID_SMD_MODERATE`,
        :data:`MID_RMDQ_HIGH`, ... or your own :class:`MID` with its source).
    egger_p
        An asymmetry test's p-value, used only at k >= 10.

    Returns
    -------
    CertaintyRating
        Per-domain downgrades with reasons, the rating, and Mu 2020's rating beside it.

    Notes
    -----
    Validated by ``tests/analyses/test_certainty.py`` (each rule by hand; perturbations).
    """
    if comparison not in COMPARISONS:
        raise KeyError(f"unknown comparison {comparison!r}; one of {sorted(COMPARISONS)}")
    trials = tuple(trials)
    if not trials:
        raise ValueError("no trials to rate")
    if mid.scale != scale:
        raise ValueError(f"the MID is on {mid.scale!r}, the estimate on {scale!r}")
    if (estimate is None) != (ci is None):
        raise ValueError("give both estimate and ci, or neither")
    if estimate is None:
        if interval not in ("hksj", "wald"):
            raise ValueError(f"interval must be 'hksj' or 'wald' without estimate/ci, "
                             f"not {interval!r}")
        estimate, ci, label = _pooled(trials, interval)
    else:
        label = interval if interval not in ("hksj", "wald") else "interval given by the caller"
    het = _heterogeneity(trials)
    domains = (_rob(trials, where), _inconsistency(het, ci, mid),
               _indirectness(trials, outcome_domain, comparison, where),
               _imprecision(ci, mid, trials), _publication(len(trials), egger_p))
    total = sum(d.downgrade for d in domains)
    review, note = _review(comparison, outcome_domain, timepoint_class, where)
    return CertaintyRating(comparison, outcome_domain, timepoint_class, scale, float(estimate),
                           (float(ci[0]), float(ci[1])), label, mid, len(trials),
                           tuple(t.study_id for t in trials), domains, _level(total), review,
                           note, {"heterogeneity": het, "trials": trials})


# ------------------------------------------------------------------------------ from data/

def _arm_values(ao: pd.DataFrame, study: str, outcome: str, timepoint: str, arm: str):
    rows = ao[(ao.study_id == study) & (ao.outcome == outcome) & (ao.timepoint == timepoint)
              & (ao.arm == arm) & (ao.statistic == "value") & ao["mean"].notna()
              & ao.sd.notna()]
    if rows.empty:
        return None
    own = rows[rows.source_id == study]
    rows = (own if not own.empty else rows).sort_values("n", na_position="last")
    r = rows.iloc[-1] if rows.n.notna().any() else rows.iloc[0]
    return r


def trial_inputs(comparison: str, outcome_domain: str = "function",
                 timepoint_class: str = "end_of_treatment",
                 where: Path | str | None = None) -> tuple[TrialInput, ...]:
    """The trials that measure ``outcome_domain`` at ``timepoint_class`` with arm means and SDs
    for both arm classes of ``comparison``: one SMD (Hedges' g, positive = benefit with the first
    arm) per trial, selected through the evidence structure (``data/trial_outcomes.csv``,
    ``data/arm_types.csv``).

    Per trial the outcome is the trial's primary one if it has values, else its first listed
    one; arm values are the trial's own printed ones if present, else a secondary source's; n is
    the row's (analysed) n if printed, else the arm's randomized n (said in ``note``). Two arms
    of one class (Cherkin's individualized and standardized acupuncture) are combined
    (:func:`acu_meta.effects.combine_arms`, Cochrane Handbook 6.5.2.10).
    """
    first, second = COMPARISONS[comparison]
    to = data.load("trial_outcomes", where)
    at = data.load("arm_types", where)
    ao = data.load("arm_outcomes", where)
    arms = data.load("arms", where).set_index(["study_id", "arm"])
    direction = data.load("outcomes", where).set_index("outcome").direction
    sel = to[(to.domain == outcome_domain) & (to.timepoint_class == timepoint_class)]
    out = []
    for study, g in sel.groupby("study_id", sort=False):
        g = g.assign(_p=(g.role != "primary").astype(int)).sort_values("_p", kind="stable")
        a_arms = tuple(at[(at.study_id == study) & (at.arm_class == first)].arm)
        b_arms = tuple(at[(at.study_id == study) & (at.arm_class == second)].arm)
        if not a_arms or not b_arms:
            continue
        for row in g.itertuples():
            groups, notes = [], []
            for side in (a_arms, b_arms):
                vals = []
                for arm in side:
                    r = _arm_values(ao, study, row.outcome, row.timepoint, arm)
                    if r is None:
                        break
                    n = r.n
                    if pd.isna(n):
                        n = arms.loc[(study, arm), "n_randomized"]
                        if pd.isna(n):  # neither analysed nor randomized n: cannot weigh it
                            break
                        notes.append(f"{arm}: randomized n {n:.0f} (no analysed n printed)")
                    vals.append((float(n), float(r["mean"]), float(r.sd)))
                if len(vals) != len(side):
                    break
                while len(vals) > 1:
                    (n1, m1, s1), (n2, m2, s2) = vals[0], vals[1]
                    vals = [combine_arms(n1, m1, s1, n2, m2, s2), *vals[2:]]
                groups.append(vals[0])
            if len(groups) != 2:
                continue
            (n1, m1, s1), (n2, m2, s2) = groups
            es = escalc("SMD", m1i=[m1], sd1i=[s1], n1i=[n1], m2i=[m2], sd2i=[s2], n2i=[n2])
            sign = -1.0 if direction[row.outcome] == "lower_is_better" else 1.0
            out.append(TrialInput(study, float(sign * es.yi[0]), float(es.vi[0]), row.outcome,
                                  row.timepoint, row.domain, row.timepoint_class, a_arms,
                                  b_arms, n1 + n2, "; ".join(notes)))
            break
    return tuple(out)


def rate_from_data(comparison: str, outcome_domain: str = "function",
                   timepoint_class: str = "end_of_treatment", *, interval: str = "hksj",
                   mid: MID = MID_SMD_SMALL, where: Path | str | None = None
                   ) -> CertaintyRating:
    """:func:`rate` on the trials :func:`trial_inputs` selects from ``data/`` (SMD scale)."""
    trials = trial_inputs(comparison, outcome_domain, timepoint_class, where)
    if not trials:
        raise ValueError(f"no trial has {outcome_domain} at {timepoint_class} for {comparison}")
    return rate(comparison, trials, outcome_domain=outcome_domain,
                timepoint_class=timepoint_class, interval=interval, mid=mid, where=where)


def rate_all(outcome_domain: str = "function", timepoint_class: str = "end_of_treatment", *,
             interval: str = "hksj", mid: MID = MID_SMD_SMALL,
             where: Path | str | None = None) -> CertaintyTable:
    """The three comparisons of :data:`COMPARISONS`, rated from ``data/``."""
    return CertaintyTable(tuple(rate_from_data(c, outcome_domain, timepoint_class,
                                               interval=interval, mid=mid, where=where)
                                for c in COMPARISONS))
