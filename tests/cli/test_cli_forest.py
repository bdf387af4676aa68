"""``acu-meta forest`` (and ``funnel``) on the acceptance files: a binary CSV with subgroups, a
continuous CSV, and one with duplicate and overlong labels; every study gets its own row in
the SVG (read back by element id), PNG output is a PNG, bad requests exit 2 with one line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from _helpers import write_csv
from plot_cases import REF

from acu_meta.cli import main
from acu_meta.plots.forest import ELLIPSIS

SVG = "{http://www.w3.org/2000/svg}"


def _group_text(root, gid) -> list[str]:
    hits = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    return ["".join(t.itertext()) for g in hits for t in g.iter(f"{SVG}text")]


@pytest.fixture
def acceptance_files(tmp_path):
    d = REF["datasets"]["bcg"]
    binary = write_csv(tmp_path / "bcg.csv",
                       ["study", "treat_events", "treat_n", "control_events", "control_n",
                        "alloc"],
                       list(zip(d["study"], d["ai"], d["n1i"], d["ci"], d["n2i"], d["group"],
                                strict=True)))
    n = REF["datasets"]["normand1999"]
    cont = write_csv(tmp_path / "normand.csv",
                     ["study", "treat_mean", "treat_sd", "treat_n", "control_mean",
                      "control_sd", "control_n"],
                     list(zip(n["study"], n["m1i"], n["sd1i"], n["n1i"], n["m2i"], n["sd2i"],
                              n["n2i"], strict=True)))
    long = "L" * 90
    dups = write_csv(tmp_path / "dups.csv", ["study", "yi", "vi"],
                     [("Twin 2001", 0.2, 0.04), ("Twin 2001", 0.3, 0.05), (long, 0.1, 0.02)])
    return [(binary, list(d["study"]), ["--measure", "RR", "--subgroup", "alloc"]),
            (cont, list(n["study"]), []),
            (dups, ["Twin 2001", "Twin 2001", long], [])]


def test_cli_forest_acceptance_files(tmp_path, capsys, acceptance_files):
    for path, studies, extra in acceptance_files:
        out = tmp_path / f"{path.stem}.svg"
        assert main(["forest", str(path), "-o", str(out), *extra]) == 0
        root = ET.parse(out).getroot()
        k = len(studies)
        labels = [_group_text(root, f"label-{i}") for i in range(k)]
        assert all(len(x) == 1 for x in labels)  # one row per study, duplicates kept
        shown = sorted(x[0] for x in labels)
        want = sorted(s if len(s) <= 36 else s[:35].rstrip() + ELLIPSIS for s in studies)
        assert shown == want, path.name
        assert all(_group_text(root, f"weight-{i}") for i in range(k))
        assert all(_group_text(root, f"effect-{i}") for i in range(k))
        assert not _group_text(root, f"label-{k}")
        png = tmp_path / f"{path.stem}.png"
        assert main(["forest", str(path), "-o", str(png), *extra]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()


@pytest.mark.parametrize("argv,needle", [
    (["-o", "x.jpg"], "x.jpg"),
    (["--subgroup", "nosuch", "-o", "x.png"], "nosuch"),
])
def test_cli_forest_bad_request_exit_2_one_line(tmp_path, capsys, acceptance_files, argv,
                                                needle):
    cont = acceptance_files[1][0]
    argv = [str(tmp_path / a) if a.startswith("x.") else a for a in argv]
    assert main(["forest", str(cont), *argv]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("acu-meta: error: ")
    assert needle in lines[0], lines[0]
    assert not any(tmp_path.glob("x.*"))  # nothing written
