"""How `acu-meta` ends: bad input -> 2 and one line; a bug -> 1, one line, "internal error"
(--debug: the traceback); a closed pipe -> 0, quietly (issue #11, item 7)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from acu_meta import cli, data

REPO = Path(__file__).resolve().parents[2]


def _cli(*argv: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "acu_meta.cli", *argv], capture_output=True,
                          text=True, env=env, **kw)


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    """``cli.main`` in this process (status, stdout, stderr): the same code path as the
    console script, without a Python start-up per case; argparse's own errors raise
    SystemExit, whose code is the status. test_missing_data_folder_exits_2_in_one_line is
    the real process."""
    capsys.readouterr()
    try:
        status = cli.main(list(argv))
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# ------------------------------------------------------------------------------ bad input


def test_missing_data_folder_exits_2_in_one_line(tmp_path):
    proc = _cli("check-data", "--data", str(tmp_path / "nosuch"))
    assert proc.returncode == 2 and proc.stdout == ""
    line = _one_line(proc.stderr)
    assert line.startswith("acu-meta: error: ") and "Traceback" not in proc.stderr
    assert "datapackage.json: data dictionary not found" in line


def test_broken_table_exits_2_naming_file_line_column(tmp_path, capsys):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder)
    path = folder / "arms.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",387,", ",-387,", 1)
    path.write_text("".join(lines))
    status, out, err = _main(capsys, "list-datasets", "--data", str(folder))
    assert status == 2 and out == ""
    line = _one_line(err)
    assert "arms.csv, line 2, column 'n_randomized'" in line and "below the minimum" in line


@pytest.mark.parametrize("argv,needle", [
    (["--method", "MH"], "method MH needs 2x2 counts"),
    (["--measure", "OR"], "measure OR does not fit continuous data"),
    (["--level", "150"], "argument --level: 150 is not between 0 and 100"),
], ids=["mh-on-means", "measure", "level"])
def test_argument_that_does_not_fit_exits_2(argv, needle, capsys):
    status, out, err = _main(capsys, "pool", str(REPO / "examples" / "normand1999.csv"), *argv)
    assert status == 2 and out == ""
    assert needle in _one_line(err)


def test_figure_with_unknown_suffix_exits_2_before_any_work(tmp_path, capsys):
    status, out, err = _main(capsys, "forest", str(REPO / "examples" / "bcg.csv"), "-o",
                             str(tmp_path / "f.txt"))
    assert status == 2 and not (tmp_path / "f.txt").exists()
    assert "output must end in .png, .svg or .pdf" in _one_line(err)


def test_user_errors_are_the_projects_own_types():
    from acu_meta import errors
    from acu_meta.data.userfile import InputError

    assert issubclass(data.DataValidationError, errors.InputError)
    assert issubclass(InputError, errors.InputError) and data.InputError is InputError
    assert errors.AcuMetaError in cli._user_errors()


# ------------------------------------------------------------------------------ a bug


def _boom(exc):
    def f(*args, **kwargs):
        raise exc
    return f


@pytest.mark.parametrize("exc", [RuntimeError("boom"), ValueError("boom"), KeyError("boom")],
                         ids=["RuntimeError", "ValueError", "KeyError"])
def test_injected_bug_exits_1_with_one_line(monkeypatch, capsys, exc):
    # ValueError and KeyError were caught around whole commands (exit 2) before #11
    monkeypatch.setattr(data, "check", _boom(exc))
    assert cli.main(["check-data"]) == 1
    out, err = capsys.readouterr()
    line = _one_line(err)
    assert line == (f"acu-meta: internal error: {type(exc).__name__}: boom (run with --debug "
                    "for the traceback; please report it)")
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("argv", [["--debug", "check-data"], ["check-data", "--debug"]],
                         ids=["before", "after"])
def test_debug_prints_the_traceback(monkeypatch, capsys, argv):
    monkeypatch.setattr(data, "check", _boom(RuntimeError("boom")))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "RuntimeError: boom" in err and "in _cmd_check_data" in err
    assert err.strip().splitlines()[-1].startswith("acu-meta: internal error: RuntimeError")


def test_debug_on_bad_input_keeps_status_2(tmp_path, capsys):
    assert cli.main(["--debug", "check-data", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("acu-meta: error: ")


def test_bug_in_a_subprocess_exits_1():
    # the same as the user sees it: a fresh interpreter, its status and its stderr
    code = ("import sys; from acu_meta import cli, data\n"
            "def bad(*a, **k): raise ZeroDivisionError('division by zero')\n"
            "data.check = bad\nsys.exit(cli.main(['check-data']))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "internal error: ZeroDivisionError: division by zero" in _one_line(proc.stderr)


# ------------------------------------------------------------------------------ closed pipe


def test_closed_pipe_ends_quietly_with_status_0():
    """`acu-meta check-data | head -1`, with head gone before the report is written: the
    reader end is closed first, so the write fails with EPIPE for certain."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "acu_meta.cli", "check-data"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == ""  # no traceback, no "Exception ignored ... BrokenPipeError"


def test_head_minus_one_gets_the_first_line():
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(f"'{sys.executable}' -m acu_meta.cli check-data | head -1",
                          shell=True, capture_output=True, text=True, env=env)
    assert proc.stdout == "# Consistency checks on the transcribed data\n"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_broken_pipe_in_process(monkeypatch, capsys):
    class Closed(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert cli.main(["list-datasets"]) == 0
    assert capsys.readouterr().err == ""
