"""`acu-meta --help` and `import acu_meta` import neither scipy, pandas, matplotlib nor numba
(issue #16: start-up within 3x a bare `import numpy`; the time itself is a benchmark,
benchmarks/bench_goals.py, this test checks the cause)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

HEAVY = ("scipy", "pandas", "matplotlib", "numba", "statsmodels")

PROBE = """
import contextlib, io, sys
{body}
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_after(body: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def test_help_imports_nothing_heavy():
    body = ("from acu_meta import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass")
    assert _heavy_after(body) == ""


def test_import_acu_meta_is_light_and_exports_resolve_on_use():
    assert _heavy_after("import acu_meta") == ""
    assert "scipy" in _heavy_after("import acu_meta\nacu_meta.pool")


def test_a_command_still_gets_its_choices():
    from acu_meta import cli

    parser = cli.build_parser(only=("pool",))
    sub = next(a for a in parser._actions if a.dest == "command")
    pool = sub.choices["pool"]
    method = next(a for a in pool._actions if a.dest == "method")
    assert list(method.choices) == list(cli.POOL_METHODS) and "REML" in method.choices
    # a command not asked for is a one-line stub
    assert not any(a.dest == "method" for a in sub.choices["network"]._actions)


def test_commands_do_not_import_scipy_stats(tmp_path):
    """The distribution functions come from scipy.special through acu_meta.numeric, so the
    CLI's everyday commands skip scipy.stats' start-up (about 0.8 s a process, issue #11).
    One process runs them in turn; the probe prints which had imported it by then."""
    bcg = REPO / "examples" / "bcg.csv"
    runs = [["pool", str(bcg), "--measure", "RR"],
            ["pool", str(bcg), "--measure", "RR", "--method", "DL", "--json"],
            ["forest", str(bcg), "--measure", "RR", "-o", str(tmp_path / "f.png")],
            ["bayes", str(bcg), "--measure", "RR", "--tau-prior", "half-normal:0.5"],
            ["check-data"]]
    body = ("from acu_meta import cli\nloaded = []\n"
            f"for args in {runs!r}:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        assert cli.main(args) == 0, args\n"
            "    loaded.append('scipy.stats' in sys.modules)\n"
            "print(loaded)")
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.splitlines()[0] == str([False] * len(runs)), out.stdout
