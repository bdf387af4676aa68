"""GRADE-style certainty (acu_meta.analyses.certainty): each rule by hand, the data route by a
hand Hedges' g, and perturbations of one transcribed number that name the ratings they change.

Sources of the real inputs: gerac2007.md Table 6 (HFAQ at 6 weeks, analysed n), cherkin2009.md
Table 2 via DataEx (RMDQ at 8 weeks; randomized n from Table 1), reviews.md (Mu 2020 Summary of
findings 3: low certainty for function and pain vs usual care).
"""

from __future__ import annotations

import csv
import math
import shutil

import pytest
from _helpers import DATA
from scipy import stats
from tolerances import CLOSED_FORM, ITERATIVE

from acu_meta.analyses import certainty as C
from acu_meta.analyses.certainty import TrialInput, rate


def close(a, b, tol):
    return abs(a - b) <= tol + tol * abs(b)


def _trials(pairs, domain="function", tc="end_of_treatment", n=1000.0, ids=None,
            treat=("verum",), control=("sham",)):
    ids = ids or ["haake2007", "cherkin2009"][: len(pairs)]
    return [TrialInput(s, y, v, "hfaq", "6wk", domain, tc, treat, control, n)
            for s, (y, v) in zip(ids, pairs, strict=True)]


def _rate(trials, ci, comparison="verum_vs_sham", estimate=None, mid=C.MID_SMD_SMALL, **kw):
    est = estimate if estimate is not None else (ci[0] + ci[1]) / 2
    return rate(comparison, trials, outcome_domain="function",
                timepoint_class="end_of_treatment", estimate=est, ci=ci, mid=mid, **kw)


# ----------------------------------------------------------------------------- imprecision

@pytest.mark.parametrize("ci,down", [((0.3, 0.9), 0),      # all important benefit
                                     ((-0.1, 0.15), 0),    # all trivial
                                     ((0.1, 0.5), 1),      # trivial to important
                                     ((-0.3, 0.1), 1),     # important harm to trivial
                                     ((-0.5, 0.5), 2)])    # harm to benefit
def test_imprecision_counts_thresholds_crossed(ci, down):
    r = _rate(_trials([(0.3, 0.01)]), ci)
    assert r.downgrades["imprecision"] == down
    assert f"{down} threshold(s) crossed" in r.domain("imprecision").reasons[0]


def test_optimal_information_size_by_hand():
    # 2 groups x 2 (z_.975 + z_.80)^2 / d^2, quantiles from scipy (second route)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.80)
    for d in (0.2, 0.5):
        assert close(C.optimal_information_size(d), 4 * (za + zb) ** 2 / d**2, CLOSED_FORM)
    assert round(C.optimal_information_size(0.2)) == 785


def test_imprecision_below_optimal_information_size():
    small = _trials([(0.6, 0.01)], n=700.0)  # 700 < 785 for SMD 0.2, CI clear of +-0.2
    r = _rate(small, (0.4, 0.8))
    assert r.downgrades["imprecision"] == 1
    assert "below the optimal information size 785" in " ".join(r.domain("imprecision").reasons)
    assert _rate(_trials([(0.6, 0.01)], n=800.0), (0.4, 0.8)).downgrades["imprecision"] == 0


def test_mid_scale_must_match():
    with pytest.raises(ValueError, match="MID"):
        _rate(_trials([(0.3, 0.01)]), (0.1, 0.5), mid=C.MID_RMDQ_HIGH)
    r = rate("verum_vs_sham", _trials([(1.0, 0.25)]), outcome_domain="function",
             timepoint_class="end_of_treatment", estimate=1.0, ci=(-0.5, 2.5),
             scale="RMDQ points", mid=C.MID_RMDQ_HIGH)
    assert r.downgrades["imprecision"] == 0  # within (-3, 3): trivial on the RMDQ; no OIS rule


# --------------------------------------------------------------------------- inconsistency

def _q_by_hand(y, v):
    w = [1 / x for x in v]
    m = sum(wi * yi for wi, yi in zip(w, y, strict=True)) / sum(w)
    return sum(wi * (yi - m) ** 2 for wi, yi in zip(w, y, strict=True))


