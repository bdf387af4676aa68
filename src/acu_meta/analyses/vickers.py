"""Vickers 2012 IPD meta-analysis and its 2018 update (Acupuncture Trialists' Collaboration).

The trial-level effect sizes are not transcribed (``shared/sources/vickers.md``, gaps), so the
pooled results cannot be recomputed. Two things can:

* Vickers 2018 Table 8 (differences between control types, from a meta-regression on the trial
  data) is *approximated* from the Table 7 summaries by a test of subgroup difference:
  ``d = ES_1 - ES_2``, ``SE_i = (upper_i - lower_i) / (2 x 1.96)``,
  ``SE_d = sqrt(SE_1^2 + SE_2^2)``, ``P = 2 Phi(-|d| / SE_d)``. The approximation treats the
  two summaries as independent and ignores that Table 8 adjusts within a single model, so an
  inexact match is expected; the status of each row says how close it comes.
* Our own synthesis of the transcribable trials, beside the published 0.23 (0.13, 0.33) vs sham
  and 0.55 (0.51, 0.58) vs no acupuncture: a comparison on 2 of 15 trials, not a reproduction.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import data
from ..numeric import Z975, p_two_sided, se_from_ci
from .reproduction import Target, box_range, target

# Table 8 row -> (Table 7 row of control 1, Table 7 row of control 2), by the row labels
TABLE8_FROM_TABLE7 = {
    "v2018_t8_01": ("v2018_t7_01", "v2018_t7_03"),
    "v2018_t8_02": ("v2018_t7_02", "v2018_t7_04"),
    "v2018_t8_03": ("v2018_t7_01", "v2018_t7_05"),
    "v2018_t8_04": ("v2018_t7_01", "v2018_t7_06"),  # penetrating sham has no Vas trial
    "v2018_t8_05": ("v2018_t7_07", "v2018_t7_09"),
    "v2018_t8_06": ("v2018_t7_07", "v2018_t7_10"),
    "v2018_t8_07": ("v2018_t7_08", "v2018_t7_09"),
    "v2018_t8_08": ("v2018_t7_11", "v2018_t7_15"),
    "v2018_t8_09": ("v2018_t7_13", "v2018_t7_15"),
    "v2018_t8_10": ("v2018_t7_14", "v2018_t7_16"),
    "v2018_t8_11": ("v2018_t7_17", "v2018_t7_18"),
    "v2018_t8_12": ("v2018_t7_17", "v2018_t7_20"),
    "v2018_t8_13": ("v2018_t7_19", "v2018_t7_20"),
}
APPROX_NOTE = ("Table 8 is a meta-regression on trial-level data; the subgroup-difference "
               "approximation from two Table 7 summaries treats them as independent.")


def _diff(e1, l1, h1, e2, l2, h2):
    se = math.sqrt(float(se_from_ci(l1, h1)) ** 2 + float(se_from_ci(l2, h2)) ** 2)
    d = e1 - e2
    return d, d - Z975 * se, d + Z975 * se, p_two_sided(d / se)


def table8_approximation(where=None) -> pd.DataFrame:
    """Each Table 8 row beside its approximation from Table 7."""
    p = data.printed("pooled", where).set_index("pooled_id")
    rows = []
    for t8, (a, b) in TABLE8_FROM_TABLE7.items():
        vals = [float(p.loc[x, c]) for x in (a, b) for c in ("estimate", "ci_low", "ci_high")]
        d, lo, hi, pv = _diff(*vals)
        rows.append({"table8_row": t8, "comparison": p.loc[t8, "comparison"],
                     "from_table7": f"{a} minus {b}", "published": p.loc[t8, "estimate"],
                     "published_ci": f"{p.loc[t8, 'ci_low']} to {p.loc[t8, 'ci_high']}",
                     "published_p": p.loc[t8, "p_printed"], "approx": d, "approx_ci_low": lo,
                     "approx_ci_high": hi, "approx_p": pv})
    return pd.DataFrame(rows)


def _p_from_ci(e, lo, hi):
    """Two-sided P of a Wald z test implied by an estimate and its 95% CI."""
    return p_two_sided(e / float(se_from_ci(lo, hi)))


def targets(where=None) -> list[Target]:
    """P values printed beside estimates and CIs (Vickers 2018 Tables 7 and 8, MacPherson
    2017), reproduced from the estimate and CI: a check that each printed P belongs to its
    printed interval (Wald z test)."""
    p = data.printed("pooled", where).set_index("pooled_id")
    out: list[Target] = []
    ids = [i for i in p.index if i.startswith(("v2018_t7_", "v2018_t8_", "macpherson2017_"))]
    for pid in ids:
        r = p.loc[pid]
        if not (r.estimate and r.ci_low and r.ci_high and r.p_printed):
            continue
        texts = [r.estimate, r.ci_low, r.ci_high]
        table = ("Table 7" if "_t7_" in pid else "Table 8" if "_t8_" in pid else "Abstract")
        out.append(target(
            f"{pid}_p_from_ci", r.source_id,
            f"{table}: P for {r.comparison} (from the printed estimate and 95% CI)",
            r.p_printed, _p_from_ci(*[float(t) for t in texts]), box_range(_p_from_ci, texts),
            note_if_not_exact="P recomputed as a Wald z test from the rounded estimate and CI; "
                              "the source's P comes from its model on unrounded numbers."))
    return out


def approximations(where=None) -> list[Target]:
    """Vickers 2018 Table 8 approximated from Table 7 (test of subgroup difference): kept
    apart from the reproduction targets because the approximation is not the authors'
    computation (see the module docstring)."""
    p = data.printed("pooled", where).set_index("pooled_id")
    out: list[Target] = []
    for t8, (a, b) in TABLE8_FROM_TABLE7.items():
        texts = [p.loc[x, c] for x in (a, b) for c in ("estimate", "ci_low", "ci_high")]
        vals = [float(t) for t in texts]
        res = _diff(*vals)
        label = p.loc[t8, "comparison"]
        for j, (col, pub) in enumerate((("estimate", p.loc[t8, "estimate"]),
                                        ("ci_low", p.loc[t8, "ci_low"]),
                                        ("ci_high", p.loc[t8, "ci_high"]),
                                        ("p", p.loc[t8, "p_printed"]))):
            out.append(target(
                f"{t8}_{col}_approx", "vickers2018",
                f"Table 8: {label}, {col.replace('_', ' ')} (approximated from Table 7 "
                f"{a[-2:]} minus {b[-2:]})", pub,
                res[j], box_range(lambda *v, j=j: _diff(*v)[j], texts),
                note_if_not_exact=APPROX_NOTE))
    return out


def our_synthesis(where=None) -> pd.DataFrame:
    """Our pooled SMDs of the transcribable trials beside the Vickers 2012 back/neck results
    (a comparison on 2 of 15 trials, not a reproduction)."""
    from .three_arm import pairwise

    p = data.load("pooled", where).set_index("pooled_id")
    rows = []
    for key, comparison in (("vickers2012_backneck_sham", "verum vs sham"),
                            ("vickers2012_backneck_noacu", "verum vs usual care")):
        res = pairwise(comparison, where=where)
        rows.append({"comparison": comparison, "vickers2012": p.loc[key, "estimate"],
                     "vickers2012_ci": f"{p.loc[key, 'ci_low']:.2f} to "
                                       f"{p.loc[key, 'ci_high']:.2f}",
                     "acu_meta": res.estimate, "acu_meta_ci_low": res.ci_low,
                     "acu_meta_ci_high": res.ci_high, "trials": res.k})
    return pd.DataFrame(rows)


def figures(where=None) -> dict:
    return {}
