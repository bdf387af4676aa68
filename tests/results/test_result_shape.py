"""The drawable result shape (issue #11): who satisfies it, what it holds, rows() without
fitting, profiles as data, and bias_summary's notes instead of swallowed errors."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import acu_meta as am
from acu_meta.results import (
    PROFILES,
    PooledResult,
    PooledRow,
    Profile,
    StudyRows,
    SubgroupedResult,
    UnpooledRows,
    cumulative,
    leave_one_out,
    rows,
    small_study_effects,
    subgroups,
    trimfill,
)
from acu_meta.results import sensitivity as rsens

REF = json.loads((Path(__file__).resolve().parents[1] / "fixtures" /
                  "metafor_reference.json").read_text())
BCG = REF["datasets"]["bcg"]
NORMAND = REF["datasets"]["normand1999"]
FIT_NAMES = ("fit", "fit_many", "pool", "pool_many", "mantel_haenszel", "peto", "q_profile_ci",
             "estimate_tau2", "refit")


def _no_fitting(monkeypatch):
    """Make every fitting function of acu_meta raise, wherever it was imported."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was fitted")

    for name, mod in list(sys.modules.items()):
        if name.startswith("acu_meta"):
            for attr in FIT_NAMES:
                if callable(getattr(mod, attr, None)):
                    monkeypatch.setattr(mod, attr, refuse)


def _bcg(measure="RR"):
    return am.escalc(measure, ai=BCG["ai"], bi=BCG["bi"], ci=BCG["ci"], di=BCG["di"],
                     study=BCG["study"])


