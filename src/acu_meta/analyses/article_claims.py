"""The patient-facing article "Can Acupuncture Help Back Pain?": each checkable claim beside
the numbers that bear on it, a verdict computed from them, and the certainty of that evidence
(``shared/sources/article_claims.md``; issue #13, build item 8).

The claims are quoted from the article (which is not part of ``data/``); every number in the
evidence and the verdicts is read from the data folder ``where`` or computed from it. A verdict
is one of :data:`VERDICTS`, reached by a stated rule from the thresholds below (named
constants, each with its reason); the sentence beside it is formatted from the same numbers,
so a changed input changes the verdict it feeds and nothing else
(``tests/analyses/test_article_claims.py::test_perturbing_one_number_changes_the_named_verdicts``).

Certainty is an input: :func:`claims` takes a mapping *comparison -> Certainty* (the
comparisons of :data:`acu_meta.analyses.three_arm.COMPARISONS`; a
:class:`acu_meta.analyses.certainty.CertaintyRating` is accepted too). By default it is
computed from the data (:func:`default_certainty`): the toolkit's GRADE-style rating
(:func:`acu_meta.analyses.certainty.rate_all`, function at the end of treatment) beside the
rating Cochrane Mu 2020 printed for the comparison (:func:`review_certainty`; "not rated"
where none is transcribed). A claim about counts (not effects) carries the provenance of its
counts as well (reported / secondary).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .. import data
from ..effects.proportions import fisher_exact_p
from ..numeric import clopper_pearson
from . import certainty as grade
from . import gerac2007, three_arm

VERDICTS = ("supported", "partly supported", "not supported")
"""Every verdict, strongest first. *partly supported*: some checkable parts of the claim hold
and at least one does not (the sentence names which)."""

# --- thresholds (each with its reason) --------------------------------------------------------

MID_SMD = grade.MID_SMD_SMALL.value
"""Smallest standardized mean difference read as an important effect (0.2): the certainty
module's MID for SMDs (:data:`acu_meta.analyses.certainty.MID_SMD_SMALL`, Cohen's "small"
effect), so that verdicts and ratings judge intervals against the same threshold."""

MODERATE_SMD = grade.MID_SMD_MODERATE.value
"""Cohen's "medium" effect (0.5; :data:`acu_meta.analyses.certainty.MID_SMD_MODERATE`); an SMD
from MID_SMD up to this is "small"."""

RMDQ_MID = grade.MID_RMDQ_LOW.value
"""Smallest between-group difference on the Roland-Morris questionnaire (0-24) read as
important (2 points; :data:`acu_meta.analyses.certainty.MID_RMDQ_LOW`): the lower end of the
2-3 points named in issue #13, so that a difference below it is unimportant under either end."""

ALMOST_TWICE = 1.8
"""A ratio counts as "almost twice" from 1.8 (within 10% of 2) upwards; below it the ratio is
nearer one and a half than two."""

MOST = 0.5
""""Most people": more than half of the participants."""

NEARLY = 0.05
""""Nearly N": a count at most N and within 5% below it."""

RARE = 1 / 1000
"""A "rare" harm: the CIOMS frequency band for adverse reactions below 1 in 1,000 (rare, 1 in
10,000 to 1 in 1,000; very rare, below that). A trial rules such harms out only if the upper
95% bound of a harm it never saw lies below this."""

ALPHA = 0.05
"""Two-sided significance level at which a difference in event counts is called an excess."""

RULE_OF_THREE_LEVEL = 0.95
"""One-sided confidence of the rule of three (Hanley and Lippman-Hand 1983: with 0 events in
n, the upper 95% bound on the rate is about 3/n)."""

# --- the article's numbers (quoted in shared/sources/article_claims.md) -----------------------

ARTICLE_PARTICIPANTS = 1162  # claim 3: "with 1162 participants in the study"
ARTICLE_SESSIONS = 10  # claim 3: "Most people received ten sessions"
ARTICLE_WEEKS = 5  # claim 3: "over about five weeks"
ARTICLE_PATIENTS = 18000  # claim 5: "nearly 18000 patients"
ARTICLE_RATIO = 2.0  # claim 2: "almost twice that of conventional therapy"
CITED_TRIALS = ("haake2007", "cherkin2009")  # the trials the article cites for its sham claims


