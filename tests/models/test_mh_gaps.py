"""Mantel-Haenszel (2x2 tables and rates) and Peto against metafor 3.8.1 ``rma.mh`` /
``rma.peto`` with the tests rma.mh prints: the Cochran-Mantel-Haenszel test (metafor's MH),
Cochran's test (CO), Breslow-Day (BD) and Tarone's correction (TA) (issue #15, item 4).

Fixture: the ``mh`` (52 cases) and ``peto`` (12 cases) families of
``tests/fixtures/metafor_gaps.json`` (``validation/metafor/gaps_reference.R``; 2x2 inputs in its
``binary_datasets`` -- dat.bcg, dat.collins1985a and a made-up set with a double-zero study --,
rates in ``escalc_datasets``), with the options variants ``correct=FALSE``, ``add``/``to`` on
the pooled cells and ``drop00=FALSE``. The grid's size is guarded in
``tests/models/test_gaps_grid.py``. Tolerance ``CLOSED_FORM`` (every quantity is a closed form;
Breslow-Day's expected counts are roots of a quadratic, computed in closed form).
Second routes: the Breslow-Day expected counts reproduce the common odds ratio table by table,
and at a common odds ratio of 1 they are ``n1 m1 / N``; the CMH statistic equals the Cochran
statistic times ``(N - 1) / N`` for a single table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import fixture_json
from _metafor import assert_close
from tolerances import CLOSED_FORM, SECOND_ROUTE

from acu_meta.models._mh import breslow_day, mantel_haenszel, mantel_haenszel_rates, peto

GAPS = fixture_json("metafor_gaps.json")
DEFAULT_2ND = {"add": 0.0, "to": "none", "drop00": False}  # metafor's add[2], to[2], drop00[2]


def _options(o):
    """metafor's two-element options as (first, second) keyword sets."""
    first, second = {}, {}
    for key in ("add", "to", "drop00"):
        v = o[key]
        if isinstance(v, list):
            first[key], second["mh_" + key] = v[0], v[1]
        else:
            first[key], second["mh_" + key] = v, DEFAULT_2ND[key]
    return first, second


def _fit(case):
    first, second = _options(case["options"])
    if case["measure"] in ("IRR", "IRD"):
        d = GAPS["escalc_datasets"][case["dataset"]]
        second.pop("mh_drop00")
        return mantel_haenszel_rates(case["measure"], d["x1i"], d["t1i"], d["x2i"], d["t2i"],
                                     correct=case["options"]["correct"], **first, **second)
    d = GAPS["binary_datasets"][case["dataset"]]
    return mantel_haenszel(case["measure"], d["ai"], d["bi"], d["ci"], d["di"],
                           correct=case["options"]["correct"], **first, **second)


def _common(res, case):
    z = res.beta / res.se
    for key, got in (("beta", res.beta), ("se", res.se), ("zval", z),
                     ("QE", res.QE), ("QEp", res.QE_p), ("I2", res.I2), ("H2", res.H2)):
        assert_close(got, case[key], CLOSED_FORM, key)
    assert (res.k, res.k_yi) == (case["k"], case["k_yi"])


@pytest.mark.parametrize("case", GAPS["mh"], ids=[c["id"] for c in GAPS["mh"]])
def test_mantel_haenszel_against_rma_mh(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on any of these sets
        res = _fit(case)
    _common(res, case)
    for key, got in res.tests().items():
        assert_close(got, case[key], CLOSED_FORM, key)
    if case["measure"] == "OR":
        assert res.k_bd == case["k_pos"]


@pytest.mark.parametrize("case", GAPS["peto"], ids=[c["id"] for c in GAPS["peto"]])
def test_peto_against_rma_peto(case):
    first, second = _options(case["options"])
    d = GAPS["binary_datasets"][case["dataset"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = peto(d["ai"], d["bi"], d["ci"], d["di"], **first, **second)
    _common(res, case)
    assert res.k_pos == case["k_pos"]


def test_breslow_day_expected_counts_have_the_common_odds_ratio():
    """Second route: each expected table has odds ratio psi and the observed margins."""
    d = GAPS["binary_datasets"]["bcg"]
    a, b, c, dd = (np.asarray(d[x], float) for x in ("ai", "bi", "ci", "di"))
    n1, n2, m1 = a + b, c + dd, a + c
    for psi in (0.3, 1.0, 2.5):
        bd, _, ta, _, k = breslow_day(psi, a, n1, n2, m1)
        assert k == len(a) and 0 <= ta <= bd
        # the same expected counts, by bisection on the monotone odds ratio of the table
        lo, hi = np.maximum(0, m1 - n2), np.minimum(n1, m1)
        for _ in range(200):
            mid = (lo + hi) / 2
            orat = mid * (n2 - m1 + mid) / ((n1 - mid) * (m1 - mid))
            lo, hi = np.where(orat < psi, mid, lo), np.where(orat < psi, hi, mid)
        A = (lo + hi) / 2
        var_a = 1 / (1 / A + 1 / (n1 - A) + 1 / (m1 - A) + 1 / (n2 - m1 + A))
        np.testing.assert_allclose(bd, np.sum((a - A) ** 2 / var_a), rtol=SECOND_ROUTE)
        if psi == 1.0:
            np.testing.assert_allclose(A, n1 * m1 / (n1 + n2), rtol=SECOND_ROUTE)


def test_cmh_is_cochran_times_n_minus_one_over_n_for_one_table():
    r = mantel_haenszel("OR", [12], [30], [5], [40], correct=False)
    N = 87
    np.testing.assert_allclose(r.cmh, r.cochran * (N - 1) / N, rtol=SECOND_ROUTE)
    assert np.isnan(r.bd_p)  # one table: no df for Breslow-Day (metafor: NA)
