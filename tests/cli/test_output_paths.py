"""Output files are checked before any work (issue #17, item 5): a folder, a missing folder, a
read-only place or an impossible name ends with exit 2 and one line, and nothing is computed
or printed first."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from acu_meta import cli, data, results

REPO = Path(__file__).resolve().parents[2]
BCG = REPO / "examples" / "bcg.csv"
NETWORK = "study,treatment,events,n\nA,a,1,10\nA,b,2,10\nB,a,0,10\nB,b,2,10\nC,a,3,10\nC,c,2,10\n"


def _boom(*args, **kwargs):
    raise AssertionError("computed before the output path was checked")


def _read_only_place(tmp_path: Path) -> Path:
    """A folder where no file can be created, also for root (who ignores permission bits)."""
    if os.geteuid() == 0:
        if not os.path.isdir("/sys"):
            pytest.skip("running as root without /sys: no read-only place to try")
        return Path("/sys")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def _bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    folder = tmp_path / "figure.png"
    folder.mkdir()
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    return {
        "existing folder": (folder, "is a folder; give a file name"),
        "read-only place": (_read_only_place(tmp_path) / "f.png",
                            "cannot write the output file (Permission denied"),
        "missing folder": (tmp_path / "nosuch" / "f.png",
                           f"cannot write the output file: {tmp_path / 'nosuch'} does not exist"),
        "parent is a file": (a_file / "f.png", "is not a folder"),
        "300-character name": (tmp_path / ("n" * 296 + ".png"),
                               "cannot write the output file (File name too long)"),
        "wrong suffix": (tmp_path / "f.jpg", "output must end in .png, .svg or .pdf"),
    }


CASES = ["existing folder", "read-only place", "missing folder", "parent is a file",
         "300-character name", "wrong suffix"]


def _one_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acu-meta: error: "), err
    return lines[0]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["forest", "funnel"])
def test_figure_output_checked_before_pooling(tmp_path, capsys, monkeypatch, command, case):
    out, needle = _bad_outputs(tmp_path)[case]
    monkeypatch.setattr(results, "pool", _boom)
    assert cli.main([command, str(BCG), "--measure", "RR", "-o", str(out)]) == 2
    line = _one_error(capsys)
    assert line.startswith(f"acu-meta: error: {out}: ") and needle in line, line


@pytest.mark.parametrize("case", CASES)
def test_network_plot_checked_before_the_model_and_before_printing(tmp_path, capsys,
                                                                   monkeypatch, case):
    out, needle = _bad_outputs(tmp_path)[case]
    arms = tmp_path / "arms.csv"
    arms.write_text(NETWORK)
    import importlib

    # the module itself: ``acu_meta.results.network`` is now the function (issue #14)
    rn = importlib.import_module("acu_meta.results.network")

    monkeypatch.setattr(rn, "network", _boom)
    assert cli.main(["network", str(arms), "--json", "--plot", str(out)]) == 2
    line = _one_error(capsys)  # no JSON before the error (the issue: net.jpg)
    assert needle in line, line


def test_network_plot_net_jpg(tmp_path, capsys):
    arms = tmp_path / "arms.csv"
    arms.write_text(NETWORK)
    assert cli.main(["network", str(arms), "--json", "--plot", str(tmp_path / "net.jpg")]) == 2
    assert "net.jpg: output must end in .png, .svg or .pdf" in _one_error(capsys)
    assert not (tmp_path / "net.jpg").exists()


def test_network_plot_written_then_json(tmp_path, capsys):
    arms = tmp_path / "arms.csv"
    arms.write_text(NETWORK)
    out = tmp_path / "net.svg"
    assert cli.main(["network", str(arms), "--json", "--plot", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["reference"] == "a"
    assert out.read_bytes().startswith(b"<?xml")


def test_trial_file_is_removed_when_the_input_is_bad(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("study,yi,vi\nA,x,1\n")
    out = tmp_path / "forest.png"
    assert cli.main(["forest", str(bad), "-o", str(out)]) == 2
    assert "line 2, column 'yi'" in _one_error(capsys)
    assert not out.exists()


def test_existing_file_is_overwritten(tmp_path, capsys):
    out = tmp_path / "funnel.png"
    out.write_bytes(b"old")
    assert cli.main(["funnel", str(BCG), "--measure", "RR", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == f"written {out}"


def test_a_failing_write_is_one_line(tmp_path, capsys, monkeypatch):
    import acu_meta.plots as plots

    def full(fig, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(plots, "save_figure", full)
    out = tmp_path / "f.png"
    assert cli.main(["forest", str(BCG), "-o", str(out)]) == 2
    assert f"{out}: cannot write the output file (No space left on device)" in _one_error(capsys)


@pytest.mark.parametrize("case", ["existing folder", "missing folder", "300-character name"])
def test_check_data_report_checked_first(tmp_path, capsys, monkeypatch, case):
    out, needle = _bad_outputs(tmp_path)[case]
    monkeypatch.setattr(data, "check", _boom)
    assert cli.main(["check-data", "-o", str(out)]) == 2
    assert needle in _one_error(capsys)


def test_snapshot_checked_first(tmp_path, capsys, monkeypatch):
    import acu_meta.analyses as analyses

    monkeypatch.setattr(analyses, "all_targets", _boom)
    assert cli.main(["snapshot", "-o", str(tmp_path)]) == 2
    assert "is a folder" in _one_error(capsys)
