"""The methods and measures `acu-meta` offers come from one place (cli.py's choices, read from
the library), and every one offered works (issue #11, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acu_meta import cli, effects, results

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {"binary": REPO / "examples" / "bcg.csv",
            "continuous": REPO / "examples" / "normand1999.csv"}
NETWORK = REPO / "tests" / "fixtures" / "network_arms" / "hasselblad1998-OR.csv"


def _choices(command: str, option: str) -> list[str]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return next(a for a in sub._actions if option in a.option_strings).choices


def test_pool_choices_are_the_librarys():
    for command in ("pool", "forest", "funnel"):
        assert _choices(command, "--method") == list(results.METHODS)
        assert _choices(command, "--measure") == list(effects.MEASURES)
        assert _choices(command, "--profile") == list(results.PROFILES)


@pytest.mark.parametrize("method", cli.POOL_METHODS)
def test_every_offered_pool_method_runs_on_counts(capsys, method):
    assert cli.main(["pool", str(EXAMPLES["binary"]), "--method", method, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == method


@pytest.mark.parametrize("shape", ["binary", "continuous"])
def test_every_measure_offered_for_a_shape_fits_it(capsys, shape):
    for measure in cli.SHAPE_MEASURES[shape]:
        assert cli.main(["pool", str(EXAMPLES[shape]), "--measure", measure, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["measure"] == measure
    others = [m for m in effects.MEASURES if m not in cli.SHAPE_MEASURES[shape]]
    for measure in others:
        assert cli.main(["pool", str(EXAMPLES[shape]), "--measure", measure]) == 2
        assert "does not fit" in capsys.readouterr().err


@pytest.mark.parametrize("method", cli.NETWORK_METHODS)
def test_every_offered_network_method_runs(capsys, method):
    assert _choices("network", "--method") == list(cli.NETWORK_METHODS)
    assert cli.main(["network", str(NETWORK), "--method", method, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == method
