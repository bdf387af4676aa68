"""Verum, sham and usual care: the three-arm evidence (GERAC, Cherkin, Brinkhaus) pooled by
comparison, like with like, beside Madsen 2009, Linde 2010 and Vickers 2012.

Effect: standardized mean difference (Hedges' g), signed so that **positive = benefit with the
first arm** (the raw SMD is negated for outcomes where lower is better). The outcome sets
(:data:`OUTCOME_SETS`, each with the reason for its choice):

* ``function_eot`` (primary): back-specific function at the end of treatment, GERAC's HFAQ at
  6 weeks (Table 6, analysed n) with Cherkin's RMDQ at 8 weeks (Table 2, secondary; randomized
  n, Table 1). HFAQ (higher = better) and RMDQ (lower = better) measure the same domain; GERAC's
  CPGS pain is not pooled with Cherkin's RMDQ (pain with disability) any more;
* ``function_6mo``: the same outcomes at the matched later time point (GERAC 6 months,
  Cherkin 26 weeks);
* ``responder_6mo`` (sensitivity): GERAC's primary outcome, response at 6 months (Table 4; the
  counts 184/171/106 of 387 are derived, :func:`acu_meta.analyses.gerac2007.responder_counts`),
  converted to an SMD by the logit method (Chinn 2000,
  :func:`acu_meta.effects.smd_from_log_or`), with Cherkin's RMDQ at 26 weeks;
* ``pain_eot``: pain where both trials report it. Only GERAC's CPGS pain has arm-level numbers
  (Cherkin's bothersomeness means by arm are a known gap of the source sheet), so pain rests on
  GERAC alone and is not pooled.

Cherkin's individualized and standardized arms are combined into one verum group (Cochrane
Handbook 6.5.2.10, :func:`acu_meta.effects.combine_arms`) so the shared sham and usual-care
arms are not counted twice. Brinkhaus 2006 is not pooled: the abstract prints mean decreases
with SDs but no per-arm n (unequal allocation), and its printed CI for acupuncture vs waiting
list is not centred (``reports/data-checks.md``). Its printed differences are reproduction
targets.

Nodes (:func:`nodes`, from ``data/arm_types.csv``): the lumped network joins GERAC's
penetrating minimal needling at non-acupuncture points and Cherkin's non-penetrating toothpick
into one ``sham``, and GERAC's
guideline-based conventional care and Cherkin's usual care into one ``usual_care``; the split
network keeps the four apart, so each split node rests on one trial.

Checked in ``tests/analyses/test_three_arm.py`` and ``tests/analyses/test_answer.py``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from ..effects import combine_arms, escalc, smd_from_log_or
from ..models.network import contrasts_from_arms
from ..numeric import chi2_sf, i2_from_q, se_from_ci
from ..plots import forest, funnel
from ..results import MetaResult, pool
from .reproduction import Target, box_range, target

COMPARISONS = ("verum vs sham", "sham vs usual care", "verum vs usual care")
ROLE = {"verum": "verum", "sham": "sham", "usual care": "no_acupuncture"}


@dataclass(frozen=True)
class OutcomeSet:
    """Which outcome of each trial is pooled, at which time point, and why.

    ``gerac`` and ``cherkin`` are ``(outcome, timepoint)`` of ``data/arm_outcomes.csv``
    (GERAC ``response`` is read from ``data/proportions.csv``); ``cherkin`` is None when the
    trial has no arm-level numbers for the domain."""

    key: str
    label: str
    role: str  # primary / secondary / sensitivity
    time_class: str
    gerac: tuple[str, str]
    cherkin: tuple[str, str] | None
    reason: str


OUTCOME_SETS: dict[str, OutcomeSet] = {o.key: o for o in (
    OutcomeSet("function_eot", "back-specific function, end of treatment", "primary",
               "end of treatment", ("hfaq", "6wk"), ("rmdq", "8wk"),
               "Like with like: GERAC's back-specific function (HFAQ, a secondary end point, "
               "Table 6) with Cherkin's back-specific disability (RMDQ, a primary outcome), each "
               "at the first assessment after the course of treatment (GERAC 6 weeks, Cherkin 8 "
               "weeks)."),
    OutcomeSet("function_6mo", "back-specific function, about 6 months", "secondary",
               "about 6 months", ("hfaq", "6mo"), ("rmdq", "26wk"),
               "The same outcomes at the matched later time point: GERAC 6 months (when its "
               "primary end point was measured), Cherkin 26 weeks."),
    OutcomeSet("responder_6mo", "GERAC responder (logit SMD) with Cherkin RMDQ, about 6 months",
               "sensitivity", "about 6 months", ("response", "6mo"), ("rmdq", "26wk"),
               "GERAC's primary outcome (response at 6 months, Table 4; counts derived from the "
               "printed percentages of 387) converted to an SMD by the logit method (Chinn "
               "2000), with Cherkin's RMDQ at 26 weeks. A sensitivity analysis only: the "
               "conversion assumes a logistic latent outcome, and GERAC's response (pain or "
               "function) mixes domains."),
    OutcomeSet("pain_eot", "pain, end of treatment", "secondary", "end of treatment",
               ("cpgs_pain", "6wk"), None,
               "Pain where both trials report it: only GERAC's CPGS pain intensity has "
               "arm-level numbers (Cherkin's bothersomeness means by arm are not transcribed, a "
               "known gap of the source sheet), so pain rests on GERAC alone and is not "
               "pooled."),
)}
PRIMARY = "function_eot"

_STUDY = {"haake2007": "GERAC 2007", "cherkin2009": "Cherkin 2009"}
_ROLE_OF_CLASS = {"verum": "verum", "sham": "sham", "control": "no_acupuncture"}


def nodes(where=None) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(trial, role) -> (lumped node, split node, intervention as described), read from the
    evidence structure (:func:`acu_meta.data.evidence.arms`: ``data/arm_types.csv``). Cherkin's
    two verum arms form one verum group (their descriptions joined)."""
    from ..data import evidence

    a = evidence.arms(where=where)
    out: dict[tuple[str, str], tuple[str, str, str]] = {}
    for r in a[a.study_id.isin(list(_STUDY))].itertuples():
        key = (_STUDY[r.study_id], _ROLE_OF_CLASS[r.arm_class])
        if key in out:
            lumped, split, text = out[key]
            out[key] = (lumped, split, f"{text} + {r.intervention}")
        else:
            out[key] = (r.node_lumped, r.node_split, r.intervention)
    return out