def test_inconsistency_very_serious_by_hand():
    # GERAC-like 0.13 and Cherkin-like -0.18 (the per-trial verum vs sham values)
    y, v = (0.13, -0.18), (0.005, 0.0094)
    r = _rate(_trials(list(zip(y, v, strict=True))), (-2.0, 2.0))
    het = r.inputs["heterogeneity"]
    q = _q_by_hand(y, v)
    assert close(het["Q"], q, ITERATIVE)
    assert close(het["Q_p"], stats.chi2.sf(q, 1), ITERATIVE)
    assert close(het["I2"], 100 * (q - 1) / q, ITERATIVE)
    assert het["I2"] >= C.I2_VERY_SERIOUS and het["Q_p"] < C.Q_P_SERIOUS
    assert r.downgrades["inconsistency"] == 2


def test_inconsistency_serious_from_i2_alone():
    # Q = 2.5 on 1 df: I2 = 60% (>= 50) with p = 0.114 (>= 0.10): serious, not very serious
    v = (0.01, 0.01)
    d = math.sqrt(2.5 * (v[0] + v[1]))
    r = _rate(_trials([(0.5, v[0]), (0.5 + d, v[1])]), (-1.0, 2.0))
    het = r.inputs["heterogeneity"]
    assert close(het["I2"], 60.0, ITERATIVE) and het["Q_p"] > C.Q_P_SERIOUS
    assert r.downgrades["inconsistency"] == 1
    assert "I2 >= 50%" in r.domain("inconsistency").reasons[-1]


def test_agreeing_pair_is_not_downgraded_but_says_k2_cannot_show_agreement():
    r = _rate(_trials([(0.40, 0.0056), (0.45, 0.0096)]), (0.3, 0.6),
              comparison="verum_vs_usual_care")
    assert r.downgrades["inconsistency"] == 0
    assert any("cannot show that the trials agree" in s for s in r.domain("inconsistency").reasons)


def test_single_trial_inconsistency_not_assessable():
    r = _rate(_trials([(0.13, 0.005)]), (-0.01, 0.27))
    d = r.domain("inconsistency")
    assert d.downgrade == 0 and not d.assessable


# ---------------------------------------------------------------------------- indirectness

def test_indirectness_sham_lumping_from_arm_types():
    # data/arm_types.csv: GERAC sham penetrating off-point, Cherkin simulated non-penetrating
    t = [TrialInput("haake2007", 0.1, 0.005, "hfaq", "6wk", "function", "end_of_treatment",
                    ("verum",), ("sham",), 745),
         TrialInput("cherkin2009", -0.2, 0.009, "rmdq", "8wk", "function", "end_of_treatment",
                    ("individualized", "standardized"), ("simulated",), 477)]
    r = _rate(t, (-1.0, 1.0))
    d = r.domain("indirectness")
    assert d.downgrade == 1
    assert "penetrating off point (haake2007)" in d.reasons[0]
    assert "non penetrating (cherkin2009)" in d.reasons[0]


def test_indirectness_outcome_mixing_and_cap_at_two():
    # GERAC pain pooled with Cherkin function, question = function, sham lumped: 3 issues -> 2
    t = [TrialInput("haake2007", 0.1, 0.005, "cpgs_pain", "6wk", "pain", "end_of_treatment",
                    ("verum",), ("sham",), 745),
         TrialInput("cherkin2009", -0.2, 0.009, "rmdq", "8wk", "function", "end_of_treatment",
                    ("individualized", "standardized"), ("simulated",), 477)]
    d = _rate(t, (-1.0, 1.0)).domain("indirectness")
    assert d.downgrade == 2
    assert d.reasons[-1] == "3 issue(s): downgrade 2."
    assert any("different outcome domains" in s for s in d.reasons)


