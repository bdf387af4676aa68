"""Helpers shared by test modules in every folder (import them: ``from _helpers import ...``).

``tests/`` is on ``sys.path`` through ``pythonpath`` in pyproject's pytest options; the suite
runs with ``--import-mode=importlib``, so test modules never import each other or conftest.
"""

from __future__ import annotations

import csv
import functools
import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
FIXTURES = REPO / "tests" / "fixtures"

# A small package whose every number is consistent at printed precision. Values were computed
# independently of acu_meta: 40/100 Clopper-Pearson 0.3032948..0.5027908 is R's
# binom.test(40, 100)$conf.int; the forest rows pool (fixed effect, inverse variance, by hand)
# to MD 1.00: each row has variance 2.00**2/50 * 2 = 0.16 (CI 1.00 +/- 1.96*0.4 = 0.22 to 1.78),
# the pooled variance is 0.08 (CI 1.00 +/- 1.96*0.2828 = 0.45 to 1.55, z = 3.54), Q = 0.
CLEAN = {
    "sources": [
        dict(source_id="trial1", kind="trial", citation="Trial One 2001", doi="", pmid="",
             pmcid="", url="", note=""),
        dict(source_id="review1", kind="meta_analysis", citation="Review One 2010", doi="",
             pmid="", pmcid="", url="", note=""),
    ],
    "outcomes": [
        dict(outcome="pain", label="Pain", instrument="VAS", scale="0-100", unit="mm",
             direction="lower_is_better", note=""),
        dict(outcome="response", label="Response", instrument="", scale="", unit="",
             direction="higher_is_better", note=""),
    ],
    "arms": [
        dict(study_id="trial1", arm="a", arm_label="A", role="verum", detail="",
             n_randomized="100", source_id="trial1", location="Abstract", label="reported",
             note=""),
        dict(study_id="trial1", arm="b", arm_label="B", role="sham", detail="",
             n_randomized="100", source_id="trial1", location="Abstract", label="reported",
             note=""),
    ],
    "arm_outcomes": [
        dict(study_id="trial1", arm="a", outcome="pain", timepoint="baseline", statistic="value",
             n="100", mean="60.0", sd="10.0", source_id="trial1", location="Table 2",
             label="reported", note=""),
        dict(study_id="trial1", arm="a", outcome="pain", timepoint="8wk", statistic="value",
             n="95", mean="40.0", sd="12.0", source_id="trial1", location="Table 2",
             label="reported", note=""),
        dict(study_id="trial1", arm="a", outcome="pain", timepoint="8wk", statistic="change",
             n="", mean="20.0", sd="", source_id="trial1", location="Abstract",
             label="reported", note=""),
        dict(study_id="trial1", arm="b", outcome="pain", timepoint="8wk", statistic="value",
             n="96", mean="45.0", sd="12.0", source_id="trial1", location="Table 2",
             label="reported", note=""),
    ],
    "proportions": [
        dict(study_id="trial1", group="a", outcome="response", timepoint="8wk", events="",
             n="100", percent="40.0", ci_low="30.3", ci_high="50.3", population="ITT",
             source_id="trial1", location="Table 3", label="reported", note=""),
        dict(study_id="trial1", group="b", outcome="response", timepoint="8wk", events="30",
             n="100", percent="30.0", ci_low="", ci_high="", population="ITT",
             source_id="trial1", location="Table 3", label="reported", note=""),
        dict(study_id="trial1", group="all", outcome="response", timepoint="8wk", events="70",
             n="", percent="35.0", ci_low="", ci_high="", population="",
             source_id="trial1", location="Text", label="reported", note=""),
    ],
    "contrasts": [
        dict(contrast_id="c1", study_id="trial1", treatment="a", control="b",
             outcome="response", timepoint="8wk", measure="RD", estimate="10.0", ci_low="-3.1",
             ci_high="23.1", p_printed=".14", sign_convention="positive favours a",
             source_id="trial1", location="Table 3", label="reported", note=""),
        dict(contrast_id="c2", study_id="trial1", treatment="a", control="b", outcome="pain",
             timepoint="8wk", measure="MD", estimate="-5.0", ci_low="-8.4", ci_high="-1.6",
             p_printed="", sign_convention="negative favours a", source_id="trial1",
             location="Table 2", label="reported", note=""),
    ],
    "pooled": [
        dict(pooled_id="p1", analysis_id="p1", condition="back pain", comparison="a vs b",
             outcome="pain", timepoint="8wk", measure="MD", model="fixed", k_trials="2",
             k_excluded="", n_patients="200", n_treat="100", n_control="100", estimate="1.00",
             ci_low="0.45", ci_high="1.55", p_printed="", z="3.54", q="0.00", q_df="1",
             q_p_printed="1.00", i2="0", sign_convention="positive favours a",
             source_id="review1", location="Figure 1", label="reported", note=""),
    ],
    "pooled_rows": [
        dict(pooled_id="p1", study="S1", measure="MD", weight_pct="50.0", estimate="1.00",
             ci_low="0.22", ci_high="1.78", treat_n="50", treat_mean="3.00", treat_sd="2.00",
             control_n="50", control_mean="2.00", control_sd="2.00", excluded="false",
             source_id="review1", location="Figure 1", label="reported", note=""),
        dict(pooled_id="p1", study="S2", measure="MD", weight_pct="50.0", estimate="1.00",
             ci_low="0.22", ci_high="1.78", treat_n="50", treat_mean="4.00", treat_sd="2.00",
             control_n="50", control_mean="3.00", control_sd="2.00", excluded="false",
             source_id="review1", location="Figure 1", label="reported", note=""),
    ],
    "facts": [
        dict(fact_id="f1", study_id="trial1", quantity="patients randomized", group="all",
             value="200", unit="patients", part_of="", qualifier="", source_id="trial1",
             location="Abstract", label="reported", note=""),
        dict(fact_id="f2", study_id="trial1", quantity="serious adverse events", group="all",
             value="5", unit="events", part_of="", qualifier="", source_id="trial1",
             location="Text", label="reported", note=""),
        dict(fact_id="f3", study_id="trial1", quantity="serious adverse events", group="a",
             value="2", unit="events", part_of="f2", qualifier="", source_id="trial1",
             location="Text", label="reported", note=""),
        dict(fact_id="f4", study_id="trial1", quantity="serious adverse events", group="b",
             value="3", unit="events", part_of="f2", qualifier="", source_id="trial1",
             location="Text", label="reported", note=""),
    ],
    # evidence structure (issue #13): every arm typed, every outcome classified, RoB complete
    "trial_outcomes": [
        dict(study_id="trial1", outcome="pain", timepoint="baseline", domain="pain",
             role="primary", timepoint_class="baseline", source_id="trial1",
             location="Abstract", label="reported", note=""),
        dict(study_id="trial1", outcome="pain", timepoint="8wk", domain="pain",
             role="primary", timepoint_class="end_of_treatment", source_id="trial1",
             location="Abstract", label="reported", note=""),
        dict(study_id="trial1", outcome="response", timepoint="8wk", domain="responder",
             role="secondary", timepoint_class="end_of_treatment", source_id="trial1",
             location="Table 3", label="reported", note=""),
    ],
    "arm_types": [
        dict(study_id="trial1", arm="a", intervention="A", arm_class="verum",
             sham_type="not_applicable", control_type="not_applicable", source_id="trial1",
             location="Abstract", label="reported", note=""),
        dict(study_id="trial1", arm="b", intervention="B", arm_class="sham",
             sham_type="penetrating_off_point", control_type="not_applicable",
             source_id="trial1", location="Abstract", label="reported", note=""),
    ],
    "risk_of_bias": [
        dict(study_id="trial1", domain=dom, judgement="low", source_id="review1",
             location="Risk of bias table", label="secondary", note="")
        for dom in ("random_sequence_generation", "allocation_concealment",
                    "blinding_participants_personnel", "blinding_outcome_assessment",
                    "incomplete_outcome_data", "selective_reporting", "other_bias")
    ],
    "analysed_counts": [
        dict(study_id="trial1", arm="all", population="primary outcome", n_analysed="191",
             n_randomized="200", source_id="trial1", location="Table 2", label="reported",
             note=""),
    ],
}


