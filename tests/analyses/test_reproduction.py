"""The reproduction report, its status rules, and the CI regression guard on every number.

The per-paper targets are checked in ``tests/analyses/test_gerac2007.py``,
``test_cherkin2009.py``, ``test_vickers.py`` and ``test_three_arm.py``; here the report as a
whole: its size and quality, the snapshot of every reproduced number (``SNAPSHOT``,
``tests/tolerances.py``), and that the committed reports are what ``acu-meta reproduce``
writes (one run per session: the ``reproduced_dir`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from _helpers import FIXTURES, REPO
from tolerances import SNAPSHOT

from acu_meta.analyses import all_approximations, all_targets, cherkin2009
from acu_meta.analyses.reproduction import (
    STATUSES,
    box_range,
    classify,
    discrepancy_note,
    snapshot_diff,
    target,
    to_frame,
    to_markdown,
)

SNAP = FIXTURES / "reproduction_snapshot.json"


@pytest.fixture(scope="module")
def targets():
    return all_targets()


def test_status_rules():
    assert classify("0.81", 0.8149) == "exact"
    assert classify("0.81", 0.8009) == "discrepancy"
    assert classify("0.81", 0.8009, attainable=(0.71, 0.89)) == "consistent"
    assert classify("0.81", 0.8009, attainable=(0.70, 0.79)) == "discrepancy"
    assert classify("< .001", 0.0004) == "exact" and classify("< .001", 0.002) == "discrepancy"
    assert classify(".39", 0.3867) == "exact" and classify("-0.00", -0.004) == "exact"
    # rounding intervals of the inputs propagate through the computation
    assert box_range(lambda a, b: a - b, ["28.7", "6.9"]) == pytest.approx((21.7, 21.9))


def test_report_size_and_quality(targets):
    frame = to_frame(targets)
    assert len(frame) >= 40
    assert frame.target_id.is_unique
    assert set(frame.status) <= set(STATUSES)
    scored = frame[frame.status != "not comparable"]
    share = scored.status.isin(["exact", "consistent"]).mean()
    assert share >= 0.8, share
    assert (frame[frame.status == "discrepancy"].note.str.len() > 20).all()
    # every discrepancy carries its computed part: expected, got, by how much, the allowance
    # (the approximate reproductions too)
    approx = to_frame(all_approximations())
    for note in pd.concat([frame, approx]).query("status == 'discrepancy'").note:
        assert "Expected" in note and "rounding allowance" in note, note
        assert "outside the allowance" in note, note
    assert {"haake2007", "cherkin2009", "nbk56291", "vickers2018", "madsen2009"} <= set(
        frame.study)


def test_not_comparable_status():
    """A printed number of another quantity is 'not comparable', whatever the gap, and says so;
    Cherkin 2009 Table 3's covariate-adjusted -2.63 beside the unadjusted Table 2 difference."""
    t = target("x", "s", "q", "-2.63", -2.6, not_comparable="Adjusted for covariates.")
    assert t.status == "not comparable"
    assert "Adjusted for covariates." in t.note and "difference 0.0300" in t.note
    # without the declaration the same numbers are a discrepancy (the gap exceeds rounding)
    assert target("x", "s", "q", "-2.63", -2.6).status == "discrepancy"
    # ... and a declared target is not comparable even when the numbers happen to agree
    assert target("x", "s", "q", "-2.63", -2.63, not_comparable="Other.").status == (
        "not comparable")
    t3 = {t.target_id: t for t in cherkin2009.targets()}[
        "cherkin_t3_adjusted_md_standardized_usual"]
    assert t3.status == "not comparable" and t3.published == "-2.63"
    # the recomputed value is Table 2's unadjusted 8-week difference, standardized minus usual
    # care (shared/sources/cherkin2009.md, Table 2, secondary: 6.3 - 8.9), and the data agree
    t2 = cherkin2009.table2().set_index(["arm", "timepoint"])["mean"]
    assert t3.reproduced == pytest.approx(6.3 - 8.9) == pytest.approx(
        float(t2[("standardized", "8wk")]) - float(t2[("usual_care", "8wk")]))
    # the report counts it apart and leaves it out of the scored share
    md = to_markdown([t3, target("y", "s", "q", "1.0", 1.0)])
    assert "1 exact, 0 consistent, 0 discrepancy, 1 not comparable" in md
    assert "(100% of the 1 scored targets exact or consistent)" in md


