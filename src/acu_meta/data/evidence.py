"""The evidence structure (issue #13) joined for use: arms with their types and analysed n,
outcomes with their domain, role and time-point class, and node names for lumped or split
networks.

The tables themselves are ``data/arm_types.csv``, ``data/trial_outcomes.csv``,
``data/analysed_counts.csv``, ``data/risk_of_bias.csv`` and ``data/review_certainty.csv``
(described in ``data/datapackage.json``, checked by ``acu-meta check-data``, check
``evidence_structure``). This module only joins them; it computes nothing.

Examples
--------
>>> from acu_meta.data import evidence
>>> a = evidence.arms("haake2007")
>>> a.loc[a.arm == "sham", ["sham_type", "node_lumped", "node_split"]].values.tolist()
[['penetrating_off_point', 'sham', 'sham_penetrating']]
>>> evidence.arms("cherkin2009").set_index("arm").node_split["simulated"]
'sham_non_penetrating'

Validated by ``tests/data/test_evidence.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["arms", "node", "outcomes", "NODES_LUMPED", "NODES_SPLIT"]

#: Lumped network nodes by arm class (the network of issue #6).
NODES_LUMPED = {"verum": "verum", "sham": "sham", "control": "usual_care"}
#: Split nodes: sham by type, control by type (issue #13, build item 4).
NODES_SPLIT = {
    ("sham", "penetrating_off_point"): "sham_penetrating",
    ("sham", "non_penetrating"): "sham_non_penetrating",
    ("sham", "unknown"): "sham_unknown_type",
    ("control", "guideline_care"): "guideline_care",
    ("control", "usual_care"): "usual_care",
    ("control", "waiting_list"): "waiting_list",
    ("control", "physiotherapy"): "physiotherapy",
    ("control", "advice_exercise"): "advice_exercise",
    ("control", "unknown"): "control_unknown_type",
}


def node(arm_class: str, sham_type: str = "not_applicable",
         control_type: str = "not_applicable", split: bool = False) -> str:
    """Network node of an arm: its class (lumped), or its sham / control type (split)."""
    if not split or arm_class == "verum":
        return NODES_LUMPED[arm_class]
    kind = sham_type if arm_class == "sham" else control_type
    return NODES_SPLIT[(arm_class, kind)]


def arms(study_id: str | None = None, where: Path | str | None = None) -> pd.DataFrame:
    """Every arm (``arms.csv``) with its type (``arm_types.csv``), its analysed n where a trial
    table prints one (``analysed_counts.csv``, per arm), and its lumped and split node.

    Columns: study_id, arm, arm_label, role, n_randomized, intervention, arm_class, sham_type,
    control_type, n_analysed, n_analysed_population, n_analysed_location, node_lumped,
    node_split, type_source (source_id, location and label of the arm type). Empty where a
    table has no value (an arm without a type, or without a printed analysed n)."""
    from . import load

    a = load("arms", where)[["study_id", "arm", "arm_label", "role", "n_randomized"]]
    t = load("arm_types", where)
    t = t.assign(type_source=t.source_id + ", " + t.location + " (" + t.label + ")")[
        ["study_id", "arm", "intervention", "arm_class", "sham_type", "control_type",
         "type_source"]]
    c = load("analysed_counts", where)
    c = c[c.arm != "all"].rename(columns={"population": "n_analysed_population",
                                          "location": "n_analysed_location"})[
        ["study_id", "arm", "n_analysed", "n_analysed_population", "n_analysed_location"]]
    out = a.merge(t, on=["study_id", "arm"], how="left").merge(c, on=["study_id", "arm"],
                                                                  how="left")
    typed = out.arm_class.notna()
    out["node_lumped"] = None
    out["node_split"] = None
    out.loc[typed, "node_lumped"] = [node(r.arm_class) for r in out[typed].itertuples()]
    out.loc[typed, "node_split"] = [node(r.arm_class, r.sham_type, r.control_type, split=True)
                                    for r in out[typed].itertuples()]
    if study_id is not None:
        out = out[out.study_id == study_id]
    return out.reset_index(drop=True)


def outcomes(study_id: str | None = None, where: Path | str | None = None) -> pd.DataFrame:
    """Every classified outcome and time point (``trial_outcomes.csv``) with its instrument,
    scale and direction (``outcomes.csv``), and whether arm values are transcribed for it
    (``has_values``: a mean and SD in ``arm_outcomes.csv`` or a percentage in
    ``proportions.csv``)."""
    from . import load

    to = load("trial_outcomes", where)
    oc = load("outcomes", where)[["outcome", "label", "instrument", "scale", "direction"]]
    ao = load("arm_outcomes", where)
    pr = load("proportions", where)
    vals = set(zip(ao[ao["mean"].notna() & ao.sd.notna()].study_id,
                   ao[ao["mean"].notna() & ao.sd.notna()].outcome,
                   ao[ao["mean"].notna() & ao.sd.notna()].timepoint, strict=True))
    vals |= set(zip(pr[pr.percent.notna()].study_id, pr[pr.percent.notna()].outcome,
                    pr[pr.percent.notna()].timepoint, strict=True))
    out = to.merge(oc.rename(columns={"label": "outcome_label"}), on="outcome", how="left")
    out["has_values"] = [(r.study_id, r.outcome, r.timepoint) in vals for r in out.itertuples()]
    if study_id is not None:
        out = out[out.study_id == study_id]
    return out.reset_index(drop=True)
