"""``acu-meta network``: ranks and P-scores follow the outcome's direction; --reference errors
list the treatments; treatment names are printed as written (issue #14: "ranks by P-score with
no way to say that lower scores are better. On a pain-score file it ranked usual care best";
"A bad --reference doesn't list the treatments. Treatment names print as 'usual care' in one
place and 'usual_care' in another").

Oracles: the P-score definition (Ruecker & Schwarzer 2015) recomputed here from the JSON's
league table (mean over the other treatments of Phi(d / se) in the stated direction), and its
symmetry (smaller-is-better P-scores are 1 minus the larger-is-better ones); the direction of
``cpgs_pain`` read from ``data/outcomes.csv`` directly.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy import stats

from acu_meta import data
from acu_meta.analyses import EXAMPLES_DIR
from acu_meta.cli import main
from acu_meta.plots.network import network_graph
from acu_meta.results.network import network

SENN = str(EXAMPLES_DIR / "senn2013.csv")  # HbA1c change: lower is better
PAIN = "study,treatment,mean,sd,n\n" + "\n".join([
    # a pain score (lower = better): both trials find acupuncture lower than usual care
    "T1,usual care,60,20,50", "T1,acupuncture,45,20,50",
    "T2,usual care,58,22,40", "T2,acupuncture,47,21,40", "T2,sham,50,21,40"]) + "\n"


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(["network", *argv])
    cap = capsys.readouterr()
    return status, cap.out, cap.err


def _pscores_by_hand(payload: dict, larger: bool) -> dict[str, float]:
    sign = 1.0 if larger else -1.0
    out: dict[str, list[float]] = {}
    for r in payload["league"]:
        out.setdefault(r["treatment1"], []).append(
            float(stats.norm.cdf(sign * r["estimate"] / r["se"])))
    return {t: sum(v) / len(v) for t, v in out.items()}


@pytest.fixture
def pain_file(tmp_path):
    path = tmp_path / "pain.csv"
    path.write_text(PAIN, encoding="utf-8")
    return str(path)


def test_smaller_is_better_ranks_usual_care_last_on_a_pain_file(capsys, pain_file):
    status, out, err = _run(capsys, pain_file, "--measure", "MD", "--smaller-is-better",
                            "--json")
    assert status == 0 and err == ""
    got = json.loads(out)
    assert got["larger_is_better"] is False and got["direction_from"] == "option"
    assert [r["treatment"] for r in got["ranking"]][-1] == "usual care"
    assert got["ranking"][0]["treatment"] == "acupuncture"
    by_hand = _pscores_by_hand(got, larger=False)
    for r in got["ranking"]:
        assert r["p_score"] == pytest.approx(by_hand[r["treatment"]], rel=1e-12)


def test_the_old_silent_default_now_warns(capsys, pain_file):
    status, out, err = _run(capsys, pain_file, "--measure", "MD")
    assert status == 0
    # larger is assumed (the old behaviour, which ranked usual care best) but said twice
    assert "acu-meta: warning: P-scores and ranks assume that larger effects are better" in err
    assert "Ranking by P-score (larger effects are better: assumed" in out
    ranking = out.split("Ranking by P-score")[1].splitlines()
    assert ranking[1].split()[1:3] == ["usual", "care"]


def test_directions_are_symmetric(capsys):
    larger = json.loads(_run(capsys, SENN, "--measure", "MD", "--larger-is-better", "--json")[1])
    smaller = json.loads(_run(capsys, SENN, "--measure", "MD", "--smaller-is-better",
                              "--json")[1])
    for t, p in larger["p_scores"].items():
        assert smaller["p_scores"][t] == pytest.approx(1 - p, abs=1e-12)
    assert [r["treatment"] for r in smaller["ranking"]][-1] == "placebo"
    assert [r["treatment"] for r in larger["ranking"]][0] == "placebo"
    assert smaller["p_scores"] == network(
        pd.read_csv(SENN), measure="MD", larger_is_better=False).p_scores()


def test_outcome_direction_comes_from_the_outcomes_table(capsys, pain_file):
    outcomes = data.load("outcomes").set_index("outcome")
    assert outcomes.loc["cpgs_pain", "direction"] == "lower_is_better"
    status, out, err = _run(capsys, pain_file, "--measure", "MD", "--outcome", "cpgs_pain",
                            "--json")
    assert status == 0 and err == ""
    got = json.loads(out)
    assert got["larger_is_better"] is False
    assert got["direction_from"] == "outcome cpgs_pain (lower_is_better)"
    assert outcomes.loc["sf12_pcs", "direction"] == "higher_is_better"
    got = json.loads(_run(capsys, pain_file, "--measure", "MD", "--outcome", "sf12_pcs",
                          "--json")[1])
    assert got["larger_is_better"] is True


@pytest.mark.parametrize(("argv", "needle"), [
    (["--outcome", "nope"], "--outcome 'nope' is not in the outcomes table; the outcomes are: "
                            "response, hfaq, cpgs_pain"),
    (["--outcome", "age"], "gives no direction of benefit ('not_applicable')"),
    (["--outcome", "cpgs_pain", "--larger-is-better"], "contradicts --larger-is-better"),
    (["--reference", "usual_care"], "--reference 'usual_care' is not a treatment in the file; "
                                    "did you mean 'usual care'? (treatments: 'usual care', "
                                    "'acupuncture', 'sham')"),
    (["--reference", "placebo"], "(treatments: 'usual care', 'acupuncture', 'sham')"),
])
def test_bad_direction_or_reference_is_one_line(capsys, pain_file, argv, needle):
    status, out, err = _run(capsys, pain_file, "--measure", "MD", *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and needle in err, err


def test_both_direction_flags_are_refused(capsys, pain_file):
    with pytest.raises(SystemExit) as stop:
        main(["network", pain_file, "--larger-is-better", "--smaller-is-better"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_treatment_names_print_as_in_the_data(capsys, pain_file, tmp_path):
    """'usual care' stays 'usual care' and 'usual_care' stays 'usual_care': in the summary, the
    league table, the JSON and the network graph's labels."""
    for name in ("usual care", "usual_care"):
        path = tmp_path / f"{name}.csv"
        path.write_text(PAIN.replace("usual care", name), encoding="utf-8")
        status, out, _ = _run(capsys, str(path), "--measure", "MD", "--smaller-is-better",
                              "--reference", name)
        assert status == 0
        other = "usual_care" if name == "usual care" else "usual care"
        assert name in out and other not in out
        res = network(pd.read_csv(path), measure="MD", reference=name)
        fig = network_graph(res)
        labels = {t.get_text() for ax in fig.axes for t in ax.texts
                  if (t.get_gid() or "").startswith("label-")}
        assert labels == {name, "acupuncture", "sham"}


def test_effect_label(capsys, pain_file):
    status, out, _ = _run(capsys, pain_file, "--measure", "MD", "--smaller-is-better",
                          "--effect-label", "Pain (0-100), MD")
    assert status == 0 and out.startswith("Effect: Pain (0-100), MD\n\n")
