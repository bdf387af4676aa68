"""Properties every pooling method must have (hypothesis), and the results API."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acu_meta import escalc, pool
from acu_meta.models import estimate_tau2, fit
from acu_meta.results import PROFILES

METHODS = ["FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"]
REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor_reference.json").read_text())

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
variances = st.floats(0.005, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k=2, max_k=12):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(finite, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(variances, min_size=k, max_size=k)))
    return y, v


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.booleans(), st.randoms())
def test_permutation_invariance(data, method, hksj, rnd):
    y, v = data
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a = pool(yi=y, vi=v, method=method, hksj=hksj)
    b = pool(yi=y[perm], vi=v[perm], method=method, hksj=hksj)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-12)
    assert b.se == pytest.approx(a.se, rel=1e-7)


@SETTINGS
@given(studies(), st.sampled_from(METHODS), finite, st.floats(0.1, 10))
def test_location_scale_equivariance(data, method, shift, scale):
    # MD-type data: y -> a + b y, v -> b^2 v gives estimate -> a + b est, tau2 -> b^2 tau2
    y, v = data
    a = pool(yi=y, vi=v, method=method)
    b = pool(yi=shift + scale * y, vi=scale**2 * v, method=method)
    assert b.estimate == pytest.approx(shift + scale * a.estimate, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(scale**2 * a.tau2, rel=1e-6, abs=1e-10)
    assert b.I2 == pytest.approx(a.I2, rel=1e-6, abs=1e-8)


@SETTINGS
@given(studies(), st.sampled_from(METHODS), st.booleans())
def test_tau2_nonnegative_and_ci_contains_estimate(data, method, hksj):
    y, v = data
    r = pool(yi=y, vi=v, method=method, hksj=hksj)
    assert r.tau2 >= 0
    assert r.ci_low <= r.estimate <= r.ci_high
    assert r.pi_low <= r.ci_low + 1e-12 and r.pi_high >= r.ci_high - 1e-12
    if method != "FE":
        assert r.tau2_ci[0] <= r.tau2_ci[1]
        assert 0 <= r.I2 <= 100


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30), st.integers(0, 30),
                          st.integers(1, 30)), min_size=2, max_size=8),
       st.sampled_from(["RD", "OR", "RR"]))
def test_arm_swap_flips_sign(tables, measure):
    ai = np.array([min(a, n) for a, n, _, _ in tables], float)
    n1 = np.array([n for _, n, _, _ in tables], float)
    ci = np.array([min(c, m) for _, _, c, m in tables], float)
    n2 = np.array([m for _, _, _, m in tables], float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a = pool(measure=measure, ai=ai, n1i=n1, ci=ci, n2i=n2, method="DL")
        except ValueError:
            return  # nothing estimable (e.g. every study all-events): nothing to compare
        b = pool(measure=measure, ai=ci, n1i=n2, ci=ai, n2i=n1, method="DL")
    assert b.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-9, abs=1e-12)


def test_k1_is_handled():
    r = pool(yi=[0.3], vi=[0.04])
    assert r.k == 1 and r.tau2 == 0 and r.estimate == 0.3
    assert r.se == pytest.approx(0.2)
    assert any("k = 1" in n for n in r.notes)


def test_fisher_scoring_failure_case_converges():
    # rand10-50: metafor's default Fisher scoring does not converge; acu_meta brackets the
    # REML score and matches metafor's tight-control fit
    case = next(r for r in REF["rma"] if not r["default_converged"])
    d = REF["datasets"][case["dataset"]]
    r = pool(yi=d["yi"], vi=d["vi"], method="REML")
    assert r.tau2 == pytest.approx(case["tau2"], rel=1e-8)


def test_reml_global_maximum_on_a_bimodal_likelihood():
    # two tight clusters far apart give a flat/bimodal REML surface; the estimate must be a
    # root of the score and at least as likely as every other root or the boundary
    from acu_meta.models._core import _loglik, _score

    y = np.array([-2.0, -2.01, -1.99, 2.0, 2.02, 1.98, 0.0])
    v = np.array([0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 5.0])
    X = np.ones((7, 1))
    t, _ = estimate_tau2("REML", y, v, X)
    assert abs(_score(t, y, v, X, True)) < 1e-8
    for other in np.geomspace(1e-6, 100, 200):
        assert _loglik(t, y, v, X, True) >= _loglik(other, y, v, X, True) - 1e-9


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
    assert r5.Q == pytest.approx(q, rel=1e-12) and r5.tau2 == pytest.approx(tau2, rel=1e-12)
    assert r5.I2 == pytest.approx(100 * (q - 12) / q, rel=1e-12)
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
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)


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


def test_fit_rejects_bad_input():
    from acu_meta.models import ModelError

    with pytest.raises(ModelError):
        fit([0.1, 0.2], [0.1, -0.1])
    with pytest.raises(ModelError):
        fit([0.1, np.inf], [0.1, 0.1])
    with pytest.raises(ValueError):
        pool(yi=[0.1, 0.2], vi=[0.1, 0.1], method="XX")
