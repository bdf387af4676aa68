"""Cherkin 2009 (Arch Intern Med 169:858) and the NBK56291 evidence report that pools it.

Sources: ``shared/sources/cherkin2009.md`` transcribed into ``data/``. Table 2 (RMDQ means and
SDs by arm) is secondary (a public data-extraction record) and prints no n at follow-up: every
effect below uses the *randomized* n of Table 1 (157, 158, 162, 161), which overstates the
precision if patients were lost to follow-up.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd

from .. import data
from ..effects import escalc
from ..numeric import Z975, i2_from_q, pool_iv
from ..plots import forest
from ..results import MetaResult, pool
from .reproduction import Target, box_range, target

STUDY = "cherkin2009"
ARMS = ("individualized", "standardized", "simulated", "usual_care")


def table2(where=None) -> pd.DataFrame:
    """Table 2 RMDQ mean (SD) by arm and time point, with the randomized n of Table 1."""
    ao = data.load("arm_outcomes", where)
    t2 = ao[(ao.study_id == STUDY) & (ao.outcome == "rmdq") & (ao.source_id == "dataex")
            & (ao.statistic == "value")]
    n = data.load("arms", where)
    n = n[n.study_id == STUDY].set_index("arm").n_randomized
    out = t2[["arm", "timepoint", "mean", "sd"]].copy()
    out["n_randomized"] = [int(n[a]) for a in out.arm]
    return out.reset_index(drop=True)


def pair_effects(where=None) -> pd.DataFrame:
    """MD and SMD (Hedges' g) for every pair of arms at 8, 26 and 52 weeks (Table 2, n =
    randomized n). Negative = lower (better) RMDQ with the first arm."""
    t = table2(where)
    rows = []
    for tp in ("8wk", "26wk", "52wk"):
        g = t[t.timepoint == tp].set_index("arm")
        for a, b in itertools.combinations(ARMS, 2):
            args = dict(m1i=[g.loc[a, "mean"]], sd1i=[g.loc[a, "sd"]],
                        n1i=[float(g.loc[a, "n_randomized"])], m2i=[g.loc[b, "mean"]],
                        sd2i=[g.loc[b, "sd"]], n2i=[float(g.loc[b, "n_randomized"])])
            md, smd = escalc("MD", **args), escalc("SMD", **args)
            rows.append({"timepoint": tp, "comparison": f"{a} vs {b}", "md": md.yi[0],
                         "md_ci_low": md.yi[0] - Z975 * md.sei[0],
                         "md_ci_high": md.yi[0] + Z975 * md.sei[0], "smd": smd.yi[0],
                         "smd_ci_low": smd.yi[0] - Z975 * smd.sei[0],
                         "smd_ci_high": smd.yi[0] + Z975 * smd.sei[0]})
    return pd.DataFrame(rows)


def _nbk_rows(where):
    rows = data.printed("pooled_rows", where)
    return rows[rows.pooled_id == "nbk56291_fig8_rmdq"]


def nbk56291_figure8(where=None) -> MetaResult:
    """NBK56291 Figure 8, "Disability (RMDQ score) - immediate post-treatment", acupuncture vs
    placebo: fixed-effect inverse-variance MD of Kwon 2007 and Cherkin 2009 from the printed
    arm means, SDs and n (the report prints 0.81 (-0.27, 1.9); the printed rows give 0.80)."""
    rows = data.load("pooled_rows", where)
    rows = rows[rows.pooled_id == "nbk56291_fig8_rmdq"]
    es = escalc("MD", m1i=rows.treat_mean, sd1i=rows.treat_sd, n1i=rows.treat_n.astype(float),
                m2i=rows.control_mean, sd2i=rows.control_sd, n2i=rows.control_n.astype(float),
                study=list(rows.study))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(es, method="FE")


def _fe(vals, ns):
    """FE pooled (est, se, Q) of MDs from flat (m1, m2, s1, s2) per row, n per row in *ns*."""
    y = np.array([vals[4 * j] - vals[4 * j + 1] for j in range(len(ns))])
    v = np.array([vals[4 * j + 2] ** 2 / ns[j][0] + vals[4 * j + 3] ** 2 / ns[j][1]
                  for j in range(len(ns))])
    r = pool_iv(y, v)
    return r.estimate, r.se, r.Q


def targets(where=None) -> list[Target]:
    """Abstract improvements, the Table 3 cell, and NBK56291 Figure 8 (pooled and per row)."""
    return (_abstract_targets(where) + [_table3_target(where)] + _nbk_pooled_targets(where)
            + _nbk_row_targets(where))


def _abstract_targets(where) -> list[Target]:
    """Abstract: improvement at 8 weeks = baseline - 8 weeks (Table 2), per arm."""
    out: list[Target] = []
    ao = data.printed("arm_outcomes", where)
    ao = ao[(ao.study_id == STUDY) & (ao.outcome == "rmdq")]
    for arm in ARMS:
        change = ao[(ao.arm == arm) & (ao.statistic == "change")].iloc[0]
        base = ao[(ao.arm == arm) & (ao.timepoint == "baseline") & (ao.source_id == "dataex")
                  ].iloc[0]
        wk8 = ao[(ao.arm == arm) & (ao.timepoint == "8wk") & (ao.source_id == "dataex")].iloc[0]
        out.append(target(
            f"cherkin_abstract_rmdq_improvement_{arm}", STUDY,
            f"Abstract: RMDQ improvement at 8 weeks, {arm} (Table 2 baseline minus 8 weeks)",
            change["mean"], float(base["mean"]) - float(wk8["mean"]),
            box_range(lambda b, f: b - f, [base["mean"], wk8["mean"]])))
    return out


def _table3_target(where) -> Target:
    """Table 3 cell: adjusted difference, standardized vs usual care (shown beside)."""
    t2 = table2(where).set_index(["arm", "timepoint"])
    c = data.printed("contrasts", where)
    t3 = c[c.contrast_id == "cherkin2009_t3_standardized_usual_care_rmdq"].iloc[0]
    unadj = t2.loc[("standardized", "8wk"), "mean"] - t2.loc[("usual_care", "8wk"), "mean"]
    return target(
        "cherkin_t3_adjusted_md_standardized_usual", STUDY,
        "Table 3: adjusted RMDQ difference, standardized acupuncture vs usual care, 8 weeks",
        t3.estimate, unadj,
        not_comparable="Table 3 adjusts for baseline and covariates, which the transcribed data "
                       "cannot do: the recomputed value is the unadjusted difference of the "
                       "Table 2 means at 8 weeks, another quantity.")


def _nbk_pooled_targets(where) -> list[Target]:
    """NBK56291 Figure 8: pooled MD, its CI, Q, I2 and totals from the printed rows."""
    rows = _nbk_rows(where)
    pooled = data.printed("pooled", where).set_index("pooled_id").loc["nbk56291_fig8_rmdq"]
    ns = [(int(r.treat_n), int(r.control_n)) for _, r in rows.iterrows()]
    texts = [r[c] for _, r in rows.iterrows()
             for c in ("treat_mean", "control_mean", "treat_sd", "control_sd")]
    est, se, q = _fe([float(t) for t in texts], ns)
    why = ("The report pooled unrounded arm data; the printed rows (rounded) give "
           f"{est:.3f}.")
    out = [
        target("nbk56291_fig8_pooled_md", "nbk56291",
               "Figure 8: pooled MD, RMDQ, acupuncture vs placebo (fixed effect, IV)",
               pooled.estimate, est, box_range(lambda *v: _fe(v, ns)[0], texts),
               note_if_not_exact=why),
        target("nbk56291_fig8_pooled_ci_low", "nbk56291", "Figure 8: pooled MD, lower "
               "95% limit", pooled.ci_low, est - Z975 * se,
               box_range(lambda *v: _fe(v, ns)[0] - Z975 * _fe(v, ns)[1], texts)),
        target("nbk56291_fig8_pooled_ci_high", "nbk56291", "Figure 8: pooled MD, upper "
               "95% limit", pooled.ci_high, est + Z975 * se,
               box_range(lambda *v: _fe(v, ns)[0] + Z975 * _fe(v, ns)[1], texts)),
        target("nbk56291_fig8_chi2", "nbk56291", "Figure 8: heterogeneity chi-squared",
               pooled.q, q, box_range(lambda *v: _fe(v, ns)[2], texts)),
        target("nbk56291_fig8_i2", "nbk56291", "Figure 8: I-squared (%)", pooled.i2,
               i2_from_q(q, len(ns) - 1)),
    ]
    for side, col in (("n_treat", "treat_n"), ("n_control", "control_n")):
        out.append(target(f"nbk56291_fig8_total_{side}", "nbk56291",
                          f"Figure 8: total {'acupuncture' if side == 'n_treat' else 'placebo'} "
                          "patients (sum of the rows)", pooled[side],
                          float(sum(int(r[col]) for _, r in rows.iterrows()))))
    return out


def _nbk_row_targets(where) -> list[Target]:
    """NBK56291 Figure 8: each row's MD and Wald CI from its printed arm data."""
    out: list[Target] = []
    for _, r in _nbk_rows(where).iterrows():
        sid = r.study.split()[0].lower()
        t = [r.treat_mean, r.control_mean, r.treat_sd, r.control_sd]
        n1, n2 = int(r.treat_n), int(r.control_n)

        def md(m1, m2, s1, s2):
            return m1 - m2

        def lo(m1, m2, s1, s2, n1=n1, n2=n2):
            return m1 - m2 - Z975 * math.sqrt(s1**2 / n1 + s2**2 / n2)

        def hi(m1, m2, s1, s2, n1=n1, n2=n2):
            return m1 - m2 + Z975 * math.sqrt(s1**2 / n1 + s2**2 / n2)

        v = [float(x) for x in t]
        for name, f, pub in (("md", md, r.estimate), ("ci_low", lo, r.ci_low),
                             ("ci_high", hi, r.ci_high)):
            out.append(target(f"nbk56291_fig8_{sid}_{name}", "nbk56291",
                              f"Figure 8: {r.study} row, MD {name.replace('_', ' ')}", pub,
                              f(*v), box_range(f, t)))
    return out


def figures(where=None) -> dict:
    res = nbk56291_figure8(where)
    return {
        "cherkin2009_nbk56291_figure8_forest": forest(
            res, favours=("Favours acupuncture", "Favours placebo"),
            arm_labels=("Acupuncture", "Placebo"),
            title="RMDQ immediately after treatment, acupuncture vs placebo (NBK56291 Fig. 8)"),
    }
