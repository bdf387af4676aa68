"""``make reproduce``: a progress line as each notebook finishes, no kernel warnings on stderr,
one line for the install step (issue #14, build item 7: "`make reproduce` is silent for a
minute during the pip install, then prints all six notebooks at once after about 40 s. Its
stderr carries kernel warnings (`Kernel is running over TCP without encryption`)").

Two tiny notebooks are executed by :func:`acu_meta.notebooks.render_all` (the function behind
``acu-meta reproduce --notebooks``): the progress callback must fire for notebook 1 before
notebook 2 has run, and the file-descriptor-level stderr (the kernel is a child process) must
carry no kernel warning. The Makefile's bootstrap recipe is read as text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acu_meta import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_notebooks(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    folder = tmp_path / "nbs"
    folder.mkdir()
    for i in (1, 2):
        nb = nbformat.v4.new_notebook()
        # notebook 1's kernel process also writes to its own stderr, which must stay there
        nb.cells = [nbformat.v4.new_code_cell((_TO_KERNEL_STDERR if i == 1 else "")
                                              + f"x = {i} + 1\nprint('cell', x)")]
        nbformat.write(nb, folder / f"0{i}_tiny.ipynb")
    return folder


#: A cell that writes to the kernel *process*'s stderr (ipykernel sends a cell's own stderr
#: to the notebook; the saved original descriptor is the process's).
_TO_KERNEL_STDERR = ("import os, sys\n"
                     "fd = getattr(sys.stderr, '_original_stdstream_copy', None) or 2\n"
                     "os.write(fd, b'kernel-process-noise\\n')\n")


def test_progress_per_notebook_and_no_kernel_warnings(tiny_notebooks, tmp_path, capfd):
    from acu_meta.notebooks import render_all

    out = tmp_path / "html"
    seen = []

    def progress(i, n, path, seconds):
        # called as notebook i is written, before the next one runs
        seen.append((i, n, path.name, sorted(p.name for p in out.glob("*.html")), seconds))

    written = render_all(tiny_notebooks, out, progress=progress, jobs=1)
    assert [p.name for p in written] == ["01_tiny.html", "02_tiny.html"]
    assert [s[:4] for s in seen] == [
        (1, 2, "01_tiny.html", ["01_tiny.html"]),
        (2, 2, "02_tiny.html", ["01_tiny.html", "02_tiny.html"])]
    assert all(s[4] > 0 for s in seen)
    assert "cell 2" in written[0].read_text(encoding="utf-8")  # executed, output rendered
    err = capfd.readouterr().err
    # no TCP warning, no kernel left running ("Parent appears to have exited"), no warning,
    # nothing the kernel process wrote to its own stderr
    assert "without encryption" not in err and "Kernel" not in err, err
    assert "WARNING" not in err and "Parent appears" not in err, err
    assert "kernel-process-noise" not in err, err


def test_kernels_use_ipc_transport(tmp_path):
    pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    from acu_meta.notebooks import _kernel_config

    client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3",
                            config=_kernel_config(str(tmp_path)))
    km = client.create_kernel_manager()  # the manager execute() would start (not started)
    assert km.transport == "ipc" and km.ip.startswith(str(tmp_path))


def test_reproduce_prints_a_line_per_notebook(monkeypatch, tmp_path, capsys):
    """The CLI's progress callback prints and flushes one line per notebook (the notebooks
    themselves are faked here; the real run is the test above)."""
    import acu_meta.notebooks as nbmod

    calls = []

    def fake_render_all(folder, out, progress=None, jobs=None):
        for i in (1, 2):
            path = out / f"0{i}.html"
            path.write_text("<html></html>", encoding="utf-8")
            progress(i, 2, path, 1.5 * i)
            calls.append(capsys.readouterr().out)  # printed before the next notebook
        return []

    monkeypatch.setattr(nbmod, "render_all", fake_render_all)
    monkeypatch.setattr(cli, "_write_reports", _fake_reports)
    monkeypatch.setattr("acu_meta.analyses.write_figures", lambda *a, **k: [])
    folder = tmp_path / "nbs"
    folder.mkdir()
    for i in (1, 2):
        (folder / f"0{i}.ipynb").write_text("{}", encoding="utf-8")
    assert cli.main(["reproduce", "--out", str(tmp_path), "--notebooks", str(folder)]) == 0
    assert calls[0].endswith(f"notebook 1/2 (2 s) -> {tmp_path / 'reports' / 'notebooks'}"
                             "/01.html\n")
    assert calls[0].count("notebook 1/2") == 1 and "notebook 2/2" not in calls[0]
    assert calls[1] == f"notebook 2/2 (3 s) -> {tmp_path / 'reports' / 'notebooks'}/02.html\n"
    assert "notebooks: executing 2 from" in calls[0]


def _fake_reports(reports, where):
    import pandas as pd

    frame = pd.DataFrame({"target_id": ["t"], "study": ["s"], "quantity": ["q"],
                          "published": [1.0], "reproduced": [1.0], "printed_decimals": [0],
                          "status": ["exact"], "note": [""]})
    return {"tables": 1, "checks": "0 findings", "targets": frame}


def test_makefile_install_step_is_one_line():
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, re.M).group(1).splitlines()
    echoes = [ln for ln in recipe if ln.startswith("\t@echo ")]
    assert len(echoes) == 1  # the one line make prints
    assert all(ln.startswith("\t@") for ln in recipe)  # nothing else is echoed by make
    pips = [ln for ln in recipe if "$(PIP) install" in ln]
    assert len(pips) == 2 and all("--quiet" in ln for ln in pips)
    assert "PIP_DISABLE_PIP_VERSION_CHECK=1" in text
    # make reproduce / make test keep their meaning: bootstrap, then the command
    assert re.search(r"^reproduce: \$\(STAMP\)\n\t\$\(BIN\)/acu-meta reproduce --out \. "
                     r"--notebooks notebooks$", text, re.M)
    assert re.search(r"^test: \$\(STAMP\)\n\t\$\(BIN\)/python -m pytest$", text, re.M)


def test_reproduce_with_a_real_notebook_is_quiet(monkeypatch, tiny_notebooks, tmp_path, capfd):
    """``acu-meta reproduce --notebooks`` with real kernels, two at a time (the default on 2
    cores; worker threads): stdout has a progress line per notebook as each finishes, in
    the order they finish; stderr nothing (no TCP warning, no unclosed-socket warning of a
    kernel left running, nothing a kernel process wrote to its own stderr)."""
    monkeypatch.setattr(cli, "_write_reports", _fake_reports)
    monkeypatch.setattr("acu_meta.analyses.write_figures", lambda *a, **k: [])
    monkeypatch.setenv("ACU_META_NOTEBOOK_JOBS", "2")
    assert cli.main(["reproduce", "--out", str(tmp_path), "--notebooks",
                     str(tiny_notebooks)]) == 0
    cap = capfd.readouterr()
    assert cap.err == ""
    lines = [ln for ln in cap.out.splitlines() if ln.startswith("notebook ")]
    assert [ln.split(" (")[0] for ln in lines] == ["notebook 1/2", "notebook 2/2"]
    html = tmp_path / "reports" / "notebooks"
    assert sorted(ln.rsplit("/", 1)[-1] for ln in lines) == ["01_tiny.html", "02_tiny.html"]
    assert "cell 2" in (html / "01_tiny.html").read_text(encoding="utf-8")


def test_kernel_stderr_is_kept_out_of_ours(tmp_path, capfd):
    """What the kernel *process* writes to its stderr (ipykernel's own logging, such as the
    ZMQ traceback it can print while shutting down under load) stays out of this process's
    stderr (the tiny notebooks above check that for notebooks that run); when the kernel
    dies, that text rides on the error."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    from acu_meta.notebooks import execute

    dies = tmp_path / "dies.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_TO_KERNEL_STDERR + "os._exit(3)\n")]
    nbformat.write(nb, dies)
    with pytest.raises(Exception) as caught:
        execute(dies, timeout=60)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "dies.ipynb: the kernel process wrote to stderr" in notes
    assert "kernel-process-noise" in notes
    assert "kernel-process-noise" not in capfd.readouterr().err


