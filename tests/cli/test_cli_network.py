"""``acu-meta network``: JSON equal to metafor rma.mv; bad input refused with exit status 2 and
one line naming the problem.

Bad inputs run in process (``main([...])`` returns the exit status; ``capsys`` reads the
streams); one of them also runs as a real subprocess, to check the installed entry point's exit
code and that no traceback reaches the user. Tolerances (``tests/tolerances.py``):
``NETWORK_REML`` for the REML fit against metafor's optimizer, ``CLOSED_FORM`` for Q.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _helpers import FIXTURES, fixture_json
from tolerances import CLOSED_FORM, NETWORK_REML

from acu_meta.cli import main

FIX = fixture_json("metafor_network.json")
ARMS_DIR = FIXTURES / "network_arms"


def _csv(tmp_path, rows, header):
    path = tmp_path / "net.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows)
                    + "\n")
    return path


BAD = [
    ("one arm", [("s", "A", 5, 10)], "study 's' has one arm"),
    ("blank treatment", [("s", "A", 5, 10), ("s", "", 3, 10)],
     "line 3, column 'treatment': treatment name is blank"),
    ("disconnected", [("s", "A", 5, 10), ("s", "B", 3, 10), ("t", "C", 5, 10),
                      ("t", "D", 3, 10)], "disconnected: {A, B} | {C, D}"),
    ("events > n", [("s", "A", 11, 10), ("s", "B", 3, 10)], "events exceed"),
]


@pytest.mark.parametrize("name,rows,needle", BAD, ids=[b[0] for b in BAD])
def test_cli_network_bad_input(tmp_path, capsys, name, rows, needle):
    path = _csv(tmp_path, rows, ["study", "treatment", "events", "n"])
    status = main(["network", str(path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert lines[0].startswith("acu-meta: error: ")


def test_cli_network_bad_input_subprocess(tmp_path):
    """The real command: exit status 2, one line on stderr, no traceback."""
    path = _csv(tmp_path, BAD[2][1], ["study", "treatment", "events", "n"])
    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "network", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("acu-meta: error: ")
    assert BAD[2][2] in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("case", FIX["networks"], ids=[c["id"] for c in FIX["networks"]])
def test_cli_network_json_reproduces_metafor(capsys, case):
    path = ARMS_DIR / f"{case['id']}.csv"
    assert main(["network", str(path), "--measure", case["measure"], "--method", "REML",
                 "--reference", case["reference"], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"reference", "method", "tau2", "Q", "effects", "league"} <= set(out)
    assert out["reference"] == case["reference"]
    effects = {e["treatment"]: e for e in out["effects"]}
    for t, b in zip(case["treatments"][1:], case["reml"]["beta"], strict=True):
        assert effects[t]["estimate"] == pytest.approx(b, rel=NETWORK_REML, abs=NETWORK_REML)
        assert set(effects[t]) == {"treatment", "estimate", "se", "ci_low", "ci_high"}
    assert out["tau2"] == pytest.approx(case["reml"]["tau2"], rel=NETWORK_REML)
    assert out["Q"] == pytest.approx(case["reml"]["QE"], rel=CLOSED_FORM)
