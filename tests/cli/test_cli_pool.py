"""`acu-meta pool` on CSVs of the three shapes: JSON equal to metafor; bad input refused.

Bad inputs run in process (``main([...])`` returns the exit status; ``capsys`` reads the
streams); one of them also runs as a real subprocess, to check the exit code of the command and
that no traceback reaches the user. Tolerances (``tests/tolerances.py``): closed-form fits
(FE, DL, SJ, MH, Peto) equal metafor to ``CLOSED_FORM``, iterative ones (REML, PM) to
``ITERATIVE``, the Q-profile tau2 bounds to ``Q_PROFILE``; the JSON numbers are Python's
round-trip repr, so the tolerances are those of the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _helpers import fixture_json
from _helpers import write_csv as _write
from _metafor import close, tol_for
from tolerances import CLOSED_FORM, Q_PROFILE

from acu_meta.cli import main

REF = fixture_json("metafor_reference.json")
KEYS = ["measure", "method", "k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high",
        "tau2", "tau2_ci_low", "tau2_ci_high", "I2", "H2", "Q", "Q_df", "Q_p", "p_value",
        "excluded", "studies"]


def _binary_csv(tmp_path, name="bcg"):
    d = REF["datasets"][name]
    return _write(tmp_path / f"{name}.csv",
                  ["study", "treat_events", "treat_n", "control_events", "control_n"],
                  list(zip(d["study"], d["ai"], d["n1i"], d["ci"], d["n2i"], strict=True)))


def _continuous_csv(tmp_path):
    d = REF["datasets"]["normand1999"]
    return _write(tmp_path / "normand.csv",
                  ["study", "treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                   "control_n"],
                  list(zip(d["study"], d["m1i"], d["sd1i"], d["n1i"], d["m2i"], d["sd2i"],
                           d["n2i"], strict=True)))


def _generic_csv(tmp_path, se=False):
    d = REF["datasets"]["raudenbush1985"]
    if se:
        return _write(tmp_path / "raud_se.csv", ["study", "yi", "sei"],
                      [(s, y, v**0.5) for s, y, v in zip(d["study"], d["yi"], d["vi"],
                                                           strict=True)])
    return _write(tmp_path / "raud.csv", ["study", "yi", "vi"],
                  list(zip(d["study"], d["yi"], d["vi"], strict=True)))


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def _ref(case_id):
    return next(r for r in REF["rma"] if r["id"] == case_id)


def _compare(out: dict, ref: dict):
    tol = tol_for(ref["method"])
    pairs = {"estimate": "beta", "se": "se", "ci_low": "ci_lb", "ci_high": "ci_ub",
             "pi_low": "pi_lb", "pi_high": "pi_ub", "tau2": "tau2", "I2": "I2", "H2": "H2",
             "Q": "QE", "Q_p": "QEp", "p_value": "pval", "tau2_ci_low": "tau2_ci_lb",
             "tau2_ci_high": "tau2_ci_ub"}
    for mine, theirs in pairs.items():
        want = ref[theirs]
        if want is None:
            assert out[mine] is None
            continue
        rtol = Q_PROFILE if mine.startswith("tau2_ci") else tol
        assert close(out[mine], want, rtol), (mine, out[mine], want)
    assert out["k"] == ref["k"] and out["Q_df"] == ref["QEdf"]
    for s, w in zip(out["studies"], ref["weights"], strict=True):
        assert close(s["weight"], w, tol)


@pytest.mark.parametrize(
    "maker,argv,case",
    [
        (_binary_csv, ["--measure", "RR"], "bcg-RR-REML-z"),
        (_binary_csv, [], "bcg-OR-REML-z"),  # OR is the default for counts
        (_binary_csv, ["--measure", "RD", "--method", "PM", "--hksj"], "bcg-RD-PM-knha"),
        (_continuous_csv, ["--method", "DL", "--hksj"], "normand1999-SMD-DL-knha"),
        (_continuous_csv, ["--measure", "MD", "--method", "FE"], "normand1999-MD-FE-z"),
        (_generic_csv, ["--method", "SJ"], "raudenbush1985-SJ-z"),
    ],
)
def test_pool_json_equals_metafor(tmp_path, capsys, maker, argv, case):
    path = maker(tmp_path)
    status, out, err = _run(capsys, "pool", str(path), "--json", *argv)
    assert status == 0, err
    res = json.loads(out)
    assert set(KEYS) <= set(res)
    _compare(res, _ref(case))


def test_pool_generic_with_sei(tmp_path, capsys):
    status, out, _ = _run(capsys, "pool", str(_generic_csv(tmp_path, se=True)), "--json")
    assert status == 0
    _compare(json.loads(out), _ref("raudenbush1985-REML-z"))


def test_pool_mh_and_peto(tmp_path, capsys):
    path = _binary_csv(tmp_path, "yusuf1985_t6")
    status, out, err = _run(capsys, "pool", str(path), "--method", "PETO", "--measure", "PETO",
                            "--json")
    assert status == 0
    res = json.loads(out)
    want = next(c for c in REF["peto"] if c["dataset"] == "yusuf1985_t6")
    assert close(res["estimate"], want["beta"], CLOSED_FORM)
    # double-zero studies are reported, counted in k, and warned about
    assert res["k"] == want["k"] and len(res["excluded"]) == 3
    assert "double-zero" in err
    status, out, _ = _run(capsys, "pool", str(path), "--method", "MH", "--json")
    assert status == 0
    want = next(c for c in REF["mh"] if c["id"] == "yusuf1985_t6-OR")
    assert close(json.loads(out)["estimate"], want["beta"], CLOSED_FORM)


def test_pool_text_summary(tmp_path, capsys):
    status, out, _ = _run(capsys, "pool", str(_binary_csv(tmp_path)), "--measure", "RR")
    assert status == 0
    assert out.startswith("Random-Effects Model (k = 13; tau^2 estimator: REML")
    assert "-0.7145" in out and "Exponentiated: 0.4894" in out


def test_drop_missing_lists_the_row(tmp_path, capsys):
    path = _write(tmp_path / "m.csv", ["study", "yi", "vi"],
                  [("A", 0.1, 0.01), ("B", "", 0.02), ("C", 0.3, 0.03)])
    status, _, err = _run(capsys, "pool", str(path))
    assert status == 2 and "line 3, column 'yi': missing value" in err
    status, out, err = _run(capsys, "pool", str(path), "--drop-missing", "--json")
    res = json.loads(out)
    assert status == 0 and res["k"] == 2
    assert res["excluded"][0]["study"] == "B" and "line 3" in res["excluded"][0]["reason"]
    assert "excluded B" in err


BAD = [
    ("missing column", ["study", "yi"], [("A", 0.1)], "column 'vi': required column is missing"),
    ("no study column", ["yi", "vi"], [(0.1, 0.01)], "column 'study': required column"),
    ("non-numeric", ["study", "yi", "vi"], [("A", "x1", 0.01)], "line 2, column 'yi': 'x1' is not"),
    ("missing value", ["study", "yi", "vi"], [("A", 0.1, "")], "line 2, column 'vi': missing"),
    ("zero variance", ["study", "yi", "vi"], [("A", 0.1, 0)], "column 'vi': variance 0 must be"),
    ("negative sd", ["study", "treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                     "control_n"], [("A", 1, -2, 10, 1, 2, 10)], "column 'treat_sd': standard"),
    ("zero sd", ["study", "treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                 "control_n"], [("A", 1, 0, 10, 1, 2, 10)], "column 'treat_sd': standard"),
    ("n < 2 with SD", ["study", "treat_mean", "treat_sd", "treat_n", "control_mean",
                       "control_sd", "control_n"], [("A", 1, 2, 1, 1, 2, 10)],
     "column 'treat_n': n = 1; an SD needs n >= 2"),
    ("events > n", ["study", "treat_events", "treat_n", "control_events", "control_n"],
     [("A", 11, 10, 1, 10)], "column 'treat_events': 11 events exceed"),
    ("fractional events", ["study", "treat_events", "treat_n", "control_events", "control_n"],
     [("A", 1.5, 10, 1, 10)], "column 'treat_events': event count 1.5 is not a whole"),
    ("infinity", ["study", "yi", "vi"], [("A", "inf", 0.01)], "'inf' is not a finite number"),
    ("-infinity", ["study", "yi", "vi"], [("A", 0.1, "-Infinity")], "is not a finite number"),
    ("no rows", ["study", "yi", "vi"], [], "no data rows"),
]


def _one_error_line(status, out, err, path, needle):
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("acu-meta: error: ")
    assert str(path) in lines[0] and needle in lines[0], lines[0]


@pytest.mark.parametrize("name,header,rows,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exit_2_one_line(tmp_path, capsys, name, header, rows, needle):
    path = _write(tmp_path / "bad.csv", header, rows)
    _one_error_line(*_run(capsys, "pool", str(path)), path, needle)


@pytest.mark.parametrize("content,needle", [(b"", "file is empty"),
                                            (b"\x89PNG\r\n\x1a\n\x00\x00", "binary content")])
def test_empty_or_binary_file(tmp_path, capsys, content, needle):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    _one_error_line(*_run(capsys, "pool", str(path)), path, needle)


def test_bad_input_subprocess_exit_2_no_traceback(tmp_path):
    """The real command, once: exit status 2, nothing on stdout, one line, no traceback."""
    name, header, rows, needle = BAD[2]  # non-numeric
    path = _write(tmp_path / "bad.csv", header, rows)
    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "pool", str(path)],
                          capture_output=True, text=True)
    assert "Traceback" not in proc.stderr
    _one_error_line(proc.returncode, proc.stdout, proc.stderr, path, needle)


def test_measure_that_does_not_fit_the_data(tmp_path, capsys):
    status, _, err = _run(capsys, "pool", str(_generic_csv(tmp_path)), "--measure", "OR")
    assert status == 2 and "does not fit" in err


def test_pool_bias_and_leave_one_out_json(tmp_path, capsys):
    status, out, _ = _run(capsys, "pool", str(_binary_csv(tmp_path)), "--measure", "RR",
                          "--bias", "--leave-one-out", "--json")
    assert status == 0
    res = json.loads(out)
    assert set(res["bias"]) == {"egger_stat", "egger_p", "egger_classic_t", "egger_classic_p",
                                "begg_tau", "begg_p", "trimfill_k0", "trimfill_side",
                                "trimfill_estimate", "failsafe_n"}
    # dat.bcg, RR: Begg tau 0.0256 (p 0.9524) and Rosenthal fail-safe N 598 (issue #8)
    assert round(res["bias"]["begg_tau"], 4) == 0.0256 and round(res["bias"]["begg_p"], 4) == 0.9524
    assert res["bias"]["failsafe_n"] == 598
    loo = res["leave_one_out"]
    assert len(loo) == 13 and set(loo[0]) == {"study", "estimate", "ci_low", "ci_high", "tau2",
                                              "I2"}
    status, out, _ = _run(capsys, "pool", str(_binary_csv(tmp_path)), "--measure", "RR",
                          "--bias", "--leave-one-out")
    assert status == 0 and "Leave-one-out" in out
