"""The answer, generated: of acupuncture's benefit for chronic low back pain, how much is
specific to real needling (verum vs sham) and how much comes from being needled at all (sham
vs usual care)?

Everything here is computed from ``data/`` when called; no number is typed:

* :func:`sensitivity_table` - for one comparison and outcome set (:data:`OUTCOME_SETS` of
  :mod:`acu_meta.analyses.three_arm`, primary: back-specific function at the end of
  treatment), a :class:`acu_meta.results.MethodTable` with the per-trial estimates, the fixed
  effect, REML with Wald, HKSJ and HKSJ ad hoc (q >= 1) intervals, the Bayesian model under
  half-normal(0.5), half-normal(1) and the Rhodes 2015 empirical prior, and the network model
  (REML and exact Bayesian); :func:`acu_meta.plots.interval_stack` draws it;
* :func:`two_trials_sentence` - one generated sentence on what the two trials can and cannot
  tell;
* :func:`node_table` - the lumped and the split network side by side (each split node rests on
  one trial);
* :func:`uninformative_summaries` - what is not shown, and why;
* :func:`published_table` - the answer beside Vickers 2012 / 2018, Madsen 2009, Linde 2010 and
  Mu 2020, saying what differs (values from ``data/pooled.csv`` and ``data/facts.csv``, with
  their provenance);
* :func:`answer_markdown` - ``reports/answer.md``; :func:`readme_section` - its first part,
  which is the README's "The answer, so far" (``tests/analyses/test_answer.py`` fails when
  they differ).

Priors: half-normal(0.5) on tau is the "reasonable to fairly high heterogeneity" choice of
Roever et al. 2021 (``data/heterogeneity_priors.csv``: roever2020-half-normal-0.5) and
half-normal(1) its conservative check; the Rhodes 2015 prior is the log-t predictive
distribution for SMD outcomes of the type "general physical health, adverse event, pain and
quality of life / functioning" in non-pharmacological comparisons
(``rhodes-general-physical-health-nonpharm``). mu has a flat prior throughout.

Second routes (``tests/analyses/test_answer.py``): every Bayesian row by brute-force
quadrature of the joint posterior (scipy.integrate), the HKSJ ad hoc row by the hand formula,
the Wald and HKSJ rows by hand, the network rows by the pairwise model they reduce to, the
logit conversion against Chinn 2000's printed constant and the logistic-distribution identity.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import data
from ..effects import escalc
from ..models import _bayes_priors as P
from ..models.bayes_network import bayes_network as _bayes_network
from ..models.network import contrasts_from_table
from ..numeric import z_crit
from ..results import bayes, pool
from ..results.method_table import MethodRow, MethodTable
from . import three_arm
from .three_arm import COMPARISONS, OUTCOME_SETS, PRIMARY, outcome_set

#: (label, tau prior spec, why) of the Bayesian rows.
BAYES_PRIORS = (
    ("Bayes, half-normal(0.5)", "half-normal:0.5",
     "tau ~ half-normal(0.5) (Roever et al. 2021, reasonable to fairly high heterogeneity)"),
    ("Bayes, half-normal(1)", "half-normal:1", "tau ~ half-normal(1), the conservative check"),
    ("Bayes, Rhodes 2015 prior", "rhodes-general-physical-health-nonpharm",
     "tau^2 ~ Rhodes 2015 log-t, SMD, pain / function outcomes, non-pharmacological"),
)
NETWORK_PRIOR = "half-normal:0.5"
#: Rank draws of the Bayesian network are not used here; a small number keeps it fast.
_N_DRAWS = 500
#: Conventional SMD landmarks (Cohen 1988) used to put an estimate into words.
SMALL, MODERATE = 0.2, 0.5

_NETWORK_PAIR = {"verum vs sham": ("verum", "sham"), "sham vs usual care": ("sham", "usual_care"),
                 "verum vs usual care": ("verum", "usual_care")}


# ----------------------------------------------------------------------------- the table

def _wald(y: float, v: float) -> tuple[float, float]:
    h = z_crit(0.95) * math.sqrt(v)
    return y - h, y + h


def _pairwise_rows(t: pd.DataFrame) -> tuple[list[MethodRow], dict]:
    es = escalc("GEN", yi=t.smd, vi=t.vi, study=list(t.study))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = pool(es, method="FE")
        wald = pool(es, method="REML", hksj=False)
        hk = pool(es, method="REML", hksj=True)
        adhoc = pool(es, method="REML", hksj=True, hksj_adhoc=True)
    k = len(t)
    rows = [
        MethodRow("frequentist", "Fixed effect", fe.estimate, fe.ci_low, fe.ci_high,
                  detail="inverse variance, z"),
        MethodRow("frequentist", "REML, Wald", wald.estimate, wald.ci_low, wald.ci_high,
                  detail=f"tau2 = {wald.tau2:.3f}, z"),
        MethodRow("frequentist", "REML, HKSJ", hk.estimate, hk.ci_low, hk.ci_high,
                  detail=f"Hartung-Knapp t({k - 1})"),
        MethodRow("frequentist", "REML, HKSJ ad hoc (q >= 1)", adhoc.estimate, adhoc.ci_low,
                  adhoc.ci_high, detail=f"Knapp-Hartung ad hoc, t({k - 1})"),
    ]
    return rows, {"fe": fe, "wald": wald, "hksj": hk, "adhoc": adhoc}


def tau_prior(spec: str, where=None) -> P.TauPrior:
    """The prior *spec* of :data:`BAYES_PRIORS`; a literature prior is read from
    ``heterogeneity_priors.csv`` of the data folder *where* (not the default one)."""
    table = data.load("heterogeneity_priors", where)
    rows = table[table.prior_id == spec]
    if rows.empty:
        return P.parse_tau_prior(spec)
    r = rows.iloc[0]
    if r.family != "log-t":  # pragma: no cover - the Rhodes prior is the only one used here
        raise ValueError(f"prior {spec!r}: family {r.family} is not handled here")
    return P.log_t_tau2(r.mu, r.sigma, r.df, name=str(r.prior_id))


def _bayes_rows(t: pd.DataFrame, where=None) -> list[MethodRow]:
    rows = []
    for label, spec, why in BAYES_PRIORS:
        b = bayes(yi=t.smd.to_numpy(float), vi=t.vi.to_numpy(float), measure="GEN",
                  study=list(t.study), tau_prior=tau_prior(spec, where))
        lo, hi = b.mu.central
        rows.append(MethodRow("bayesian", label, b.mu.median, lo, hi, "95% CrI",
                              f"posterior median of mu; {why}"))
    return rows


def network_fits(where=None, outcome: str = PRIMARY, node_set: str = "lumped"):
    """The frequentist (REML) and exact Bayesian (tau ~ half-normal(0.5)) network models of
    one outcome set and node set: ``(NetworkResult, BayesNetwork)``."""
    table = three_arm.network_contrast_table(where, outcome, node_set)
    freq = three_arm.network_model(where, outcome=outcome, node_set=node_set)
    ref = "usual_care" if node_set == "lumped" else "verum"
    c, order = contrasts_from_table(table.study, table.treat1, table.treat2, table.yi, table.vi,
                                    table["cov"], measure="SMD", reference=ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = _bayes_network(c, order, tau_prior(NETWORK_PRIOR, where), n_draws=_N_DRAWS,
                           seed=1)
    return freq, b


def _network_rows(comparison: str, where, outcome: str, bayesian: bool) -> list[MethodRow]:
    a, b_ = _NETWORK_PAIR[comparison]
    if bayesian:
        freq, bn = network_fits(where, outcome, "lumped")
    else:
        freq, bn = three_arm.network_model(where, outcome=outcome, node_set="lumped"), None
    lg = freq.league().set_index(["treatment1", "treatment2"]).loc[(a, b_)]
    rows = [MethodRow("network", "Network, REML", float(lg.estimate), float(lg.ci_low),
                      float(lg.ci_high), detail=f"lumped nodes, tau2 = {freq.tau2:.3f}, z")]
    if bn is not None:
        i, j = bn.treatments.index(a), bn.treatments.index(b_)
        rows.append(MethodRow("network", "Network, Bayes half-normal(0.5)",
                              float(bn.league["median"][i, j]), float(bn.league["low"][i, j]),
                              float(bn.league["high"][i, j]), "95% CrI",
                              "lumped nodes, common tau, exact over tau"))
    return rows


def sensitivity_table(comparison: str, where=None, outcome: str = PRIMARY,
                      bayesian: bool | None = None) -> MethodTable:
    """Every method side by side for one comparison (positive = benefit with the first arm).

    Rows: each trial alone (Wald 95% CI); fixed effect; REML with Wald, HKSJ and HKSJ ad hoc
    intervals; the Bayesian model under :data:`BAYES_PRIORS` and the exact Bayesian network
    (``bayesian``, default: for the primary outcome set only, as the exact quadrature takes
    seconds per fit); the lumped network model (REML). With one trial (``pain_eot``) only the
    trial row is given. Notes: k, Q, tau2 and I2 with their Q-profile intervals, and the
    generated sentence of :func:`two_trials_sentence`. Results are cached per arguments.
    Checked in ``tests/analyses/test_answer.py``."""
    if bayesian is None:
        bayesian = outcome == PRIMARY
    return _sensitivity_table(comparison, where, outcome, bool(bayesian))


@functools.lru_cache(maxsize=64)
def _sensitivity_table(comparison: str, where, outcome: str, bayesian: bool) -> MethodTable:
    if comparison not in COMPARISONS:
        raise KeyError(f"unknown comparison {comparison!r}; use one of {', '.join(COMPARISONS)}")
    o = outcome_set(outcome)
    t = three_arm.trial_contrasts(comparison, where, outcome)
    rows = []
    for r in t.itertuples():
        lo, hi = _wald(r.smd, r.vi)
        rows.append(MethodRow("trial", f"{r.study} ({r.outcome})", r.smd, lo, hi,
                              detail=f"{r.route}; n {r.n1:.0f} vs {r.n2:.0f}"))
    notes = [f"Outcome: {o.label} ({o.role}). {o.reason}"]
    if len(t) < 2:
        notes.append("One trial: nothing is pooled.")
        return MethodTable(comparison, o.label, "SMD", tuple(rows), tuple(notes))
    prow, fits = _pairwise_rows(t)
    rows += prow + (_bayes_rows(t, where) if bayesian else [])
    rows += _network_rows(comparison, where, outcome, bayesian)
    hk = fits["hksj"]
    notes.append(f"k = {hk.k}; Q = {hk.Q:.2f} on {hk.Q_df} df (P = {hk.Q_p:.2g}); REML tau2 = "
                 f"{hk.tau2:.3f} (Q-profile 95% CI {hk.tau2_ci[0]:.3f} to {hk.tau2_ci[1]:.3f}); "
                 f"I2 = {hk.I2:.0f}% (95% CI {hk.I2_ci[0]:.0f}% to {hk.I2_ci[1]:.0f}%).")
    table = MethodTable(comparison, o.label, "SMD", tuple(rows), tuple(notes))
    return MethodTable(comparison, o.label, "SMD", tuple(rows),
                       (*notes, two_trials_sentence(table)))


def _excludes_zero(r: MethodRow) -> bool:
    return r.ci_low > 0 or r.ci_high < 0


def two_trials_sentence(table: MethodTable) -> str:
    """One sentence, computed from the table, on what the two trials can and cannot tell."""
    trials = [r for r in table.rows if r.group == "trial"]
    pooled = [r for r in table.rows if r.group != "trial"]
    names = [r.method.split(" (")[0] for r in trials]
    each = " and ".join(f"{n} {r.estimate:.2f} ({r.ci_low:.2f} to {r.ci_high:.2f})"
                        for n, r in zip(names, trials, strict=True))
    same_side = all(r.ci_low > 0 for r in trials) or all(r.ci_high < 0 for r in trials)
    opposite = (any(r.estimate > 0 for r in trials) and any(r.estimate < 0 for r in trials))
    if same_side:
        can = f"that both found a {'benefit' if trials[0].estimate > 0 else 'harm'} ({each})"
    elif opposite:
        can = f"that they point in opposite directions ({each})"
    else:
        can = f"what each trial found ({each})"
    n_ex = sum(_excludes_zero(r) for r in pooled)
    widest = max(pooled, key=lambda r: r.width)
    narrowest = min(pooled, key=lambda r: r.width)
    span = (f"from {narrowest.method} ({narrowest.ci_low:.2f} to {narrowest.ci_high:.2f}) to "
            f"{widest.method} ({widest.ci_low:.2f} to {widest.ci_high:.2f})")
    if n_ex == len(pooled):
        cannot = (f"how large the average effect is beyond lying between "
                  f"{min(r.ci_low for r in pooled):.2f} and {max(r.ci_high for r in pooled):.2f}"
                  f" (the intervals run {span})")
    elif n_ex == 0:
        cannot = f"whether there is an average effect at all: every interval includes 0, {span}"
    else:
        cannot = (f"whether the average effect differs from 0: {n_ex} of {len(pooled)} "
                  f"intervals exclude 0, {span}")
    return (f"Two trials can tell {can}; with one degree of freedom for the between-trial "
            f"variance they cannot tell {cannot}.")


# ----------------------------------------------------------------------------- nodes

_SPLIT_PAIRS = (
    ("verum", "sham_penetrating", "GERAC 2007"),
    ("verum", "sham_non_penetrating", "Cherkin 2009"),
    ("sham_penetrating", "guideline_care", "GERAC 2007"),
    ("sham_non_penetrating", "usual_care", "Cherkin 2009"),
    ("verum", "guideline_care", "GERAC 2007"),
    ("verum", "usual_care", "Cherkin 2009"),
    ("sham_penetrating", "sham_non_penetrating", "both, indirectly through verum"),
)


def node_table(where=None, outcome: str = PRIMARY) -> pd.DataFrame:
    """The lumped and the split network (REML), one row per comparison: node set, comparison,
    estimate with 95% CI, and the trials it rests on. In the split network every node but
    verum rests on one trial, so each direct comparison is that trial's own estimate and tau2
    cannot be estimated (no comparison has two trials)."""
    rows = []
    lumped = three_arm.network_model(where, outcome=outcome, node_set="lumped")
    lg = lumped.league().set_index(["treatment1", "treatment2"])
    for a, b in _NETWORK_PAIR.values():
        r = lg.loc[(a, b)]
        rows.append({"nodes": "lumped", "comparison": f"{a} vs {b}", "estimate": r.estimate,
                     "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "rests on": "GERAC 2007 and Cherkin 2009"})
    split = three_arm.network_model(where, outcome=outcome, node_set="split")
    lg = split.league().set_index(["treatment1", "treatment2"])
    for a, b, trial in _SPLIT_PAIRS:
        r = lg.loc[(a, b)]
        rows.append({"nodes": "split", "comparison": f"{a} vs {b}", "estimate": r.estimate,
                     "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "rests on": trial if trial.startswith("both") else f"{trial} only"})
    out = pd.DataFrame(rows)
    out.attrs["tau2"] = {"lumped": lumped.tau2, "split": split.tau2}
    return out


def _sham_type_sentence(nt: pd.DataFrame, where=None) -> str:
    """The split network's penetrating vs non-penetrating sham beside Vickers 2018 Table 8."""
    r = nt.set_index(["nodes", "comparison"]).loc[("split",
                                                   "sham_penetrating vs sham_non_penetrating")]
    v = data.printed("pooled", where).set_index("pooled_id").loc["v2018_t8_01"]  # as printed
    return (f"Penetrating vs non-penetrating sham, indirectly through verum (GERAC's and "
            f"Cherkin's own contrasts, one trial each): {r.estimate:.2f} ({r.ci_low:.2f} to "
            f"{r.ci_high:.2f}) on function; Vickers 2018 Table 8, all chronic pain: "
            f"{v.estimate} ({v.ci_low} to {v.ci_high}) for penetrating vs non-penetrating and "
            f"non-needle sham (negative = the penetrating sham is closer to verum).")