@dataclass(frozen=True)
class Certainty:
    """How sure the evidence behind a verdict is.

    *rating*: a GRADE rating (high / moderate / low / very low), "not rated", or for counts
    their provenance label (reported / secondary); *basis*: who rated it, or where the counts
    were printed.
    """

    rating: str
    basis: str
    review: str = ""

    def __str__(self) -> str:
        return f"{self.rating} ({self.basis})" + (f"; {self.review}" if self.review else "")

    @classmethod
    def from_rating(cls, r: grade.CertaintyRating, review: Certainty | None = None
                    ) -> Certainty:
        """The toolkit's GRADE-style rating *r*, with the review's rating beside it."""
        down = ", ".join(f"{d} -{n}" for d, n in r.downgrades.items() if n) or "no downgrade"
        basis = (f"acu_meta GRADE-style, {r.outcome_domain} at "
                 f"{r.timepoint_class.replace('_', ' ')}: {down}")
        if review is None:
            return cls(r.rating, basis)
        where = review.basis.removeprefix("Cochrane Mu 2020").lstrip(",: ")
        return cls(r.rating, basis, f"Cochrane Mu 2020: {review.rating} ({where})")


NOT_RATED = "not rated"
_GRADE = ("high", "moderate", "low", "very low")


def _key(comparison: str) -> str:
    return comparison.replace(" ", "_")


def review_certainty(where=None) -> dict[str, Certainty]:
    """Comparison -> the certainty a review printed for it (Cochrane Mu 2020), from the data.

    Reads the ``review_certainty`` table (Mu 2020's Summary-of-findings ratings, with
    provenance). Outcomes of one comparison are joined ("low ...: pain and function", or "low
    to moderate" when they differ); a comparison with no transcribed rating is "not rated",
    with the table's reason (or "no rating in the data" without the table). Validated in
    ``tests/analyses/test_article_claims.py`` (``test_review_certainty_is_read_from_the_data``).
    """
    found: dict[str, list[tuple[str, str, str]]] = {}  # comparison -> (rating, outcome, where)
    missing: dict[str, str] = {}  # comparison -> why the data have no rating
    if "review_certainty" in data.list_datasets(where):
        rc = data.load("review_certainty", where)
        for r in rc.itertuples():
            comp = r.comparison.replace("_", " ")
            if isinstance(r.certainty, str) and r.certainty:
                found.setdefault(comp, []).append((r.certainty, r.outcome_domain,
                                                   f"{r.location}, {r.label}"))
            else:
                missing.setdefault(comp, str(r.note).split(". ")[0].rstrip(".").split(": ")[-1])
    out = {}
    for comp in three_arm.COMPARISONS:
        rows = found.get(comp, [])
        if not rows:
            out[comp] = Certainty(NOT_RATED, "Cochrane Mu 2020: " + missing.get(
                comp, "no rating in the data"))
            continue
        ratings = sorted({r for r, _, _ in rows}, key=_GRADE.index, reverse=True)
        outcomes = " and ".join(dict.fromkeys(o for _, o, _ in rows))
        wheres = "; ".join(dict.fromkeys(w for _, _, w in rows))
        rating = ratings[0] if len(ratings) == 1 else " to ".join((ratings[0], ratings[-1]))
        out[comp] = Certainty(rating, f"Cochrane Mu 2020, {wheres}: {outcomes}")
    return out


def default_certainty(where=None) -> dict[str, Certainty]:
    """Comparison -> the toolkit's rating (:func:`acu_meta.analyses.certainty.rate_all`) with
    Cochrane Mu 2020's beside it (:func:`review_certainty`); Mu 2020's alone when the data
    cannot be rated (no evidence-structure tables). Checked in
    ``tests/analyses/test_article_claims.py::test_claim1_carries_mu2020_low_certainty_and_vickers_sham_trials``.
    """
    review = review_certainty(where)
    if not {"trial_outcomes", "arm_types", "risk_of_bias"} <= set(data.list_datasets(where)):
        return review
    table = grade.rate_all(where=where)
    return {c: Certainty.from_rating(table[_key(c)], review[c]) for c in three_arm.COMPARISONS}