def test_nbk56291_pooled_081_is_consistent_not_discrepancy(targets):
    """NBK56291 Figure 8 prints 0.81; its rounded rows pool to 0.801, and 0.81 is attainable
    with every row input within its rounding (0.71 to 0.89): consistent, by the status rule's
    own definition, in the reproduction report and in the data checks."""
    from acu_meta import data

    t = {t.target_id: t for t in targets}["nbk56291_fig8_pooled_md"]
    assert t.status == "consistent" and "Attainable range" in t.note
    assert classify("0.81", 0.8009) == "discrepancy"  # without the attainable range
    hits = [f for f in data.check().by_check("pooled_vs_rows") if f.study_id == "nbk56291"]
    assert [f.severity for f in hits] == ["note"]


def test_discrepancy_note_is_computed():
    """The note's numbers follow from the printed and reproduced values (by hand)."""
    note = discrepancy_note("22.6", 22.117)
    # allowance 22.55 to 22.65; got 22.117: 0.483 below the printed value, 0.433 outside
    assert "Expected 22.6 (rounding allowance +/-0.05: 22.550 to 22.650)" in note
    assert "got 22.117" in note and "-0.483 from the printed value" in note
    assert "0.433 outside the allowance" in note
    note = discrepancy_note("0.81", 0.70, attainable=(0.65, 0.79))
    assert "0.0150 outside the allowance" in note  # 0.805 - 0.79
    assert "below .001" in discrepancy_note("< .001", 0.002).replace("0.001", ".001")
    t = target("x", "s", "q", "22.6", 22.117, note="Why.")
    assert t.status == "discrepancy" and t.note.startswith("Why. Expected 22.6")


def test_regression_snapshot(targets):
    """Every reproduced number equals the committed snapshot to SNAPSHOT (1e-10 relative).
    After a deliberate change: `make snapshot`, review the diff, commit."""
    saved = json.loads(SNAP.read_text())
    changed = snapshot_diff(targets, saved["targets"], rtol=SNAPSHOT)
    changed += snapshot_diff(all_approximations(), saved["approximations"], rtol=SNAPSHOT)
    assert not changed, "reproduced numbers changed:\n" + "\n".join(changed)


def test_changing_one_number_names_the_affected_targets(tmp_path, targets):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    path = data / "arm_outcomes.csv"
    text = path.read_text()
    old = "cherkin2009,individualized,rmdq,8wk,value,,6.4,5.3"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "cherkin2009,individualized,rmdq,8wk,value,,6.5,5.3"))
    saved = json.loads(SNAP.read_text())["targets"]
    changed = snapshot_diff(all_targets(data), saved, rtol=SNAPSHOT)
    assert [c.split(":")[0] for c in changed] == [
        "cherkin_abstract_rmdq_improvement_individualized"]
    # a number that feeds several targets names all of them
    path.write_text(text)
    rows = data / "pooled_rows.csv"
    rtext = rows.read_text()
    rows.write_text(rtext.replace("158,6.3,5.7", "158,6.3,5.8"))
    changed = {c.split(":")[0] for c in snapshot_diff(all_targets(data), saved, rtol=SNAPSHOT)}
    assert {"nbk56291_fig8_pooled_md", "nbk56291_fig8_pooled_ci_low",
            "nbk56291_fig8_cherkin_ci_low"} <= changed


REPORTS = ("reproduction.csv", "approximations.csv", "reproduction.md", "article-claims.csv",
           "data-checks.md", "derived-values.csv")


@pytest.mark.parametrize("name", REPORTS)
def test_committed_report_is_current(reproduced_dir, name):
    """reports/NAME is regenerated by `make reproduce`; commit it when data or methods change."""
    fresh = (reproduced_dir / "reports" / name).read_text()
    assert (REPO / "reports" / name).read_text() == fresh, name


def test_reproduction_csv_columns():
    frame = pd.read_csv(REPO / "reports" / "reproduction.csv")
    assert list(frame.columns) == ["target_id", "study", "quantity", "published", "reproduced",
                                   "printed_decimals", "status", "note"]
