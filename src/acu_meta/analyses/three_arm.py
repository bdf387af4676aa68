"""Verum, sham and usual care: the three-arm evidence (GERAC, Cherkin, Brinkhaus) pooled by
comparison, beside Madsen 2009, Linde 2010 and Vickers 2012.

Effect: standardized mean difference (Hedges' g), signed so that **positive = benefit with the
first arm** (the raw SMD is negated for outcomes where lower is better). Trials and outcomes,
short term (end of treatment):

* GERAC (Haake 2007): CPGS pain intensity at 6 weeks (Table 6, analysed n per arm);
* Cherkin 2009: RMDQ at 8 weeks (Table 2, randomized n); its individualized and standardized
  arms are combined into one verum group (Cochrane Handbook 6.5.2.10,
  :func:`acu_meta.effects.combine_arms`) so the shared sham and usual-care arms are not
  counted twice;
* Brinkhaus 2006: not pooled. The abstract prints mean decreases with SDs but no per-arm n
  (unequal allocation), and its printed CI for acupuncture vs waiting list is not centred
  (``reports/data-checks.md``), so n cannot be recovered reliably. Its printed differences are
  reproduction targets.

Pooling multi-arm trials pairwise uses each trial once per comparison; the network model
(issue #6) uses all arms jointly.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .. import data
from ..effects import combine_arms, escalc
from ..numeric import i2_from_q, se_from_ci
from ..plots import forest, funnel
from ..results import MetaResult, pool
from .reproduction import Target, box_range, target

COMPARISONS = ("verum vs sham", "verum vs usual care", "sham vs usual care")
ROLE = {"verum": "verum", "sham": "sham", "usual care": "no_acupuncture"}


def _arm_summaries(where=None) -> list[dict]:
    """One row per (trial, role): n, mean, sd of the chosen outcome, and where it comes from."""
    ao = data.load("arm_outcomes", where)
    arms = data.load("arms", where)
    out = []
    g = ao[(ao.study_id == "haake2007") & (ao.outcome == "cpgs_pain") & (ao.timepoint == "6wk")
           & (ao.location == "Table 6")].set_index("arm")
    role = arms[arms.study_id == "haake2007"].set_index("arm").role
    for arm in g.index:
        out.append({"study": "GERAC 2007", "role": role[arm], "n": float(g.loc[arm, "n"]),
                    "mean": g.loc[arm, "mean"], "sd": g.loc[arm, "sd"],
                    "outcome": "CPGS pain, 6 weeks", "lower_is_better": True,
                    "n_source": "analysed n (Table 6)"})
    c = ao[(ao.study_id == "cherkin2009") & (ao.outcome == "rmdq") & (ao.timepoint == "8wk")
           & (ao.source_id == "dataex")].set_index("arm")
    n = arms[arms.study_id == "cherkin2009"].set_index("arm").n_randomized.astype(float)
    nv, mv, sv = combine_arms(n["individualized"], c.loc["individualized", "mean"],
                              c.loc["individualized", "sd"], n["standardized"],
                              c.loc["standardized", "mean"], c.loc["standardized", "sd"])
    for role_, nn, m, s in (("verum", nv, mv, sv),
                            ("sham", n["simulated"], c.loc["simulated", "mean"],
                             c.loc["simulated", "sd"]),
                            ("no_acupuncture", n["usual_care"], c.loc["usual_care", "mean"],
                             c.loc["usual_care", "sd"])):
        out.append({"study": "Cherkin 2009", "role": role_, "n": nn, "mean": m, "sd": s,
                    "outcome": "RMDQ, 8 weeks", "lower_is_better": True,
                    "n_source": "randomized n (Table 1); verum = individualized + standardized"})
    return out


def trial_contrasts(comparison: str, where=None) -> pd.DataFrame:
    """Per trial: SMD (benefit-positive) and its variance for one comparison."""
    a, b = (ROLE[x.strip()] for x in comparison.split(" vs "))
    rows = pd.DataFrame(_arm_summaries(where))
    out = []
    for study, g in rows.groupby("study", sort=False):
        g = g.set_index("role")
        if a not in g.index or b not in g.index:
            continue
        es = escalc("SMD", m1i=[g.loc[a, "mean"]], sd1i=[g.loc[a, "sd"]], n1i=[g.loc[a, "n"]],
                    m2i=[g.loc[b, "mean"]], sd2i=[g.loc[b, "sd"]], n2i=[g.loc[b, "n"]])
        sign = -1.0 if g.loc[a, "lower_is_better"] else 1.0
        out.append({"study": study, "outcome": g.loc[a, "outcome"], "smd": sign * es.yi[0],
                    "vi": es.vi[0], "n1": g.loc[a, "n"], "n2": g.loc[b, "n"],
                    "n_source": g.loc[a, "n_source"]})
    return pd.DataFrame(out)


def pairwise(comparison: str, where=None, method: str = "REML", hksj: bool = True
             ) -> MetaResult:
    """Pooled SMD (positive = benefit with the first arm) for one comparison.

    Default REML with the Hartung-Knapp-Sidik-Jonkman interval: the small-k coverage study
    (``notebooks/06_small_k_coverage.ipynb``, :mod:`acu_meta.simulate`) finds that with k = 2-3
    only REML + HKSJ keeps its 95% coverage once tau2 > 0 (Wald intervals: 75-87%); the price
    is width. ``hksj=False`` gives the Wald interval."""
    t = trial_contrasts(comparison, where)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(escalc("GEN", yi=t.smd, vi=t.vi, study=list(t.study)), method=method,
                    hksj=hksj)


def published_comparisons(where=None) -> pd.DataFrame:
    """Our pooled SMDs beside Vickers 2012, Madsen 2009 and Linde 2010 (signs aligned so that
    positive = benefit with the first arm)."""
    p = data.load("pooled", where).set_index("pooled_id")
    rows = []
    for comp in COMPARISONS:
        r = pairwise(comp, where)
        rows.append({"comparison": comp, "source": "acu_meta (GERAC + Cherkin)",
                     "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high})
    for pid, comp, sign in (("vickers2012_backneck_sham", "verum vs sham", 1),
                            ("vickers2012_backneck_noacu", "verum vs usual care", 1),
                            ("madsen2009_verum_placebo", "verum vs sham", -1),
                            ("madsen2009_placebo_noacu", "sham vs usual care", -1),
                            ("linde2010_sham_noacu", "sham vs usual care", -1)):
        e, lo, hi = (p.loc[pid, c] for c in ("estimate", "ci_low", "ci_high"))
        lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
        rows.append({"comparison": comp, "source": f"{pid.split('_')[0]} (published)",
                     "estimate": sign * e, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def specific_vs_nonspecific(where=None) -> dict:
    """The question in numbers: specific effect (verum vs sham) and non-specific effect of
    being needled (sham vs usual care), each as pooled SMD with 95% CI."""
    v = pairwise("verum vs sham", where)
    s = pairwise("sham vs usual care", where)
    return {"specific (verum vs sham)": (v.estimate, v.ci_low, v.ci_high),
            "non-specific (sham vs usual care)": (s.estimate, s.ci_low, s.ci_high),
            "share of the verum-vs-usual-care effect that is specific":
                v.estimate / (v.estimate + s.estimate)}


def network_arms(where=None, verum: str = "combined") -> pd.DataFrame:
    """Arm-level rows (study, treatment, mean, sd, n) for the network of GERAC and Cherkin.

    Nodes: ``verum``; ``sham`` (GERAC's minimal needling at non-acupuncture points and
    Cherkin's non-penetrating simulated acupuncture: both imitate acupuncture without its
    specific needling, so they form one node, a simplification the notebook discusses);
    ``usual_care`` (GERAC's conventional guideline-based care and Cherkin's usual care: both
    are the usual non-acupuncture treatment). ``verum="combined"`` pools Cherkin's two real
    arms into one verum group (Cochrane Handbook 6.5.2.10); ``verum="separate"`` keeps them as
    ``verum_individualized`` and ``verum_standardized`` and GERAC's verum as ``verum_gerac``.
    Means are negated (both outcomes: lower = better) so that a positive SMD is a benefit.
    """
    if verum not in ("combined", "separate"):
        raise ValueError("verum must be 'combined' or 'separate'")
    ao = data.load("arm_outcomes", where)
    arms = data.load("arms", where)
    rows = []
    g = ao[(ao.study_id == "haake2007") & (ao.outcome == "cpgs_pain") & (ao.timepoint == "6wk")
           & (ao.location == "Table 6")].set_index("arm")
    names = {"verum": "verum" if verum == "combined" else "verum_gerac", "sham": "sham",
             "conventional": "usual_care"}
    for arm, node in names.items():
        rows.append({"study": "GERAC 2007", "treatment": node, "mean": -g.loc[arm, "mean"],
                     "sd": g.loc[arm, "sd"], "n": float(g.loc[arm, "n"])})
    c = ao[(ao.study_id == "cherkin2009") & (ao.outcome == "rmdq") & (ao.timepoint == "8wk")
           & (ao.source_id == "dataex")].set_index("arm")
    n = arms[arms.study_id == "cherkin2009"].set_index("arm").n_randomized.astype(float)
    if verum == "combined":
        nv, mv, sv = combine_arms(n["individualized"], c.loc["individualized", "mean"],
                                  c.loc["individualized", "sd"], n["standardized"],
                                  c.loc["standardized", "mean"], c.loc["standardized", "sd"])
        cherkin = [("verum", mv, sv, nv)]
    else:
        cherkin = [(f"verum_{a}", c.loc[a, "mean"], c.loc[a, "sd"], n[a])
                   for a in ("individualized", "standardized")]
    cherkin += [("sham", c.loc["simulated", "mean"], c.loc["simulated", "sd"], n["simulated"]),
                ("usual_care", c.loc["usual_care", "mean"], c.loc["usual_care", "sd"],
                 n["usual_care"])]
    for node, m, sd, nn in cherkin:
        rows.append({"study": "Cherkin 2009", "treatment": node, "mean": -m, "sd": sd, "n": nn})
    return pd.DataFrame(rows)


def network_model(where=None, verum: str = "combined", method: str = "REML"):
    """Network meta-analysis (SMD, positive = benefit) of GERAC and Cherkin, reference usual
    care; see :func:`network_arms` for the nodes."""
    from ..results.network import network

    return network(network_arms(where, verum), measure="SMD", method=method,
                   reference="usual_care", larger_is_better=True)


MADSEN_ROWS = "bland_madsen_verum_placebo"  # the Bland page: its Q, and the forest-plot rows
MADSEN_POOLED = "madsen2009_verum_placebo"  # pooled_id of Madsen's printed pooled result


def madsen2009_rows(where=None, include_excluded: bool = True) -> MetaResult:
    """The Madsen 2009 forest-plot rows transcribed (four, secondary, Bland teaching page):
    SMD with SE from the printed 95% CI, SE = (upper - lower) / (2 x 1.96). Fanti's printed CI
    is not centred on its estimate (``reports/data-checks.md``), so its SE is approximate.
    Only 4 of Madsen's 13 rows are known: this is not Madsen's pooled result."""
    from ..effects import from_ci

    rows = data.load("pooled_rows", where)
    rows = rows[rows.pooled_id == MADSEN_ROWS]
    if not include_excluded:
        rows = rows[~rows.excluded]
    yi, vi = from_ci(rows.estimate.to_numpy(), rows.ci_low.to_numpy(), rows.ci_high.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(escalc("GEN", yi=yi, vi=vi, study=list(rows.study)), method="DL")


def targets(where=None) -> list[Target]:
    out: list[Target] = []
    ao = data.printed("arm_outcomes", where)
    b = ao[(ao.study_id == "brinkhaus2006") & (ao.outcome == "vas_pain_decrease")
           ].set_index("arm")
    c = data.printed("contrasts", where).set_index("contrast_id")
    for other in ("minimal", "waiting_list"):
        cid = f"brinkhaus2006_acupuncture_{other}"
        m1, m2 = b.loc["acupuncture", "mean"], b.loc[other, "mean"]
        out.append(target(f"brinkhaus_md_acupuncture_{other}", "brinkhaus2006",
                          f"Abstract: difference in VAS decrease, acupuncture vs {other} (mm)",
                          c.loc[cid, "estimate"], float(m1) - float(m2),
                          box_range(lambda x, y: x - y, [m1, m2]),
                          note_if_not_exact="The difference of the printed (rounded) arm "
                                            "means."))
    out += _madsen_targets(where)
    # Mu 2020 abstract: seven German studies account for 67% of all participants
    pr = data.printed("proportions", where)
    g = pr[(pr.study_id == "mu2020") & (pr.outcome == "german_study_participants")].iloc[0]
    out.append(target("mu2020_german_share", "mu2020", "Abstract: share of participants in "
                      "German studies (%)", g.percent, 100 * int(g.events) / int(g.n)))
    return out


def _madsen_targets(where) -> list[Target]:
    """Madsen 2009: I2 and its P from the Q printed on the Bland page; z from estimate and CI."""
    from scipy import stats

    out: list[Target] = []
    p = data.printed("pooled", where).set_index("pooled_id")
    bl = p.loc[MADSEN_ROWS]
    ma = p.loc[MADSEN_POOLED]
    q, df = float(bl.q), int(bl.q_df)
    out.append(target("madsen_i2_from_q", "madsen2009", f"I-squared (%) from Q = {bl.q} on "
                      f"{bl.q_df} df (Bland page)", ma.i2, i2_from_q(q, df),
                      box_range(lambda qq: i2_from_q(qq, df), [bl.q])))
    out.append(target("madsen_q_p", "madsen2009", "P of the heterogeneity test from Q and df",
                      ma.q_p_printed, float(stats.chi2.sf(q, df)),
                      box_range(lambda qq: float(stats.chi2.sf(qq, df)), [bl.q])))

    def zf(e, lo, hi):
        return abs(e) / float(se_from_ci(lo, hi))

    texts = [ma.estimate, ma.ci_low, ma.ci_high]
    out.append(target("madsen_z_overall", "madsen2009", "z for the overall effect from the "
                      "pooled SMD and its CI", bl.z, zf(*[float(t) for t in texts]),
                      box_range(zf, texts),
                      note_if_not_exact="z from the rounded SMD and CI."))
    return out


def figures(where=None) -> dict:
    figs = {}
    for comp in COMPARISONS:
        r = pairwise(comp, where)
        first, second = comp.split(" vs ")
        figs[f"three_arm_{comp.replace(' ', '_')}_forest"] = forest(
            r, favours=(f"Favours {second}", f"Favours {first}"),
            effect_label="SMD, benefit > 0",
            title=f"{comp.capitalize()}: SMD, positive = better with {first}")
    from ..plots.network import network_forest, network_graph

    net = network_model(where)
    figs["three_arm_network_graph"] = network_graph(net)
    figs["three_arm_network_forest"] = network_forest(
        net, favours=("Favours usual care", "Favours treatment"),
        title="Network (GERAC + Cherkin): each treatment vs usual care, SMD, positive = benefit")
    rows = madsen2009_rows(where)
    k_all = int(data.load("pooled", where).set_index("pooled_id").loc[MADSEN_POOLED, "k_trials"])
    figs["madsen2009_rows_funnel"] = funnel(
        rows, xlabel=f"SMD (acupuncture vs placebo acupuncture; {rows.k} of {k_all} rows)")
    return figs


