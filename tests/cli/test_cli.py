"""The command line: list-datasets, check-data, reproduce, usage errors.

``reproduce`` runs once per test session (the ``reproduced_dir`` fixture of
``tests/conftest.py``); the committed reports are compared with its output in
``tests/analyses/test_reproduction.py``. One usage error runs as a real subprocess (exit code,
no traceback); the other commands run in process, where ``main`` returns the exit status.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from acu_meta import data
from acu_meta.analyses import EXAMPLES_DIR, all_targets, figures
from acu_meta.analyses.reproduction import to_frame
from acu_meta.cli import main


def test_list_datasets(capsys):
    assert main(["list-datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # one line per table, in the data dictionary's order, with its row count
    assert lines == [f"{name}\t{len(data.load(name))} rows" for name in data.list_datasets()]
    assert lines[0].startswith("sources\t") and any(x.startswith("arm_outcomes\t") for x in lines)


def test_check_data_prints_report(capsys):
    assert main(["check-data"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Consistency checks on the transcribed data")
    assert out == data.check().to_markdown() + "\n"  # the whole report, nothing else


def test_check_data_writes_report(tmp_path, capsys):
    out = tmp_path / "checks.md"
    assert main(["check-data", "--out", str(out)]) == 0
    report = data.check()
    assert out.read_text(encoding="utf-8") == report.to_markdown()
    assert capsys.readouterr().out == f"{report.summary()}; written to {out}\n"


def test_reproduce_writes_every_output(reproduced_dir):
    """Every output listed in the README: reports, and every figure as PNG and SVG."""
    reports = reproduced_dir / "reports"
    for name in ("reproduction.csv", "reproduction.md", "approximations.csv", "data-checks.md",
                 "derived-values.csv", "article-claims.csv"):
        assert (reports / name).stat().st_size > 0, name
    md = (reports / "data-checks.md").read_text()
    assert "47.6" in md and "Fanti" in md  # two known findings (tests/data/test_checks.py)
    assert "responder count" in (reports / "derived-values.csv").read_text()
    names = sorted(figures(examples=EXAMPLES_DIR))
    written = sorted(p.name for p in (reproduced_dir / "figures").iterdir())
    assert written == sorted(f"{n}{ext}" for n in names for ext in (".png", ".svg"))
    # the printed summary counts what the report holds
    frame = to_frame(all_targets())
    stdout = (reproduced_dir / "reproduce-stdout.txt").read_text()
    counts = frame.status.value_counts()
    assert (f"reproduction: {len(frame)} targets ({counts.get('exact', 0)} exact, "
            f"{counts.get('consistent', 0)} consistent, {counts.get('discrepancy', 0)} "
            f"discrepancy, {counts.get('not comparable', 0)} not comparable)") in stdout
    assert f"figures: {2 * len(names)} files" in stdout


def test_bad_usage_exits_2_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "nosuch"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid choice: 'nosuch'" in lines[0]


@pytest.mark.parametrize("argv,needle", [
    (["pool"], "the following arguments are required: file"),
    (["pool", "x.csv", "--method", "XX"], "argument --method: invalid choice: 'XX'"),
    (["network", "x.csv", "--level", "high"], "argument --level: 'high' is not a number"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and needle in err, err