def rule_of_three(n: int) -> float:
    """Upper one-sided 95% bound on the rate of an event seen in none of *n* people, 3/n.

    3 is -ln(0.05) = 2.996 rounded up: the bound is slightly conservative against the exact
    binomial bound 1 - 0.05^(1/n) (:func:`exact_upper_bound_zero`).

    Validated against the exact (Clopper-Pearson one-sided) bound 1 - 0.05^(1/n) in
    ``tests/analyses/test_article_claims.py::test_rule_of_three_against_the_exact_bound``.
    """
    return 3 / n if n > 0 else math.inf


def exact_upper_bound_zero(n: int) -> float:
    """The exact one-sided 95% upper bound for 0 events in *n* (Clopper-Pearson)."""
    return clopper_pearson(0, n, level=1 - 2 * (1 - RULE_OF_THREE_LEVEL))[1]


def _reading(est: float, lo: float, hi: float) -> str:
    """An SMD interval against 0 and the MID (positive = benefit with the first arm)."""
    if lo > 0:
        return ("a benefit of at least a small effect" if est >= MID_SMD
                else "a benefit, smaller than the minimal important difference")
    if hi < 0:
        return "a harm"
    if hi < MID_SMD and lo > -MID_SMD:
        return "no important difference (the interval lies within +/- the MID)"
    return "no difference shown (the interval includes zero" + (
        " and effects of at least the MID)" if hi >= MID_SMD else ")")


def _size(smd: float) -> str:
    return ("below the minimal important difference" if abs(smd) < MID_SMD
            else "small" if abs(smd) < MODERATE_SMD else "moderate or larger")


def _pct(x: float, d: int = 1) -> str:
    return f"{100 * x:.{d}f}%"


class _Evidence:
    """The tables and results the claims draw on, read once from the data folder *where*."""

    def __init__(self, where, certainty: Mapping[str, Certainty] | None):
        self.where = where
        self.facts = data.load("facts", where).set_index("fact_id")
        self.pooled = data.printed("pooled", where).set_index("pooled_id")
        self.props = data.printed("proportions", where)
        self.contrasts = data.printed("contrasts", where).set_index("contrast_id")
        self.arm_outcomes = data.printed("arm_outcomes", where)
        self.arms = data.load("arms", where).set_index(["study_id", "arm"])
        given = {c: (Certainty.from_rating(v) if isinstance(v, grade.CertaintyRating) else v)
                 for c, v in (certainty or {}).items()}
        default = default_certainty(where) if set(given) < set(three_arm.COMPARISONS) else {}
        self.certainty = {c: given.get(c, default.get(c)) for c in three_arm.COMPARISONS}

    def fact(self, fid: str) -> float:
        return self.facts.loc[fid, "value"]

    def label(self, fid: str) -> str:
        return self.facts.loc[fid, "label"]

    def vickers(self, control: str) -> str:
        """Vickers 2012 back/neck effect size vs *control* ("sham" or "noacu"), as printed."""
        return self.pooled.loc[f"vickers2012_backneck_{control}", "estimate"]

    def gerac_props(self, outcome: str) -> pd.DataFrame:
        p = self.props
        return p[(p.study_id == gerac2007.STUDY) & (p.outcome == outcome)].set_index("group")

    def sham_type(self, study: str) -> tuple[str, str]:
        """(sham type, as described) of *study*'s sham arm (``arm_types``; "unknown" without
        that table)."""
        if "arm_types" not in data.list_datasets(self.where):
            return "unknown", "sham type not in the data"
        at = data.load("arm_types", self.where)
        r = at[(at.study_id == study) & (at.arm_class == "sham")].iloc[0]
        return str(r.sham_type), str(r.intervention)


def _row(claim: str, evidence: str, verdict: str, why: str, certainty: str) -> dict:
    assert verdict in VERDICTS, verdict
    return {"claim": claim, "evidence": evidence, "verdict": verdict, "explanation": why,
            "certainty": certainty}


