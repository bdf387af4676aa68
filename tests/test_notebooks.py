"""Every notebook runs from top to bottom, and is committed without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

#: What the suite overrides in a notebook's ``parameters`` cell. Notebook 06 runs its coverage
#: study with 400 frequentist and 100 Bayesian replicates per scenario (about 20 s of a 2-core
#: suite's budget); here every cell still runs, on 20 and 5. The coverage numbers themselves
#: are tested in tests/test_simulate.py and tests/models/test_bayes_batch.py, and
#: ``make reproduce`` runs the notebook as committed.
PARAMETERS = {"06_small_k_coverage": {"REPS": 20, "BAYES_REPS": 5}}


def test_the_six_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    for want in ("01_gerac2007", "02_cherkin2009", "03_vickers", "04_verum_sham_usual_care",
                 "05_article_claims", "06_small_k_coverage"):
        assert want in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name} has outputs"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    from acu_meta.notebooks import execute

    nb = execute(path, timeout=600, parameters=PARAMETERS.get(path.stem))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # figures are rendered (not only their text repr)
    if path.stem in ("01_gerac2007", "04_verum_sham_usual_care"):
        assert any("image/png" in o.get("data", {}) for c in nb.cells
                   if c.cell_type == "code" for o in c.get("outputs", []))


def test_parameters_are_injected_after_the_parameters_cell(tmp_path):
    """The injected cell follows the tagged one, so its values win; an unknown name and a
    notebook without a parameters cell are refused."""
    import nbformat

    from acu_meta.notebooks import execute

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("REPS = 400\nOTHER = 'a'",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(REPS, OTHER)")]
    path = tmp_path / "p.ipynb"
    nbformat.write(nb, path)
    out = execute(path, parameters={"REPS": 7})
    assert out.cells[1].metadata["tags"] == ["injected-parameters"]
    assert out.cells[2].outputs[0]["text"] == "7 a\n"
    with pytest.raises(ValueError, match="does not assign REPZ"):
        execute(path, parameters={"REPZ": 7})
    nb.cells[0].metadata = {}
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="0 cells are tagged"):
        execute(path, parameters={"REPS": 7})


def test_overridden_names_are_the_notebooks_parameters():
    """Every name the suite overrides is assigned in that notebook's parameters cell (a
    renamed parameter would otherwise make the notebook test fail only at run time)."""
    from acu_meta.notebooks import parameter_names

    for stem, params in PARAMETERS.items():
        nb = json.loads((NOTEBOOKS[0].parent / f"{stem}.ipynb").read_text())
        assert set(params) <= parameter_names(nb["cells"], stem), stem
