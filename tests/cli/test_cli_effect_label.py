"""``--effect-label TEXT`` (issue #14, build item 5): the effect's name in the printed output,
the JSON and the plot axes of pool, forest, funnel, bayes and network. Figures are written as
SVG with text kept as text, so the label is read back from the file; without the option the
default label (the measure's) is there instead.
"""

from __future__ import annotations

import json

import pytest

from acu_meta.analyses import EXAMPLES_DIR
from acu_meta.cli import main

BCG = str(EXAMPLES_DIR / "bcg.csv")
LABEL = "Risk of TB, ratio (95% CI)"


@pytest.mark.parametrize("command", ["forest", "funnel"])
def test_label_on_the_plot(tmp_path, capsys, command):
    with_label, without = tmp_path / "a.svg", tmp_path / "b.svg"
    assert main([command, BCG, "--measure", "RR", "--effect-label", LABEL,
                 "-o", str(with_label)]) == 0
    assert main([command, BCG, "--measure", "RR", "-o", str(without)]) == 0
    capsys.readouterr()
    assert LABEL in with_label.read_text(encoding="utf-8")
    assert LABEL not in without.read_text(encoding="utf-8")


def test_label_in_bayes_output(capsys):
    argv = ["bayes", str(EXAMPLES_DIR / "crins2014.csv"), "--tau-prior", "half-normal:0.5",
            "--effect-label", LABEL]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["effect_label"] == LABEL
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"Effect: {LABEL}\n\nBayesian random-effects")