def _claim_yes_it_can(ev: _Evidence) -> dict:
    """Supported if verum beats usual care (lower limit > 0, estimate >= MID_SMD) and real
    beats sham needling (lower limit > 0); partly supported if only the first; else not."""
    res = {c: three_arm.pairwise(c, ev.where) for c in three_arm.COMPARISONS}
    read = {c: _reading(r.estimate, r.ci_low, r.ci_high) for c, r in res.items()}
    vu, vs = "verum vs usual care", "verum vs sham"
    helps = res[vu].ci_low > 0 and res[vu].estimate >= MID_SMD
    specific = res[vs].ci_low > 0
    sham, noacu = ev.vickers("sham"), ev.vickers("noacu")
    n_sham = ev.fact("v2012_t1_sham_trials")
    verdict = "supported" if helps and specific else "partly supported" if helps else (
        "not supported")
    evidence = ("Pooled SMD, GERAC + Cherkin, short term, REML with HKSJ 95% CI: " + "; ".join(
        f"{c} {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f})" for c, r in res.items())
        + f". Vickers 2012 back/neck: {noacu} vs no-acupuncture, {sham} vs sham (at most "
        f"{n_sham:.0f} sham-controlled back/neck trials, Table 1).")
    why = ("; ".join(f"{c} {res[c].estimate:.2f} SD: {read[c]}" for c in res)
           + f". So acupuncture {'helps' if helps else 'is not shown to help'} against usual "
           f"care, and the part of that due to real needling is "
           f"{'shown' if specific else 'not shown'}. Vickers' effect over sham is "
           f"{_size(float(sham))} ({sham} SD, at most {n_sham:.0f} sham-controlled back/neck "
           f"trials). Threshold: MID = SMD {MID_SMD}.")
    cert = " | ".join(f"{c}: {ev.certainty[c]}" for c in (vu, vs))
    return _row("1. \"Yes it can.\" (acupuncture can help back pain)", evidence, verdict, why,
                cert)


def _claim_almost_twice(ev: _Evidence) -> dict:
    """GERAC 6-month response ratios against conventional therapy: supported if both arms'
    lower limits exceed 1 and both ratios reach ALMOST_TWICE; partly supported if only the
    first; else not."""
    diffs = gerac2007.differences(ev.where)
    six = diffs[diffs.timepoint == "6mo"].set_index("comparison")
    rr = {a: six.loc[f"{a} vs conventional"] for a in ("verum", "sham")}
    rates = gerac2007.response_rates(ev.where)
    r6 = rates[rates.timepoint == "6mo"].set_index("arm")
    printed = ", ".join(r6.loc[a, "percent_printed"] for a in gerac2007.ARMS)
    vs = ev.contrasts.loc["haake2007_t4_verum_sham"]
    better = {a: r.rr_ci_low > 1 for a, r in rr.items()}
    twice = {a: r.rr >= ALMOST_TWICE for a, r in rr.items()}
    verdict = ("supported" if all(better.values()) and all(twice.values())
               else "partly supported" if all(better.values()) else "not supported")
    short = [a for a in rr if not twice[a]]
    vs_lo, vs_hi = float(vs.ci_low), float(vs.ci_high)
    evidence = (f"Response at 6 months: verum {r6.loc['verum', 'percent']:.1f}%, sham "
                f"{r6.loc['sham', 'percent']:.1f}%, conventional "
                f"{r6.loc['conventional', 'percent']:.1f}% (printed {printed}). RR "
                + "; ".join(f"{a}/conventional {r.rr:.2f} ({r.rr_ci_low:.2f} to "
                            f"{r.rr_ci_high:.2f})" for a, r in rr.items())
                + f". Verum minus sham {vs.estimate} points ({vs.ci_low} to {vs.ci_high}).")
    why = ("Both acupuncture arms respond more often than conventional therapy at 6 months "
           if all(better.values()) else "Not every acupuncture arm beats conventional therapy ")
    why += ("and both ratios reach \"almost twice\"" if not short else
            "but " + " and ".join(f"{a} ({rr[a].rr:.2f})" for a in short)
            + f" fall{'s' if len(short) == 1 else ''} short of \"almost twice\"")
    why += (f" (threshold: a ratio of at least {ALMOST_TWICE}). Verum against sham: "
            + ("no difference shown" if vs_lo <= 0 <= vs_hi else "a difference")
            + f" ({vs.estimate} points, {vs.ci_low} to {vs.ci_high}).")
    cert = " | ".join(f"{c}: {ev.certainty[c]}" for c in ("verum vs usual care",
                                                          "sham vs usual care"))
    return _row("2. GERAC: \"Effectiveness of acupuncture, either verum or sham, was almost "
                "twice that of conventional therapy.\"", evidence, verdict, why,
                cert + " | one trial (GERAC Table 4, reported)")


