"""The three-arm evidence (``acu_meta.analyses.three_arm``): Brinkhaus 2006's printed
differences, Madsen 2009's heterogeneity and overall z, Mu 2020's share of German studies, and
the network of GERAC and Cherkin in both codings of the verum arms.

Brinkhaus B, Witt CM, Jena S, et al. Acupuncture in patients with chronic low back pain: a
randomized controlled trial. Arch Intern Med 2006;166(4):450-457, Abstract. Madsen MV,
Gøtzsche PC, Hróbjartsson A. BMJ 2009;338:a3115, Abstract, with the forest plot's Q = 17.3 on
11 df as described on M. Bland's York teaching page (acuex_d1.htm). Mu J, Furlan AD, Lam WY, et
al. Cochrane Database Syst Rev 2020;12:CD013814, Abstract. Pages are not recorded in
``data/``. Printed values are matched at their printed decimals (``tolerances.printed``).
"""

from __future__ import annotations

import pytest
from _helpers import check_targets

from acu_meta.analyses import three_arm


@pytest.fixture(scope="module")
def targets():
    return three_arm.targets()


def test_every_three_arm_target_is_reproduced(targets):
    """Brinkhaus 2006 Abstract (acupuncture vs minimal and vs waiting list), Madsen 2009
    Abstract (I2 36%, heterogeneity P 0.10, z 3.80) and Mu 2020 Abstract (67% of participants
    in German studies): exact or consistent."""
    check_targets(targets, {})
    assert {t.study for t in targets} == {"brinkhaus2006", "madsen2009", "mu2020"}
    published = {t.target_id: t.published for t in targets}
    assert (published["madsen_i2_from_q"], published["madsen_q_p"],
            published["madsen_z_overall"]) == ("36", "0.10", "3.80")


def test_acupuncture_network_both_verum_codings():
    comb = three_arm.network_model(verum="combined")
    sep = three_arm.network_model(verum="separate")
    assert comb.treatments == ("usual_care", "verum", "sham")
    assert set(sep.treatments) == {"usual_care", "verum_gerac", "verum_individualized",
                                   "verum_standardized", "sham"}
    # both studies share one design in the combined coding: no inconsistency df; netsplit
    # back-calculates an indirect estimate from the trials' other contrasts wherever the direct
    # share is below 1 - tol.direct, as netmeta does (fixture network "same_design" of
    # tests/results/test_netsplit_netmeta.py)
    assert comb.Q_between_df == 0
    split = comb.netsplit()
    assert (split.indirect.notna() == (split.direct_share < 1 - 0.0005)).all()
