"""The reproduction report, its status rules, and the CI regression guard on every number."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from acu_meta.analyses import all_approximations, all_targets
from acu_meta.analyses.reproduction import box_range, classify, snapshot_diff, to_frame
from acu_meta.cli import main

REPO = Path(__file__).resolve().parents[2]
SNAP = REPO / "tests" / "fixtures" / "reproduction_snapshot.json"


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
    assert set(frame.status) <= {"exact", "consistent", "discrepancy"}
    share = frame.status.isin(["exact", "consistent"]).mean()
    assert share >= 0.8, share
    assert (frame[frame.status == "discrepancy"].note.str.len() > 20).all()
    assert {"haake2007", "cherkin2009", "nbk56291", "vickers2018", "madsen2009"} <= set(
        frame.study)


def test_regression_snapshot(targets):
    """Every reproduced number equals the committed snapshot to 1e-10 (relative). After a
    deliberate change: `make snapshot`, review the diff, commit."""
    saved = json.loads(SNAP.read_text())
    changed = snapshot_diff(targets, saved["targets"])
    changed += snapshot_diff(all_approximations(), saved["approximations"])
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
    changed = snapshot_diff(all_targets(data), saved)
    assert [c.split(":")[0] for c in changed] == [
        "cherkin_abstract_rmdq_improvement_individualized"]
    # a number that feeds several targets names all of them
    path.write_text(text)
    rows = data / "pooled_rows.csv"
    rtext = rows.read_text()
    rows.write_text(rtext.replace("158,6.3,5.7", "158,6.3,5.8"))
    changed = {c.split(":")[0] for c in snapshot_diff(all_targets(data), saved)}
    assert {"nbk56291_fig8_pooled_md", "nbk56291_fig8_pooled_ci_low",
            "nbk56291_fig8_cherkin_ci_low"} <= changed


def test_committed_reports_are_current(tmp_path):
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    for name in ("reproduction.csv", "approximations.csv", "reproduction.md",
                 "article-claims.csv", "data-checks.md"):
        assert (REPO / "reports" / name).read_text() == (tmp_path / "reports" / name
                                                          ).read_text(), name


def test_reproduction_csv_columns():
    frame = pd.read_csv(REPO / "reports" / "reproduction.csv")
    assert list(frame.columns) == ["target_id", "study", "quantity", "published", "reproduced",
                                   "printed_decimals", "status", "note"]