def node_descriptions(where=None) -> pd.DataFrame:
    """Each trial arm with its lumped and split node and its description."""
    return pd.DataFrame([{"trial": s, "arm": r, "lumped node": v[0], "split node": v[1],
                          "intervention": v[2]} for (s, r), v in three_arm.nodes(where).items()])


# ----------------------------------------------------------------------------- flags

def uninformative_summaries(where=None) -> tuple[str, ...]:
    """The summaries that carry no information with two trials, and what is done with each
    (the numbers in the sentences are computed: REML + HKSJ intervals, Q-profile I2 limits)."""
    v = pairwise_primary("verum vs sham", where)
    s = pairwise_primary("sham vs usual care", where)
    both = [r for r in (v, s) if r.ci_low < 0 < r.ci_high]
    why = ("a ratio of two estimates whose intervals both include 0 (verum vs sham "
           f"{v.ci_low:.2f} to {v.ci_high:.2f}, sham vs usual care {s.ci_low:.2f} to "
           f"{s.ci_high:.2f}), so it has no finite interval" if len(both) == 2 else
           "a ratio of two uncertain estimates without an interval of its own")
    i2_hi = max(pairwise_primary(c, where).I2_ci[1] for c in COMPARISONS)
    return (
        "The share of the benefit that is specific (verum-vs-sham / (verum-vs-sham + "
        f"sham-vs-usual-care)) is not reported: it is {why}.",
        "P-scores (treatment rankings) are not shown: from two trials sharing one design they "
        "restate the point estimates as probabilities without any new information.",
        "I2 is shown only with its Q-profile 95% interval: at k = 2 a single I2 value without "
        f"its interval (whose upper limit here reaches {i2_hi:.0f}%) misleads.",
    )


