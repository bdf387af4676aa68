"""Every example quoted in issue #17 (a 9,500-run fuzz campaign), as the CLI user sees it: it
works, or it is refused with exit 2 in one line that names file, line and column (the MH/Peto
ones are in ``tests/cli/test_fuzz.py``'s regression list)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from acu_meta import cli

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
STUDIES = "study,yi,vi\nA,0.1,0.01\nB,-0.25,0.04\nC,0.3,0.02\n"


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _refused(capsys, *argv) -> str:
    status, out, err = _run(capsys, *argv)
    assert status == 2 and out == "", (status, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("acu-meta: error: "), err
    return lines[0]


def _strict(text: str):
    def refuse(token):
        raise AssertionError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _csv(tmp_path, content: str | bytes, name: str = "s.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ------------------------------------------------------------------------------ tracebacks


@pytest.mark.parametrize("variant", ["cr-only", "stray-cr", "long-field"])
def test_files_that_gave_csv_errors_now_pool(tmp_path, capsys, variant):
    reference = _strict(_run(capsys, "pool", _csv(tmp_path, STUDIES, "lf.csv"), "--json")[1])
    text = {"cr-only": STUDIES.replace("\n", "\r"),
            "stray-cr": STUDIES.replace("A,", "A\r,").replace("0.02", "0.02\r"),
            "long-field": STUDIES.replace("A,", "A" * 131_073 + ",")}[variant]
    status, out, err = _run(capsys, "pool", _csv(tmp_path, text), "--json")
    assert status == 0 and err == "", err
    res = _strict(out)
    for key in ("k", "estimate", "se", "tau2", "Q"):
        assert res[key] == reference[key], key
    assert len(res["studies"][0]["study"]) == (131_073 if variant == "long-field" else 1)


def test_100000_rows_end_cleanly_within_bounded_time(tmp_path):
    """Exit 0, or one line and exit 2, in a subprocess capped at 4 GiB of address space and
    120 s (the issue: a MemoryError on a 74.5 GiB k x k matrix)."""
    resource = pytest.importorskip("resource")
    rows = "".join(f"S{i},{(i % 17 - 8) / 10},{0.01 + (i % 7) / 100}\n" for i in range(100_000))
    path = _csv(tmp_path, "study,yi,vi\n" + rows)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "pool", str(path), "--json"],
                          capture_output=True, text=True, env=ENV, preexec_fn=cap, timeout=120)
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 0:
        assert _strict(proc.stdout)["k"] == 100_000
    else:
        assert len(proc.stderr.splitlines()) == 1


def test_network_sd_1e160_is_refused_at_input(tmp_path, capsys):
    path = _csv(tmp_path, "study,treatment,mean,sd,n\nA,a,1,1e160,10\nA,b,2,1,10\n"
                          "B,a,1,1,10\nB,b,2,1,10\n")
    for measure in ("MD", "SMD"):
        line = _refused(capsys, "network", path, "--measure", measure, "--json")
        assert f"{path}, line 2, column 'sd': standard deviation 1e160 is too large" in line


def test_closed_stdout_ends_quietly():
    """`acu-meta pool ... >&-` (no stdout at all) and `... | head -c 1` (a pipe closed early)."""
    bcg = REPO / "examples" / "bcg.csv"
    cmd = f"'{sys.executable}' -m acu_meta.cli pool '{bcg}' --measure RR --json"
    closed = subprocess.run(f"{cmd} >&-", shell=True, capture_output=True, text=True, env=ENV)
    assert closed.returncode == 0 and closed.stderr == ""
    head = subprocess.run(f"{cmd} --leave-one-out | head -c 1", shell=True, capture_output=True,
                          text=True, env=ENV)
    assert head.stdout == "{" and head.stderr == ""


# ------------------------------------------------------------------------------ locations


def test_line_after_a_quoted_newline_is_the_physical_line(tmp_path, capsys):
    path = _csv(tmp_path, 'study,yi,vi\n"Smith\n2001",0.1,0.1\nB,x,0.1\n')
    assert _refused(capsys, "pool", path).endswith(f"{path}, line 4, column 'yi': 'x' is not "
                                                   "a number")


# ------------------------------------------------------------------------ errors name the file


def test_model_errors_name_the_file(tmp_path, capsys):
    full = _csv(tmp_path, "study,treat_events,treat_n,control_events,control_n\nA,10,10,12,12\n")
    line = _refused(capsys, "pool", full, "--measure", "RR", "--method", "MH")
    assert line.startswith(f"acu-meta: error: {full}: the Mantel-Haenszel RR has standard "
                           "error 0"), line


def test_revman5_pools_one_binary_study(tmp_path, capsys):
    """Once "model matrix is not of full rank" (RevMan 5's Q around the MH estimate with k = 1);
    one study is pooled with tau2 = 0, as in every profile."""
    one = _csv(tmp_path, "study,treat_events,treat_n,control_events,control_n\nA,1,10,2,12\n")
    status, out, err = _run(capsys, "pool", one, "--profile", "revman5", "--json")
    assert status == 0 and err == "", err
    res = _strict(out)
    assert res["k"] == 1 and res["tau2"] == 0.0 and res["se"] > 0



def test_huge_effects_fit_without_warnings(tmp_path, capsys):
    """yi = +/-1e150 (allowed: below sqrt of the largest double) once raised "not of full
    rank"; the model is fitted: tau2 = 2e300 (the two-study REML estimate (y1 - y2)^2 / 2 minus
    the mean variance, here 2e300 to rounding), a finite SE of tau2, no numpy warning."""
    flat = _csv(tmp_path, "study,yi,vi\nA,1e150,0.1\nB,-1e150,0.1\n", "flat.csv")
    assert cli.main(["pool", str(flat), "--json"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    res = json.loads(out.out)
    assert res["tau2"] == pytest.approx(2e300, rel=1e-12)
    assert res["estimate"] == 0.0 and math.isfinite(res["se"])


def test_argument_errors_about_a_file_name_it(tmp_path, capsys):
    path = _csv(tmp_path, STUDIES)
    line = _refused(capsys, "pool", path, "--method", "MH")
    assert line == (f"acu-meta: error: {path}: method MH needs 2x2 counts (treat_events, "
                    "treat_n, control_events, control_n)")


# ------------------------------------------------------------------------ non-standard input


@pytest.mark.parametrize("cell,what", [
    ("1_000", "underscores are not allowed"),
    ("\u0663", "non-ASCII digit '\u0663', ARABIC-INDIC DIGIT THREE"),
    ("\uff11\uff12\uff10", "non-ASCII digit '\uff11', FULLWIDTH DIGIT ONE"),
], ids=["underscore", "arabic-indic", "full-width"])
def test_numbers_a_csv_user_does_not_mean(tmp_path, capsys, cell, what):
    path = _csv(tmp_path, f"study,yi,vi\nA,0.1,0.01\nB,{cell},0.02\n")
    line = _refused(capsys, "pool", path)
    assert f"{path}, line 3, column 'yi': {cell!r} is not a number" in line and what in line


@pytest.mark.parametrize("header,row,column,what", [
    ("study,yi,sei", "B,0.2,1e308", "sei", "standard error 1e308 is too large"),
    ("study,yi,vi", "B,0.2,1e-320", "vi", "variance 1e-320 is too small"),
], ids=["sei-1e308", "vi-1e-320"])
def test_values_whose_weight_overflows_are_refused_at_input(tmp_path, capsys, header, row,
                                                            column, what):
    path = _csv(tmp_path, f"{header}\nA,0.1,0.1\n{row}\nC,0.3,0.1\n")
    line = _refused(capsys, "pool", path, "--json")  # not dropped, not "estimate": null
    assert f"{path}, line 3, column '{column}': {what}" in line and "numpy.finfo" in line


def test_network_json_is_strict(tmp_path, capsys):
    """A network whose Q overflows printed `Infinity`/`NaN` tokens; now they are null."""
    path = _csv(tmp_path, "study,treatment,mean,sd,n\nS0,a,-1e-100,1e-10,16\nS0,b,1e150,1e-150,17"
                          "\nS1,b,1e100,1e-100,6\nS1,c,-1e-150,1e100,12\nS1,a,1e-150,1e-150,2\n")
    status, out, err = _run(capsys, "network", path, "--measure", "MD", "--method", "FE",
                            "--json")
    assert status == 0
    res = _strict(out)
    assert res["Q"] is None  # y'Wy is above the largest double (about 1e321) even when scaled
    assert all(x.startswith("acu-meta: warning: ") for x in err.splitlines()), err


def test_json_text_turns_every_non_finite_number_into_null():
    import numpy as np

    payload = {"a": float("nan"), "b": [float("inf"), np.float64(-np.inf), np.float32(1.5)],
               "c": {"d": np.array([1.0, np.nan]), "e": (np.int64(3), True, None, "x")}}
    assert _strict(cli.json_text(payload)) == {"a": None, "b": [None, None, 1.5],
                                               "c": {"d": [1.0, None], "e": [3, True, None, "x"]}}


# ------------------------------------------------------------------------------ noise


# vi = 1e-300 once gave numpy RuntimeWarnings; the models now compute it without any (the
# scaled sums of issue #17 item 4), so a warning of the package itself is provoked instead
DOUBLE_ZERO = ("study,treat_events,treat_n,control_events,control_n\nA,3,10,5,12\nB,0,10,0,12\n"
               "C,4,11,2,9\n")


def test_warnings_are_one_line_each_without_source_paths(tmp_path, capsys):
    path = _csv(tmp_path, DOUBLE_ZERO)
    status, out, err = _run(capsys, "pool", path, "--json", "--measure", "OR", "--method", "MH")
    assert status == 0 and _strict(out)["k"] == 3
    lines = err.splitlines()
    assert lines and all(x.startswith("acu-meta: warning: ") for x in lines), err
    assert ".py" not in err and "RuntimeWarning" not in err
    assert len(lines) == len(set(lines))


def test_warnings_in_a_subprocess_are_the_same_lines(tmp_path):
    path = _csv(tmp_path, DOUBLE_ZERO)
    proc = subprocess.run([sys.executable, "-m", "acu_meta.cli", "pool", str(path), "--measure",
                           "OR", "--method", "MH"], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0
    assert proc.stderr and all(x.startswith("acu-meta: warning: ")
                               for x in proc.stderr.splitlines()), proc.stderr


def test_a_variance_of_1e_300_pools_without_warnings(tmp_path, capsys):
    path = _csv(tmp_path, "study,yi,vi\nA,0.1,1e-300\nB,0.2,0.1\nC,0.3,0.1\n")
    for method in ("REML", "DL", "PM", "FE"):
        status, out, err = _run(capsys, "pool", path, "--json", "--method", method)
        assert status == 0 and err == "", (method, err)
        res = _strict(out)
        assert res["k"] == 3 and res["se"] > 0 and 0 <= res["I2"] < 100


def test_cjk_study_labels_draw_without_warnings(tmp_path, capsys):
    """With a CJK font installed (.ci/run installs fonts-noto-cjk), no warning; without one,
    the figure is still drawn and one warning line names each missing character."""
    from acu_meta.plots import _style

    path = _csv(tmp_path, "study,yi,vi\n\u674e 2001,0.1,0.01\n\u738b 2003,0.2,0.02\n")
    status, _, err = _run(capsys, "forest", path, "-o", tmp_path / "f.png")
    assert status == 0 and (tmp_path / "f.png").stat().st_size > 0
    covered = [c for c in map(_style._coverage, _style._candidates()) if c is not None]
    if all(any(ord(ch) in c for c in covered) for ch in "\u674e\u738b"):
        assert err == "", err
    else:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("acu-meta: warning: "), err
        assert "U+674E" in err and "U+738B" in err and "fonts-noto-cjk" in err


def test_q_does_not_overflow_for_a_tiny_variance(tmp_path, capsys):
    yi, vi = ["0.1", "0.2", "0.3"], ["1e-300", "0.1", "0.1"]
    path = _csv(tmp_path, "study,yi,vi\n" + "".join(f"S{i},{y},{v}\n" for i, (y, v) in
                                                    enumerate(zip(yi, vi, strict=True))))
    w = [1 / Fraction(v) for v in vi]  # exact rational arithmetic, independent of acu_meta
    y = [Fraction(x) for x in yi]
    mean = sum(a * b for a, b in zip(w, y, strict=True)) / sum(w)
    exact = float(sum(a * (b - mean) ** 2 for a, b in zip(w, y, strict=True)))
    status, out, _ = _run(capsys, "pool", path, "--method", "FE", "--json")
    assert status == 0
    assert _strict(out)["Q"] == pytest.approx(exact, rel=1e-9)


# ------------------------------------------------------------- found by the fuzz campaign
# ``ACU_META_FUZZ=5000 ACU_META_FUZZ_LOG=FILE pytest tests/cli/test_fuzz.py``

BIN = "study,treat_events,treat_n,control_events,control_n\n"


def test_funnel_draws_around_a_double_zero_study_under_mh(tmp_path, capsys):
    """A double-zero study has no RD under MH (yi, vi NaN, still counted in k): the funnel
    plot drew it, and matplotlib refused NaN axis limits (exit 1). Now it is left out of the
    drawing, with the pool's warning; with no drawable study at all the refusal is one line."""
    path = _csv(tmp_path, BIN + "S0,3,41,67,220\nS1,23,48,27,130\nS2,0,175,0,99\n")
    out = tmp_path / "f.png"
    status, stdout, err = _run(capsys, "funnel", path, "-o", out, "--measure", "RD", "--method",
                               "MH")
    assert status == 0, err
    assert out.read_bytes().startswith(b"\x89PNG") and stdout.strip() == f"written {out}"
    assert err.splitlines() == ["acu-meta: warning: S2: double-zero study: no contribution to "
                                "the pooled estimate (still counted in k); left out of Q"]
    # the same file without the double-zero row draws the same two studies
    status, _, err = _run(capsys, "funnel", _csv(tmp_path, BIN + "S0,3,41,67,220\n"
                                                 "S1,23,48,27,130\n", "two.csv"),
                          "-o", tmp_path / "g.png", "--measure", "RD", "--method", "MH")
    assert status == 0 and err == ""
    path = _csv(tmp_path, BIN + "A,0,10,0,12\nB,0,10,0,12\n", "dz.csv")
    assert str(path) in _refused(capsys, "funnel", path, "-o", out, "--measure", "RD",
                                 "--method", "MH")