def _claim_ten_sessions(ev: _Evidence) -> dict:
    """Three checkable parts: the count (= ARTICLE_PARTICIPANTS), the planned schedule (10
    sessions at the printed rate = about ARTICLE_WEEKS weeks) and "most received ten" (the
    share given 5 more, weighted by arm size, at most MOST). All hold: supported; none: not;
    else partly supported."""
    sessions, per_week = ev.fact("gerac_sessions"), ev.fact("gerac_sessions_per_week")
    more = ev.fact("gerac_additional_sessions")
    randomized = ev.fact("gerac_randomized")
    extra = ev.gerac_props("additional_sessions")
    n = {a: float(ev.arms.loc[(gerac2007.STUDY, a), "n_randomized"]) for a in gerac2007.ARMS}
    shares = {a: float(extra.loc[a, "percent"]) / 100 for a in gerac2007.ARMS}
    overall = sum(shares[a] * n[a] for a in gerac2007.ARMS) / sum(n.values())
    count_ok = randomized == ARTICLE_PARTICIPANTS
    weeks = sessions / per_week
    schedule_ok = sessions == ARTICLE_SESSIONS and round(weeks) == ARTICLE_WEEKS
    ten_most = overall <= MOST  # most received the basic ten (no more)
    parts = [count_ok, schedule_ok, ten_most]
    verdict = ("supported" if all(parts) else "not supported" if not any(parts)
               else "partly supported")
    shown = " / ".join(f"{extra.loc[a, 'percent']}%" for a in gerac2007.ARMS)
    evidence = (f"{randomized:.0f} randomized; {sessions:.0f} sessions, generally "
                f"{per_week:.0f} per week ({sessions:.0f}/{per_week:.0f} = {weeks:.0f} weeks); "
                f"{more:.0f} more sessions for partial responders, given to {shown} of the "
                f"verum / sham / conventional arms (secondary source; {_pct(overall)} of all "
                "randomized, weighting each arm by its randomized n).")
    right = [w for w, ok in ((f"the number of participants ({randomized:.0f})", count_ok),
                             (f"the planned schedule ({sessions:.0f} sessions, "
                              f"{per_week:.0f} a week: {weeks:.0f} weeks)", schedule_ok)) if ok]
    why = ("Right: " + " and ".join(right) + ". " if right else "")
    why += (f"\"Most people received ten\" is {'right' if ten_most else 'wrong'}: "
            f"{_pct(overall)} of participants ({'at most' if ten_most else 'more than'} half; "
            f"per arm {shown}) were given {more:.0f} more, i.e. {sessions + more:.0f} sessions"
            f". Threshold: most = more than {_pct(MOST, 0)}.")
    cert = (f"{ev.label('gerac_randomized')} (count and schedule: GERAC "
            f"{ev.facts.loc['gerac_randomized', 'location']}); "
            f"{extra.loc['verum', 'label']} (additional sessions: "
            f"{extra.loc['verum', 'location'].split(',')[0]})")
    return _row("3. GERAC: \"Most people received ten sessions over about five weeks, with "
                "1162 participants in the study.\"", evidence, verdict, why, cert)


def _claim_sham(ev: _Evidence) -> dict:
    """Supported if every cited trial's sham is penetrating needling off the points; not
    supported if none is; else partly supported. Cherkin's simulated-vs-real gap in RMDQ
    improvement is read against RMDQ_MID."""
    ao = ev.arm_outcomes
    change = ao[(ao.study_id == "cherkin2009") & (ao.outcome == "rmdq")
                & (ao.statistic == "change")].set_index("arm")["mean"]
    real = sorted((change[a] for a in ("individualized", "standardized")), key=float)
    kinds = {s: ev.sham_type(s) for s in CITED_TRIALS}
    known = {s: k == "penetrating_off_point" for s, (k, _) in kinds.items() if k != "unknown"}
    gap = max(abs(float(change["simulated"]) - float(r)) for r in real)
    like_real = gap < RMDQ_MID
    verdict = ("supported" if known and all(known.values()) and len(known) == len(kinds)
               else "not supported" if not any(known.values()) else "partly supported")
    names = {"haake2007": "GERAC", "cherkin2009": "Cherkin 2009"}
    evidence = ("Sham arms of the cited trials: " + "; ".join(
        f"{names[s]}: {d} ({k.replace('_', ' ')})" for s, (k, d) in kinds.items())
        + f". Cherkin RMDQ improvement at 8 weeks: simulated {change['simulated']} vs real "
        f"{real[0]}-{real[-1]}.")
    yes = [names[s] for s in known if known[s]]
    no = [names[s] for s in known if not known[s]]
    unknown = [names[s] for s in kinds if s not in known]
    why = ((f"True for {' and '.join(yes)}" if yes else "True for none of the cited trials")
           + (f"; not for {' and '.join(no)}, whose sham did not put needles at "
              "non-acupuncture points" if no else "")
           + (f"; the sham type of {' and '.join(unknown)} is not in the data" if unknown
              else "") + ". ")
    why += (f"In Cherkin the simulated arm improved within {gap:.1f} RMDQ points of real "
            f"acupuncture ({'below' if like_real else 'at or above'} the {RMDQ_MID:g}-point "
            "MID)" + (", so the benefit came without any needle entering the skin: \"just the "
                      "needling\" is not what it tested." if like_real else "."))
    labels = sorted(set(ao[(ao.study_id == "cherkin2009") & (ao.statistic == "change")].label))
    cert = (f"sham types reported (trial abstracts); Cherkin improvements "
            f"{'/'.join(labels)} (abstract)")
    return _row("4. \"'Sham' means that some patients received needling but not on official "
                "acupuncture points.\"", evidence, verdict, why, cert)


