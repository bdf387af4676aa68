"""Trials and reviews with verum, sham and no-acupuncture arms (Madsen 2009, Linde 2010, ...).

Sources: ``shared/sources/three_arm_trials.md`` transcribed into ``data/``.
"""

from __future__ import annotations

import warnings

from .. import data
from ..effects import escalc, from_ci
from ..plots import funnel
from ..results import MetaResult, pool


def madsen2009_rows(include_excluded: bool = True) -> MetaResult:
    """The four Madsen 2009 forest-plot rows transcribed (secondary, Bland teaching page):
    SMD with SE from the printed 95% CI, SE = (upper - lower) / (2 x 1.96). Fanti's printed CI
    is not centred on its estimate (``reports/data-checks.md``), so its SE is approximate.
    Only 4 of 13 rows are known: this is not Madsen's pooled result."""
    rows = data.load("pooled_rows")
    rows = rows[rows.pooled_id == "bland_madsen_verum_placebo"]
    if not include_excluded:
        rows = rows[~rows.excluded]
    yi, vi = from_ci(rows.estimate.to_numpy(), rows.ci_low.to_numpy(), rows.ci_high.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(escalc("GEN", yi=yi, vi=vi, study=list(rows.study)), method="DL")


def figures() -> dict:
    return {"madsen2009_rows_funnel": funnel(madsen2009_rows(), xlabel="SMD (acupuncture vs "
                                             "placebo acupuncture; 4 of 13 rows)")}
