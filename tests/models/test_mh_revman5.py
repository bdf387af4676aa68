"""The Mantel-Haenszel engine under R's meta 8.3 RevMan 5 settings (issue #15, item 6: the MH
part of the RevMan 5 profile).

Fixture: the MH fits of ``tests/fixtures/meta_revman5.json`` (``validation/meta/
revman5_reference.R``: ``settings.meta("RevMan5")``, ``metabin(..., method = "MH")``, also with
``MH.exact = TRUE``), on dat.bcg, Fleiss1993bin, dat.collins1985a (bleeding, deaths),
dat.yusuf1985 table 6 and a made-up set with single- and double-zero studies. meta's RevMan 5
MH differs from metafor's ``rma.mh`` in three ways, all reproduced here: 1/2 added to every cell
of a study with a zero cell in the MH weights and variance (``MH.exact = FALSE``), double-zero
studies dropped for OR and RR, and for RD the Greenland & Robins (1985) variance and the raw
per-study risk differences. Closed forms: ``CLOSED_FORM``. Second route: without zero cells the
RevMan 5 OR and RR equal metafor's ``rma.mh`` (stored beside each fit as ``metafor_rma_mh``).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import fixture_json
from _metafor import assert_close
from tolerances import CLOSED_FORM

from acu_meta.models._mh import mantel_haenszel
from acu_meta.numeric import z_crit

RM = fixture_json("meta_revman5.json")
MH_FITS = [f for f in RM["fits"] if f["method"] == "MH"]


def _cells(f):
    d = RM["datasets"][f["dataset"]]
    a, n1 = np.array(d["event_e"], float), np.array(d["n_e"], float)
    c, n2 = np.array(d["event_c"], float), np.array(d["n_c"], float)
    return a, n1 - a, c, n2 - c


def revman5_mh(f):
    exact = f["MH_exact"]
    return mantel_haenszel(f["sm"], *_cells(f), correct=False, mh_add=0.0 if exact else 0.5,
                           mh_to="only0", mh_drop00=f["sm"] != "RD", rd_variance="gr1985",
                           rd_raw_effects=True)


@pytest.mark.parametrize("f", MH_FITS, ids=[f["id"] for f in MH_FITS])
def test_mh_equals_meta_revman5(f):
    r = revman5_mh(f)
    ref = f["common"]
    crit = z_crit(0.95)
    for key, got in (("TE", r.beta), ("seTE", r.se), ("statistic", r.beta / r.se),
                     ("lower", r.beta - crit * r.se), ("upper", r.beta + crit * r.se)):
        assert_close(got, ref[key], CLOSED_FORM, key)
    assert r.k_pos == f["k_MH"]
    if f["sm"] == "OR":
        # meta's "CMH" test is Cochran's uncorrected chi-square (variance with N, not N - 1)
        # on the raw cells (metafor's CO with correct = FALSE)
        raw = mantel_haenszel("OR", *_cells(f), correct=False)
        assert_close(raw.cochran, f["Q_CMH"], CLOSED_FORM, "Q_CMH")
        assert_close(raw.cochran_p, f["pval_Q_CMH"], CLOSED_FORM, "pval_Q_CMH")


def test_without_zero_cells_revman5_mh_or_rr_is_metafors():
    for f in MH_FITS:
        if f["profile"] != "revman5" or f["sparse"] or f["sm"] == "RD":
            continue
        mf = f["metafor_rma_mh"]
        assert_close(revman5_mh(f).beta, mf["beta"], CLOSED_FORM, f["id"])
        assert_close(mantel_haenszel(f["sm"], *_cells(f)).se, mf["se"], CLOSED_FORM, f["id"])


def test_rd_variances_differ_even_without_zero_cells():
    f = next(f for f in MH_FITS if f["id"] == "bcg-RD-MH-revman5")
    sato = mantel_haenszel("RD", *_cells(f)).se
    gr = revman5_mh(f).se
    assert_close(sato, f["metafor_rma_mh"]["se"], CLOSED_FORM, "Sato (metafor)")
    assert_close(gr, f["common"]["seTE"], CLOSED_FORM, "Greenland-Robins 1985 (meta)")
    assert abs(sato - gr) > 1e-6
