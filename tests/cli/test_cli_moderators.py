"""``acu-meta pool --subgroup COL`` and ``--mods COL[,COL]`` (issue #14, build item 5: "pool
has no --subgroup"), against metafor 3.8.1 and the library.

Oracle 1: metafor's ``rma`` per subgroup, the Q-between test, ``rma(mods = ~ ablat)`` and
``rma(mods = ~ factor(alloc))`` on dat.bcg (``tests/fixtures/metafor_reference.json``, cases
``bcg-OR-alloc-*`` and ``bcg-OR-ablat-*``; written by ``validation/metafor/reference.R``), for
the CLI on ``examples/bcg_moderators.csv``. Oracle 2: ``acu_meta.subgroups`` / ``metareg``
called directly with the columns of the file (and, for a two-column model, with the design
built by hand). Tolerances: ``tol_for(method)`` (``tests/tolerances.py`` ``ITERATIVE`` for
REML).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _metafor import REF, assert_close, es_for, tol_for

from acu_meta import metareg, subgroups
from acu_meta.analyses import EXAMPLES_DIR
from acu_meta.cli import main

FILE = str(EXAMPLES_DIR / "bcg_moderators.csv")
FRAME = pd.read_csv(FILE)


def _case(family: str, case_id: str) -> dict:
    return next(c for c in REF[family] if c["id"] == case_id)


def _json(capsys, *argv) -> dict:
    assert main(["pool", FILE, "--measure", "OR", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_example_file_is_the_fixture_dataset():
    d = REF["datasets"]["bcg"]
    assert list(FRAME.study) == d["study"]
    assert list(FRAME.alloc) == d["group"] and list(FRAME.ablat) == d["mod"]
    assert list(FRAME.treat_events) == d["ai"] and list(FRAME.control_n) == d["n2i"]


@pytest.mark.parametrize("test", ["z", "knha"])
def test_subgroup_matches_metafor(capsys, test):
    case = _case("subgroups", f"bcg-OR-alloc-REML-{test}")
    got = _json(capsys, "--subgroup", "alloc", *(["--hksj"] if test == "knha" else []))
    tol = tol_for("REML")
    assert got["model"] == "subgroups"
    groups = {g["group"]: g for g in got["groups"]}
    assert set(groups) == set(case["groups"])
    for name, want in case["groups"].items():
        g = groups[name]
        assert g["k"] == want["k"]
        for key, ref in (("estimate", "beta"), ("se", "se"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("tau2", "tau2"), ("Q", "QE"), ("I2", "I2")):
            assert_close(g[key], want[ref], tol, f"{name} {key}")
    assert_close(got["Q_between"], case["Qb"], tol, "Qb")
    assert got["Q_between_df"] == case["Qb_df"]
    assert_close(got["Q_between_p"], case["Qb_p"], tol, "Qb_p")


def test_subgroup_equals_library(capsys):
    got = _json(capsys, "--subgroup", "alloc")
    lib = subgroups(es_for("bcg", "OR"), FRAME.alloc.tolist(), method="REML")
    assert got["Q_between"] == lib.Q_between
    assert [g["estimate"] for g in got["groups"]] == [r.estimate for r in lib.groups.values()]
    assert main(["pool", FILE, "--measure", "OR", "--subgroup", "alloc"]) == 0
    assert capsys.readouterr().out == lib.summary() + "\n"


@pytest.mark.parametrize("test", ["z", "knha"])
def test_numeric_mods_match_metafor(capsys, test):
    case = _case("metareg", f"bcg-OR-ablat-REML-{test}")
    got = _json(capsys, "--mods", "ablat", *(["--hksj"] if test == "knha" else []))
    tol = tol_for("REML")
    assert got["model"] == "metareg" and got["test"] == ("t" if test == "knha" else "z")
    coefs = got["coefficients"]
    assert [c["term"] for c in coefs] == case["coef_names"]
    for key, ref in (("estimate", "beta"), ("se", "se"), ("statistic", "zval"),
                     ("p_value", "pval"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub")):
        for c, w in zip(coefs, case[ref], strict=True):
            assert_close(c[key], w, tol, key)
    for key, ref in (("tau2", "tau2"), ("QE", "QE"), ("QM", "QM"), ("QM_p", "QMp"),
                     ("I2", "I2"), ("H2", "H2"), ("R2", "R2")):
        assert_close(got[key], case[ref], tol, key)


def test_categorical_mods_match_metafor_factor_coding(capsys):
    """``--mods alloc`` is metafor's ``mods = ~ factor(alloc)``: the first level in sorted
    order (alternate) is the reference; the common-tau2 subgroup model of the fixture."""
    want = _case("subgroups", "bcg-OR-alloc-REML-z")["common_tau2"]
    got = _json(capsys, "--mods", "alloc")
    tol = tol_for("REML")
    assert [c["term"] for c in got["coefficients"]] == ["intrcpt", "allocrandom",
                                                       "allocsystematic"]
    assert len(want["coef_names"]) == 3  # intrcpt, fgrprandom, fgrpsystematic
    for key, ref in (("estimate", "beta"), ("se", "se"), ("ci_low", "ci_lb"),
                     ("ci_high", "ci_ub")):
        for c, w in zip(got["coefficients"], want[ref], strict=True):
            assert_close(c[key], w, tol, key)
    for key, ref in (("tau2", "tau2"), ("QM", "QM"), ("QM_p", "QMp"), ("QE", "QE")):
        assert_close(got[key], want[ref], tol, key)


def test_two_columns_equal_library_with_hand_made_design(capsys):
    got = _json(capsys, "--mods", "ablat,alloc")
    X = pd.DataFrame({"ablat": FRAME.ablat.astype(float),
                      "allocrandom": (FRAME.alloc == "random").astype(float),
                      "allocsystematic": (FRAME.alloc == "systematic").astype(float)})
    lib = metareg(es_for("bcg", "OR"), X, method="REML")
    np.testing.assert_array_equal([c["estimate"] for c in got["coefficients"]], lib.beta)
    assert got["QM"] == lib.QM and got["QM_df"] == 3
    assert main(["pool", FILE, "--measure", "OR", "--mods", "ablat,alloc"]) == 0
    assert capsys.readouterr().out == lib.summary() + "\n"


def _csv(tmp_path, rows, extra="g"):
    path = tmp_path / "t.csv"
    body = "\n".join(f"S{i},{y},0.1,{g}" for i, (y, g) in enumerate(rows))
    path.write_text(f"study,yi,vi,{extra}\n{body}\n", encoding="utf-8")
    return str(path)


ROWS = [(0.1, "a"), (0.5, "b"), (0.3, "a"), (0.9, "b"), (0.2, "a")]


@pytest.mark.parametrize(("argv", "rows", "needle"), [
    (["--mods", "G"], ROWS, "column 'G': no such column for --mods; found 'g': column names "
                            "are case-sensitive (header found: 'study,yi,vi,g')"),
    (["--subgroup", "grp"], ROWS, "no such column for --subgroup (header found: "
                                  "'study,yi,vi,g')"),
    (["--mods", "g"], [(0.1, "1"), (0.5, "2"), (0.3, "x"), (0.9, "4"), (0.2, "5")],
     "line 4, column 'g': 'x' is not a number, but '1' (line 2) is"),
    (["--mods", "g"], [(0.1, "a")] * 5, "needs two levels or more"),
    (["--mods", "g"], [(0.1, "1"), (0.5, ""), (0.3, "2"), (0.9, "4"), (0.2, "5")],
     "line 3, column 'g': missing value for --mods"),
    (["--subgroup", "g"], [(0.1, "a"), (0.5, " "), (0.3, "a"), (0.9, "b"), (0.2, "b")],
     "line 3, column 'g': subgroup label is missing"),
    (["--mods", "g,g"], ROWS, "a column is named twice"),
    (["--mods", "g", "--bias"], ROWS, "not with --subgroup or --mods"),
    (["--mods", "g", "--subgroup", "g"], ROWS, "give --subgroup or --mods, not both"),
    (["--mods", "g", "--method", "MH"], ROWS, "method MH"),
])
def test_bad_moderators_are_one_line(tmp_path, capsys, argv, rows, needle):
    assert main(["pool", _csv(tmp_path, rows), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("acu-meta: error: ")
    assert needle in err, err


def test_too_few_studies_for_the_coefficients(tmp_path, capsys):
    path = _csv(tmp_path, [(0.1, "a"), (0.5, "b"), (0.3, "c")])
    assert main(["pool", path, "--mods", "g"]) == 2
    assert "3 coefficients for 3 studies" in capsys.readouterr().err


def test_effect_label_in_text_and_json(capsys):
    got = _json(capsys, "--effect-label", "Log odds ratio of TB")
    assert got["effect_label"] == "Log odds ratio of TB"
    assert main(["pool", FILE, "--effect-label", "Log OR (TB)"]) == 0
    assert capsys.readouterr().out.startswith("Effect: Log OR (TB)\n\nRandom-Effects Model")