NODE_SETS = ("lumped", "split")
_LOWER_IS_BETTER = {"hfaq": False, "rmdq": True, "cpgs_pain": True}
_LABEL = {"hfaq": "HFAQ", "rmdq": "RMDQ", "cpgs_pain": "CPGS pain"}


def outcome_set(key: str) -> OutcomeSet:
    """The outcome set called *key* (KeyError naming the choices otherwise)."""
    if key not in OUTCOME_SETS:
        raise KeyError(f"unknown outcome set {key!r}; use one of {', '.join(OUTCOME_SETS)}")
    return OUTCOME_SETS[key]


def _arm_summaries(where=None, outcome: str = PRIMARY) -> list[dict]:
    """One row per (trial, role): n, mean, sd (or events) of the chosen outcome, and where it
    comes from."""
    o = outcome_set(outcome)
    ao = data.load("arm_outcomes", where)
    arms = data.load("arms", where)
    out = []
    role = arms[arms.study_id == "haake2007"].set_index("arm").role
    g_out, g_time = o.gerac
    if g_out == "response":
        from .gerac2007 import responder_counts

        c = responder_counts(where)
        c = c[c.timepoint == g_time].set_index("arm")
        for arm in c.index:
            out.append({"study": "GERAC 2007", "role": role[arm], "kind": "binary",
                        "events": float(c.loc[arm, "events"]), "n": float(c.loc[arm, "n"]),
                        "outcome": f"responder, {g_time} (logit SMD)", "lower_is_better": False,
                        "n_source": "n per group (Table 4 footnote); responders derived from "
                                    "the printed %"})
    else:
        g = ao[(ao.study_id == "haake2007") & (ao.outcome == g_out) & (ao.timepoint == g_time)
               & (ao.location == "Table 6")].set_index("arm")
        for arm in g.index:
            out.append({"study": "GERAC 2007", "role": role[arm], "kind": "continuous",
                        "n": float(g.loc[arm, "n"]), "mean": g.loc[arm, "mean"],
                        "sd": g.loc[arm, "sd"], "outcome": f"{_LABEL[g_out]}, {g_time}",
                        "lower_is_better": _LOWER_IS_BETTER[g_out],
                        "n_source": "analysed n (Table 6)"})
    if o.cherkin is None:
        return out
    c_out, c_time = o.cherkin
    c = ao[(ao.study_id == "cherkin2009") & (ao.outcome == c_out) & (ao.timepoint == c_time)
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
        out.append({"study": "Cherkin 2009", "role": role_, "kind": "continuous", "n": nn,
                    "mean": m, "sd": s, "outcome": f"{_LABEL[c_out]}, {c_time}",
                    "lower_is_better": _LOWER_IS_BETTER[c_out],
                    "n_source": "randomized n (Table 1); verum = individualized + "
                                "standardized"})
    return out


def _contrast(a: pd.Series, b: pd.Series) -> tuple[float, float, str]:
    """SMD (benefit-positive) of arm *a* vs arm *b* and its variance, and the route."""
    if a["kind"] == "binary":
        es = escalc("OR", ai=[a["events"]], n1i=[a["n"]], ci=[b["events"]], n2i=[b["n"]])
        d, v = smd_from_log_or(es.yi, es.vi)
        return float(d[0]), float(v[0]), "log OR x sqrt(3)/pi (Chinn 2000)"
    es = escalc("SMD", m1i=[a["mean"]], sd1i=[a["sd"]], n1i=[a["n"]], m2i=[b["mean"]],
                sd2i=[b["sd"]], n2i=[b["n"]])
    sign = -1.0 if a["lower_is_better"] else 1.0
    return sign * float(es.yi[0]), float(es.vi[0]), "Hedges' g"


def trial_contrasts(comparison: str, where=None, outcome: str = PRIMARY) -> pd.DataFrame:
    """Per trial: SMD (benefit-positive) and its variance for one comparison and outcome set."""
    a, b = (ROLE[x.strip()] for x in comparison.split(" vs "))
    rows = pd.DataFrame(_arm_summaries(where, outcome))
    out = []
    for study, g in rows.groupby("study", sort=False):
        g = g.set_index("role")
        if a not in g.index or b not in g.index:
            continue
        d, v, route = _contrast(g.loc[a], g.loc[b])
        out.append({"study": study, "outcome": g.loc[a, "outcome"], "smd": d, "vi": v,
                    "route": route, "n1": g.loc[a, "n"], "n2": g.loc[b, "n"],
                    "n_source": g.loc[a, "n_source"]})
    return pd.DataFrame(out)


def pairwise(comparison: str, where=None, method: str = "REML", hksj: bool = True,
             outcome: str = PRIMARY, hksj_adhoc: bool = False) -> MetaResult:
    """Pooled SMD (positive = benefit with the first arm) for one comparison.

    Default REML with the Hartung-Knapp-Sidik-Jonkman interval: the small-k coverage study
    (``notebooks/06_small_k_coverage.ipynb``, :mod:`acu_meta.simulate`) finds that with k = 2-3
    only REML + HKSJ keeps its 95% coverage once tau2 > 0 (Wald intervals: 75-87%); the price
    is width. ``hksj=False`` gives the Wald interval, ``hksj_adhoc=True`` the Knapp-Hartung
    ad hoc modification (scale factor at least 1). :mod:`acu_meta.analyses.answer` puts every
    interval side by side."""
    t = trial_contrasts(comparison, where, outcome)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(escalc("GEN", yi=t.smd, vi=t.vi, study=list(t.study)), method=method,
                    hksj=hksj, hksj_adhoc=hksj_adhoc)


def published_comparisons(where=None, outcome: str = PRIMARY) -> pd.DataFrame:
    """Our pooled SMDs beside Vickers 2012, Madsen 2009 and Linde 2010 (signs aligned so that
    positive = benefit with the first arm)."""
    p = data.load("pooled", where).set_index("pooled_id")
    rows = []
    for comp in COMPARISONS:
        r = pairwise(comp, where, outcome=outcome)
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


def specific_vs_nonspecific(where=None, outcome: str = PRIMARY) -> dict:
    """The question in numbers: specific effect (verum vs sham) and non-specific effect of
    being needled (sham vs usual care), each as pooled SMD with its REML + HKSJ 95% CI.

    The "share of the effect that is specific" (specific / (specific + non-specific)) is not
    reported (issue #13): a ratio of two estimates whose intervals include 0 has no finite
    interval, so it carries no information with two trials."""
    v = pairwise("verum vs sham", where, outcome=outcome)
    s = pairwise("sham vs usual care", where, outcome=outcome)
    return {"specific (verum vs sham)": (v.estimate, v.ci_low, v.ci_high),
            "non-specific (sham vs usual care)": (s.estimate, s.ci_low, s.ci_high)}


def network_arms(where=None, verum: str = "combined", outcome: str = "pain_rmdq_legacy",
                 node_set: str = "lumped") -> pd.DataFrame:
    """Arm-level rows (study, treatment, mean, sd, n) for the lumped network of GERAC and
    Cherkin on continuous outcomes.

    ``outcome="pain_rmdq_legacy"`` (default, kept for the node-coding comparison of
    ``verum="separate"``) is the former coding, GERAC CPGS pain at 6 weeks with Cherkin RMDQ at
    8 weeks; any continuous key of :data:`OUTCOME_SETS` gives that set (combined verum only).
    ``verum="combined"`` pools Cherkin's two real arms into one verum group (Cochrane Handbook
    6.5.2.10); ``verum="separate"`` keeps them as ``verum_individualized`` and
    ``verum_standardized`` and GERAC's verum as ``verum_gerac``. Means are negated where lower
    is better so that a positive SMD is a benefit. :func:`network_contrast_table` builds any
    outcome set and either node set.
    """
    if verum not in ("combined", "separate"):
        raise ValueError("verum must be 'combined' or 'separate'")
    if outcome != "pain_rmdq_legacy":
        if verum != "combined":
            raise ValueError("verum='separate' is available for the legacy coding only")
        rows = pd.DataFrame(_arm_summaries(where, outcome))
        if (rows.kind != "continuous").any():
            raise ValueError(f"outcome set {outcome!r} is not continuous in every trial; use "
                             "network_contrast_table")
        sign = np.where(rows.lower_is_better.astype(bool), -1.0, 1.0)
        node_of = nodes(where)
        col = 0 if node_set == "lumped" else 1
        return pd.DataFrame({"study": rows.study,
                             "treatment": [node_of[(s, r)][col] for s, r in zip(rows.study,
                                                                            rows.role,
                                                                            strict=True)],
                             "mean": sign * rows["mean"].astype(float), "sd": rows.sd,
                             "n": rows.n})
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


def network_contrast_table(where=None, outcome: str = PRIMARY, node_set: str = "lumped"
                           ) -> pd.DataFrame:
    """Contrast rows (study, treat1, treat2, yi, vi, cov) of one outcome set for the network
    models, each trial's arms against its no-acupuncture arm (SMD, positive = benefit with
    ``treat1``; ``cov`` = the covariance of the two contrasts of a three-arm trial).

    Continuous outcomes: the SMD block of :func:`acu_meta.models.network.contrasts_from_arms`
    (means negated where lower is better). GERAC's responders: log odds ratios and their
    covariance (the shared arm's 1/a + 1/b) scaled by sqrt(3)/pi and 3/pi^2 (Chinn 2000).
    ``node_set``: "lumped" or "split" (:func:`nodes`)."""
    if node_set not in NODE_SETS:
        raise ValueError(f"nodes must be one of {', '.join(NODE_SETS)}")
    col = 0 if node_set == "lumped" else 1
    node_of = nodes(where)
    rows = pd.DataFrame(_arm_summaries(where, outcome))
    out = []
    for study, g in rows.groupby("study", sort=False):
        g = g.set_index("role").loc[["no_acupuncture", "verum", "sham"]]
        trt = [node_of[(study, r)][col] for r in g.index]
        if (g.kind == "binary").all():
            c, _ = contrasts_from_arms("OR", [study] * 3, trt, events=g.events.to_numpy(float),
                                       n=g.n.to_numpy(float), reference=trt[0])
            k = np.sqrt(3.0) / np.pi
            yi, V = c.yi * k, c.V * k**2
        else:
            sign = np.where(g.lower_is_better.astype(bool), -1.0, 1.0)
            c, _ = contrasts_from_arms("SMD", [study] * 3, trt,
                                       mean=sign * g["mean"].to_numpy(float),
                                       sd=g.sd.to_numpy(float), n=g.n.to_numpy(float),
                                       reference=trt[0])
            yi, V = c.yi, c.V
        for j in range(len(yi)):
            out.append({"study": study, "treat1": c.treat1[j], "treat2": c.treat2[j],
                        "yi": float(yi[j]), "vi": float(V[j, j]), "cov": float(V[0, 1])})
    return pd.DataFrame(out)


def network_model(where=None, verum: str = "combined", method: str = "REML",
                  outcome: str = PRIMARY, node_set: str = "lumped"):
    """Network meta-analysis (SMD, positive = benefit) of GERAC and Cherkin.

    Fits :func:`network_contrast_table` of the outcome set with the ``node_set`` ("lumped":
    reference usual care; "split": reference verum, the one node both trials share).
    ``verum="separate"`` instead fits the former arm-level coding with Cherkin's two verum arms
    and GERAC's verum as separate nodes (:func:`network_arms`; GERAC CPGS pain with Cherkin
    RMDQ, reference usual care)."""
    from ..results.network import network, network_contrasts

    if verum == "separate":
        return network(network_arms(where, verum), measure="SMD", method=method,
                       reference="usual_care", larger_is_better=True)
    if verum != "combined":
        raise ValueError("verum must be 'combined' or 'separate'")
    ref = "usual_care" if node_set == "lumped" else "verum"
    if all(r["kind"] == "continuous" for r in _arm_summaries(where, outcome)):
        # arm-level input (the same SMD contrasts; keeps the arms' n for the network graph)
        return network(network_arms(where, outcome=outcome, node_set=node_set), measure="SMD",
                       method=method, reference=ref, larger_is_better=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return network_contrasts(network_contrast_table(where, outcome, node_set),
                                 measure="SMD",
                                 method=method, reference=ref, larger_is_better=True)


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
    out: list[Target] = []
    p = data.printed("pooled", where).set_index("pooled_id")
    bl = p.loc[MADSEN_ROWS]
    ma = p.loc[MADSEN_POOLED]
    q, df = float(bl.q), int(bl.q_df)
    out.append(target("madsen_i2_from_q", "madsen2009", f"I-squared (%) from Q = {bl.q} on "
                      f"{bl.q_df} df (Bland page)", ma.i2, i2_from_q(q, df),
                      box_range(lambda qq: i2_from_q(qq, df), [bl.q])))
    out.append(target("madsen_q_p", "madsen2009", "P of the heterogeneity test from Q and df",
                      ma.q_p_printed, chi2_sf(q, df),
                      box_range(lambda qq: chi2_sf(qq, df), [bl.q])))

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
    figs["three_arm_split_network_graph"] = network_graph(network_model(where, node_set="split"))
    figs["three_arm_network_forest"] = network_forest(
        net, favours=("Favours usual care", "Favours treatment"),
        title="Network (GERAC + Cherkin, function): each treatment vs usual care, SMD, "
              "positive = benefit")
    rows = madsen2009_rows(where)
    k_all = int(data.load("pooled", where).set_index("pooled_id").loc[MADSEN_POOLED, "k_trials"])
    figs["madsen2009_rows_funnel"] = funnel(
        rows, xlabel=f"SMD (acupuncture vs placebo acupuncture; {rows.k} of {k_all} rows)")
    from .answer import figures as stack_figures  # the interval stacks (issue #13)

    figs.update(stack_figures(where))
    return figs


