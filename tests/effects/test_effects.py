"""Effect sizes beyond the metafor grid (``acu_meta.effects.escalc``): Hedges' J, the RevMan SMD
approximation by hand, the double-zero correction, unknown measures.

The metafor grid itself: ``tests/effects/test_escalc_metafor.py``; conversions from CIs, P,
t and medians: ``tests/effects/test_conversions.py``. Tolerances (``tests/tolerances.py``):
``SECOND_ROUTE`` for the gamma-function form of J, ``SAME_ARITHMETIC`` for the RevMan formulas
written out again.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tolerances import SAME_ARITHMETIC, SECOND_ROUTE

from acu_meta.effects import EffectSizeError, escalc
from acu_meta.effects.escalc import hedges_j


def test_hedges_j_exact_vs_approximate():
    # exact J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); approximation 1 - 3/(4m - 1)
    for m in (2, 5, 18, 100):
        exact = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
        assert hedges_j(m) == pytest.approx(exact, rel=SECOND_ROUTE)
        assert abs(hedges_j(m, exact=False) - exact) < 0.05 / m**2  # error is O(1/m^2)


def test_smd_revman_approximation_by_hand():
    # RevMan 5: g = (m1-m2)/s_pooled * (1 - 3/(4N - 9)); SE^2 = N/(n1 n2) + g^2/(2(N - 3.94))
    es = escalc("SMD", m1i=[10.0], sd1i=[2.0], n1i=[20], m2i=[9.0], sd2i=[3.0], n2i=[25],
                exact=False)
    n = 45
    s = math.sqrt((19 * 4 + 24 * 9) / 43)
    g = (1 / s) * (1 - 3 / (4 * n - 9))
    assert es.yi[0] == pytest.approx(g, rel=SAME_ARITHMETIC)
    assert es.vi[0] == pytest.approx(n / (20 * 25) + g**2 / (2 * (n - 3.94)), rel=SAME_ARITHMETIC)


def test_double_zero_kept_by_default_and_dropped_on_request():
    es = escalc("OR", ai=[0, 2], n1i=[10, 10], ci=[0, 4], n2i=[10, 10], study=["DZ", "S"])
    assert es.yi[0] == 0.0 and es.corrected == ("DZ",)  # 1/2 added to every cell
    es = escalc("OR", ai=[0, 2], n1i=[10, 10], ci=[0, 4], n2i=[10, 10], study=["DZ", "S"],
                drop00=True)
    assert math.isnan(es.yi[0]) and es.excluded[0][0] == "DZ"


def test_unknown_measure():
    with pytest.raises(EffectSizeError, match="unknown measure"):
        escalc("XYZ", yi=[1], vi=[1])
    np.testing.assert_array_equal(escalc("GEN", yi=[1.0], sei=[2.0]).vi, [4.0])
