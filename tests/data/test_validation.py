"""The loader refuses malformed tables with one line naming file, line, column and problem."""

from __future__ import annotations

import re

import pytest

from acu_meta import data
from acu_meta.cli import main


@pytest.mark.parametrize(
    "table,idx,col,value,needle",
    [
        ("arm_outcomes", 0, "mean", "6o.0", "is not a number"),
        ("arm_outcomes", 0, "sd", "-1.0", "below the minimum"),
        ("arm_outcomes", 0, "n", "99.5", "not a whole number"),
        ("arm_outcomes", 0, "mean", "inf", "not allowed"),
        ("arm_outcomes", 0, "mean", "1e3", "is not a number"),
        ("arm_outcomes", 0, "outcome", "nosuch", "not listed in outcomes.csv"),
        ("arm_outcomes", 0, "label", "guessed", "is not one of"),
        ("arm_outcomes", 0, "label", "derived", "computed in code"),
        ("arm_outcomes", 0, "location", "", "required value is missing"),
        ("arm_outcomes", 0, "source_id", "nowhere", "not listed in sources.csv"),
        ("proportions", 0, "percent", "140.0", "above the maximum"),
        ("pooled_rows", 0, "excluded", "yes", "not true or false"),
        ("arms", 1, "arm", "a", "is repeated"),
        ("facts", 1, "part_of", "f99", "not listed in facts.csv"),
    ],
)
def test_bad_cell_is_located(plant, table, idx, col, value, needle):
    folder = plant((table, idx, col, value))
    problems = data.validate(folder)
    assert problems, "planted problem not found"
    text = str(problems[0])
    assert needle in text
    assert f"{table}.csv" in text
    line = idx + 2  # header is line 1
    assert f"line {line}" in text
    if needle != "is repeated":
        assert f"column {col!r}" in text
    with pytest.raises(data.DataValidationError) as err:
        data.load("sources", folder)
    assert "\n" not in str(err.value)


def test_missing_column_and_ragged_row(clean_package):
    path = clean_package / "arms.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace(",n_randomized", "")
    path.write_text("\n".join(lines) + "\n")
    problems = data.validate(clean_package)
    assert any("arms.csv, line 1, column 'n_randomized'" in str(p) for p in problems)


def test_ragged_row(clean_package):
    path = clean_package / "facts.csv"
    path.write_text(path.read_text() + "f9,trial1\n")
    problems = data.validate(clean_package)
    assert any(re.search(r"facts.csv, line 6: has 2 cells", str(p)) for p in problems)


def test_cli_refuses_bad_data_with_exit_2(plant, capsys):
    folder = plant(("arm_outcomes", 0, "sd", "abc"))
    status = main(["check-data", "--data", str(folder)])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "arm_outcomes.csv, line 2, column 'sd'" in err
    assert "Traceback" not in err


def test_unknown_dataset():
    with pytest.raises(KeyError, match="known datasets"):
        data.load("nosuch")
