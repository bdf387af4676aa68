"""Help texts, ``--version`` and the header messages (issue #14: "`acu-meta --help` shows raw
markup (``acu-meta <command>``) and no examples"; "A header in another case, a semicolon- or
tab-separated file each get 'required column is missing', without showing the header found").

Every example in ``acu-meta COMMAND --help`` runs as written from a copy of ``examples/``
(``tests/_commands.py``), so the help cannot show a command that fails.
"""

from __future__ import annotations

import pytest
from _commands import README, copy_of_examples, readme_commands, run_in_copy

from acu_meta import __version__
from acu_meta.cli import EXAMPLES, build_parser, main

COMMANDS = sorted(EXAMPLES)
SLOW_OR_WRITING = ("reproduce", "snapshot")  # run by make reproduce / make snapshot instead


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_every_command_has_examples():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_shows_its_examples_without_markup(capsys, command):
    text = _help(capsys, command)
    assert "``" not in text and ":func:" not in text
    assert "example" in text
    for example in EXAMPLES[command]:
        assert example.startswith(f"acu-meta {command}")
        assert f"  {example}\n" in text  # on one line, as typed


def test_top_level_help(capsys):
    text = _help(capsys)
    assert "``" not in text
    assert "acu-meta COMMAND --help" in text and "examples:\n  acu-meta " in text


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"acu-meta {__version__}\n"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return copy_of_examples(tmp_path_factory.mktemp("help-examples"))


# the examples that are also README commands run in tests/cli/test_readme_commands.py
IN_README = set(readme_commands(README.read_text(encoding="utf-8")))
TO_RUN = [e for c in COMMANDS if c not in SLOW_OR_WRITING for e in EXAMPLES[c]
          if e not in IN_README]


def test_help_examples_are_run_somewhere():
    every = {e for c in COMMANDS if c not in SLOW_OR_WRITING for e in EXAMPLES[c]}
    assert every <= IN_README | set(TO_RUN) and len(TO_RUN) < len(every)


@pytest.mark.parametrize("example", TO_RUN)
def test_help_examples_run(example, clone):
    status, out, err = run_in_copy(example, clone)
    assert status == 0, err
    assert out.strip()


@pytest.mark.parametrize(("header", "needle"), [
    ("Study,YI,VI", "found 'Study': column names are case-sensitive (header found: "
                    "'Study,YI,VI')"),
    ("study;yi;vi", "the columns are separated by semicolons, not commas; save the file as "
                    "comma-separated CSV (header found: 'study;yi;vi')"),
    ("study\tyi\tvi", "the columns are separated by tabs, not commas; save the file as "
                      "comma-separated CSV (header found: 'study\\tyi\\tvi')"),
    ("study,yi,variance", "column 'vi': required column is missing (give vi or sei with yi) "
                          "(header found: 'study,yi,variance')"),
])
def test_header_problems_show_the_header_found(tmp_path, capsys, header, needle):
    sep = ";" if ";" in header else "\t" if "\t" in header else ","
    path = tmp_path / "t.csv"
    path.write_text(header + "\n" + sep.join(["a", "1", "0.1"]) + "\n", encoding="utf-8")
    assert main(["pool", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