def test_knapp_hartung_scale_beyond_the_doubles_is_refused(tmp_path, capsys):
    """yi = 1e154 (its square is still a double) next to yi near 0: the FE fit is finite, but
    the Knapp-Hartung scale sum w (y - b)^2 / (k - 1) is not; it gave exit 0 with se, CI null
    and p = 1. Now one line, as the tau2 estimators already say for the same data."""
    path = _csv(tmp_path, "study,yi,vi\nS0,1e154,0.11927\nS1,1e-05,1\nS2,7.4e-37,0.141\n")
    line = _refused(capsys, "pool", path, "--method", "FE", "--hksj")
    assert line.startswith(f"acu-meta: error: {path}: the Knapp-Hartung scale (HKSJ) is above")
    status, out, _ = _run(capsys, "pool", path, "--method", "FE", "--json")  # Wald: finite
    res = _strict(out)
    assert status == 0 and res["ci_low"] <= res["estimate"] <= res["ci_high"]
    assert "tau2" in _refused(capsys, "pool", path, "--method", "DL", "--hksj")


def test_bayes_factor_of_a_mu_prior_without_density_at_zero(tmp_path, capsys):
    """mu prior normal(1, 0.01): its density at 0 underflows to 0, and the Bayes factor for
    mu = 0 divided by it (ZeroDivisionError, exit 1). Now it is NaN (null in JSON), as 0/0 in
    R; the marginal likelihood and the other Bayes factor stay, and a wider prior gives a
    finite Bayes factor (Savage-Dickey: posterior over prior density at 0)."""
    path = _csv(tmp_path, "study,yi,sei\nS0,0,0.3324\nS1,2.427,0.5094\nS2,-1.277,0.0991\n")
    argv = ["bayes", path, "--tau-prior", "half-normal:0.5", "--json"]
    status, out, err = _run(capsys, *argv, "--mu-prior", "normal:1,0.01")
    assert status == 0, err
    res = _strict(out)
    assert res["bayes_factor_mu0"] is None
    assert 0 < res["marginal_likelihood"] < math.inf and res["bayes_factor_tau0"] > 0
    status, out, err = _run(capsys, *argv, "--mu-prior", "normal:0,4")
    assert status == 0, err
    assert 0 < _strict(out)["bayes_factor_mu0"] < math.inf