def _claim_similar_results(ev: _Evidence) -> dict:
    """The count within NEARLY below ARTICLE_PATIENTS and a back-pain-only review: supported;
    the count alone: partly supported; else not. The effect over sham is sized against
    MID_SMD and MODERATE_SMD."""
    sham, noacu = ev.vickers("sham"), ev.vickers("noacu")
    patients = ev.fact("v2012_patients")
    trials, backneck = ev.fact("v2012_trials_analysed"), ev.fact("v2012_t1_backneck_trials")
    n_sham = ev.fact("v2012_t1_sham_trials")
    count_ok = ARTICLE_PATIENTS * (1 - NEARLY) <= patients <= ARTICLE_PATIENTS
    back_only = backneck == trials
    verdict = ("supported" if count_ok and back_only else "partly supported" if count_ok
               else "not supported")
    evidence = (f"Vickers 2012: {patients:.0f} patients in {trials:.0f} trials, all pain "
                f"conditions (back and neck: {backneck:.0f} trials, of which {n_sham:.0f} "
                f"sham-controlled). Back/neck effect sizes {sham} vs sham, {noacu} vs no "
                "acupuncture (SD units).")
    why = (f"The count is {'right' if count_ok else 'wrong'} ({patients:,.0f} against "
           f"\"nearly {ARTICLE_PATIENTS:,}\"; threshold: within {_pct(NEARLY, 0)} below)"
           + ("" if back_only else
              f", but it covers all chronic pain: {backneck:.0f} of its {trials:.0f} trials "
              "are of back or neck pain")
           + f". For back/neck the effect over sham is {_size(float(sham))} ({sham} SD from "
           f"at most {n_sham:.0f} sham-controlled trials; MID {MID_SMD}, medium "
           f"{MODERATE_SMD}), against {noacu} SD over no acupuncture.")
    cert = (f"verum vs sham: {ev.certainty['verum vs sham']} | counts "
            f"{ev.label('v2012_patients')} (Vickers 2012 "
            f"{ev.facts.loc['v2012_patients', 'location']}, Table 1)")
    return _row("5. Similar results in other studies (Cherkin 2009) and in a review of "
                "\"nearly 18000 patients\" (Vickers 2012).", evidence, verdict, why, cert)


