"""Subgroups and meta-regression against metafor 3.8.1 (``rma(mods = ...)``, subgroup fits and
the test of subgroup differences), case by case, on the committed fixture grid.

Fixture: ``tests/fixtures/metafor_reference.json`` (``validation/metafor/reference.R``; the
grid's size is guarded in ``tests/models/test_metafor_reference.py``). Tolerances
(``tests/tolerances.py``): ``CLOSED_FORM`` for closed-form tau2 estimators, ``ITERATIVE`` for
REML, ML, PM and EB.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _metafor import REF, assert_close, es_for, tol_for

from acu_meta import metareg, subgroups


@pytest.mark.parametrize("case", REF["metareg"], ids=[c["id"] for c in REF["metareg"]])
def test_metareg(case):
    es = es_for(case["dataset"], case["measure"])
    mods = np.asarray(REF["datasets"][case["dataset"]][case["mods"]], float)
    res = metareg(es, mods, method=case["method"], hksj=case["test"] == "knha")
    tol = tol_for(case["method"])
    for key, got in (("beta", res.beta), ("se", res.se), ("zval", res.statistic),
                     ("pval", res.p_value), ("ci_lb", res.ci_low), ("ci_ub", res.ci_high)):
        for g, w in zip(got, case[key], strict=True):
            assert_close(g, w, tol, key)
    for key, got in (("tau2", res.tau2), ("QE", res.QE), ("QEp", res.QE_p), ("QM", res.QM),
                     ("QMp", res.QM_p), ("I2", res.I2), ("H2", res.H2), ("R2", res.R2)):
        assert_close(got, case[key], tol, key)


@pytest.mark.parametrize("case", REF["subgroups"], ids=[c["id"] for c in REF["subgroups"]])
def test_subgroups(case):
    es = es_for(case["dataset"], case["measure"])
    groups = REF["datasets"][case["dataset"]][case["group_var"]]
    hksj = case["test"] == "knha"
    tol = tol_for(case["method"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = subgroups(es, groups, method=case["method"], hksj=hksj)
        common = subgroups(es, groups, method=case["method"], hksj=hksj, common_tau2=True)
    for g, want in case["groups"].items():
        r = res.groups[g]
        for key, got in (("beta", r.estimate), ("se", r.se), ("ci_lb", r.ci_low),
                         ("ci_ub", r.ci_high), ("tau2", r.tau2), ("QE", r.Q)):
            assert_close(got, want[key], tol, f"{g} {key}")
    assert_close(res.Q_between, case["Qb"], tol, "Qb")
    assert res.Q_between_df == case["Qb_df"]
    assert_close(res.Q_between_p, case["Qb_p"], tol, "Qb_p")
    c = case["common_tau2"]
    assert_close(common.common.tau2, c["tau2"], tol, "common tau2")
    assert_close(common.Q_between, c["QM"], tol, "QM")
    assert_close(common.Q_between_p, c["QMp"], tol, "QMp")