def write_package(folder: Path, tables: dict[str, list[dict]]) -> Path:
    """Write *tables* as CSVs, with the real data dictionary, into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "datapackage.json", folder / "datapackage.json")
    dp = json.loads((DATA / "datapackage.json").read_text())
    for res in dp["resources"]:
        names = [f["name"] for f in res["schema"]["fields"]]
        with (folder / res["path"]).open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=names)
            w.writeheader()
            for row in tables.get(res["name"], []):
                w.writerow(row)
    return folder


def clean_tables() -> dict[str, list[dict]]:
    return {k: [dict(r) for r in v] for k, v in CLEAN.items()}




@functools.cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str):
    """A committed fixture under tests/fixtures/, parsed (a fresh object on every call)."""
    return json.loads(_fixture_text(name))


def write_csv(path: Path, header: list[str], rows) -> Path:
    """Write a user CSV (header + rows) to *path*; return *path*."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def gosh_example():
    """16 seeded studies with one outlier (study index 3): two clusters in a GOSH plot."""
    import numpy as np

    rng = np.random.default_rng(16)
    y = rng.normal(0.3, 0.2, 16)
    v = rng.uniform(0.01, 0.08, 16)
    y[3] = 1.4
    return y, v


def check_targets(targets, discrepancies: dict[str, str],
                  not_comparable: dict[str, str] | None = None) -> None:
    """Every reproduction target of one paper is reproduced, except the documented
    discrepancies (target_id -> why), which must stay discrepancies with a note, and the
    documented *not comparable* targets (another quantity; target_id -> why).

    An *exact* target's reproduced value must round to its printed value, checked here by a
    second route (``tolerances.printed``, not the status rule of ``analyses.reproduction``);
    a printed bound (``< .001``) must be met. A *consistent* target must say in its note the
    range attainable when the inputs vary within their printed precision.
    """
    from tolerances import printed

    ids = [t.target_id for t in targets]
    assert len(ids) == len(set(ids)), "target ids repeat"
    assert set(discrepancies) <= set(ids), set(discrepancies) - set(ids)
    assert set(not_comparable or {}) <= set(ids), set(not_comparable or {}) - set(ids)
    for t in targets:
        what = f"{t.target_id} ({t.quantity}): published {t.published}, reproduced {t.reproduced}"
        if t.target_id in discrepancies:
            assert t.status == "discrepancy", what
            assert len(t.note) > 20, what  # the report says why
            assert "outside the allowance" in t.note, what  # and by how much
            continue
        if t.target_id in (not_comparable or {}):
            assert t.status == "not comparable", what
            assert "not scored" in t.note, what
            continue
        assert t.status in ("exact", "consistent"), what + f": {t.status}; {t.note}"
        if t.status == "consistent":
            assert "Attainable range" in t.note, what
            continue
        text = t.published.strip()
        if text.startswith("<"):
            assert t.reproduced < float(text.lstrip("< ")), what
        else:
            assert printed(t.reproduced, text), what
