"""The results API of a pooled fit (``acu_meta.results.meta``): frames, intervals, summary,
frozen fields; the RevMan profiles checked by hand; double-zero studies reported and warned.

Tolerance: the RevMan 5 quantities are recomputed by hand in the test from their defining
formulas (``SECOND_ROUTE``, ``tests/tolerances.py``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from _helpers import fixture_json
from tolerances import SECOND_ROUTE

from acu_meta import escalc, pool
from acu_meta.results import PROFILES

REF = fixture_json("metafor_reference.json")


def test_results_api():
    d = REF["datasets"]["bcg"]
    es = escalc("RR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], study=d["study"])
    r = pool(es)
    frame = r.to_frame()
    assert list(frame.row) == ["study"] * 13 + ["pooled", "prediction"]
    assert frame.weight.iloc[:13].sum() == pytest.approx(100)
    assert r.conf_int() == (r.ci_low, r.ci_high)
    assert r.conf_int(exp=True)[0] == pytest.approx(math.exp(r.ci_low))
    assert "<table" in r._repr_html_()
    assert "Random-Effects Model (k = 13" in r.summary()
    lo, hi = r.prediction_interval("higgins")
    assert lo < r.pi_low and hi > r.pi_high  # t with k - 2 df is wider than the normal
    assert r.test_homogeneity().df == 12
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.estimate = 0  # frozen
    # presentation never changes numbers
    before = r.to_dict()
    r.summary(digits=2)
    assert r.to_dict() == before


def test_profiles_table_and_revman5_by_hand():
    assert set(PROFILES) == {"metafor", "revman5", "revman_web"}
    d = REF["datasets"]["bcg"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r5 = pool(measure="OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], profile="revman5")
    # RevMan 5 by hand: Q around the MH estimate with IV weights, DL tau2 from that Q
    es = escalc("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
    mh = next(c for c in REF["mh"] if c["id"] == "bcg-OR")["beta"]
    w = 1 / es.vi
    q = np.sum(w * (es.yi - mh) ** 2)
    tau2 = max(0, (q - 12) / (w.sum() - (w**2).sum() / w.sum()))
    assert r5.Q == pytest.approx(q, rel=SECOND_ROUTE)
    assert r5.tau2 == pytest.approx(tau2, rel=SECOND_ROUTE)
    assert r5.I2 == pytest.approx(100 * (q - 12) / q, rel=SECOND_ROUTE)
    assert math.isnan(r5.pi_low) and r5.method == "DL"
    web = pool(es, profile="revman_web")
    assert web.method == "REML" and web.hksj and web.test == "t"
    direct = pool(es, method="REML", hksj=True)
    assert web.estimate == direct.estimate and web.ci_low == direct.ci_low
    # SMD under revman5 uses the approximate J
    n = REF["datasets"]["normand1999"]
    kw = {c: n[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
    a = pool(measure="SMD", profile="revman5", **kw)
    b = pool(escalc("SMD", exact=False, **kw), method="DL")
    assert a.estimate == pytest.approx(b.estimate, rel=SECOND_ROUTE)


def test_double_zero_reported_and_warned():
    d = REF["datasets"]["hand_double_zero"]
    with pytest.warns(UserWarning, match="double-zero"):
        r = pool(measure="OR", method="MH", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"],
                 study=d["study"])
    assert r.k == 5 and r.excluded[0][0] == "DZ1" and r.Q_df == 3
    with pytest.warns(UserWarning, match="DZ1"):
        r = pool(escalc("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], study=d["study"],
                        drop00=True))
    assert r.k == 4 and r.excluded[0][0] == "DZ1"
