"""Cherkin 2009 (Arch Intern Med 169:858) and the NBK56291 evidence report that pools it.

Sources: ``shared/sources/cherkin2009.md`` transcribed into ``data/`` (see provenance there).
"""

from __future__ import annotations

import warnings

from .. import data
from ..effects import escalc
from ..plots import forest
from ..results import MetaResult, pool


def nbk56291_figure8() -> MetaResult:
    """NBK56291 Figure 8, "Disability (RMDQ score) - immediate post-treatment", acupuncture vs
    placebo: fixed-effect inverse-variance MD of Kwon 2007 and Cherkin 2009 from the printed
    arm means, SDs and n (the report prints 0.81 (-0.27, 1.9); the printed rows give 0.80, see
    ``reports/data-checks.md``)."""
    rows = data.load("pooled_rows")
    rows = rows[rows.pooled_id == "nbk56291_fig8_rmdq"]
    es = escalc("MD", m1i=rows.treat_mean, sd1i=rows.treat_sd, n1i=rows.treat_n.astype(float),
                m2i=rows.control_mean, sd2i=rows.control_sd, n2i=rows.control_n.astype(float),
                study=list(rows.study))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(es, method="FE")


def figures() -> dict:
    res = nbk56291_figure8()
    return {
        "cherkin2009_nbk56291_figure8_forest": forest(
            res, favours=("Favours acupuncture", "Favours placebo"),
            arm_labels=("Acupuncture", "Placebo"),
            title="RMDQ immediately after treatment, acupuncture vs placebo (NBK56291 Fig. 8)"),
    }