def test_indirectness_time_point_mixing():
    t = [TrialInput("haake2007", 0.4, 0.005, "hfaq", "6wk", "function", "end_of_treatment",
                    ("verum",), ("conventional",), 731),
         TrialInput("haake2007", 0.4, 0.005, "hfaq", "6mo", "function", "about_6_months",
                    ("verum",), ("conventional",), 731)]
    d = _rate(t, (0.3, 0.5), comparison="verum_vs_usual_care").domain("indirectness")
    assert d.downgrade == 1 and "time-point classes" in d.reasons[0]


# ---------------------------------------------------------------------- risk of bias (data)

ROB_DOMAINS = ("random_sequence_generation", "allocation_concealment",
               "blinding_participants_personnel", "blinding_outcome_assessment",
               "incomplete_outcome_data", "selective_reporting", "other_bias")


def _package(tmp_path, rob=None, arm_sd=None):
    """A copy of data/ with Mu 2020 judgements filled in (hypothetical values, for the rule
    only: the real ones are not transcribed) and/or one arm value changed."""
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    if rob is not None:
        path = folder / "risk_of_bias.csv"
        rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
        for r in rows:
            r["judgement"] = rob.get((r["study_id"], r["domain"]), rob.get("*", ""))
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if arm_sd is not None:
        (study, arm, outcome, tp, source, old, new) = arm_sd
        path = folder / "arm_outcomes.csv"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        hits = [i for i, ln in enumerate(lines)
                if ln.startswith(f"{study},{arm},{outcome},{tp},value,")
                and f",{source}," in ln]
        assert len(hits) == 1
        before = lines[hits[0]]
        lines[hits[0]] = before.replace(f",{old},{source},", f",{new},{source},", 1)
        assert lines[hits[0]] != before
        path.write_text("".join(lines), encoding="utf-8")
    return folder


def test_untranscribed_rob_counts_as_unclear():
    r = C.rate_from_data("verum_vs_usual_care")
    d = r.domain("risk of bias")
    assert d.downgrade == 1
    assert "14 judgements of Mu 2020 are not transcribed" in d.reasons[-1]


def test_rob_rule_by_weight_share(tmp_path):
    low = _package(tmp_path / "low", rob={"*": "low"})
    base = C.rate_from_data("verum_vs_sham", where=low)
    assert base.downgrades["risk of bias"] == 0
    # GERAC carries > 50% of the inverse-variance weight: one high domain -> serious
    w = base.inputs["trials"]
    share = (1 / w[0].vi) / (1 / w[0].vi + 1 / w[1].vi)
    assert w[0].study_id == "haake2007" and share > C.ROB_WEIGHT_SHARE
    one = _package(tmp_path / "one", rob={"*": "low",
                                          ("haake2007", "allocation_concealment"): "high"})
    assert C.rate_from_data("verum_vs_sham", where=one).downgrades["risk of bias"] == 1
    two = _package(tmp_path / "two", rob={"*": "low",
                                          ("haake2007", "allocation_concealment"): "high",
                                          ("haake2007", "blinding_outcome_assessment"): "high"})
    assert C.rate_from_data("verum_vs_sham", where=two).downgrades["risk of bias"] == 2


# ------------------------------------------------------------------------ publication bias

def test_publication_bias_not_assessable_below_ten():
    d = _rate(_trials([(0.3, 0.01), (0.3, 0.01)]), (0.25, 0.35)).domain("publication bias")
    assert d.downgrade == 0 and not d.assessable and "k = 2 < 10" in d.reasons[0]


def test_publication_bias_with_ten_trials_and_egger():
    ids = [f"t{i}" for i in range(10)]
    t = _trials([(0.3, 0.01)] * 10, ids=ids)
    assert _rate(t, (0.25, 0.35), egger_p=0.04).downgrades["publication bias"] == 1
    assert _rate(t, (0.25, 0.35), egger_p=0.40).downgrades["publication bias"] == 0


# ------------------------------------------------------------------------------ the rating

def test_levels_and_floor():
    assert C._level(0) == "high" and C._level(2) == "low" and C._level(7) == "very low"
    r = _rate(_trials([(0.13, 0.005), (-0.18, 0.0094)]), (-1.97, 1.93))
    assert sum(r.downgrades.values()) >= 3 and r.rating == "very low"


