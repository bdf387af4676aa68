"""Shared fixtures: a hand-made, internally consistent data package to plant errors in, and
the outputs of one ``acu-meta reproduce`` run shared by every test that reads them.

Helpers (the clean tables, CSV writers, fixture loaders) live in ``tests/_helpers.py``; import
them from there, not from this file.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest
from _helpers import CLEAN, DATA, REPO, clean_tables, write_package

try:  # POSIX: share one reproduce run between xdist workers
    import fcntl
except ImportError:  # pragma: no cover - Windows: one run per worker
    fcntl = None

__all__ = ["CLEAN", "DATA", "REPO", "clean_tables", "write_package"]  # re-exported helpers


@pytest.fixture
def clean_package(tmp_path) -> Path:
    return write_package(tmp_path / "clean", clean_tables())


@pytest.fixture
def plant(tmp_path):
    """plant(table, row_index, column, value) -> folder with one planted change."""
    counter = {"n": 0}

    def _plant(*changes):
        tables = clean_tables()
        for table, idx, col, value in changes:
            tables[table][idx][col] = value
        counter["n"] += 1
        return write_package(tmp_path / f"planted{counter['n']}", tables)

    return _plant


def _reproduce_into(out: Path) -> None:
    from acu_meta.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(["reproduce", "--out", str(out)])
    assert status == 0, buf.getvalue()
    # written last: its presence marks a complete run (see reproduced_dir)
    (out / "reproduce-stdout.txt").write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="session")
def reproduced_dir(tmp_path_factory) -> Path:
    """The output folder of ONE ``acu-meta reproduce --out DIR`` run per test session (the
    command costs seconds; every test that reads its reports or figures shares this run).

    The command's standard output is kept in ``DIR/reproduce-stdout.txt``. The folder is
    shared: tests must read it, never write into it.

    Under pytest-xdist (``-n auto``) the workers share one run too: the first worker to need
    it runs ``reproduce`` into the session's common temporary folder while holding a lock
    (``fcntl.flock``), the others wait for it and read the same folder. The common folder is
    the parent of each worker's base temp, new for every session, so no run is reused across
    sessions.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER") or fcntl is None:
        out = tmp_path_factory.mktemp("reproduced")
        _reproduce_into(out)
        return out
    root = tmp_path_factory.getbasetemp().parent
    out = root / "reproduced-shared"
    with open(root / "reproduced-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (out / "reproduce-stdout.txt").is_file():
                if out.exists():  # a worker that failed half-way: start afresh
                    shutil.rmtree(out)
                out.mkdir()
                _reproduce_into(out)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out
