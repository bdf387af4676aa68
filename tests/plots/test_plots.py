"""Plots: structure read back from the SVG, byte-identical output, image regression,
metafor's Baujat coordinates, and the `acu-meta forest` acceptance files."""

from __future__ import annotations

import csv
import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from plot_cases import REF, _bcg, _normand, cases, write_all

import acu_meta as am
from acu_meta.cli import main
from acu_meta.plots import baujat_values, forest, funnel, labbe, radial, save_figure
from acu_meta.plots.forest import ELLIPSIS

BASE = Path(__file__).parents[1] / "baseline_images"
SVG = "{http://www.w3.org/2000/svg}"


def _svg_tree(fig, tmp_path, name="f.svg"):
    path = save_figure(fig, tmp_path / name)
    return ET.parse(path).getroot()


def _group_text(root, gid) -> list[str]:
    hits = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    return ["".join(t.itertext()) for g in hits for t in g.iter(f"{SVG}text")]


def _group_y(root, gid) -> float:
    g = next(g for g in root.iter(f"{SVG}g") if g.get("id") == gid)
    return float(next(g.iter(f"{SVG}text")).get("y"))


def _check_rows(root, res, max_label=36):
    z = 1.959963984540054
    tr = np.exp if res.ratio else (lambda x: x)
    ys = []
    for i in range(res.k):
        label = res.studies[i]
        shown = label if len(label) <= max_label else label[: max_label - 1].rstrip() + ELLIPSIS
        assert _group_text(root, f"label-{i}") == [shown]
        assert _group_text(root, f"weight-{i}") == [f"{res.weights[i]:.1f}%"]
        se = np.sqrt(res.vi[i])
        want = f"{tr(res.yi[i]):.2f} [{tr(res.yi[i] - z * se):.2f}, {tr(res.yi[i] + z * se):.2f}]"
        assert _group_text(root, f"effect-{i}") == [want]
        ys.append(_group_y(root, f"label-{i}"))
    assert ys == sorted(ys) and len(set(ys)) == res.k  # in order, one row each
    assert not _group_text(root, f"label-{res.k}")  # no extra rows


def test_forest_rows_binary_13(tmp_path):
    res = am.pool(_bcg())
    root = _svg_tree(forest(res), tmp_path)
    _check_rows(root, res)
    d = REF["datasets"]["bcg"]
    assert _group_text(root, "arm-0-ai") == [f"{d['ai'][0]}"]
    assert _group_text(root, "arm-12-n2i") == [f"{d['n2i'][12]}"]


def test_forest_rows_continuous_9(tmp_path):
    res = am.pool(_normand())
    root = _svg_tree(forest(res), tmp_path)
    _check_rows(root, res)
    assert _group_text(root, "footer-overall")[0].startswith("Test for overall effect: Z = ")


def test_duplicate_and_long_labels_keep_every_row(tmp_path):
    long = "Acupuncture for chronic low back pain: a randomised, sham-controlled, multicentre trial"
    long += " II"
    assert len(long) == 90
    res = am.pool(yi=[0.2, 0.35, 0.1, -0.05], vi=[0.04, 0.05, 0.02, 0.03],
                  study=["Smith 2001", "Smith 2001", long, "Jones 2010"])
    root = _svg_tree(forest(res), tmp_path)
    _check_rows(root, res)
    assert _group_text(root, "label-2")[0].endswith(ELLIPSIS)


def _svg_path_xs(root, gid) -> list[float]:
    g = next(g for g in root.iter(f"{SVG}g") if g.get("id") == gid)
    d = next(g.iter(f"{SVG}path")).get("d")
    nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", d)]
    return nums[0::2]


@pytest.mark.parametrize("ratio", [True, False])
def test_diamond_spans_pooled_ci(tmp_path, ratio):
    res = am.pool(_bcg()) if ratio else am.pool(_normand())
    fig = forest(res)
    root = _svg_tree(fig, tmp_path)
    ax = fig.axes[0]
    tr = np.exp if ratio else (lambda x: x)
    to_svg = 72 / fig.dpi  # SVG user units are points
    want = [ax.transData.transform((tr(v), 0))[0] * to_svg for v in (res.ci_low, res.ci_high)]
    xs = _svg_path_xs(root, "diamond-random")
    assert min(xs) == pytest.approx(want[0], abs=0.01)
    assert max(xs) == pytest.approx(want[1], abs=0.01)


