"""The patient-facing article "Can Acupuncture Help Back Pain?": each checkable claim beside
the numbers that bear on it, and a plain verdict (``shared/sources/article_claims.md``).

The claims are quoted from the article (which is not part of ``data/``); every number in the
evidence and the verdicts is read from the data folder ``where`` or computed from it.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import data
from . import gerac2007, three_arm


class _Evidence:
    """The tables and results the claims draw on, read once from the data folder *where*."""

    def __init__(self, where):
        self.where = where
        self.facts = data.load("facts", where).set_index("fact_id")
        self.pooled = data.printed("pooled", where).set_index("pooled_id")
        self.props = data.printed("proportions", where)
        self.contrasts = data.printed("contrasts", where).set_index("contrast_id")
        self.arm_outcomes = data.printed("arm_outcomes", where)

    def fact(self, fid: str) -> float:
        return self.facts.loc[fid, "value"]

    def vickers(self, control: str) -> str:
        """Vickers 2012 back/neck effect size vs *control* ("sham" or "noacu"), as printed."""
        return self.pooled.loc[f"vickers2012_backneck_{control}", "estimate"]

    def gerac_props(self, outcome: str) -> pd.DataFrame:
        p = self.props
        return p[(p.study_id == gerac2007.STUDY) & (p.outcome == outcome)].set_index("group")


def _claim_yes_it_can(ev: _Evidence) -> dict:
    spec = three_arm.specific_vs_nonspecific(ev.where)
    v, s = spec["specific (verum vs sham)"], spec["non-specific (sham vs usual care)"]
    vu = three_arm.pairwise("verum vs usual care", ev.where)
    sham, noacu = ev.vickers("sham"), ev.vickers("noacu")
    return {
        "claim": "1. \"Yes it can.\" (acupuncture can help back pain)",
        "evidence": f"Pooled SMD, GERAC + Cherkin, short term, REML with HKSJ 95% CI: verum vs "
                    f"usual care {vu.estimate:.2f} ({vu.ci_low:.2f} to {vu.ci_high:.2f}); sham "
                    f"vs usual care {s[0]:.2f} ({s[1]:.2f} to {s[2]:.2f}); verum vs sham "
                    f"{v[0]:.2f} ({v[1]:.2f} to {v[2]:.2f}). Vickers 2012 back/neck: {noacu} vs "
                    f"no-acupuncture, {sham} vs sham.",
        "verdict": "Supported against usual care (about half an SD); both trials find sham "
                   "about as good as real acupuncture (with two trials that disagree in size, "
                   "the sham interval is wide), and the specific effect of real needling over "
                   f"sham is about zero here ({sham} SD in Vickers' "
                   f"{ev.fact('v2012_t1_backneck_trials'):.0f} trials).",
    }


def _claim_almost_twice(ev: _Evidence) -> dict:
    diffs = gerac2007.differences(ev.where)
    six = diffs[diffs.timepoint == "6mo"].set_index("comparison")
    rr_v = six.loc["verum vs conventional"]
    rr_s = six.loc["sham vs conventional"]
    rates = gerac2007.response_rates(ev.where)
    r6 = rates[rates.timepoint == "6mo"].set_index("arm")
    printed = ", ".join(r6.loc[a, "percent_printed"] for a in gerac2007.ARMS)
    vs = ev.contrasts.loc["haake2007_t4_verum_sham"]
    return {
        "claim": "2. GERAC: \"Effectiveness of acupuncture, either verum or sham, was almost "
                 "twice that of conventional therapy.\"",
        "evidence": f"Response at 6 months: verum {r6.loc['verum', 'percent']:.1f}%, sham "
                    f"{r6.loc['sham', 'percent']:.1f}%, conventional "
                    f"{r6.loc['conventional', 'percent']:.1f}% (printed {printed}). RR "
                    f"verum/conventional {rr_v.rr:.2f} ({rr_v.rr_ci_low:.2f} to "
                    f"{rr_v.rr_ci_high:.2f}); sham/conventional {rr_s.rr:.2f} "
                    f"({rr_s.rr_ci_low:.2f} to {rr_s.rr_ci_high:.2f}).",
        "verdict": f"Roughly right as a ratio of response rates ({rr_v.rr:.1f} and "
                   f"{rr_s.rr:.1f}, \"almost twice\" is generous for sham); the same numbers "
                   f"show verum barely better than sham (difference {vs.estimate} points, "
                   f"{vs.ci_low} to {vs.ci_high}).",
    }


def _claim_ten_sessions(ev: _Evidence) -> dict:
    sessions, per_week = ev.fact("gerac_sessions"), ev.fact("gerac_sessions_per_week")
    more = ev.fact("gerac_additional_sessions")
    extra = ev.gerac_props("additional_sessions")
    shares = " / ".join(f"{extra.loc[a, 'percent']}%" for a in gerac2007.ARMS)
    return {
        "claim": "3. GERAC: \"Most people received ten sessions over about five weeks, with "
                 "1162 participants in the study.\"",
        "evidence": f"{ev.fact('gerac_randomized'):.0f} randomized; {sessions:.0f} sessions, "
                    f"generally {per_week:.0f} per week ({sessions:.0f}/{per_week:.0f} = "
                    f"{sessions / per_week:.0f} weeks); {more:.0f} more sessions for partial "
                    f"responders, given to {shares} (secondary source).",
        "verdict": f"Correct; but more than half of each arm received {sessions + more:.0f} "
                   "sessions, so \"most people received ten\" is not right.",
    }


def _claim_sham(ev: _Evidence) -> dict:
    ao = ev.arm_outcomes
    change = ao[(ao.study_id == "cherkin2009") & (ao.outcome == "rmdq")
                & (ao.statistic == "change")].set_index("arm")["mean"]
    real = sorted((change[a] for a in ("individualized", "standardized")), key=float)
    return {
        "claim": "4. \"'Sham' means that some patients received needling but not on official "
                 "acupuncture points.\"",
        "evidence": "GERAC sham: superficial needling at non-acupuncture points. Cherkin "
                    "2009's simulated acupuncture did not penetrate the skin (toothpick in a "
                    "guide tube) and performed like real acupuncture (RMDQ improvement "
                    f"{change['simulated']} vs {real[0]}-{real[-1]}).",
        "verdict": "True for GERAC, not for Cherkin: there the benefit came without any "
                   "needle entering the skin, so \"just the needling\" is not what it tested.",
    }


def _claim_similar_results(ev: _Evidence) -> dict:
    sham, noacu = ev.vickers("sham"), ev.vickers("noacu")
    patients = ev.fact("v2012_patients")
    return {
        "claim": "5. Similar results in other studies (Cherkin 2009) and in a review of "
                 "\"nearly 18000 patients\" (Vickers 2012).",
        "evidence": f"Vickers 2012: {patients:.0f} patients in "
                    f"{ev.fact('v2012_trials_analysed'):.0f} trials, all pain conditions "
                    f"(back and neck: {ev.fact('v2012_t1_backneck_trials'):.0f} trials). "
                    f"Back/neck effect sizes {sham} vs sham, {noacu} vs no acupuncture (SD "
                    "units).",
        "verdict": f"The count is right ({patients:,.0f}), but it covers headache, "
                   "osteoarthritis and neck pain too; for back/neck the effect over sham is "
                   f"small ({sham} SD).",
    }


def _claim_safe(ev: _Evidence) -> dict:
    sae = {g: ev.fact(f"gerac_sae_{g}") for g in gerac2007.ARMS}
    ae = ev.gerac_props("adverse_effect_patients").loc["all"]
    p = ev.props
    ch_ae = p[(p.study_id == "cherkin2009") & (p.outcome == "adverse_experience")]
    return {
        "claim": "6. \"such a gentle and low-risk treatment option\" / \"For most people "
                 "acupuncture/dry needling is perfectly safe\"",
        "evidence": f"GERAC serious adverse events: verum {sae['verum']:.0f}, sham "
                    f"{sae['sham']:.0f}, conventional {sae['conventional']:.0f} (all judged "
                    f"unrelated); {ae.events} patients ({ae.percent}%) reported clinically "
                    "relevant adverse effects (all arms). Cherkin adverse experiences "
                    "(secondary): " + ", ".join(f"{r.events}/{r.n}" for _, r in ch_ae.iterrows())
                    + " (" + ", ".join(ch_ae.group) + ").",
        "verdict": "Consistent with the trials: no excess of serious events; minor adverse "
                   "effects are common and not broken down by arm in the data we have.",
    }


CLAIMS = (_claim_yes_it_can, _claim_almost_twice, _claim_ten_sessions, _claim_sham,
          _claim_similar_results, _claim_safe)


def claims(where=None) -> pd.DataFrame:
    """One row per claim: claim (quoted), evidence (numbers), verdict."""
    ev = _Evidence(where)
    out = pd.DataFrame([claim(ev) for claim in CLAIMS])
    assert not any(isinstance(x, float) and math.isnan(x) for x in out.values.ravel())
    return out
