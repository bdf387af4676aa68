"""Vickers 2018 (and MacPherson 2017): printed P values checked against their printed estimates
and 95% CIs, and Table 8 approximated from Table 7 (``acu_meta.analyses.vickers``).

Vickers AJ, Vertosick EA, Lewith G, et al. Acupuncture for chronic pain: update of an
individual patient data meta-analysis. J Pain 2018;19(5):455-474, Table 7 (acupuncture vs each
control type) and Table 8 (differences between control types). MacPherson H, Vertosick EA,
Foster NE, et al. The persistence of the effects of acupuncture after a course of treatment: a
meta-analysis of patients with chronic pain. Pain 2017;158(5):784-793, Abstract. Pages of
the tables are not recorded in ``data/``. A P is reproduced as the Wald z test of its printed
estimate and CI and matched at its printed decimals (``tolerances.printed``); a printed bound
(``<0.0001``) must be met.
"""

from __future__ import annotations

import pytest
from _helpers import check_targets

from acu_meta.analyses import all_targets
from acu_meta.analyses import vickers as v


@pytest.fixture(scope="module")
def targets():
    return v.targets()


def test_every_printed_p_belongs_to_its_printed_interval(targets):
    """Table 7 (20 rows), Table 8 (13 rows), MacPherson 2017 Abstract (2): each printed P is
    exact or consistent with the Wald P of its printed estimate and CI."""
    check_targets(targets, {})
    tables = {t.quantity.split(":")[0] for t in targets}
    assert tables == {"Table 7", "Table 8", "Abstract"}
    assert sum(t.quantity.startswith("Table 7") for t in targets) == 20
    assert sum(t.quantity.startswith("Table 8") for t in targets) == 13
    assert {t.study for t in targets} == {"vickers2018", "macpherson2017"}


def test_table8_approximation_is_kept_apart():
    """Table 8 from two Table 7 summaries (a test of subgroup difference) is not the authors'
    meta-regression: every row of Table 8 gets four approximate targets (estimate, CI, P), all
    outside the reproduction report, and every inexact one says why."""
    approx = v.approximations()
    assert len(approx) == 4 * len(v.TABLE8_FROM_TABLE7) == 52
    assert all(t.target_id.endswith("_approx") and t.quantity.startswith("Table 8")
               for t in approx)
    assert not {t.target_id for t in approx} & {t.target_id for t in all_targets()}
    for t in approx:
        if t.status != "exact":
            assert v.APPROX_NOTE in t.note, t.target_id