def test_ratio_measures_get_a_log_axis(tmp_path):
    fig = forest(am.pool(_bcg()))
    assert fig.axes[0].get_xscale() == "log"
    texts = {"".join(t.itertext()) for t in _svg_tree(fig, tmp_path).iter(f"{SVG}text")}
    assert {"0.1", "1", "5"} <= texts  # natural-unit tick labels
    assert forest(am.pool(_normand())).axes[0].get_xscale() == "linear"


@pytest.mark.parametrize("ext", [".png", ".svg", ".pdf"])
def test_byte_identical_output(tmp_path, ext):
    res = am.pool(_bcg())
    a = save_figure(forest(res), tmp_path / f"a{ext}").read_bytes()
    b = save_figure(forest(res), tmp_path / f"b{ext}").read_bytes()
    assert a == b


def test_svg_keeps_text_as_text(tmp_path):
    root = _svg_tree(forest(am.pool(_bcg())), tmp_path)
    assert "Aronson 1948" in {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}


@pytest.mark.parametrize("name", list(cases()))
def test_image_regression(tmp_path, name):
    # tolerance: RMS difference 2 (of 255) absorbs anti-aliasing noise; a moved row, a missing
    # element or changed text gives far more. Regenerate with `make baselines`.
    got = write_all(tmp_path)
    path = next(p for p in got if p.stem == name)
    result = compare_images(str(BASE / f"{name}.png"), str(path), tol=2)
    assert result is None, result


def test_plots_take_an_axes_and_return_the_figure():
    res = am.pool(_bcg())
    fig = Figure()
    axs = fig.subplots(2, 2)
    assert funnel(res, ax=axs[0, 0]) is fig
    assert labbe(res, ax=axs[0, 1]) is fig
    assert radial(res, ax=axs[1, 0]) is fig
    fig2 = Figure(figsize=(10, 6))
    ax = fig2.add_axes((0.4, 0.2, 0.3, 0.7))
    assert forest(res, ax=ax) is fig2


def test_labbe_needs_binary_arms():
    with pytest.raises(ValueError, match="binary arm data"):
        labbe(am.pool(_normand()))


def test_baujat_matches_metafor():
    # tests/fixtures/metafor_baujat.json from validation/metafor/plots_reference.R;
    # FE/DL closed form (1e-10), REML leave-one-out refits are iterative (1e-7)
    ref = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor_baujat.json").read_text())
    for case in ref["baujat"]:
        x, y = baujat_values(am.pool(_bcg(), method=case["method"]))
        tol = 1e-7 if case["method"] == "REML" else 1e-10
        np.testing.assert_allclose(x, case["x"], rtol=tol)
        np.testing.assert_allclose(y, case["y"], rtol=tol)


def _write(path, header, rows):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_cli_forest_acceptance_files(tmp_path, capsys):
    d = REF["datasets"]["bcg"]
    binary = _write(tmp_path / "bcg.csv",
                    ["study", "treat_events", "treat_n", "control_events", "control_n", "alloc"],
                    list(zip(d["study"], d["ai"], d["n1i"], d["ci"], d["n2i"], d["group"],
                             strict=True)))
    n = REF["datasets"]["normand1999"]
    cont = _write(tmp_path / "normand.csv",
                  ["study", "treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                   "control_n"],
                  list(zip(n["study"], n["m1i"], n["sd1i"], n["n1i"], n["m2i"], n["sd2i"],
                           n["n2i"], strict=True)))
    long = "L" * 90
    dups = _write(tmp_path / "dups.csv", ["study", "yi", "vi"],
                  [("Twin 2001", 0.2, 0.04), ("Twin 2001", 0.3, 0.05), (long, 0.1, 0.02)])
    for path, k, extra in ((binary, 13, ["--measure", "RR", "--subgroup", "alloc"]),
                           (cont, 9, []), (dups, 3, [])):
        out = tmp_path / f"{path.stem}.svg"
        assert main(["forest", str(path), "-o", str(out), *extra]) == 0
        root = ET.parse(out).getroot()
        labels = [_group_text(root, f"label-{i}") for i in range(k)]
        assert all(len(x) == 1 for x in labels)
        assert all(_group_text(root, f"weight-{i}") for i in range(k))
        assert all(_group_text(root, f"effect-{i}") for i in range(k))
        png = tmp_path / f"{path.stem}.png"
        assert main(["forest", str(path), "-o", str(png), *extra]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    assert main(["forest", str(cont), "-o", str(tmp_path / "x.jpg")]) == 2
    assert main(["forest", str(cont), "--subgroup", "nosuch", "-o",
                 str(tmp_path / "x.png")]) == 2


def test_warnings_do_not_leak():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forest(am.pool(_bcg()))
