"""forest and funnel draw anything of the drawable result shape and never fit (issue #11):
a hand-made result (a stand-in for a Bayesian one) with every fitting function disabled,
rows that are not pooled, refit rows with their own intervals, and subgroup footers."""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import acu_meta as am
from acu_meta import numeric
from acu_meta.plots import forest, funnel, save_figure
from acu_meta.results import PooledResult, PooledRow, StudyRows, leave_one_out, rows, subgroups

REF = json.loads((Path(__file__).resolve().parents[1] / "fixtures" /
                  "metafor_reference.json").read_text())
BCG = REF["datasets"]["bcg"]
NORMAND = REF["datasets"]["normand1999"]
SVG = "{http://www.w3.org/2000/svg}"
FIT_NAMES = ("fit", "fit_many", "pool", "pool_many", "mantel_haenszel", "peto", "q_profile_ci",
             "estimate_tau2", "refit", "leave_one_out")


def _no_fitting(monkeypatch):
    """Make every fitting function of acu_meta raise, wherever it was imported."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was fitted")

    for name, mod in list(sys.modules.items()):
        if name.startswith("acu_meta"):
            for attr in FIT_NAMES:
                if callable(getattr(mod, attr, None)):
                    monkeypatch.setattr(mod, attr, refuse)


def _texts(fig, tmp_path) -> dict[str, list[str]]:
    """gid -> the texts inside that group of the SVG."""
    root = ET.parse(save_figure(fig, tmp_path / "f.svg")).getroot()
    return {g.get("id"): ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
            for g in root.iter(f"{SVG}g") if g.get("id")}


@dataclasses.dataclass(frozen=True)
class HandMade:
    """A result of the shape that no acu_meta function made (a Bayesian result would look so:
    posterior median with a credible interval, a predictive interval, shrunken estimates)."""

    measure: str = "SMD"
    level: float = 0.95
    description: str = "Bayesian random-effects model"
    footer: tuple = (("tau", "tau: posterior median 0.12"),)

    @property
    def study_rows(self) -> StudyRows:
        return StudyRows(labels=("Trial A", "Trial B", "Trial C"), yi=[0.1, 0.45, 0.3],
                         vi=[0.04, 0.02, 0.01], weight=[np.nan] * 3, theta=[0.2, 0.38, 0.3],
                         theta_low=[-0.1, 0.1, 0.1], theta_high=[0.5, 0.6, 0.5])

    @property
    def pooled_rows(self) -> tuple:
        return (PooledRow("pooled", "Posterior median", 0.3, 0.1, 0.5, interval="95% CrI",
                          model="bayesian", description="half-normal prior on tau"),
                PooledRow("prediction", "Predictive interval", 0.3, -0.2, 0.8,
                          interval="95% CrI", model="bayesian"))


def test_a_hand_made_result_is_drawn_without_fitting(monkeypatch, tmp_path):
    res = HandMade()
    assert isinstance(res, PooledResult)
    _no_fitting(monkeypatch)
    with pytest.raises(AssertionError, match="fitted"):
        am.pool(yi=[0.1, 0.2], vi=[0.1, 0.1])  # the guard works
    t = _texts(forest(res), tmp_path)
    assert [t[f"label-{i}"] for i in range(3)] == [["Trial A"], ["Trial B"], ["Trial C"]]
    z = numeric.Z975
    want = f"0.10 [{0.1 - z * 0.2:.2f}, {0.1 + z * 0.2:.2f}]"
    assert t["effect-0"] == [want]
    assert t["effect-diamond-bayesian"] == ["0.30 [0.10, 0.50]"]
    assert t["effect-prediction"] == ["[-0.20, 0.80]"]
    assert t["footer-tau"] == ["tau: posterior median 0.12"]
    assert t["header-model"] == ["Bayesian random-effects model"]
    assert "diamond-bayesian" in t and "prediction-interval" in t
    assert all(f"shrunken-{i}" in t and f"shrunken-ci-{i}" in t for i in range(3))
    assert not any(k.startswith("weight-") for k in t)  # no weights: no weight column
    every = {s for texts in t.values() for s in texts}
    assert "Total (95% CrI)" in every and "Predictive interval" in every
    assert "Weight" not in every


def test_funnel_draws_the_hand_made_result_without_fitting(monkeypatch):
    _no_fitting(monkeypatch)
    fig = funnel(HandMade())
    ax = fig.axes[0]
    line = next(a for a in ax.lines if a.get_gid() == "pooled-line")
    assert line.get_xdata()[0] == 0.3
    studies = next(a for a in ax.lines if a.get_gid() == "studies")
    np.testing.assert_allclose(studies.get_ydata(), np.sqrt([0.04, 0.02, 0.01]))


def test_rows_are_drawn_as_pooled_false_rows_without_a_fit(monkeypatch, tmp_path):
    es = am.escalc("SMD", study=NORMAND["study"],
                   **{c: NORMAND[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = _texts(forest(am.pool(es), pooled=False), tmp_path)
    drawable = rows(es)
    _no_fitting(monkeypatch)
    t = _texts(forest(drawable), tmp_path)
    k = len(NORMAND["study"])
    for i in range(k):
        assert t[f"label-{i}"] == fitted[f"label-{i}"]
        assert t[f"effect-{i}"] == fitted[f"effect-{i}"]
        assert t[f"arm-{i}-m1i"] == fitted[f"arm-{i}-m1i"]
    assert not any(g.startswith(("diamond", "weight-", "footer-")) for g in t)


def test_refit_rows_are_drawn_with_their_own_interval(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = am.escalc("SMD", study=NORMAND["study"],
                       **{c: NORMAND[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
        loo = leave_one_out(am.pool(es, hksj=True))
    t = _texts(forest(loo), tmp_path)
    assert t["effect-0"] == [f"{loo.estimate[0]:.2f} [{loo.ci_low[0]:.2f}, "
                             f"{loo.ci_high[0]:.2f}]"]
    assert t["effect-diamond-random"] == [f"{loo.full_estimate:.2f} [{loo.full_ci_low:.2f}, "
                                          f"{loo.full_ci_high:.2f}]"]


def test_subgroup_footers_come_from_the_result(tmp_path):
    es = am.escalc("RR", ai=BCG["ai"], bi=BCG["bi"], ci=BCG["ci"], di=BCG["di"],
                   study=BCG["study"])
    sub = subgroups(es, BCG["group"])
    t = _texts(forest(sub), tmp_path)
    assert t["footer-subgroups"] == [sub.subgroup_test]
    assert t["footer-heterogeneity"] == [dict(sub.overall.footer)["heterogeneity"]]
    for g, r in sub.groups.items():
        assert t[f"het-{g}"] == [dict(r.footer)["heterogeneity"]]
