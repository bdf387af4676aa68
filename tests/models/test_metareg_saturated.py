"""A saturated meta-regression (k = p: as many coefficients as studies) fits without an
exception; REML's BIC, which needs log(k - p), is NaN (metafor: -Inf)."""

import math

import acu_meta as am


def test_saturated_reml_metareg_has_nan_bic_not_an_error():
    es = am.escalc("RR", ai=[4, 6], n1i=[123, 306], ci=[11, 29], n2i=[139, 303],
                   study=["A", "B"])
    res = am.metareg(es, [44, 55], method="REML")
    assert math.isnan(res.BIC) and math.isfinite(res.ll)
    assert res.summary()
