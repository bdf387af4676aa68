"""Issue #14, build items 1-4: each failure a metafor/meta user met is reproduced here and now
passes. DataFrames in (``escalc(data=)``, ``pool(df)``, ``bayes(df)``, ``metareg(df)``),
strict keyword arguments (``test="knha"`` is metafor's name for ``hksj``; ``weights=``,
``tau2_method=`` and ``foo=`` raise TypeError), one ``level`` convention, categorical
moderators and formulas, the result methods, ``network`` at the top level with an interval from
``compare()``, and NaNs that come with a warning or a note.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from _helpers import fixture_json
from _metafor import REF
from tolerances import SAME_ENGINE, SECOND_ROUTE

import acu_meta as am
from acu_meta import numeric
from acu_meta.errors import InputError
from acu_meta.models.network import NetworkError


def bcg() -> pd.DataFrame:
    d = REF["datasets"]["bcg"]
    return pd.DataFrame({"author": d["study"], "tpos": d["ai"], "tneg": d["bi"],
                         "cpos": d["ci"], "cneg": d["di"], "ablat": d["mod"],
                         "alloc": d["group"], "year": np.arange(13) + 1948})


def es_bcg():
    return am.escalc("RR", data=bcg(), ai="tpos", bi="tneg", ci="cpos", di="cneg",
                     slab="author")


# ------------------------------------------------------------------------ 1. DataFrames


def test_escalc_reads_columns_of_data_like_metafor():
    df = bcg()
    es = es_bcg()
    by_arrays = am.escalc("RR", ai=df.tpos, bi=df.tneg, ci=df.cpos, di=df.cneg,
                          study=df.author)
    np.testing.assert_array_equal(es.yi, by_arrays.yi)
    assert es.study == tuple(df.author)
    assert list(es.to_frame().year) == list(df.year)  # the other columns travel along
    with pytest.raises(InputError, match="no such column.*tpos, tneg"):
        am.escalc("RR", data=df, ai="TPOS", bi="tneg", ci="cpos", di="cneg")
    with pytest.raises(TypeError, match="DataFrame"):
        am.escalc("RR", data={"a": 1}, ai="a")


def test_pool_takes_a_dataframe_and_keeps_labels_and_columns():
    es = es_bcg()
    frame = es.to_frame()
    r1 = am.pool(frame)  # columns yi and vi, as escalc's output in metafor
    r2 = am.pool(frame, yi="yi", vi="vi", study="study")
    r3 = am.pool(bcg(), measure="RR", ai="tpos", bi="tneg", ci="cpos", di="cneg",
                 study="author")
    ref = am.pool(es)
    for r in (r1, r2, r3):
        assert r.estimate == pytest.approx(ref.estimate, rel=SAME_ENGINE)
    assert r3.studies == tuple(bcg().author)
    assert list(r3.study_frame().ablat) == list(bcg().ablat)
    assert list(ref.data.alloc) == list(bcg().alloc)
    with pytest.raises(TypeError, match="column names"):
        am.pool(bcg())  # no yi/vi columns: say what is needed
    with pytest.raises(TypeError, match="needs EffectSizes"):
        am.pool([0.1, 0.2])


def test_bayes_and_metareg_take_a_dataframe():
    frame = es_bcg().to_frame()
    b = am.bayes(frame.head(4), yi="yi", vi="vi", tau_prior="half-normal:0.5", level=90)
    b_ref = am.bayes(es_bcg().subset(np.arange(13) < 4), tau_prior="half-normal:0.5",
                     level=0.9)
    assert b.mu.median == pytest.approx(b_ref.mu.median, rel=SAME_ENGINE)
    assert b.level == b_ref.level == 0.9 and b.studies == b_ref.studies
    assert list(b.data.ablat) == list(bcg().ablat[:4])
    m = am.metareg(frame, "~ ablat", yi="yi", vi="vi")
    m_ref = am.metareg(es_bcg(), np.asarray(bcg().ablat, float))
    np.testing.assert_allclose(m.beta, m_ref.beta, rtol=SAME_ENGINE)
    assert m.names == ("intrcpt", "ablat")
    assert m.studies == tuple(bcg().author)


# --------------------------------------------------------------- 2. keywords and level


def test_test_knha_is_hksj_and_unknown_keywords_raise():
    es = es_bcg()
    assert am.pool(es, test="knha").ci_low == am.pool(es, hksj=True).ci_low
    assert am.pool(es, test="z").test == "z"
    assert am.metareg(es, "ablat", test="knha").test == "t"
    with pytest.raises(TypeError, match="disagree"):
        am.pool(es, test="knha", hksj=False)
    with pytest.raises(TypeError, match=r"'tau2_method' \(use method=\)"):
        am.pool(es, tau2_method="DL")
    with pytest.raises(TypeError, match="'weights' .not supported"):
        am.pool(es, weights=np.ones(13))
    with pytest.raises(TypeError, match="'foo'"):
        am.pool(es, foo=1)
    with pytest.raises(TypeError, match="did you mean yi="):
        am.pool(yj=[0.1, 0.2], vi=[0.1, 0.1])
    with pytest.raises(TypeError, match="'foo'"):
        am.bayes(es, tau_prior="half-normal:0.5", foo=1)
    with pytest.raises(TypeError, match="'foo'"):
        am.metareg(es, "ablat", foo=1)
    with pytest.raises(InputError, match="test='adhoc'"):
        am.pool(es, test="adhoc")


@pytest.mark.parametrize("level", [90, 0.90, 90.0, np.float64(0.9)])
def test_one_level_convention(level):
    es = es_bcg()
    assert am.pool(es, level=level).level == 0.9
    assert am.metareg(es, "ablat", level=level).level == 0.9
    assert am.subgroups(es, bcg().alloc, level=level).level == 0.9
    assert am.pool_many(es.yi[None, :], es.vi[None, :], level=level).level == 0.9
    r = am.pool(es)
    assert r.conf_int(level) == pytest.approx(am.pool(es, level=90).conf_int(), rel=SECOND_ROUTE)


@pytest.mark.parametrize("bad", [0, 100, -5, 150, "95", True, math.nan])
def test_bad_levels_are_refused_everywhere(bad):
    es = es_bcg()
    with pytest.raises(InputError, match="level"):
        numeric.level_fraction(bad)
    with pytest.raises(InputError, match="level"):
        am.pool(es, level=bad)
    with pytest.raises(InputError, match="level"):
        am.metareg(es, "ablat", level=bad)


def test_result_functions_given_the_wrong_object_say_what_they_need():
    es = es_bcg()
    with pytest.raises(TypeError, match=r"leave_one_out\(\) needs a MetaResult"):
        am.results.leave_one_out(es)
    with pytest.raises(TypeError, match="needs a MetaRegressionResult"):
        am.anova(am.pool(es))
    with pytest.raises(TypeError, match="needs a MetaRegressionResult"):
        am.permutest(am.pool(es))
    with pytest.raises(TypeError, match="not a MetaResult"):
        am.metareg(am.pool(es), "ablat")
    with pytest.raises(TypeError, match="needs a DataFrame"):
        am.network([1, 2], measure="MD")


# ------------------------------------------------------------------------ 3. moderators


def test_categorical_moderator_by_series_name_and_formula():
    es = es_bcg()
    df = bcg()
    by_series = am.metareg(es, df.alloc)  # used to fail: "could not convert string to float"
    by_name = am.metareg(es, "alloc")
    by_formula = am.metareg(es, "~ C(alloc)")
    hand = am.metareg(es, np.column_stack([df.alloc == "random",
                                           df.alloc == "systematic"]).astype(float))
    for r in (by_series, by_name, by_formula):
        np.testing.assert_allclose(r.beta, hand.beta, rtol=SAME_ENGINE)
    assert by_name.names == ("intrcpt", "alloc[T.random]", "alloc[T.systematic]")
    both = am.metareg(es, ["ablat", "alloc"])
    formula = am.metareg(es, "~ ablat + alloc")
    np.testing.assert_allclose(both.beta, formula.beta, rtol=SECOND_ROUTE)
    no_intercept = am.metareg(es, "~ 0 + alloc")
    assert "intrcpt" not in no_intercept.names
    # the omnibus test of a no-intercept model tests every coefficient (metafor)
    assert no_intercept.QM_df == 3


def test_missing_moderator_rows_are_left_out_with_a_warning():
    df = bcg()
    df.loc[2, "ablat"] = np.nan
    es = am.escalc("RR", data=df, ai="tpos", bi="tneg", ci="cpos", di="cneg", slab="author")
    with pytest.warns(UserWarning, match="1 study"):
        r = am.metareg(es, "~ ablat")
    assert r.k == 12 and df.author[2] not in r.studies
    with pytest.raises(InputError, match="ablatt"):
        am.metareg(es, "~ ablatt")
    with pytest.raises(InputError, match="columns: trial|columns: author"):
        am.metareg(es, "~ ablat +")
    with pytest.raises(TypeError, match="needs data"):
        am.metareg(am.escalc("GEN", yi=es.yi, vi=es.vi), "~ ablat")


def test_predict_anova_coef_vcov_residuals_exist_on_results():
    es = es_bcg()
    r = am.pool(es)
    assert r.coef()["intrcpt"] == r.estimate
    assert r.vcov().iloc[0, 0] == pytest.approx(r.se**2, rel=SECOND_ROUTE)
    np.testing.assert_allclose(r.residuals(), r.yi - r.estimate, rtol=SECOND_ROUTE)
    p = r.predict(transf=np.exp)
    assert p.pred[0] == pytest.approx(math.exp(r.estimate), rel=SECOND_ROUTE)
    assert p.pi_low[0] == pytest.approx(math.exp(r.pi_low), rel=SECOND_ROUTE)
    m = am.metareg(es, "~ ablat + alloc")
    assert list(m.coef().index) == list(m.names)
    assert m.vcov().shape == (4, 4)
    np.testing.assert_allclose(m.fitted() + m.residuals(), m.yi, rtol=SECOND_ROUTE)
    assert am.predict(m, [[30, 0, 0]]).pred[0] == pytest.approx(
        m.beta[0] + 30 * m.beta[1], rel=SECOND_ROUTE)
    with pytest.raises(ValueError, match="3 moderator"):
        m.predict([1.0, 2.0])
    with pytest.raises(InputError, match="newmods for"):
        m.predict(pd.DataFrame({"ablat": [30]}))  # alloc missing


# --------------------------------------------------------------------------- 4. results


def test_to_frame_and_html_show_the_whole_summary():
    r = am.pool(es_bcg())
    frame = r.to_frame()
    assert list(frame.row[-2:]) == ["pooled", "prediction"]
    page = r._repr_html_()
    for needle in ("tau^2", "I^2", "Q(df = 12)", "zval", "Prediction interval", "Aronson"):
        assert needle in page, needle
    m = am.metareg(es_bcg(), "ablat")
    assert "QM(df = 1)" in m._repr_html_() and "R^2" in m._repr_html_()


def test_network_is_exported_and_compare_gives_the_interval():
    from acu_meta.results import network

    assert callable(network) and network is am.network
    module = importlib.import_module("acu_meta.results.network")
    assert module.network is network  # the module stays reachable
    rows = []
    for s, (t1, t2, m1) in enumerate([("A", "B", 0.5), ("B", "C", 0.2), ("A", "C", 0.8)]):
        rows += [{"study": f"s{s}", "treatment": t1, "mean": m1, "sd": 1.0, "n": 40},
                 {"study": f"s{s}", "treatment": t2, "mean": 0.0, "sd": 1.0, "n": 40}]
    net = network(pd.DataFrame(rows), measure="MD", method="FE")
    c = net.compare("A", "C", level=90)
    half = numeric.z_crit(0.90) * c.se
    assert (c.ci_low, c.ci_high) == pytest.approx((c.estimate - half, c.estimate + half),
                                                  rel=SECOND_ROUTE)
    assert c.p_value == pytest.approx(numeric.p_two_sided(c.estimate / c.se), rel=SECOND_ROUTE)
    ci = net.conf_int(level=90)
    assert ci.loc["B", "ci_high"] == pytest.approx(
        net.estimate[1] + numeric.z_crit(90) * net.se[1], rel=SECOND_ROUTE)
    with pytest.raises(NetworkError, match="the treatments are A, B, C"):
        net.compare("A", "D")


def test_higgins_interval_at_k2_warns():
    r = am.pool(yi=[0.1, 0.5], vi=[0.04, 0.09])
    with pytest.warns(UserWarning, match="needs k >= 3"):
        lo, hi = r.prediction_interval("higgins")
    assert math.isnan(lo) and math.isnan(hi)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        am.pool(yi=[0.1, 0.5, 0.2], vi=[0.04, 0.09, 0.05]).prediction_interval("higgins")


def test_k1_summary_says_not_estimable():
    text = am.pool(yi=[0.3], vi=[0.04]).summary()
    assert "nan%" not in text
    assert "I^2 (total heterogeneity / total variability):   not estimable (k = 1)" in text


def test_revman5_h2_is_at_least_one_as_meta():
    # meta's RevMan 5 settings: H = max(1, sqrt(Q / df)); with Q < df, I2 = 0 and H = 1
    # (tests/fixtures/meta_revman5.json, fit yusuf1985_t6-OR-Inverse-revman5)
    meta = fixture_json("meta_revman5.json")
    fit = next(f for f in meta["fits"] if f["id"] == "yusuf1985_t6-OR-Inverse-revman5")
    ds = meta["datasets"]["yusuf1985_t6"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = am.pool(measure="OR", ai=ds["event_e"], n1i=ds["n_e"], ci=ds["event_c"],
                    n2i=ds["n_c"], profile="revman5")
    assert r.Q < r.Q_df
    assert r.I2 == 100 * fit["heterogeneity"]["I2"] == 0
    assert r.H2 == fit["heterogeneity"]["H"] ** 2 == 1
    # above df the value is Q / df, as before
    r = am.pool(es_bcg(), profile="revman5")
    assert r.H2 == pytest.approx(r.Q / r.Q_df, rel=SECOND_ROUTE)


def test_subgroups_by_column_name():
    es = es_bcg()
    by_name = am.subgroups(es, "alloc")
    by_labels = am.subgroups(es, list(bcg().alloc))
    assert by_name.Q_between == by_labels.Q_between
    assert list(by_name.groups) == ["random", "alternate", "systematic"]
    with pytest.raises(InputError, match="the columns are"):
        am.subgroups(es, "allocation")