def _claim_safe(ev: _Evidence) -> dict:
    """Supported if GERAC shows no excess of serious events with acupuncture (Fisher P >= ALPHA,
    or a rate no higher than conventional care's), real needling has no more adverse
    experiences than simulated (Cherkin), and the rule-of-three bound on an unseen harm lies
    below RARE; partly supported if only the first holds; else not."""
    sae = {g: ev.fact(f"gerac_sae_{g}") for g in gerac2007.ARMS}
    n = {a: int(ev.arms.loc[(gerac2007.STUDY, a), "n_randomized"]) for a in gerac2007.ARMS}
    needled = n["verum"] + n["sham"]
    sae_acu = sae["verum"] + sae["sham"]
    rate_acu, rate_conv = sae_acu / needled, sae["conventional"] / n["conventional"]
    no_excess = fisher_exact_p(int(sae_acu), needled, int(sae["conventional"]),
                               n["conventional"]) >= ALPHA or rate_acu <= rate_conv
    ae = ev.gerac_props("adverse_effect_patients").loc["all"]
    p = ev.props
    ch = p[(p.study_id == "cherkin2009") & (p.outcome == "adverse_experience")].set_index(
        "group")
    real_arms = [g for g in ch.index if g != "simulated"]
    real_x = sum(int(ch.loc[g, "events"]) for g in real_arms)
    real_n = sum(int(ch.loc[g, "n"]) for g in real_arms)
    sim_x, sim_n = int(ch.loc["simulated", "events"]), int(ch.loc["simulated", "n"])
    p_ch = fisher_exact_p(real_x, real_n, sim_x, sim_n)
    bound = rule_of_three(needled)
    rules_out_rare = bound < RARE
    sae_note = str(ev.facts.loc["gerac_sae_total", "note"]).strip().rstrip(".").lower()
    verdict = ("supported" if no_excess and real_x <= sim_x and rules_out_rare
               else "partly supported" if no_excess else "not supported")
    evidence = (f"GERAC serious adverse events: verum {sae['verum']:.0f}, sham "
                f"{sae['sham']:.0f}, conventional {sae['conventional']:.0f} ({sae_note}); "
                f"{_pct(rate_acu)} of {needled} needled vs {_pct(rate_conv)} of "
                f"{n['conventional']}. {ae.events} patients ({ae.percent}%) reported clinically "
                "relevant adverse effects (all arms). Cherkin adverse experiences (secondary): "
                + ", ".join(f"{r.events}/{r.n}" for _, r in ch.iterrows())
                + " (" + ", ".join(ch.index) + f"): {real_x}/{real_n} with real needling vs "
                f"{sim_x}/{sim_n} simulated (Fisher P = {p_ch:.2g}).")
    why = (("No excess of serious events with acupuncture" if no_excess
            else "More serious events with acupuncture") + f" ({_pct(rate_acu)} vs "
           f"{_pct(rate_conv)}). ")
    why += (f"Minor adverse experiences came with real needling: {real_x} of {real_n} vs "
            f"{sim_x} of {sim_n} with simulated needling (P = {p_ch:.2g}), and "
            f"{ae.percent}% of GERAC's patients reported clinically relevant adverse effects. "
            if real_x > sim_x else
            f"Adverse experiences were no more frequent with real needling ({real_x}/{real_n} "
            f"vs {sim_x}/{sim_n}). ")
    why += (f"A harm seen in none of GERAC's {needled} needled patients can still occur in up "
            f"to {_pct(bound, 2)} of patients (rule of three, 3/{needled}; 1 in "
            f"{1 / bound:,.0f}), so trials of this size "
            + ("can" if rules_out_rare else "cannot") + f" rule out rare harms (below 1 in "
            f"{1 / RARE:,.0f}): \"perfectly safe\" is more than they can show.")
    cert = (f"GERAC counts {ev.label('gerac_sae_total')} "
            f"({ev.facts.loc['gerac_sae_total', 'location'].split(' (')[0]}); Cherkin counts "
            f"{ch.loc['simulated', 'label']} (outcome definition not confirmed); no GRADE "
            "rating of harms in the data")
    return _row("6. \"such a gentle and low-risk treatment option\" / \"For most people "
                "acupuncture/dry needling is perfectly safe\"", evidence, verdict, why, cert)


CLAIMS = (_claim_yes_it_can, _claim_almost_twice, _claim_ten_sessions, _claim_sham,
          _claim_similar_results, _claim_safe)


def claims(where=None, certainty: Mapping[str, Certainty] | None = None) -> pd.DataFrame:
    """One row per claim: claim (quoted), evidence (numbers), verdict (one of
    :data:`VERDICTS`), explanation (the rule applied, its threshold and the numbers) and
    certainty.

    *certainty* maps a comparison of :data:`acu_meta.analyses.three_arm.COMPARISONS` to its
    :class:`Certainty` (or a :class:`acu_meta.analyses.certainty.CertaintyRating`);
    comparisons not given are computed from the data (:func:`default_certainty`). Validated
    in ``tests/analyses/test_article_claims.py``.
    """
    ev = _Evidence(where, certainty)
    out = pd.DataFrame([claim(ev) for claim in CLAIMS])
    assert not any(isinstance(x, float) and math.isnan(x) for x in out.values.ravel())
    return out
