"""Every ``acu-meta`` command in the README runs as written from a fresh clone (issue #14,
acceptance: "Every README command runs from a fresh clone (a test runs them)").

The commands are extracted from the README's code blocks (``tests/_commands.py``) and run in
process, each in a tmp folder holding a copy of ``examples/`` (what a clone has), so an input
file that ``examples/`` lacks (the old ``arms.csv`` / ``trials.csv``) fails the test.
"""

from __future__ import annotations

import json
import shlex

import pytest
from _commands import README, copy_of_examples, readme_commands, run_in_copy

COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def test_extractor_finds_every_kind_of_command():
    text = "\n".join(["```bash", "acu-meta pool a.csv   # comment", "acu-meta bayes b.csv \\",
                      "    --json", "make test", "```", "```", "$ acu-meta pool c.csv",
                      "acu-meta: error: not a command", "```", "acu-meta outside a block"])
    assert readme_commands(text) == ["acu-meta pool a.csv", "acu-meta bayes b.csv --json",
                                     "acu-meta pool c.csv"]


def test_readme_has_the_commands_of_issue_14():
    joined = "\n".join(COMMANDS)
    assert len(COMMANDS) >= 15
    for needed in ("acu-meta network examples/", "--subgroup", "--mods", "--smaller-is-better",
                   "--larger-is-better", "acu-meta --version", "acu-meta bayes --list-priors"):
        assert needed in joined, needed
    # every input file a command names is shipped in examples/
    for cmd in COMMANDS:
        for word in shlex.split(cmd):
            if word.endswith(".csv"):
                assert word.startswith("examples/"), cmd
                assert (README.parent / word).is_file(), cmd


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return copy_of_examples(tmp_path_factory.mktemp("fresh-clone"))


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, clone):
    status, out, err = run_in_copy(command, clone)
    assert status == 0, f"{command}\n{err}"
    assert "error" not in err, err
    argv = shlex.split(command)
    if "--json" in argv:
        json.loads(out)  # one strict JSON object
    for flag in ("-o", "--plot"):
        if flag in argv:
            assert (clone / argv[argv.index(flag) + 1]).stat().st_size > 0
    if not any(f in argv for f in ("-o", "--plot", "--json")):
        assert out.strip(), command