def test_two_at_a_time_reports_in_finishing_order_and_returns_notebook_order(
        monkeypatch, tmp_path):
    """The threaded path of render_all (jobs=2), kernels faked: notebook 1 finishes last, so
    its progress line comes second, while the returned paths stay in notebook order."""
    nbformat = pytest.importorskip("nbformat")
    import threading

    import acu_meta.notebooks as nbmod

    folder = tmp_path / "nbs"
    folder.mkdir()
    for i in (1, 2):
        (folder / f"0{i}_fake.ipynb").write_text("{}", encoding="utf-8")
    second_done = threading.Event()

    def fake_execute(path, timeout=600, parameters=None):
        if path.name.startswith("01"):
            assert second_done.wait(30)  # notebook 2 has finished and been reported
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"ran {path.stem}")]
        return nb

    seen = []

    def progress(i, n, path, seconds):
        seen.append((i, n, path.name))
        if path.name.startswith("02"):
            second_done.set()

    monkeypatch.setattr(nbmod, "execute", fake_execute)
    written = nbmod.render_all(folder, tmp_path / "html", progress=progress, jobs=2)
    assert [p.name for p in written] == ["01_fake.html", "02_fake.html"]
    assert seen == [(1, 2, "02_fake.html"), (2, 2, "01_fake.html")]
    assert "ran 01_fake" in written[0].read_text(encoding="utf-8")
