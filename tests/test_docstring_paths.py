"""Every ``tests/...`` path named in ``src/`` (docstrings, comments, strings) exists in the
repository: a docstring that says what a function was validated against must name a test file
(or fixture) that is really there (issue #11, item 9)."""

from __future__ import annotations

import re

from _helpers import REPO

SRC = REPO / "src"
# a path starts at "tests/" and runs over path characters; trailing punctuation is not part of it
PATH = re.compile(r"(?<![\w/.-])tests/[\w./-]*[\w]")

# Paths named in src/ whose test file is written in a parallel branch of issue #11. The test
# fails as soon as such a file exists, so that its entry is removed here on merge.
PENDING: set[str] = set()


def _cited() -> dict[str, list[str]]:
    """path -> ["file:line", ...] for every tests/ path named in src/."""
    out: dict[str, list[str]] = {}
    for py in sorted(SRC.rglob("*.py")):
        for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            for m in PATH.finditer(line):
                out.setdefault(m.group(0), []).append(f"{py.relative_to(REPO)}:{n}")
    return out


def test_src_names_test_files():
    """Guards the scan itself: src/ does cite test files, and the pattern finds them."""
    cited = _cited()
    assert any(p.endswith(".py") for p in cited) and any(p.endswith(".json") for p in cited)
    assert PATH.findall("(``tests/models/test_x.py``).") == ["tests/models/test_x.py"]
    assert PATH.findall("see tests/fixtures/a.json, and") == ["tests/fixtures/a.json"]


def test_every_tests_path_named_in_src_exists():
    cited = _cited()
    missing = {p: where for p, where in cited.items()
               if not (REPO / p).exists() and p not in PENDING}
    assert not missing, "src/ names test paths that do not exist:\n" + "\n".join(
        f"  {p}  ({', '.join(w)})" for p, w in sorted(missing.items()))


def test_pending_paths_are_still_pending():
    arrived = sorted(p for p in PENDING if (REPO / p).exists())
    assert not arrived, f"{arrived} now exist: remove them from PENDING"
    assert PENDING <= set(_cited()), "a PENDING path is no longer named in src/: remove it"
