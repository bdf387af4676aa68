"""Cherkin 2009 and the NBK56291 report's Figure 8, reproduced from the transcribed tables
(``acu_meta.analyses.cherkin2009``).

Cherkin DC, Sherman KJ, Avins AL, et al. A randomized trial comparing acupuncture, simulated
acupuncture, and usual care for chronic low back pain. Arch Intern Med 2009;169(9):858-866:
the Abstract's RMDQ improvements at 8 weeks, from Table 2 (baseline minus 8 weeks; the
``data/`` provenance gives Table 2 on PDF p. 21, through the DataEx fixtures), and the Table 3
adjusted difference (page not recorded in ``data/``). NCBI Bookshelf NBK56291, Figure 8
("Disability (RMDQ score) - immediate post-treatment", pooling Kwon 2007 and Cherkin 2009):
the two study rows, the fixed-effect pooled MD, its CI, chi-squared, I2 and totals. Printed
values are matched at their printed decimals (``tolerances.printed``).
"""

from __future__ import annotations

import pytest
from _helpers import check_targets
from tolerances import SECOND_ROUTE, printed

from acu_meta.analyses import cherkin2009 as c

DISCREPANCIES: dict[str, str] = {}

NOT_COMPARABLE = {
    # Table 3 adjusts for baseline and covariates, which the transcribed data cannot do: the
    # unadjusted Table 2 difference is another quantity (issue #13)
    "cherkin_t3_adjusted_md_standardized_usual": "adjusted, not recomputable",
}


@pytest.fixture(scope="module")
def targets():
    return c.targets()


def test_abstract_and_table2_improvements(targets):
    """Abstract: mean RMDQ improvement at 8 weeks 4.4 / 4.5 / 4.4 / 2.1 (individualized,
    standardized, simulated, usual care) = Table 2 (PDF p. 21) baseline minus 8 weeks."""
    t = {x.target_id: x for x in targets}
    for arm, printed_value in (("individualized", "4.4"), ("standardized", "4.5"),
                               ("simulated", "4.4"), ("usual_care", "2.1")):
        x = t[f"cherkin_abstract_rmdq_improvement_{arm}"]
        assert x.published == printed_value and printed(x.reproduced, printed_value)


def test_nbk56291_figure8_forest(targets):
    """NBK56291 Figure 8: pooled MD 0.81 (-0.27 to 1.9), chi-squared 0.18, I2 0%, 182 vs 185
    patients; the fixed-effect pool of the printed (rounded) rows gives 0.801, within the
    range attainable from the rows' printed precision."""
    t = {x.target_id: x for x in targets if x.study == "nbk56291"}
    assert t["nbk56291_fig8_pooled_md"].status == "consistent"
    for tid, text in (("pooled_ci_low", "-0.27"), ("pooled_ci_high", "1.9"),
                      ("chi2", "0.18"), ("i2", "0.0"), ("total_n_treat", "182"),
                      ("total_n_control", "185")):
        assert printed(t[f"nbk56291_fig8_{tid}"].reproduced, text), tid
    # the forest figure's fit (escalc MD + pool, FE) equals the target's own inverse-variance
    # pool of the same printed rows: two routes to one number
    res = c.nbk56291_figure8()
    assert res.k == 2 and res.method == "FE"
    assert res.estimate == pytest.approx(t["nbk56291_fig8_pooled_md"].reproduced,
                                         rel=SECOND_ROUTE)
    assert res.ci_low == pytest.approx(t["nbk56291_fig8_pooled_ci_low"].reproduced,
                                       rel=SECOND_ROUTE)


def test_every_cherkin2009_target_is_reproduced(targets):
    """Every Cherkin 2009 / NBK56291 target (Abstract, Table 2, Table 3, Figure 8) is exact
    or consistent, except the documented discrepancies and the adjusted Table 3 difference,
    which is not comparable."""
    check_targets(targets, DISCREPANCIES, NOT_COMPARABLE)
    assert {t.study for t in targets} == {"cherkin2009", "nbk56291"}