def test_mu2020_rating_beside_ours():
    # reviews.md, Mu 2020 Summary of findings 3: function vs usual care, low certainty
    r = C.rate_from_data("verum_vs_usual_care")
    assert r.review_rating == "low"
    s = C.rate_from_data("verum_vs_sham")
    assert s.review_rating is None and "not transcribed" in s.review_note
    assert "Mu 2020: not transcribed" in s.summary()


def test_result_api():
    t = C.rate_all()
    f = t.to_frame()
    assert list(f.comparison) == list(C.COMPARISONS)
    assert set(C._DOMAINS) <= set(f.columns)
    r = t["verum_vs_sham"]
    assert r.conf_int() == r.ci
    assert len(r.to_frame()) == 7 and "<b>" in r._repr_html_() and "<b>" in t._repr_html_()
    with pytest.raises(KeyError):
        rate("verum_vs_placebo", _trials([(0.1, 0.01)]), outcome_domain="function",
             timepoint_class="end_of_treatment")


# ------------------------------------------------------------------- data route, by hand

def _g(m1, s1, n1, m2, s2, n2):
    df = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    j = math.exp(math.lgamma(df / 2) - 0.5 * math.log(df / 2) - math.lgamma((df - 1) / 2))
    return j * (m1 - m2) / sp


def test_trial_inputs_by_hand():
    t = {x.study_id: x for x in C.trial_inputs("verum_vs_sham")}
    # gerac2007.md Table 6, HFAQ 6 wk: verum 64.0 (21.1, 370), sham 61.3 (20.8, 375)
    assert close(t["haake2007"].yi, _g(64.0, 21.1, 370, 61.3, 20.8, 375), CLOSED_FORM)
    assert t["haake2007"].n_total == 745
    # cherkin2009.md Table 2, RMDQ 8 wk, verum = individualized 6.4 (5.3, 157) + standardized
    # 6.3 (5.7, 158) combined by the Handbook 6.5.2.10 formula; simulated 5.4 (4.9, 162);
    # lower RMDQ is better, so the benefit-positive SMD is minus g.
    n1, n2 = 157, 158
    m = (n1 * 6.4 + n2 * 6.3) / (n1 + n2)
    s = math.sqrt(((n1 - 1) * 5.3**2 + (n2 - 1) * 5.7**2 + n1 * n2 / (n1 + n2) * 0.1**2)
                  / (n1 + n2 - 1))
    assert close(t["cherkin2009"].yi, -_g(m, s, n1 + n2, 5.4, 4.9, 162), CLOSED_FORM)
    assert "randomized n" in t["cherkin2009"].note
    # pain at the end of treatment: only GERAC has arm values (Cherkin's bothersomeness means
    # are a source-sheet gap), so the pain rating rests on one trial
    pain = C.trial_inputs("verum_vs_sham", "pain")
    assert [x.study_id for x in pain] == ["haake2007"]
    assert round(pain[0].yi, 2) == 0.13  # issue #13: GERAC 0.13 (-0.01, 0.27)


# ------------------------------------------------------------- perturbations (acceptance)

def test_perturbing_cherkin_usual_care_sd_changes_exactly_these_ratings(tmp_path):
    """cherkin2009.md Table 2 (DataEx): usual care RMDQ at 8 weeks, SD 6.0 -> 3.0.

    Affected: the two comparisons with a usual-care arm. verum_vs_usual_care's imprecision goes
    from 1 to 2 (the HKSJ interval widens past -0.2); sham_vs_usual_care's estimate moves but
    every downgrade was already at its cap; verum_vs_sham (no usual-care arm) is unchanged.
    The final ratings stay very low: with Mu's judgements untranscribed, every comparison is
    already at the floor.
    """
    base = C.rate_all()
    pert = C.rate_all(where=_package(tmp_path, arm_sd=("cherkin2009", "usual_care", "rmdq",
                                                         "8wk", "dataex", "6.0", "3.0")))
    changed = {c: {d: (base[c].downgrades[d], pert[c].downgrades[d]) for d in C._DOMAINS
                   if base[c].downgrades[d] != pert[c].downgrades[d]} for c in C.COMPARISONS}
    assert changed == {"verum_vs_sham": {}, "verum_vs_usual_care": {"imprecision": (1, 2)},
                       "sham_vs_usual_care": {}}
    assert base["verum_vs_sham"].estimate == pert["verum_vs_sham"].estimate
    assert base["verum_vs_sham"].ci == pert["verum_vs_sham"].ci
    for c in ("verum_vs_usual_care", "sham_vs_usual_care"):
        assert pert[c].estimate > base[c].estimate
    assert [r.rating for r in pert.ratings] == [r.rating for r in base.ratings] == ["very low"] * 3