# ----------------------------------------------------------------------------- certainty

def certainty_ratings(where=None):
    """The GRADE-style ratings of :mod:`acu_meta.analyses.certainty` for the primary outcome
    (function, end of treatment, REML + HKSJ interval against the MID of SMD 0.2), a
    :class:`~acu_meta.analyses.certainty.CertaintyTable`."""

    return _rate_all(where)


@functools.lru_cache(maxsize=8)
def _rate_all(where):
    from . import certainty as _certainty

    return _certainty.rate_all("function", "end_of_treatment", where=where)


def certainty(where=None) -> pd.DataFrame:
    """Per comparison (this module's names): the acu_meta rating, the downgrades by domain,
    and Mu 2020's own rating ("not transcribed" where the source sheet has a gap)."""
    rows = []
    for r in certainty_ratings(where).ratings:
        down = ", ".join(f"{d} -{n}" for d, n in r.downgrades.items() if n)
        rows.append({"comparison": r.comparison.replace("_", " "), "rating": r.rating,
                     "downgrades": down or "none",
                     "Mu 2020": r.review_rating if r.review_rating else "not transcribed",
                     "interval rated": f"{r.estimate:.2f} ({r.ci[0]:.2f} to {r.ci[1]:.2f})",
                     "MID": f"{r.mid.value:g} {r.mid.scale}"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- published

OUR_CONTEXT = {"condition": "chronic low back pain",
               "population": "2 three-arm RCTs (GERAC 2007, Cherkin 2009), aggregate data",
               "adjustment": "none (end-of-treatment means and SDs)",
               "outcome": "back-specific function (HFAQ, RMDQ)",
               "time": "end of treatment (6-8 weeks)", "trials": "2"}

_PUBLISHED = (
    # pooled_id, comparison, sign to benefit-positive, context
    ("vickers2012_backneck_sham", "verum vs sham", 1,
     {"condition": "back and neck pain", "population": "individual patient data",
      "adjustment": "IPD analysis excluding an outlying set of trials (abstract)",
      "outcome": "pain (back/neck trials: VAS {v2012_t1_outcome_vas}, RMDQ "
                 "{v2012_t1_outcome_rmdq}, others one each; Table 1)",
      "time": "not on the source sheet",
      "trials": "at most {v2012_t1_sham_trials} sham-controlled back/neck trials (Table 1; "
                "the number in this analysis is not printed)"}),
    ("vickers2012_backneck_noacu", "verum vs usual care", 1,
     {"condition": "back and neck pain", "population": "individual patient data",
      "adjustment": "IPD analysis excluding an outlying set of trials (abstract)",
      "outcome": "pain (Table 1 outcomes as above)", "time": "not on the source sheet",
      "trials": "at most {v2012_t1_noacu_trials} trials with a no-acupuncture control "
                "(usual care {v2012_t1_noacu_usual}, guidelined care "
                "{v2012_t1_noacu_guidelined}; Table 1)"}),
    ("v2018_t7_01", "verum vs sham", 1,
     {"condition": "chronic pain, all conditions", "population": "individual patient data",
      "adjustment": "IPD, by type of control (Table 7)", "outcome": "pain",
      "time": "not on the source sheet", "trials": "{k} trials with a penetrating sham"}),
    ("v2018_t7_03", "verum vs sham", 1,
     {"condition": "chronic pain, all conditions", "population": "individual patient data",
      "adjustment": "IPD, by type of control (Table 7)", "outcome": "pain",
      "time": "not on the source sheet",
      "trials": "{k} trials with a non-penetrating or non-needle sham"}),
    ("v2018_t7_19", "verum vs usual care", 1,
     {"condition": "chronic pain, all conditions", "population": "individual patient data",
      "adjustment": "IPD, by type of control (Table 7)", "outcome": "pain",
      "time": "not on the source sheet", "trials": "{k} trials with usual care"}),
    ("madsen2009_verum_placebo", "verum vs sham", -1,
     {"condition": "pain, various conditions", "population": "three-armed trials, aggregate",
      "adjustment": "random effects where heterogeneous (RevMan 5), one outlier excluded",
      "outcome": "pain", "time": "not on the source sheet",
      "trials": "{k} trials in the review ({n} patients)"}),
    ("madsen2009_placebo_noacu", "sham vs usual care", -1,
     {"condition": "pain, various conditions", "population": "three-armed trials, aggregate",
      "adjustment": "random effects (RevMan 5)", "outcome": "pain",
      "time": "not on the source sheet", "trials": "number of trials not printed"}),
    ("linde2010_sham_noacu", "sham vs usual care", -1,
     {"condition": "any condition", "population": "trials with sham and no-acupuncture arms",
      "adjustment": "random effects", "outcome": "continuous outcome of each trial",
      "time": "not on the source sheet", "trials": "{k} trials ({n} patients)"}),
    ("mu2020_sof3_function_smd", "verum vs usual care", -1,
     {"condition": "chronic nonspecific low back pain", "population": "RCTs, aggregate",
      "adjustment": "random effects (RevMan 5.3)",
      "outcome": "back-specific function (HFAQ 0-100)",
      "time": "immediately after treatment", "trials": "{k} RCTs ({n} participants)"}),
)


def _fmt_int(x) -> str:
    return "" if pd.isna(x) else f"{int(x)}"


def published_table(where=None, outcome: str = PRIMARY) -> pd.DataFrame:
    """The answer beside the published meta-analyses: per row the source, comparison, estimate
    (95% CI, signs aligned so positive = benefit with the first arm), condition, population,
    adjustment, outcome, time, trials, what differs from our primary analysis, and the
    provenance of the published value (source, location, label from ``data/pooled.csv``).

    Mu 2020's function SMD is printed as -0.47 with a sign convention the source does not state
    (``data/pooled.csv`` note); it is shown as 0.47 for benefit, flagged in its row."""
    p = data.load("pooled", where).set_index("pooled_id")
    facts = data.load("facts", where).set_index("fact_id").value
    fvals = {k: _fmt_int(v) for k, v in facts.items()
             if str(k).startswith("v2012_t1_")}
    rows = []
    for comp in COMPARISONS:
        r = pairwise_primary(comp, where, outcome)
        rows.append({"source": "acu_meta (this answer)", "comparison": comp,
                     "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     **OUR_CONTEXT, "differs": "", "provenance": "computed (REML, HKSJ)"})
    for pid, comp, sign, ctx in _PUBLISHED:
        row = p.loc[pid]
        e, lo, hi = float(row.estimate), float(row.ci_low), float(row.ci_high)
        if sign < 0:
            e, lo, hi = -e, -hi, -lo
        fill = {**fvals, "k": _fmt_int(row.k_trials), "n": _fmt_int(row.n_patients)}
        c = {key: re.sub(r" \( (patients|participants)\)", "", val.format(**fill))
             for key, val in ctx.items()}  # no count printed: say nothing
        differs = [key for key in OUR_CONTEXT if c[key] != OUR_CONTEXT[key]]
        prov = f"{row.source_id}, {row.location} ({row.label})"
        if pid.startswith("mu2020"):
            prov += "; printed -0.47, sign convention not stated, shown as benefit-positive"
        rows.append({"source": f"{row.source_id}", "comparison": comp, "estimate": e,
                     "ci_low": lo, "ci_high": hi, **c, "differs": ", ".join(differs),
                     "provenance": prov})
    return pd.DataFrame(rows)


def pairwise_primary(comparison: str, where=None, outcome: str = PRIMARY):
    """The headline estimate of a comparison: REML with the HKSJ 95% interval."""
    return three_arm.pairwise(comparison, where, outcome=outcome)


# ----------------------------------------------------------------------------- words

def _size(d: float) -> str:
    a = abs(d)
    return "small" if a < MODERATE and a >= SMALL else ("moderate" if a >= MODERATE
                                                        else "very small")


def plain_sentence(comparison: str, table: MethodTable) -> str:
    """A sentence a clinician can read, computed from the table: what each trial found and
    how sure the pooled answer is."""
    first, second = comparison.split(" vs ")
    trials = [r for r in table.rows if r.group == "trial"]
    hk = table.row("REML, HKSJ")
    fe = table.row("Fixed effect")
    names = " and ".join(r.method.split(" (")[0] for r in trials)
    each = "; ".join(f"{r.method.split(' (')[0]} {r.estimate:.2f} SD" for r in trials)
    if all(r.ci_low > 0 for r in trials):
        s = (f"Patients given {first} did better than those given {second} in both trials "
             f"({names})")
    elif not any(_excludes_zero(r) for r in trials):
        s = f"Neither trial found a clear difference between {first} and {second} ({each})"
    elif any(r.estimate > 0 for r in trials) and any(r.estimate < 0 for r in trials):
        s = f"The trials point in opposite directions on {first} vs {second} ({each})"
    else:
        s = (f"One trial found a clear difference between {first} and {second}, the other "
             f"did not ({each})")
    s += (f". Pooled, the difference is {_size(hk.estimate)} ({hk.estimate:.2f} SD), and the "
          f"honest 95% interval for two trials (HKSJ) runs from {hk.ci_low:.2f} to "
          f"{hk.ci_high:.2f}")
    pooled = [r for r in table.rows if r.group != "trial"]
    sure = [r.method for r in pooled if _excludes_zero(r)]
    if sure and not _excludes_zero(hk):
        s += (f"; {len(sure)} of {len(pooled)} intervals exclude 0 ({'; '.join(sure)}), the "
              f"fixed-effect one ({fe.ci_low:.2f} to {fe.ci_high:.2f}) by assuming that both "
              f"trials measure one common effect")
    elif not sure:
        s += "; no method's interval excludes 0"
    return s + "."


_QUESTION = {"verum vs sham": "Specific effect of real needling (verum vs sham)",
             "sham vs usual care": "Effect of being needled at all (sham vs usual care)",
             "verum vs usual care": "Acupuncture vs usual care"}


def _certainty_line(cert: pd.DataFrame, comparison: str) -> str:
    rows = cert[cert.comparison == comparison]
    if rows.empty:
        return "Certainty: not rated."
    r = rows.iloc[0]
    return (f"Certainty (GRADE-style): **{r.rating}** (downgraded for {r.downgrades}; MID "
            f"{r.MID}); Mu 2020: {r['Mu 2020']}.")


def readme_section(where=None) -> str:
    """The plain-language answer with the headline numbers under each method: the README's
    "The answer, so far" and the first part of ``reports/answer.md``."""
    tables = {c: sensitivity_table(c, where) for c in COMPARISONS}
    cert = certainty(where)
    o = outcome_set(PRIMARY)
    lines = [f"Generated by `acu-meta reproduce` (`reports/answer.md`, "
             f"`acu_meta.analyses.answer`); do not edit by hand. Two three-arm trials with "
             f"arm-level data (GERAC 2007, Cherkin 2009); primary outcome {o.label} (GERAC "
             f"HFAQ at 6 weeks with Cherkin RMDQ at 8 weeks); SMD, positive = benefit with "
             f"the first arm.", ""]
    for c in COMPARISONS:
        t = tables[c]
        lines += [f"- **{_QUESTION[c]}.** {plain_sentence(c, t)} {_certainty_line(cert, c)}"]
    lines += ["", "| comparison | " + " | ".join(_SHORT) + " |",
              "|---|" + "---|" * len(_SHORT)]
    for c in COMPARISONS:
        t = tables[c]
        cells = []
        for m in _SHORT.values():
            r = t.row(m)
            cells.append(f"{r.estimate:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", *(f"- {t.notes[-1]} ({c})" for c, t in tables.items())]
    pt = published_table(where)
    n_min = min(len(d.split(", ")) for d in pt.differs[pt.source != "acu_meta (this answer)"])
    lines += ["", "Beside the published syntheses (details in `reports/answer.md`): "
              + "; ".join(f"{r.source} {r.comparison} {r.estimate:.2f} ({r.ci_low:.2f} to "
                          f"{r.ci_high:.2f}), {r.condition}, {r.trials}"
                          for r in pt[pt.source != "acu_meta (this answer)"].itertuples())
              + f". Each differs from this answer in at least {n_min} of "
                f"{', '.join(OUR_CONTEXT)} (column `differs`)."]
    return "\n".join(lines)


_SHORT = {"FE": "Fixed effect", "REML Wald": "REML, Wald", "REML HKSJ": "REML, HKSJ",
          "HKSJ ad hoc": "REML, HKSJ ad hoc (q >= 1)", "Bayes HN(0.5)": "Bayes, half-normal(0.5)",
          "Bayes HN(1)": "Bayes, half-normal(1)", "Bayes Rhodes": "Bayes, Rhodes 2015 prior",
          "network REML": "Network, REML", "network Bayes": "Network, Bayes half-normal(0.5)"}


def _frame_md(df: pd.DataFrame, digits: int = 2) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        out.append("| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v)
                                     for v in r) + " |")
    return "\n".join(out)


def answer_markdown(where=None) -> str:
    """``reports/answer.md``: the README section, then per comparison and outcome set the
    sensitivity table, the nodes, the flags, the certainty and the comparison table."""
    parts = ["# The answer", "", readme_section(where), ""]
    cert = certainty(where)
    for c in COMPARISONS:
        parts += [f"## {_QUESTION[c]}", ""]
        for key, o in OUTCOME_SETS.items():
            t = sensitivity_table(c, where, key)
            parts += [f"### {o.label} ({o.role})", "", t.to_markdown(), "",
                      *(f"- {n}" for n in t.notes), ""]
        parts += [_certainty_line(cert, c), ""]
    nt = node_table(where)
    tau2 = nt.attrs["tau2"]
    parts += ["## Nodes: lumped and split", "",
              _frame_md(node_descriptions(where)), "",
              _frame_md(nt), "",
              f"Lumped network tau2 = {tau2['lumped']:.3f}; split network tau2 = "
              f"{tau2['split']:.3f}. In the split network each sham and each control node "
              f"rests on one trial (GERAC's penetrating sham and guideline care, Cherkin's "
              f"non-penetrating sham and usual care), so no comparison has two trials and the "
              f"between-trial variance cannot be estimated.", "", _sham_type_sentence(nt, where),
              ""]
    parts += ["## Not shown, and why", "", *(f"- {s}" for s in uninformative_summaries(where)), ""]
    parts += ["## Certainty (GRADE-style)", "", _frame_md(cert), "",
              *(f"```\n{r.summary()}\n```\n" for r in certainty_ratings(where).ratings)]
    pt = published_table(where)
    parts += ["## Beside the published meta-analyses", "",
              _frame_md(pt[["source", "comparison", "estimate", "ci_low", "ci_high",
                            "condition", "outcome", "time", "trials", "adjustment",
                            "differs", "provenance"]]), ""]
    return "\n".join(parts)


@dataclass(frozen=True)
class Written:
    path: str
    n_chars: int


def write_answer(reports, where=None) -> Written:
    """Write ``answer.md`` into the folder *reports*."""
    from pathlib import Path

    path = Path(reports) / "answer.md"
    text = answer_markdown(where)
    path.write_text(text + "\n")
    return Written(str(path), len(text))


def figures(where=None) -> dict:
    """One interval-stack figure per comparison (primary outcome set)."""
    from ..plots import interval_stack

    return {f"answer_{c.replace(' ', '_')}_stack": interval_stack(sensitivity_table(c, where))
            for c in COMPARISONS}


def stack_bounds(table: MethodTable) -> tuple[float, float]:
    """The smallest lower and largest upper limit over the pooled rows."""
    pooled = [r for r in table.rows if r.group != "trial"]
    return float(np.min([r.ci_low for r in pooled])), float(np.max([r.ci_high for r in pooled]))
