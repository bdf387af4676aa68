"""``pool(method="MH")`` carries the tests rma.mh prints, and Peto's method refuses measures it
cannot report (issue #15, items 4 and 7).

Reference: the ``mh`` family of ``tests/fixtures/metafor_gaps.json`` (metafor 3.8.1 rma.mh,
``validation/metafor/gaps_reference.R``), at tolerance ``CLOSED_FORM``. The model-level checks
of every case are in ``tests/models/test_mh_gaps.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from _helpers import fixture_json
from _metafor import assert_close
from tolerances import CLOSED_FORM

from acu_meta import pool
from acu_meta.errors import InputError

GAPS = fixture_json("metafor_gaps.json")
REPO = Path(__file__).resolve().parents[2]
DEFAULTS = [c for c in GAPS["mh"] if c["variant"] == "default" and c["measure"] in ("OR", "RR")]


def _cells(name):
    d = GAPS["binary_datasets"][name]
    return dict(ai=d["ai"], n1i=[a + b for a, b in zip(d["ai"], d["bi"], strict=True)],
                ci=d["ci"], n2i=[c + e for c, e in zip(d["ci"], d["di"], strict=True)],
                study=d["study"])


@pytest.mark.parametrize("case", DEFAULTS, ids=[c["id"] for c in DEFAULTS])
def test_pool_mh_reports_the_rma_mh_tests(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # double-zero studies are warned about
        res = pool(measure=case["measure"], method="MH", **_cells(case["dataset"]))
    assert_close(res.estimate, case["beta"], CLOSED_FORM, "beta")
    assert set(res.mh_tests) == {"MH", "MHp", "CO", "COp", "BD", "BDp", "TA", "TAp"}
    for key, got in res.mh_tests.items():
        assert_close(got, case[key], CLOSED_FORM, key)


def test_other_methods_carry_no_mh_tests():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pool(measure="OR", method="DL", **_cells("bcg")).mh_tests == {}
        assert pool(measure="OR", method="PETO", **_cells("bcg")).mh_tests == {}


@pytest.mark.parametrize("measure", ["RR", "RD"])
def test_peto_refuses_rr_and_rd(measure):
    with pytest.raises(InputError, match="PETO pools log odds ratios"):
        pool(measure=measure, method="PETO", **_cells("bcg"))


def test_peto_with_or_equals_peto_measure():
    a = pool(measure="OR", method="PETO", **_cells("bcg"))
    b = pool(measure="PETO", method="PETO", **_cells("bcg"))
    assert a.estimate == b.estimate and a.se == b.se


def test_cli_peto_with_rr_exits_2_in_one_line(tmp_path):
    c = _cells("bcg")
    path = tmp_path / "bcg.csv"
    rows = ["study,treat_events,treat_n,control_events,control_n"]
    for i, cells in enumerate(zip(c["ai"], c["n1i"], c["ci"], c["n2i"], strict=True)):
        rows.append(",".join([f"S{i}", *map(str, cells)]))
    path.write_text("\n".join(rows) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "pool", str(path), "--method",
                           "PETO", "--measure", "RR"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PETO pools log odds ratios" in lines[0]
    assert "Traceback" not in proc.stderr


def test_mh_tests_are_printed_and_in_the_json():
    case = next(c for c in GAPS["mh"] if c["id"] == "bcg-OR-default")
    res = pool(measure="OR", method="MH", **_cells("bcg"))
    text = res.summary()
    assert f"CMH = {case['MH']:.4f}, df = 1" in text
    assert f"Tarone's correction: X^2 = {case['TA']:.4f}" in text
    d = res.to_dict()
    assert_close(d["mh_tests"]["BD"], case["BD"], CLOSED_FORM, "BD")
    assert "mh_tests" not in pool(measure="OR", method="DL", **_cells("bcg")).to_dict()
    rr = pool(measure="RR", method="MH", **_cells("bcg"))
    assert "CMH" not in rr.summary() and rr.to_dict()["mh_tests"]["MH"] is None
