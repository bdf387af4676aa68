"""Derived values recompute from their printed inputs (gerac2007.md, 'Derived (not printed)').

Tolerance: R's binom.test limits (printed with %.17g) and the Wilson quadratic are second
routes to the same closed forms (``SECOND_ROUTE``, ``tests/tolerances.py``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tolerances import SECOND_ROUTE

from acu_meta.data.derived import (
    attainable_counts,
    clopper_pearson,
    derived_values,
    implied_denominators,
    rounding_interval,
    wilson,
)


def test_rounding_interval():
    assert rounding_interval("47.6") == (47.55, 47.65)
    assert rounding_interval("387") == (386.5, 387.5)
    lo, hi = rounding_interval("-0.00")
    assert (lo, hi) == (-0.005, 0.005)


def test_gerac_responder_counts():
    # GERAC Table 4 (Haake 2007; page not recorded in data/): 47.6, 44.2, 27.4 % of 387 per arm
    d = derived_values()
    resp = d[(d.study_id == "haake2007") & (d.outcome == "response") & (d.timepoint == "6mo")]
    counts = dict(zip(resp.group, resp.value, strict=True))
    assert counts == {"verum": 184, "sham": 171, "conventional": 106}
    status = dict(zip(resp.group, resp.status, strict=True))
    assert status["verum"].startswith("not attainable")
    assert status["sham"] == status["conventional"] == "unique"
    assert set(resp.label) == {"derived"}
    assert all("387" in s for s in resp.inputs)


def test_gerac_additional_session_denominators():
    # gerac2007.md, secondary (news report): 232 (59.9%), 209 (54.3%), 192 (52.5%)
    d = derived_values()
    den = d[(d.quantity == "implied denominator") & (d.outcome == "additional_sessions")]
    assert dict(zip(den.group, den.value, strict=True)) == {
        "verum": 387, "sham": 385, "conventional": 366
    }


def test_clopper_pearson_matches_r_binom_test():
    # R 4.x: binom.test(40, 100)$conf.int, printed with %.17g
    lo, hi = clopper_pearson(40, 100)
    assert abs(lo - 0.30329476870287747) < SECOND_ROUTE  # a beta quantile: rounding only
    assert abs(hi - 0.50279084957766518) < SECOND_ROUTE
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_wilson_second_route():
    # Wilson interval = the two roots of (p - x)^2 = z^2 x (1 - x) / n
    lo, hi = wilson(30, 80)
    z2 = 1.959963984540054**2
    for x in (lo, hi):
        assert abs((30 / 80 - x) ** 2 - z2 * x * (1 - x) / 80) < SECOND_ROUTE


@given(st.integers(1, 2000), st.data())
def test_attainable_counts_contains_the_count(n, data):
    k = data.draw(st.integers(0, n))
    text = f"{100 * k / n:.1f}"
    assert k in attainable_counts(text, n)
    if k:
        assert n in implied_denominators(k, text)
