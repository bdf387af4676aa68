"""The data layer's errors are the project's own input errors and say where (issue #11)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from acu_meta import data, errors
from acu_meta.data.userfile import read_study_csv

REPO = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder)
    return folder


def test_validation_error_is_an_input_error_and_keeps_every_problem(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "arms.csv"
    lines = path.read_text().splitlines(keepends=True)
    for i in (1, 2):  # two rows, two problems
        lines[i] = lines[i].replace(",387,", ",-387,", 1)
    path.write_text("".join(lines))
    with pytest.raises(errors.InputError) as info:
        data.load("arms", folder)
    err = info.value
    assert isinstance(err, data.DataValidationError) and isinstance(err, ValueError)
    assert [(p.line, p.column) for p in err.problems] == [(2, "n_randomized"),
                                                          (3, "n_randomized")]
    assert str(err).endswith("is below the minimum 1 (and 1 more problem(s))")


@pytest.mark.parametrize("content,needle", [
    (None, "datapackage.json: data dictionary not found"),
    ("{not json", "datapackage.json: data dictionary is not valid JSON"),
    ('{"resources": [{"name": "arms"}]}', "datapackage.json: data dictionary lacks a required"),
], ids=["missing", "not-json", "no-schema"])
def test_broken_dictionary_is_a_validation_error(tmp_path, content, needle):
    if content is not None:
        (tmp_path / "datapackage.json").write_text(content)
    with pytest.raises(data.DataValidationError, match=needle) as info:
        data.validate(tmp_path)
    assert info.value.problems[0].line is None


def test_table_that_cannot_be_read_is_a_problem_not_a_crash(tmp_path):
    folder = _copy(tmp_path)
    (folder / "facts.csv").unlink()
    (folder / "facts.csv").mkdir()  # a folder where the table should be
    (folder / "outcomes.csv").write_bytes(b"\xff\xfe\x00bad")
    problems = {Path(p.file).name: p.message for p in data.validate(folder)}
    assert problems["facts.csv"].startswith("cannot be read")
    assert problems["outcomes.csv"] == "not a UTF-8 text CSV file"


def test_user_csv_errors_are_input_errors(tmp_path):
    path = tmp_path / "studies.csv"
    path.write_text("study,yi,vi\nA,0.1,-1\n")
    with pytest.raises(errors.InputError, match=r"line 2, column 'vi': variance -1 must be"):
        read_study_csv(path)
    with pytest.raises(data.InputError, match="is a folder"):
        read_study_csv(tmp_path)
