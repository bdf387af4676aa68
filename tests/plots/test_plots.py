"""Plots: structure read back from the SVG, byte-identical output, image regression,
metafor's Baujat coordinates.

Tolerances (``tests/tolerances.py``): ``SVG_POINTS`` for coordinates read back from SVG,
``IMAGE_RMS`` for the image regression against ``tests/baseline_images/`` (written by
``tests/plot_cases.py``, ``make baselines``), ``CLOSED_FORM`` / ``BAUJAT_REML`` for metafor's
baujat() coordinates. The `acu-meta forest` acceptance files: ``tests/cli/test_cli_forest.py``.
"""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _helpers import REPO, fixture_json
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from plot_cases import REF, _bcg, _normand, cases, write_all
from tolerances import BAUJAT_REML, CLOSED_FORM, IMAGE_RMS, SAME_ARITHMETIC, SVG_POINTS

import acu_meta as am
from acu_meta.numeric import Z975
from acu_meta.plots import baujat_values, forest, funnel, labbe, radial, save_figure
from acu_meta.plots.forest import ELLIPSIS

BASE = REPO / "tests" / "baseline_images"
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
    z = Z975
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
    assert _group_text(root, "arm-12-n2i") == [f"{d['n2i'][12]:,}"]  # thousands separated


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
    assert min(xs) == pytest.approx(want[0], abs=SVG_POINTS)
    assert max(xs) == pytest.approx(want[1], abs=SVG_POINTS)


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


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every case of tests/plot_cases.py written once (as `make baselines` writes them)."""
    return {p.stem: p for p in write_all(tmp_path_factory.mktemp("plots"))}


@pytest.mark.parametrize("name", list(cases()))
def test_image_regression(written, name):
    # IMAGE_RMS absorbs anti-aliasing noise; a moved row, a missing element or changed text
    # gives far more. Regenerate with `make baselines`.
    result = compare_images(str(BASE / f"{name}.png"), str(written[name]), tol=IMAGE_RMS)
    assert result is None, result


def test_every_baseline_has_a_case():
    assert sorted(p.stem for p in BASE.glob("*.png")) == sorted(cases())


def _studies_line(ax):
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "studies"]
    return line


def _scatter(ax):
    (points,) = [c for c in ax.collections if c.get_gid() == "studies"]
    return np.asarray(points.get_offsets())


def test_plots_take_an_axes_and_return_the_figure():
    """Each plot draws into the Axes it is given (and only there) and returns its figure."""
    res = am.pool(_bcg())
    fig = Figure()
    axs = fig.subplots(2, 2)
    assert funnel(res, ax=axs[0, 0]) is fig
    assert labbe(res, ax=axs[0, 1]) is fig
    assert radial(res, ax=axs[1, 0]) is fig
    assert len(fig.axes) == 4 and not axs[1, 1].has_data()  # nothing drawn elsewhere
    # each shows the studies where it should: the funnel at (effect, SE) on the natural
    # scale of a ratio measure, L'Abbe at (control rate, treatment rate), the radial plot at
    # (1 / SE, y / SE) with SE including tau2
    funnel_pts = _studies_line(axs[0, 0])
    np.testing.assert_allclose(funnel_pts.get_xdata(), np.exp(res.yi), rtol=SAME_ARITHMETIC)
    np.testing.assert_allclose(funnel_pts.get_ydata(), np.sqrt(res.vi), rtol=SAME_ARITHMETIC)
    d = REF["datasets"]["bcg"]
    rates = np.column_stack([np.divide(d["ci"], d["n2i"]), np.divide(d["ai"], d["n1i"])])
    np.testing.assert_allclose(_scatter(axs[0, 1]), rates, rtol=SAME_ARITHMETIC)
    s = np.sqrt(res.vi + res.tau2)
    np.testing.assert_allclose(_scatter(axs[1, 0]), np.column_stack([1 / s, res.yi / s]),
                               rtol=SAME_ARITHMETIC)
    fig2 = Figure(figsize=(10, 6))
    ax = fig2.add_axes((0.45, 0.2, 0.3, 0.7))  # room for the columns (else refused)
    assert forest(res, ax=ax) is fig2
    labels = [t.get_text() for t in fig2.findobj() if (t.get_gid() or "").startswith("label-")]
    assert labels == list(res.studies)


def test_labbe_needs_binary_arms():
    with pytest.raises(ValueError, match="binary arm data"):
        labbe(am.pool(_normand()))


def test_baujat_matches_metafor():
    # tests/fixtures/metafor_baujat.json from validation/metafor/plots_reference.R;
    # FE/DL closed form, REML leave-one-out refits are iterative (BAUJAT_REML)
    ref = fixture_json("metafor_baujat.json")
    for case in ref["baujat"]:
        x, y = baujat_values(am.pool(_bcg(), method=case["method"]))
        tol = BAUJAT_REML if case["method"] == "REML" else CLOSED_FORM
        np.testing.assert_allclose(x, case["x"], rtol=tol)
        np.testing.assert_allclose(y, case["y"], rtol=tol)


def test_warnings_do_not_leak():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forest(am.pool(_bcg()))
