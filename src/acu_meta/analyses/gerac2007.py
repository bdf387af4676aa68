"""GERAC chronic low back pain trial (Haake et al., Arch Intern Med 2007;167:1892-1898).

What is reproduced, from ``data/`` (source sheet ``shared/sources/gerac2007.md``):

* response rates with exact (Clopper-Pearson) CIs (Table 4), from the responder counts derived
  from the printed percentages and the printed n per arm (``acu_meta.data.derived``: 184, 171,
  106 of 387);
* the three differences in response with CIs, and *which interval method the authors used*:
  :func:`interval_methods` tabulates Wald, Wald with continuity correction, Agresti-Caffo,
  Newcombe (with and without correction), Farrington-Manning and Miettinen-Nurminen against
  the printed limits; only the score methods (MN, FM) reproduce all six;
* Fisher exact P values (Table 4 footnote: "Fisher exact test");
* RR and OR, and the same at 6 weeks and 3 months (Table 6 response rates);
* MD and SMD for every Table 6 outcome and time point, for the three pairs of arms.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import data
from ..data.derived import implied_denominators, rounding_interval
from ..data.derived import responder_counts as _derive_counts
from ..effects import escalc
from ..effects.proportions import RD_METHODS, binom_ci, fisher_exact_p, rd_ci
from ..numeric import Z975, se_from_ci
from ..plots import forest
from ..results import rows
from .reproduction import Target, box_range, target

STUDY = "haake2007"
ARMS = ("verum", "sham", "conventional")
PAIRS = (("verum", "conventional"), ("sham", "conventional"), ("verum", "sham"))
METHOD_LABELS = {
    "wald": "Wald",
    "wald_cc": "Wald, continuity corrected",
    "agresti_caffo": "Agresti-Caffo",
    "newcombe": "Newcombe hybrid score (Wilson)",
    "newcombe_cc": "Newcombe hybrid score, corrected",
    "fm": "Farrington-Manning score",
    "mn": "Miettinen-Nurminen score",
}
_LINE = re.compile(r"proportions line (\d+):")


def responder_counts(where=None) -> pd.DataFrame:
    """Responders per arm and time point, derived from the printed percentages and the
    printed n per arm (proportions table; 387 in each arm).

    Columns: arm, timepoint, events, n, percent_printed, status, derivation. The 6-month verum
    count (184) is the nearest count: no k/387 prints as 47.6% (see the data checks).
    """
    props = data.load("proportions", where)
    text = data.printed("proportions", where)
    sel = (props.study_id == STUDY) & (props.outcome == "response")
    d = _derive_counts(props[sel], text[sel])
    lines = [int(_LINE.match(s).group(1)) for s in d.inputs]
    out = pd.DataFrame({
        "arm": d.group, "timepoint": d.timepoint, "events": d.value.astype(int),
        "n": [int(props.loc[line, "n"]) for line in lines],
        "percent_printed": [text.loc[line, "percent"] for line in lines],
        "status": d.status, "derivation": d.derivation,
    })
    return out.reset_index(drop=True)


def _counts(where, timepoint="6mo") -> dict[str, tuple[int, int]]:
    """arm -> (responders, n) at *timepoint*."""
    c = responder_counts(where)
    c = c[c.timepoint == timepoint]
    return {r.arm: (int(r.events), int(r.n)) for r in c.itertuples()}


def response_rates(where=None) -> pd.DataFrame:
    """Response per arm and time point with the exact 95% CI (percent)."""
    c = responder_counts(where)
    rows = []
    for _, r in c.iterrows():
        lo, hi = binom_ci(int(r.events), int(r.n), "clopper_pearson")
        rows.append({"arm": r.arm, "timepoint": r.timepoint, "events": r.events, "n": r.n,
                     "percent": 100 * r.events / r.n, "ci_low": 100 * lo, "ci_high": 100 * hi,
                     "percent_printed": r.percent_printed})
    return pd.DataFrame(rows)


def _printed_contrasts(where) -> pd.DataFrame:
    c = data.printed("contrasts", where)
    return c[(c.study_id == STUDY) & (c.measure == "RD")]


def _rounds_to(value: float, printed: str) -> bool:
    """True when *value* prints as *printed* (lies in its rounding interval, widened 1e-9)."""
    lo, hi = rounding_interval(printed)
    return lo - 1e-9 <= value <= hi + 1e-9


def _interval_rows(where) -> list[dict]:
    """Every CI method for the printed Table 4 differences: limits and whether each prints
    as the printed one."""
    k = _counts(where)
    rows = []
    for _, p in _printed_contrasts(where).iterrows():
        a, b = p.treatment, p.control
        for m in RD_METHODS:
            lo, hi = rd_ci(*k[a], *k[b], m)
            lo, hi = 100 * lo, 100 * hi
            rows.append({"comparison": f"{a} vs {b}", "method": METHOD_LABELS[m], "code": m,
                         "ci_low": lo, "ci_high": hi, "printed": f"{p.ci_low} to {p.ci_high}",
                         "low_ok": _rounds_to(lo, p.ci_low),
                         "high_ok": _rounds_to(hi, p.ci_high)})
    return rows


def interval_methods(where=None) -> pd.DataFrame:
    """Every CI method for the three Table 4 differences beside the printed limits.

    ``matches`` is True when both limits round to the printed ones (1 decimal).
    """
    rows = _interval_rows(where)
    for r in rows:
        low, high = r.pop("low_ok"), r.pop("high_ok")
        r["matches"] = low and high
    return pd.DataFrame(rows)


def method_verdict(where=None) -> pd.DataFrame:
    """Per method: how many of the six printed limits it reproduces."""
    rows = _interval_rows(where)
    hits = {m: sum(int(r["low_ok"]) + int(r["high_ok"]) for r in rows if r["code"] == m)
            for m in RD_METHODS}
    out = pd.DataFrame({"method": [METHOD_LABELS[m] for m in hits], "code": list(hits),
                        "limits_reproduced": list(hits.values()), "of": 2 * len(
                            _printed_contrasts(where))})
    return out.sort_values("limits_reproduced", ascending=False, kind="stable").reset_index(
        drop=True)


def _log_ci(es) -> tuple[float, float, float]:
    """Back-transformed estimate and Wald 95% CI of a one-study log ratio."""
    y, se = es.yi[0], es.sei[0]
    return np.exp(y), np.exp(y - Z975 * se), np.exp(y + Z975 * se)


def differences(where=None, method: str = "mn") -> pd.DataFrame:
    """Differences in response (percentage points, CI by *method*), Fisher P, RR and OR with
    Wald CIs on the log scale, for the three pairs at 6 weeks, 3 months and 6 months."""
    rows = []
    for tp in ("6wk", "3mo", "6mo"):
        k = _counts(where, tp)
        for a, b in PAIRS:
            (xa, na), (xb, nb) = k[a], k[b]
            lo, hi = rd_ci(xa, na, xb, nb, method)
            rr = _log_ci(escalc("RR", ai=[xa], n1i=[na], ci=[xb], n2i=[nb]))
            orr = _log_ci(escalc("OR", ai=[xa], n1i=[na], ci=[xb], n2i=[nb]))
            rows.append({
                "timepoint": tp, "comparison": f"{a} vs {b}",
                "rd": _rd(xa, na, xb, nb), "rd_ci_low": 100 * lo, "rd_ci_high": 100 * hi,
                "fisher_p": fisher_exact_p(xa, na, xb, nb),
                "rr": rr[0], "rr_ci_low": rr[1], "rr_ci_high": rr[2],
                "or": orr[0], "or_ci_low": orr[1], "or_ci_high": orr[2],
            })
    return pd.DataFrame(rows)


def _rd(xa: int, na: int, xb: int, nb: int) -> float:
    """Difference of two proportions in percentage points."""
    if na == nb:  # one denominator: 100 (xa - xb) / n, as the trial computes it
        return 100 * (xa - xb) / na
    return 100 * (xa / na - xb / nb)


def continuous_effects(where=None) -> pd.DataFrame:
    """MD and SMD (Hedges' g, exact correction) with 95% CIs for every Table 6 outcome and time
    point with n, for the three pairs of arms. Sign: first arm minus second arm, in the raw
    direction of the outcome (``direction`` says which way is better)."""
    ao = data.load("arm_outcomes", where)
    ao = ao[(ao.study_id == STUDY) & (ao.location == "Table 6") & ao.n.notna()
            & (ao.statistic == "value")]
    direction = data.load("outcomes", where).set_index("outcome").direction
    rows = []
    for (outcome, tp), grp in ao.groupby(["outcome", "timepoint"], sort=False):
        g = grp.set_index("arm")
        for a, b in (("verum", "sham"), ("verum", "conventional"), ("sham", "conventional")):
            if a not in g.index or b not in g.index:
                continue
            args = dict(m1i=[g.loc[a, "mean"]], sd1i=[g.loc[a, "sd"]], n1i=[float(g.loc[a, "n"])],
                        m2i=[g.loc[b, "mean"]], sd2i=[g.loc[b, "sd"]], n2i=[float(g.loc[b, "n"])])
            md, smd = escalc("MD", **args), escalc("SMD", **args)
            rows.append({"outcome": outcome, "timepoint": tp, "comparison": f"{a} vs {b}",
                         "direction": direction[outcome],
                         "md": md.yi[0], "md_ci_low": md.yi[0] - Z975 * md.sei[0],
                         "md_ci_high": md.yi[0] + Z975 * md.sei[0],
                         "smd": smd.yi[0], "smd_ci_low": smd.yi[0] - Z975 * smd.sei[0],
                         "smd_ci_high": smd.yi[0] + Z975 * smd.sei[0],
                         "n1": int(g.loc[a, "n"]), "n2": int(g.loc[b, "n"])})
    return pd.DataFrame(rows)


def targets(where=None) -> list[Target]:
    """Table 4 targets (arm CIs, differences with MN score CIs, Fisher P values), the share of
    patients with adverse effects, and Cochrane Mu 2020's back-translated function MD."""
    return (_arm_ci_targets(where) + _difference_targets(where)
            + [_adverse_effects_target(where)] + _mu2020_targets(where))


def _cp_fits(printed_low: str, printed_high: str, n: int) -> list[int]:
    """Counts k whose Clopper-Pearson CI of k/n prints as the printed limits (percent)."""
    return [k for k in range(n + 1)
            if _rounds_to(100 * binom_ci(k, n, "clopper_pearson")[0], printed_low)
            and _rounds_to(100 * binom_ci(k, n, "clopper_pearson")[1], printed_high)]


def _derived_count_note(p, k: int, n: int, status: str) -> str:
    """Why a Table 4 arm CI may not match: its count is the nearest, not an attainable, one."""
    if not status.startswith("not attainable"):
        return ""
    lo, hi = binom_ci(k, n, "clopper_pearson")
    dc = data.decimals(p.ci_low)
    fits = _cp_fits(p.ci_low, p.ci_high, n)
    fit = f"fits no k/{n}" if not fits else "fits " + ", ".join(f"{f}/{n}" for f in fits)
    return (f"The {p.group} count {k} is derived (no k/{n} prints as {p.percent}%); the exact CI "
            f"of {k}/{n} is {100 * lo:.{dc}f} to {100 * hi:.{dc}f}; the printed {p.ci_low} to "
            f"{p.ci_high} {fit} (reports/data-checks.md).")


def _arm_ci_targets(where) -> list[Target]:
    """Table 4: the exact 95% CI of the response at 6 months in each arm."""
    out: list[Target] = []
    props = data.printed("proportions", where)
    counts = responder_counts(where)
    counts = counts[counts.timepoint == "6mo"].set_index("arm")
    t4 = props[(props.study_id == STUDY) & (props.outcome == "response")
               & (props.timepoint == "6mo")]
    for _, p in t4.iterrows():
        k, n = int(counts.loc[p.group, "events"]), int(counts.loc[p.group, "n"])
        lo, hi = binom_ci(k, n, "clopper_pearson")
        note = _derived_count_note(p, k, n, counts.loc[p.group, "status"])
        for col, val in (("ci_low", lo), ("ci_high", hi)):
            out.append(target(f"gerac_t4_{p.group}_{col}", STUDY,
                              f"Table 4: response at 6 months, {p.group}, exact 95% CI "
                              f"{'lower' if col == 'ci_low' else 'upper'} limit (%)",
                              p[col], 100 * val, note_if_not_exact=note))
    return out


def _difference_targets(where) -> list[Target]:
    """Table 4: each difference in response, its MN score CI, and its Fisher exact P."""
    out: list[Target] = []
    k = _counts(where)
    for _, c in _printed_contrasts(where).iterrows():
        a, b = c.treatment, c.control
        lo, hi = rd_ci(*k[a], *k[b], "mn")
        name = f"{a} vs {b}"
        out.append(target(f"gerac_t4_rd_{a}_{b}", STUDY,
                          f"Table 4: difference in response, {name} (percentage points)",
                          c.estimate, _rd(*k[a], *k[b])))
        for col, val in (("ci_low", lo), ("ci_high", hi)):
            out.append(target(f"gerac_t4_rd_{a}_{b}_{col}", STUDY,
                              f"Table 4: difference {name}, 95% CI "
                              f"{'lower' if col == 'ci_low' else 'upper'} limit "
                              "(Miettinen-Nurminen score interval)", c[col], 100 * val))
        out.append(target(f"gerac_t4_p_{a}_{b}", STUDY,
                          f"Table 4: Fisher exact P, {name}", c.p_printed,
                          fisher_exact_p(*k[a], *k[b])))
    return out


def _span(ns: list[int]) -> str:
    return "none" if not ns else (f"{ns[0]}" if len(ns) == 1 else f"{ns[0]} to {ns[-1]}")


def _adverse_effects_target(where) -> Target:
    """Clinically relevant adverse effects: patients as a percentage of those randomized."""
    props = data.printed("proportions", where)
    ae = props[(props.study_id == STUDY) & (props.outcome == "adverse_effect_patients")].iloc[0]
    total = data.load("facts", where).set_index("fact_id").loc["gerac_randomized", "value"]
    events = int(ae.events)
    share = 100 * events / total
    return target(
        "gerac_adverse_effect_patients_percent", STUDY,
        f"Patients with clinically relevant adverse effects (% of the {total:.0f} randomized)",
        ae.percent, share,
        note_if_not_exact=f"{events}/{total:.0f} = {share:.{data.decimals(ae.percent)}f}%; "
                          f"{ae.percent}% implies a denominator of "
                          f"{_span(implied_denominators(events, ae.percent))} (patients treated "
                          "or followed up?), which the source does not state "
                          "(reports/data-checks.md).")


def _mu2020_targets(where) -> list[Target]:
    """Cochrane Mu 2020, SoF 3: the function MD is the SMD back-translated with GERAC's
    conventional-arm SD at 6 weeks (Table 6), the SoF's assumed control value."""
    pooled = data.printed("pooled", where).set_index("pooled_id")
    smd = pooled.loc["mu2020_sof3_function_smd"]
    md = pooled.loc["mu2020_sof3_function_md"]
    ao = data.printed("arm_outcomes", where)
    sd = ao[(ao.study_id == STUDY) & (ao.arm == "conventional") & (ao.outcome == "hfaq")
            & (ao.timepoint == "6wk") & (ao.location == "Table 6")].iloc[0].sd
    note = (f"The SoF prints SMD {smd.estimate} ({smd.ci_low} to {smd.ci_high}) and MD "
            f"{md.estimate} ({md.ci_low} to {md.ci_high}) higher; the MD is the SMD (sign "
            "reversed: the SMD is oriented so that negative favours acupuncture) times the "
            f"assumed control SD {sd} (GERAC Table 6).")
    out: list[Target] = []
    for col, pub_md, pub_smd in (("estimate", md.estimate, smd.estimate),
                                 ("ci_low", md.ci_low, smd.ci_high),
                                 ("ci_high", md.ci_high, smd.ci_low)):
        out.append(target(
            f"mu2020_sof3_function_md_{col}", "mu2020",
            f"Cochrane SoF 3: function MD {col.replace('_', ' ')} = -SMD x SD of GERAC's "
            "conventional arm (HFAQ, 6 weeks)", pub_md, -float(pub_smd) * float(sd),
            box_range(lambda a, b: -a * b, [pub_smd, sd]), note=note))
    return out


def figures(where=None) -> dict:
    eff = continuous_effects(where)
    six = eff[(eff.timepoint == "6mo") & (eff.comparison == "verum vs sham")]
    sign = np.where(six.direction == "lower_is_better", -1.0, 1.0)
    yi = sign * six.smd.to_numpy()
    vi = se_from_ci(six.smd_ci_low.to_numpy(), six.smd_ci_high.to_numpy()) ** 2
    names = data.load("outcomes", where).set_index("outcome").label
    labels = [f"{names[o]} (6 months)" for o in six.outcome]
    fig = forest(rows(yi=yi, vi=vi, study=labels), favours=("Favours sham", "Favours verum"),
                 effect_label="SMD, benefit > 0", label_header="Outcome",
                 title="GERAC Table 6: verum vs sham acupuncture at 6 months (SMD, "
                       "positive = better with verum)")
    return {"gerac2007_table6_verum_vs_sham_smd": fig}
