"""Normand 1999's worked examples, reproduced from the published tables themselves (a second
route beside the metafor grid).

Normand SLT. Meta-analysis: formulating, evaluating, combining, and reporting. Stat Med
1999;18:321-359: Table III (p. 330), Table VII (p. 349), Table VIII (p. 351), Table IX
(p. 352). Tolerance: the published tables print 1 to 4 decimals, so each value is matched at
its printed decimals (``tolerances.printed``: half a unit of the last printed digit).
"""

from __future__ import annotations

import numpy as np
from _helpers import fixture_json
from tolerances import printed

from acu_meta import escalc, pool

REF = fixture_json("metafor_reference.json")


def test_normand1999_table3_and_table7_hine():
    """Table III (p. 330): risk differences (percentage points) and their variances for the
    Hine 1989 trials; Table VII (p. 349): FE, REML and DL pooled RD 2.94 (0.4 to 5.5)."""
    d = REF["datasets"]["hine1989"]
    es = escalc("RD", ai=d["ai"], n1i=d["n1i"], ci=d["ci"], n2i=d["n2i"], study=d["study"])
    yi, vi = es.yi * 100, es.vi * 100**2
    for got, txt in zip(yi, ["2.8026", "0.0000", "1.9711", "1.7961", "3.5334", "4.4031"],
                        strict=True):
        assert printed(got, txt)
    for got, txt in zip(vi, ["17.7575", "37.5657", "8.1323", "10.8998", "8.0114", "6.1320"],
                        strict=True):
        assert printed(got, txt)
    for method in ("FE", "REML", "DL"):
        r = pool(yi=yi, vi=vi, method=method)
        assert printed(r.estimate, "2.94")
        assert printed(r.ci_low, "0.4") and printed(r.ci_high, "5.5")
        assert printed(r.tau2, "0.000")


def test_normand1999_tables8_9_stroke():
    """Table VIII (p. 351): stroke-unit trials, MD with a pooled SD in both arms, and their
    variances; Table IX (p. 352): FE, DL and REML pooled MD, CI and tau2."""
    d = {k: np.asarray(v, float) if k not in ("study", "kind", "source") else v
         for k, v in REF["datasets"]["normand1999"].items()}
    sdp = np.sqrt(((d["n1i"] - 1) * d["sd1i"] ** 2 + (d["n2i"] - 1) * d["sd2i"] ** 2)
                  / (d["n1i"] + d["n2i"] - 2))
    es = escalc("MD", m1i=d["m1i"], sd1i=sdp, n1i=d["n1i"], m2i=d["m2i"], sd2i=sdp,
                n2i=d["n2i"])
    np.testing.assert_array_equal(es.yi, [-20, -2, -55, -71, -4, 1, 11, -10, 7])
    for got, txt in zip(es.vi, ["40.59", "2.05", "15.28", "150.22", "20.19", "1.22", "95.38",
                                "8.03", "20.69"], strict=True):
        assert printed(got, txt)
    fe = pool(es, method="FE")
    assert printed(fe.estimate, "-3.49") and printed(fe.ci_low, "-5.03")
    assert printed(fe.ci_high, "-1.96")
    dl = pool(es, method="DL")
    assert printed(dl.estimate, "-14.10") and printed(dl.ci_low, "-24.45")
    assert printed(dl.ci_high, "-3.75") and printed(dl.tau2, "218.72")
    reml = pool(es, method="REML")
    assert printed(reml.estimate, "-15.12") and printed(reml.ci_low, "-32.67")
    assert printed(reml.ci_high, "2.43") and printed(reml.tau2, "685.20")
