"""Evidence structure joined for use (acu_meta.data.evidence): arm types, analysed n, nodes.

Sources: gerac2007.md (abstract: sham = superficial needling at non-acupuncture points;
conventional = guideline-based; Table 4 footnote: 387 per group analysed), cherkin2009.md
(simulated = toothpick, no skin penetration; usual care), three_arm_trials.md (Brinkhaus minimal
acupuncture = superficial needling at non-acupuncture points; waiting list).
"""

from __future__ import annotations

import pandas as pd
import pytest

from acu_meta import data
from acu_meta.data import evidence


def test_every_arm_is_typed_and_class_matches_role():
    a = evidence.arms()
    assert len(a) == len(data.load("arms"))
    assert a.arm_class.notna().all()
    role = {"verum": "verum", "sham": "sham", "no_acupuncture": "control"}
    assert (a.role.map(role) == a.arm_class).all()


def test_split_nodes_separate_unlike_shams_and_controls():
    a = evidence.arms().set_index(["study_id", "arm"])
    # the lumped network joins them ...
    assert a.loc[("haake2007", "sham"), "node_lumped"] == a.loc[("cherkin2009", "simulated"),
                                                                  "node_lumped"] == "sham"
    assert a.loc[("haake2007", "conventional"), "node_lumped"] == "usual_care"
    # ... the split network does not
    assert a.loc[("haake2007", "sham"), "node_split"] == "sham_penetrating"
    assert a.loc[("cherkin2009", "simulated"), "node_split"] == "sham_non_penetrating"
    assert a.loc[("brinkhaus2006", "minimal"), "node_split"] == "sham_penetrating"
    assert a.loc[("haake2007", "conventional"), "node_split"] == "guideline_care"
    assert a.loc[("cherkin2009", "usual_care"), "node_split"] == "usual_care"
    assert a.loc[("brinkhaus2006", "waiting_list"), "node_split"] == "waiting_list"


def test_analysed_beside_randomized():
    a = evidence.arms("haake2007").set_index("arm")
    assert a.n_randomized.to_dict() == {"verum": 387, "sham": 387, "conventional": 388}
    assert a.n_analysed.to_dict() == {"verum": 387, "sham": 387, "conventional": 387}
    # Cherkin: per-arm analysed n is a source-sheet gap: missing, not zero
    assert evidence.arms("cherkin2009").n_analysed.isna().all()
    # Mu 2020's trial totals, printed as analysed/randomized
    c = data.load("analysed_counts").set_index(["study_id", "arm"])
    assert (c.loc[("cherkin2009", "all"), "n_analysed"],
            c.loc[("cherkin2009", "all"), "n_randomized"]) == (583, 641)
    assert c.loc[("cherkin2009", "all"), "label"] == "secondary"
    assert c.loc[("leibing2002", "all"), ["n_analysed", "n_randomized"]].isna().all()


def test_outcome_structure_marks_gaps():
    o = evidence.outcomes("cherkin2009").set_index(["outcome", "timepoint"])
    assert o.loc[("rmdq", "8wk"), "domain"] == "function"
    assert o.loc[("rmdq", "8wk"), "role"] == "primary"
    assert bool(o.loc[("rmdq", "8wk"), "has_values"])
    # bothersomeness means by arm are a gap on the source sheet: classified, no values
    assert o.loc[("bothersomeness", "8wk"), "domain"] == "pain"
    assert not o.loc[("bothersomeness", "8wk"), "has_values"]
    g = evidence.outcomes("haake2007").set_index(["outcome", "timepoint"])
    assert g.loc[("response", "6mo"), ["domain", "role", "timepoint_class"]].tolist() == [
        "responder", "primary", "about_6_months"]
    assert g.loc[("hfaq", "6wk"), "role"] == "secondary"  # Table 6: secondary end points


def test_linde_pooled_smd_rests_on_32_trials():
    # three_arm_trials.md (corrected): "among the 32 trials reporting a continuous outcome"
    p = data.load("pooled").set_index("pooled_id").loc["linde2010_sham_noacu"]
    assert p.k_trials == 32
    assert pd.isna(p.n_patients)  # the 5754 patients are those of all 37 trials
    f = data.load("facts").set_index("fact_id")
    assert f.loc["linde_trials", "value"] == 37 and f.loc["linde_trials_continuous", "value"] == 32


def test_node_rejects_unknown_types():
    with pytest.raises(KeyError):
        evidence.node("sham", "acupressure", split=True)
    assert evidence.node("sham", "acupressure") == "sham"
