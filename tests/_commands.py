"""Run ``acu-meta`` command lines as written in the README or in ``--help`` (issue #14).

:func:`readme_commands` extracts every ``acu-meta ...`` command of the README's code blocks
(```` ```bash ```` blocks: lines starting with ``acu-meta``, joined over ``\\`` continuations,
comments cut; other blocks: lines starting with ``$ acu-meta``). :func:`run_in_copy` runs one
in process in a folder that holds a copy of ``examples/`` (the files a fresh clone has), so
what a command writes stays in the test's tmp folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

_FENCE = re.compile(r"^```(\w*)\s*$")


def readme_commands(text: str) -> list[str]:
    """Every ``acu-meta`` command of the code blocks of *text*, as one line each."""
    out, lang, pending = [], None, None
    for raw in text.splitlines():
        m = _FENCE.match(raw.strip())
        if m:
            lang = None if lang is not None else m.group(1)
            pending = None
            continue
        if lang is None:
            continue
        line = raw.strip()
        if pending is not None:
            pending += " " + line
        elif lang in ("bash", "sh", "shell") and line.startswith("acu-meta "):
            pending = line
        elif lang not in ("bash", "sh", "shell") and line.startswith("$ acu-meta "):
            pending = line[2:]
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        out.append(_cut_comment(pending))
        pending = None
    return out


def _cut_comment(line: str) -> str:
    """*line* without a trailing shell comment (a ``#`` outside quotes that starts a word)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=False)
    lex.whitespace_split = True
    lex.commenters = "#"
    return shlex.join(list(lex))


def copy_of_examples(folder: Path) -> Path:
    """*folder* with a copy of the repository's ``examples/`` in it."""
    shutil.copytree(REPO / "examples", folder / "examples")
    return folder


def run_in_copy(command: str, folder: Path) -> tuple[int, str, str]:
    """Run the command line *command* (``acu-meta ...``) in process with *folder* as the
    working directory; return (status, stdout, stderr). ``--help`` / ``--version`` exits are
    statuses."""
    from acu_meta.cli import main

    argv = shlex.split(command)
    assert argv[0] == "acu-meta", command
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv[1:])
            except SystemExit as stop:  # argparse's --help and --version
                status = int(stop.code or 0)
    finally:
        os.chdir(cwd)
    return status, out.getvalue(), err.getvalue()