def _normand():
    return am.escalc("SMD", study=NORMAND["study"],
                     **{c: NORMAND[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})


def _pool(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return am.pool(*args, **kwargs)


# ------------------------------------------------------------------------------ the protocol


def test_results_that_pool_or_list_studies_satisfy_the_protocol():
    res = _pool(_bcg())
    sub = subgroups(_bcg(), BCG["group"])
    shaped = [res, sub, leave_one_out(res), cumulative(res), trimfill(res), rows(_bcg()),
              _pool(_bcg(), method="MH")]
    assert all(isinstance(x, PooledResult) for x in shaped)
    assert isinstance(sub, SubgroupedResult)
    assert not isinstance(res, SubgroupedResult)
    assert not isinstance(res.study_rows, PooledResult)  # the rows alone are not a result


def test_an_object_without_a_footer_is_not_of_the_shape():
    @dataclasses.dataclass
    class Partial:
        measure: str = "MD"
        level: float = 0.95
        study_rows: object = None
        pooled_rows: tuple = ()
        description: str = ""

    assert not isinstance(Partial(), PooledResult)


def test_meta_result_rows_are_its_studies_and_its_pooled_numbers():
    res = _pool(_normand(), hksj=True)
    sr = res.study_rows
    assert sr.labels == res.studies and np.array_equal(sr.yi, res.yi)
    assert np.array_equal(sr.vi, res.vi) and np.array_equal(sr.weight, res.weights)
    assert sr.arms is res.arms
    lo, hi = sr.interval(res.level)
    frame = res.study_frame()
    np.testing.assert_array_equal(lo, frame.ci_low)
    np.testing.assert_array_equal(hi, frame.ci_high)
    pooled, pred = res.pooled_rows
    assert (pooled.kind, pooled.estimate, pooled.ci_low, pooled.ci_high) == (
        "pooled", res.estimate, res.ci_low, res.ci_high)
    assert (pred.kind, pred.ci_low, pred.ci_high) == ("prediction", res.pi_low, res.pi_high)
    assert pooled.interval == "95% CI" and pooled.model == "random"
    assert pooled.description == f"REML, Hartung-Knapp t({res.k - 1})"
    assert res.description == "Random-effects model (REML)"
    assert [name for name, _ in res.footer] == ["heterogeneity", "overall"]
    assert dict(res.footer)["overall"].startswith("Test for overall effect: t = ")


def test_fixed_effect_results_have_no_prediction_row():
    for res in (_pool(_bcg(), method="FE"), _pool(_bcg(), method="MH")):
        assert [p.kind for p in res.pooled_rows] == ["pooled"]
        assert res.pooled_rows[0].model == "fixed"
    assert _pool(_bcg(), method="MH").pooled_rows[0].description == "Mantel-Haenszel, z"


def test_to_frame_is_built_from_the_rows():
    res = _pool(_bcg())
    frame = res.to_frame()
    assert list(frame.row) == ["study"] * res.k + ["pooled", "prediction"]
    assert frame.estimate.iloc[res.k] == res.estimate
    assert frame.ci_high.iloc[res.k + 1] == res.pi_high


def test_subgroup_result_shape_and_its_test_line():
    sub = subgroups(_bcg(), BCG["group"])
    assert sub.study_rows.labels == sub.overall.studies
    assert sub.pooled_rows == sub.overall.pooled_rows
    assert sub.measure == "RR" and sub.level == 0.95
    assert set(sub.groups) == set(sub.group_of)
    i2 = max(0.0, 100 * (sub.Q_between - sub.Q_between_df) / sub.Q_between)
    assert sub.subgroup_test.endswith(f"I\u00b2 = {i2:.0f}%")
    assert f"Chi\u00b2 = {sub.Q_between:.2f}, df = {sub.Q_between_df}" in sub.subgroup_test


def test_leave_one_out_rows_carry_each_refit_and_its_own_interval():
    res = _pool(_normand(), hksj=True)
    loo = leave_one_out(res)
    sr = loo.study_rows
    np.testing.assert_array_equal(sr.yi, loo.estimate)
    lo, hi = sr.interval(loo.level)
    np.testing.assert_array_equal(lo, loo.ci_low)  # the t interval, not yi +/- z sqrt(vi)
    np.testing.assert_array_equal(hi, loo.ci_high)
    assert not sr.pooled
    (full,) = loo.pooled_rows
    assert (full.estimate, full.ci_low, full.ci_high) == (res.estimate, res.ci_low, res.ci_high)


def test_trimfill_rows_are_observed_then_filled_with_the_filled_model():
    tf = trimfill(_pool(_bcg()))
    assert tf.k0 > 0
    assert tf.study_rows.labels[-1] == f"Filled {tf.k0}" and len(tf.study_rows) == tf.k + tf.k0
    assert tf.pooled_rows[0].estimate == tf.estimate
    np.testing.assert_allclose(np.sum(tf.study_rows.weight), 100.0, rtol=1e-12)


# ------------------------------------------------------------------------------ rows()


def test_rows_from_effect_sizes_fit_nothing(monkeypatch):
    es = am.escalc("GEN", yi=[0.1, np.nan, 0.4], vi=[0.04, 0.05, 0.02], study=["a", "b", "c"])
    _no_fitting(monkeypatch)
    with pytest.raises(AssertionError, match="fitted"):
        am.pool(es)  # the guard works
    out = rows(es, measure="OR", level=90)
    assert isinstance(out, UnpooledRows) and out.pooled_rows == () and out.footer == ()
    assert out.study_rows.labels == ("a", "c")  # the study without an effect is left out
    assert out.measure == "OR" and out.ratio and out.level == 0.9
    assert np.isnan(out.study_rows.weight).all()
    lo, _ = out.study_rows.interval(out.level)
    assert lo[0] == pytest.approx(0.1 - 1.6448536269514722 * 0.2, rel=1e-14)  # qnorm(0.95)
    yi = rows(yi=[0.1, 0.4], sei=[0.2, 0.1], study=["a", "c"])
    np.testing.assert_allclose(yi.study_rows.vi, [0.04, 0.01])


def test_rows_keep_arm_data_for_the_forest_columns():
    out = rows(_bcg())
    assert out.measure == "RR"
    assert list(out.study_rows.arms.ai) == BCG["ai"]


def test_study_rows_check_their_lengths():
    with pytest.raises(ValueError, match="2 values for 3 study rows"):
        StudyRows(labels=("a", "b", "c"), yi=[1, 2, 3], vi=[1, 1], weight=[1, 1, 1])
    with pytest.raises(ValueError, match="both ci_low and ci_high"):
        StudyRows(labels=("a",), yi=[1], vi=[1], weight=[1], ci_low=[0])
    with pytest.raises(ValueError, match="kind must be"):
        PooledRow("diamond", "x", 0, -1, 1)


# ------------------------------------------------------------------------------ profiles


def test_profiles_are_frozen_data():
    assert all(isinstance(p, Profile) and p.name == k for k, p in PROFILES.items())
    r5 = PROFILES["revman5"]
    assert (r5.tau2_method, r5.exact_j, r5.q_around_mh, r5.i2_from_q) == ("DL", False, True, True)
    assert PROFILES["revman_web"].hksj and not PROFILES["metafor"].hksj
    with pytest.raises(dataclasses.FrozenInstanceError):
        r5.hksj = True


def test_result_carries_the_profile_as_applied():
    binary = _pool(_bcg("OR"), profile="revman5")
    assert binary.options.name == "revman5" and binary.options.q_around_mh
    # RevMan's Mantel-Haenszel Q applies to 2x2 counts only, and only with DL
    assert not _pool(_normand(), profile="revman5").options.q_around_mh
    assert not _pool(_bcg("OR"), profile="revman5", method="REML").options.q_around_mh
    web = _pool(_normand(), profile="revman_web", hksj=False)
    assert web.options.hksj is False and web.options.tau2_method == "REML"


def test_i2_from_q_is_a_profile_flag():
    # revman5 reports I2 = (Q - df) / Q whatever the tau2 estimator; metafor's is tau2-based
    r5 = _pool(_normand(), profile="revman5", method="REML")
    mf = _pool(_normand(), method="REML")
    df = r5.k - 1
    assert r5.I2 == pytest.approx(100 * (r5.Q - df) / r5.Q, rel=1e-14)
    assert r5.H2 == pytest.approx(r5.Q / df, rel=1e-14)
    assert abs(mf.I2 - r5.I2) > 0.1 and mf.Q == r5.Q


def test_sensitivity_reads_the_flag_not_the_note():
    r5 = _pool(_bcg("OR"), profile="revman5")
    silent = dataclasses.replace(r5, notes=())  # no human-readable note left to match
    assert any("Mantel-Haenszel-based Q" in n for n in leave_one_out(silent).notes)
    plain = dataclasses.replace(r5, options=dataclasses.replace(r5.options, q_around_mh=False))
    assert not any("Mantel-Haenszel-based Q" in n for n in leave_one_out(plain).notes)


# ------------------------------------------------------------------------------ bias summary


def test_bias_summary_records_why_a_method_was_not_computed():
    two = _pool(yi=[0.1, 0.5], vi=[0.04, 0.09])
    s = small_study_effects(two)
    assert s.egger_stat is None and s.begg_tau is None and s.failsafe_n is not None
    assert any(n.startswith("Egger's test (regtest) not computed: ") and "3 studies" in n
               for n in s.notes)
    assert any(n.startswith("Begg's rank test") for n in s.notes)
    assert tuple(s.to_dict()) == rsens.BIAS_KEYS and s.to_dict() == rsens.bias_summary(two)
    assert "Note: " in s.summary() and len(s.to_frame()) == len(rsens.BIAS_KEYS)


def test_bias_summary_lets_bugs_through(monkeypatch):
    def broken(result):
        raise RuntimeError("a bug")

    monkeypatch.setattr(rsens, "ranktest", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        rsens.bias_summary(_pool(_bcg()))


def test_bias_summary_without_failures_has_no_notes():
    s = small_study_effects(_pool(_bcg()))
    assert s.notes == () and s.failsafe_n == 598  # metafor's fsn(dat.bcg) example
    assert not math.isnan(s.egger_stat)
