"""Yusuf 1985's beta-blocker trials pooled with Peto's method, at the printed decimals.

Yusuf S et al. Beta blockade during and after myocardial infarction. Prog Cardiovasc Dis
1985;27:335-371, the Table 6 trials (dat.yusuf1985 in metadat; the page of Table 6 is not
recorded in the fixture). The Peto OR 0.9332 (0.7385 to 1.1792) is the value printed in
metafor's documentation of dat.yusuf1985 (and issue #3's acceptance text); matched at its 4
printed decimals (``tolerances.printed``).
"""

from __future__ import annotations

import warnings

from _helpers import fixture_json
from tolerances import printed

from acu_meta import pool

REF = fixture_json("metafor_reference.json")


def test_yusuf1985_peto_odds_ratio():
    """Table 6 trials: Peto OR 0.9332 (0.7385 to 1.1792), as printed in metafor's
    documentation of dat.yusuf1985."""
    d = REF["datasets"]["yusuf1985_t6"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pool(measure="PETO", method="PETO", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
    e = r.exp()
    assert printed(e["estimate"], "0.9332")
    assert printed(e["ci_low"], "0.7385") and printed(e["ci_high"], "1.1792")
