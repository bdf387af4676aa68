"""The transcribed evidence base: loads, validates, and every number carries provenance."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _helpers import DATA

from acu_meta import data

EXPECTED = ["sources", "outcomes", "arms", "arm_outcomes", "proportions", "contrasts",
            "pooled", "pooled_rows", "facts", "heterogeneity_priors",
            "trial_outcomes", "arm_types", "analysed_counts", "risk_of_bias", "review_certainty"]


def test_list_datasets():
    assert data.list_datasets() == EXPECTED


def test_package_is_valid():
    assert data.validate() == []


@pytest.mark.parametrize("name", EXPECTED)
def test_each_dataset_loads(name):
    frame = data.load(name)
    assert len(frame) > 0
    assert list(frame.columns) == list(data.describe(name).column)


def _evidence_tables():
    dp = json.loads((DATA / "datapackage.json").read_text())
    return [r for r in dp["resources"] if r.get("acu:evidence")]


def test_every_numeric_cell_has_provenance():
    sources = set(data.load("sources").source_id)
    n_cells = 0
    for res in _evidence_tables():
        text = data.printed(res["name"])
        numeric = [f["name"] for f in res["schema"]["fields"] if f["type"] in ("number", "integer")]
        for line, row in text.iterrows():
            for col in numeric:
                if row[col] == "":
                    continue
                n_cells += 1
                where = f"{res['name']} line {line} {col}"
                assert row["source_id"] in sources, where
                assert row["location"].strip(), where
                assert row["label"] in ("reported", "secondary"), where
    # the evidence base is not trivially small (guards against an empty transcription)
    assert n_cells > 400, n_cells


def test_no_derived_value_is_typed_in():
    for res in _evidence_tables():
        assert "derived" not in set(data.printed(res["name"]).label)


def test_secondary_values_cite_a_secondary_or_review_source():
    kinds = data.load("sources").set_index("source_id").kind
    for res in _evidence_tables():
        t = data.printed(res["name"])
        sec = t[t.label == "secondary"]
        for line, row in sec.iterrows():
            study = row.get("study_id", "")
            assert row["source_id"] != study or kinds[row["source_id"]] != "trial", (
                f"{res['name']} line {line}: a secondary value must name the source that printed it"
            )


def test_printed_decimals_are_kept():
    rows = data.printed("pooled_rows")
    cherkin = rows[rows.study.str.startswith("Cherkin")].iloc[0]
    assert cherkin["estimate"] == "0.90"  # NBK56291 Figure 8 prints 0.90, not 0.9
    assert data.load("pooled_rows").loc[cherkin.name, "estimate"] == pytest.approx(0.9)


def test_provenance_lookup_by_key_and_line():
    p = data.provenance("arms", ("haake2007", "conventional"), "n_randomized")
    assert p.value == 388 and p.label == "reported" and p.source_id == "haake2007"
    assert p.doi == "10.1001/archinte.167.17.1892"
    assert "Abstract" in p.location
    q = data.provenance("arms", p.line, "n_randomized")
    assert q == p
    assert "388" in str(p)
    with pytest.raises(KeyError):
        data.provenance("arms", ("haake2007", "nosuch"), "n_randomized")


def test_gerac_table6_transcription_spot_check():
    # Haake 2007 Table 6: CPGS pain intensity at 6 months, verum 40.2 +/- 22.5 (377)
    ao = data.load("arm_outcomes")
    row = ao[(ao.study_id == "haake2007") & (ao.arm == "verum") & (ao.outcome == "cpgs_pain")
             & (ao.timepoint == "6mo")]
    assert len(row) == 1
    assert (row["mean"].iloc[0], row["sd"].iloc[0], row["n"].iloc[0]) == (40.2, 22.5, 377)


def test_outcome_dictionary_gives_direction_for_every_outcome_used():
    outcomes = data.load("outcomes").set_index("outcome")
    for name in ("arm_outcomes", "proportions", "contrasts"):
        used = set(data.load(name).outcome)
        assert used <= set(outcomes.index)
    assert outcomes.loc["cpgs_pain", "direction"] == "lower_is_better"
    assert outcomes.loc["hfaq", "direction"] == "higher_is_better"


def test_types():
    arms = data.load("arms")
    assert isinstance(arms.n_randomized.dtype, pd.Int64Dtype)
    assert data.load("pooled_rows").excluded.dtype == bool
