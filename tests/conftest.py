"""Shared fixtures: a hand-made, internally consistent data package to plant errors in, and
the outputs of one ``acu-meta reproduce`` run shared by every test that reads them.

Helpers (the clean tables, CSV writers, fixture loaders) live in ``tests/_helpers.py``; import
them from there, not from this file.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from _helpers import CLEAN, DATA, REPO, clean_tables, write_package

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


@pytest.fixture(scope="session")
def reproduced_dir(tmp_path_factory) -> Path:
    """The output folder of ONE ``acu-meta reproduce --out DIR`` run per test session (the
    command costs seconds; every test that reads its reports or figures shares this run).

    The command's standard output is kept in ``DIR/reproduce-stdout.txt``. The folder is
    shared: tests must read it, never write into it.
    """
    from acu_meta.cli import main

    out = tmp_path_factory.mktemp("reproduced")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        status = main(["reproduce", "--out", str(out)])
    assert status == 0, buf.getvalue()
    (out / "reproduce-stdout.txt").write_text(buf.getvalue(), encoding="utf-8")
    return out