def test_perturbing_one_rob_judgement_changes_exactly_these_ratings(tmp_path):
    """One risk-of-bias judgement, with all others set low (hypothetical Mu 2020 values: the
    real ones are not transcribed). GERAC allocation concealment low -> high: GERAC carries
    more than half the weight in every comparison, so risk of bias goes 0 -> 1 in all three;
    the final rating changes only for verum_vs_usual_care (low -> very low), the other two
    being at the floor already. The same change for Cherkin (30-37% of the weight) changes
    nothing.
    """
    low = C.rate_all(where=_package(tmp_path / "low", rob={"*": "low"}))
    assert [r.rating for r in low.ratings] == ["very low", "low", "very low"]
    gerac = C.rate_all(where=_package(tmp_path / "g", rob={
        "*": "low", ("haake2007", "allocation_concealment"): "high"}))
    cherkin = C.rate_all(where=_package(tmp_path / "c", rob={
        "*": "low", ("cherkin2009", "allocation_concealment"): "high"}))
    assert {c: (low[c].downgrades["risk of bias"], gerac[c].downgrades["risk of bias"])
            for c in C.COMPARISONS} == {c: (0, 1) for c in C.COMPARISONS}
    assert {c: (low[c].rating, gerac[c].rating) for c in C.COMPARISONS
            if low[c].rating != gerac[c].rating} == {"verum_vs_usual_care": ("low", "very low")}
    assert [r.downgrades for r in cherkin.ratings] == [r.downgrades for r in low.ratings]
    assert [r.rating for r in cherkin.ratings] == [r.rating for r in low.ratings]


def test_inconsistency_from_prediction_interval_alone():
    # k = 3, equal variances 0.01, Q = 3.5 on 2 df: I2 = 43% (< 50), p = 0.17 (>= 0.10), yet
    # tau2 = s^2 - v = 0.0175 - 0.01 > 0 widens the prediction interval past the MID 0.5 that
    # the interval under judgement (0.55 to 0.65) does not reach
    d = math.sqrt(0.035 / 2)
    t = _trials([(0.6 - d, 0.01), (0.6, 0.01), (0.6 + d, 0.01)],
                ids=["haake2007", "cherkin2009", "brinkhaus2006"])
    r = _rate(t, (0.55, 0.65), mid=C.MID_SMD_MODERATE)
    het = r.inputs["heterogeneity"]
    assert close(het["Q"], 3.5, ITERATIVE) and het["I2"] < C.I2_SERIOUS
    assert het["Q_p"] >= C.Q_P_SERIOUS
    assert close(het["tau2"], 0.0075, ITERATIVE)  # REML with equal variances: s^2 - v
    lo, hi = het["pi"]
    assert lo < 0.5 < hi
    assert r.downgrades["inconsistency"] == 1
    assert "prediction interval crosses" in r.domain("inconsistency").reasons[-1]
    # the same trials judged against MID 0.2: the prediction interval stays above 0.2
    assert _rate(t, (0.55, 0.65)).downgrades["inconsistency"] == 0


def test_rob_domains_match_the_data_dictionary():
    from acu_meta.data._schema import read_package

    enum = read_package()["risk_of_bias"].field("domain").enum
    assert tuple(enum) == C.ROB_DOMAINS == ROB_DOMAINS
