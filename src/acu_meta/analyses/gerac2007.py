"""GERAC chronic low back pain trial (Haake et al., Arch Intern Med 2007;167:1892-1898).

What is reproduced, from ``data/`` (source sheet ``shared/sources/gerac2007.md``):

* response rates with exact (Clopper-Pearson) CIs (Table 4), from the responder counts derived
  from the printed percentages of 387 (``acu_meta.data.derived``: 184, 171, 106);
* the three differences in response with CIs, and *which interval method the authors used*:
  :func:`interval_methods` tabulates Wald, Wald with continuity correction, Agresti-Caffo,
  Newcombe (with and without correction), Farrington-Manning and Miettinen-Nurminen against
  the printed limits; only the score methods (MN, FM) reproduce all six;
* Fisher exact P values (Table 4 footnote: "Fisher exact test");
* RR and OR, and the same at 6 weeks and 3 months (Table 6 response rates);
* MD and SMD for every Table 6 outcome and time point, for the three pairs of arms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .. import data
from ..data.derived import responder_counts as _derive_counts
from ..effects import escalc
from ..effects.proportions import RD_METHODS, binom_ci, fisher_exact_p, rd_ci
from ..plots import forest
from ..results import pool
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


def responder_counts(where=None) -> pd.DataFrame:
    """Responders per arm and time point, derived from the printed percentages of n = 387.

    Columns: arm, timepoint, events, n, percent_printed, status, derivation. The 6-month verum
    count (184) is the nearest count: no k/387 prints as 47.6% (see the data checks).
    """
    props = data.load("proportions", where)
    text = data.printed("proportions", where)
    sel = (props.study_id == STUDY) & (props.outcome == "response")
    d = _derive_counts(props[sel], text[sel])
    out = pd.DataFrame({
        "arm": d.group, "timepoint": d.timepoint, "events": d.value.astype(int), "n": 387,
        "percent_printed": [text.loc[int(s.split("line ")[1].split(":")[0]), "percent"]
                            for s in d.inputs],
        "status": d.status, "derivation": d.derivation,
    })
    return out.reset_index(drop=True)


def _counts(where, timepoint="6mo") -> dict[str, int]:
    c = responder_counts(where)
    c = c[c.timepoint == timepoint]
    return dict(zip(c.arm, c.events, strict=True))


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


def interval_methods(where=None) -> pd.DataFrame:
    """Every CI method for the three Table 4 differences beside the printed limits.

    ``matches`` is True when both limits round to the printed ones (1 decimal).
    """
    k = _counts(where)
    printed = _printed_contrasts(where)
    rows = []
    for _, p in printed.iterrows():
        a, b = p.treatment, p.control
        for m in RD_METHODS:
            lo, hi = rd_ci(k[a], 387, k[b], 387, m)
            lo, hi = 100 * lo, 100 * hi
            match = (abs(lo - float(p.ci_low)) <= 0.05 + 1e-9) and \
                    (abs(hi - float(p.ci_high)) <= 0.05 + 1e-9)
            rows.append({"comparison": f"{a} vs {b}", "method": METHOD_LABELS[m], "code": m,
                         "ci_low": lo, "ci_high": hi, "printed": f"{p.ci_low} to {p.ci_high}",
                         "matches": match})
    return pd.DataFrame(rows)


def method_verdict(where=None) -> pd.DataFrame:
    """Per method: how many of the six printed limits it reproduces."""
    t = interval_methods(where)
    k = _counts(where)
    printed = _printed_contrasts(where)
    hits = {}
    for m in RD_METHODS:
        n_ok = 0
        for _, p in printed.iterrows():
            lo, hi = rd_ci(k[p.treatment], 387, k[p.control], 387, m)
            n_ok += abs(100 * lo - float(p.ci_low)) <= 0.05 + 1e-9
            n_ok += abs(100 * hi - float(p.ci_high)) <= 0.05 + 1e-9
        hits[m] = n_ok
    out = pd.DataFrame({"method": [METHOD_LABELS[m] for m in hits], "code": list(hits),
                        "limits_reproduced": list(hits.values()), "of": 6})
    del t
    return out.sort_values("limits_reproduced", ascending=False, kind="stable").reset_index(
        drop=True)


def differences(where=None, method: str = "mn") -> pd.DataFrame:
    """Differences in response (percentage points, CI by *method*), Fisher P, RR and OR with
    Wald CIs on the log scale, for the three pairs at 6 weeks, 3 months and 6 months."""
    rows = []
    for tp in ("6wk", "3mo", "6mo"):
        k = _counts(where, tp)
        for a, b in PAIRS:
            lo, hi = rd_ci(k[a], 387, k[b], 387, method)
            es_rr = escalc("RR", ai=[k[a]], n1i=[387], ci=[k[b]], n2i=[387])
            es_or = escalc("OR", ai=[k[a]], n1i=[387], ci=[k[b]], n2i=[387])
            z = 1.959963984540054
            rr, se_rr = es_rr.yi[0], es_rr.sei[0]
            orr, se_or = es_or.yi[0], es_or.sei[0]
            rows.append({
                "timepoint": tp, "comparison": f"{a} vs {b}",
                "rd": 100 * (k[a] - k[b]) / 387, "rd_ci_low": 100 * lo, "rd_ci_high": 100 * hi,
                "fisher_p": fisher_exact_p(k[a], 387, k[b], 387),
                "rr": np.exp(rr), "rr_ci_low": np.exp(rr - z * se_rr),
                "rr_ci_high": np.exp(rr + z * se_rr),
                "or": np.exp(orr), "or_ci_low": np.exp(orr - z * se_or),
                "or_ci_high": np.exp(orr + z * se_or),
            })
    return pd.DataFrame(rows)


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
            z = 1.959963984540054
            rows.append({"outcome": outcome, "timepoint": tp, "comparison": f"{a} vs {b}",
                         "direction": direction[outcome],
                         "md": md.yi[0], "md_ci_low": md.yi[0] - z * md.sei[0],
                         "md_ci_high": md.yi[0] + z * md.sei[0],
                         "smd": smd.yi[0], "smd_ci_low": smd.yi[0] - z * smd.sei[0],
                         "smd_ci_high": smd.yi[0] + z * smd.sei[0],
                         "n1": int(g.loc[a, "n"]), "n2": int(g.loc[b, "n"])})
    return pd.DataFrame(rows)


def targets(where=None) -> list[Target]:
    """Table 4 targets: arm CIs, differences with CIs (MN score), Fisher P values."""
    out: list[Target] = []
    props = data.printed("proportions", where)
    k = _counts(where)
    t4 = props[(props.study_id == STUDY) & (props.outcome == "response")
               & (props.timepoint == "6mo")]
    for _, p in t4.iterrows():
        lo, hi = binom_ci(k[p.group], 387, "clopper_pearson")
        note = ""
        if p.group == "verum":
            note = ("The verum count 184 is derived (no k/387 prints as 47.6%); the exact CI of "
                    "184/387 is 42.5 to 52.7; the printed 42.4 to 52.6 fits no k/387 "
                    "(reports/data-checks.md).")
        for col, val in (("ci_low", lo), ("ci_high", hi)):
            out.append(target(f"gerac_t4_{p.group}_{col}", STUDY,
                              f"Table 4: response at 6 months, {p.group}, exact 95% CI "
                              f"{'lower' if col == 'ci_low' else 'upper'} limit (%)",
                              p[col], 100 * val, note_if_not_exact=note))
    for _, c in _printed_contrasts(where).iterrows():
        a, b = c.treatment, c.control
        lo, hi = rd_ci(k[a], 387, k[b], 387, "mn")
        name = f"{a} vs {b}"
        out.append(target(f"gerac_t4_rd_{a}_{b}", STUDY,
                          f"Table 4: difference in response, {name} (percentage points)",
                          c.estimate, 100 * (k[a] - k[b]) / 387))
        for col, val in (("ci_low", lo), ("ci_high", hi)):
            out.append(target(f"gerac_t4_rd_{a}_{b}_{col}", STUDY,
                              f"Table 4: difference {name}, 95% CI "
                              f"{'lower' if col == 'ci_low' else 'upper'} limit "
                              "(Miettinen-Nurminen score interval)", c[col], 100 * val))
        out.append(target(f"gerac_t4_p_{a}_{b}", STUDY,
                          f"Table 4: Fisher exact P, {name}", c.p_printed,
                          fisher_exact_p(k[a], 387, k[b], 387)))
    # clinically relevant adverse effects: 257 patients (22.6%) of the 1162 randomized
    props = data.printed("proportions", where)
    ae = props[(props.study_id == STUDY) & (props.outcome == "adverse_effect_patients")].iloc[0]
    total = data.load("facts", where).set_index("fact_id").loc["gerac_randomized", "value"]
    out.append(target(
        "gerac_adverse_effect_patients_percent", STUDY,
        "Patients with clinically relevant adverse effects (% of the 1162 randomized)",
        ae.percent, 100 * int(ae.events) / total,
        note_if_not_exact="257/1162 = 22.1%; 22.6% implies a denominator of 1135 to 1139 "
                          "(patients treated or followed up?), which the source does not "
                          "state (reports/data-checks.md)."))
    # Cochrane Mu 2020, SoF 3: the function MD is the SMD back-translated with GERAC's
    # conventional-arm SD at 6 weeks (20.8), the SoF's assumed control value
    pooled = data.printed("pooled", where).set_index("pooled_id")
    smd = pooled.loc["mu2020_sof3_function_smd"]
    md = pooled.loc["mu2020_sof3_function_md"]
    ao = data.printed("arm_outcomes", where)
    sd = ao[(ao.study_id == STUDY) & (ao.arm == "conventional") & (ao.outcome == "hfaq")
            & (ao.timepoint == "6wk") & (ao.location == "Table 6")].iloc[0].sd
    for col, pub_md, pub_smd in (("estimate", md.estimate, smd.estimate),
                                 ("ci_low", md.ci_low, smd.ci_high),
                                 ("ci_high", md.ci_high, smd.ci_low)):
        out.append(target(
            f"mu2020_sof3_function_md_{col}", "mu2020",
            f"Cochrane SoF 3: function MD {col.replace('_', ' ')} = -SMD x SD of GERAC's "
            "conventional arm (HFAQ, 6 weeks)", pub_md, -float(pub_smd) * float(sd),
            box_range(lambda a, b: -a * b, [pub_smd, sd]),
            note="The SoF prints SMD -0.47 (-0.77 to -0.17) and MD 9.78 (3.54 to 16.02) "
                 "higher; the MD is the SMD (sign reversed: the SMD is oriented so that negative "
                 "favours acupuncture) times the assumed control SD 20.8 (GERAC Table 6)."))
    return out


def figures(where=None) -> dict:
    eff = continuous_effects(where)
    six = eff[(eff.timepoint == "6mo") & (eff.comparison == "verum vs sham")]
    sign = np.where(six.direction == "lower_is_better", -1.0, 1.0)
    yi = sign * six.smd.to_numpy()
    vi = ((six.smd_ci_high - six.smd_ci_low).to_numpy() / (2 * 1.959963984540054)) ** 2
    names = data.load("outcomes", where).set_index("outcome").label
    labels = [f"{names[o]} (6 months)" for o in six.outcome]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = pool(escalc("GEN", yi=yi, vi=vi, study=labels), method="FE")
    fig = forest(res, pooled=False, favours=("Favours sham", "Favours verum"),
                 effect_label="SMD, benefit > 0", label_header="Outcome",
                 title="GERAC Table 6: verum vs sham acupuncture at 6 months (SMD, "
                       "positive = better with verum)")
    return {"gerac2007_table6_verum_vs_sham_smd": fig}
