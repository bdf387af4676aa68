"""Forest and other plots an editor accepts (issue #14, build item 6): each failure quoted in
the issue is reproduced on the data it was seen with and checked on what is drawn.

Geometry is read back from the drawn artists through matplotlib's renderer (window extents in
pixels), a route independent of the layout arithmetic in ``acu_meta.plots.forest``; texts are
read from the artists' gids. Compared beside metafor's ``forest()`` in
``docs/forest_review.md`` (``validation/metafor/forest_review.R``).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from _helpers import FIXTURES, gosh_example
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from plot_cases import REF, _bcg, _normand
from tolerances import TEXT_WIDTH_IN

import acu_meta as am
from acu_meta.errors import InputError
from acu_meta.plots import (
    cumulative_plot,
    filled_funnel,
    forest,
    funnel,
    gosh_plot,
    leave_one_out_plot,
)
from acu_meta.plots.forest import COL_GAP, MIN_SQUARE, SQUARE_OF_WHISKER, count, decimals
from acu_meta.plots.network import network_graph
from acu_meta.results import bayes, cumulative, leave_one_out, rows, trimfill
from acu_meta.results.batch import gosh

BCG = REF["datasets"]["bcg"]


def _quiet(f, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **kw)


def _by_gid(fig, gid):
    return [a for a in fig.findobj() if a.get_gid() == gid]


def _text(fig, gid) -> str:
    (t,) = _by_gid(fig, gid)
    return t.get_text()


def _drawn(fig):
    """*fig* drawn once on an Agg canvas (so window extents are those of the saved PNG)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig


def _renderer(fig):
    """The Agg renderer of *fig* (texts are laid out by it without drawing the figure)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _extent(fig, artist):
    return artist.get_window_extent(_renderer(fig))


def _table_texts(fig):
    """Every non-empty text of the figure but the title and the axis label."""
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_gid"))
            if getattr(t, "get_text", None) and isinstance(t.get_text(), str) and t.get_text()
            and t.get_visible() and t.get_gid() is not None]


def _overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of table texts (with gids) whose drawn boxes overlap."""
    r = _renderer(fig)
    boxes = [(t.get_gid(), t.get_window_extent(r)) for t in _table_texts(fig)]
    bad = []
    for i, (ga, a) in enumerate(boxes):
        for gb, b in boxes[i + 1:]:
            if (min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5
                    and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5):
                bad.append((ga, gb))
    return bad


# ------------------------------------------------------------- sensitivity plots (issue quote)

@pytest.fixture(scope="module")
def bcg():
    return _quiet(am.pool, _bcg())


def _effects(fig, n):
    return [_text(fig, f"effect-{i}") for i in range(n)]


def test_sensitivity_plots_take_a_meta_result(bcg):
    # the issue: leave_one_out_plot(res), cumulative_plot(res), filled_funnel(res) crashed
    # with AttributeError; given a MetaResult they draw what the analysis API computes
    k = bcg.k
    assert _effects(leave_one_out_plot(bcg), k) == _effects(
        leave_one_out_plot(leave_one_out(bcg)), k)
    assert _effects(cumulative_plot(bcg), k) == _effects(cumulative_plot(cumulative(bcg)), k)
    tf = trimfill(bcg)
    (a,) = _by_gid(filled_funnel(bcg), "studies")
    (b,) = _by_gid(filled_funnel(tf), "studies")
    np.testing.assert_array_equal(a.get_xdata(), b.get_xdata())
    assert len(_by_gid(filled_funnel(bcg), "filled-studies")) == (1 if tf.k0 else 0)


@pytest.mark.parametrize("plot, needs", [(leave_one_out_plot, "LeaveOneOutResult"),
                                         (cumulative_plot, "CumulativeResult"),
                                         (filled_funnel, "TrimfillResult")])
def test_sensitivity_plots_refuse_other_objects_saying_what_they_need(plot, needs):
    es = am.escalc("RR", ai=BCG["ai"], bi=BCG["bi"], ci=BCG["ci"], di=BCG["di"])
    with pytest.raises(TypeError, match=f"needs a {needs} .* or a MetaResult .*not EffectSizes"):
        plot(es)


# ------------------------------------------------------------------------- squares, whiskers

def _whisker_and_square_pt(fig, i):
    """(drawn whisker length, square side incl. edge) of study row i, in points, from the
    drawn artists."""
    ax = fig.axes[0]
    (ci,) = _by_gid(fig, f"ci-{i}")
    xs = ax.transData.transform(np.column_stack([ci.get_xdata(), ci.get_ydata()]))[:, 0]
    (sq,) = _by_gid(fig, f"square-{i}")
    return abs(xs[1] - xs[0]) * 72 / fig.dpi, sq.get_markersize() + sq.get_markeredgewidth()


@pytest.mark.parametrize("case", ["hksj-k2", "normand-hksj", "bcg"])
def test_squares_leave_the_whiskers_visible(case):
    # the issue: squares hid the whiskers of precise studies when a wide HKSJ or prediction
    # interval stretched the axis (k = 2, Hartung-Knapp t(1): two precise studies)
    if case == "hksj-k2":
        res = am.pool(yi=[0.1, 0.5], vi=[0.0004, 0.0009], study=["Big 2010", "Big 2012"],
                      hksj=True)
    elif case == "normand-hksj":
        res = am.pool(_normand(), method="DL", hksj=True)
    else:
        res = _quiet(am.pool, _bcg())
    fig = forest(res)
    for i in range(res.k):
        length, side = _whisker_and_square_pt(fig, i)
        if length * SQUARE_OF_WHISKER >= MIN_SQUARE:  # room for a square inside the whisker
            assert side <= SQUARE_OF_WHISKER * length + 0.5 + 1e-9, (i, side, length)
            assert length - side > 0, (i, side, length)  # both ends stick out
        else:  # a whisker shorter than the smallest square: drawn in white inside it
            (inside,) = _by_gid(fig, f"ci-inside-{i}")
            assert inside.get_color() == "white"
    if case == "hksj-k2":  # the quoted failure: both studies were hidden before
        assert all(_by_gid(fig, f"ci-inside-{i}") for i in range(2))


# --------------------------------------------------------------------------------- headers

@pytest.mark.parametrize("kw, want", [
    ({"method": "DL", "hksj": True}, "Random-effects model (DL, Hartung-Knapp t({df}))"),
    ({}, "Random-effects model (REML, z)"),
    ({"method": "FE"}, "Fixed-effect model (FE: inverse variance, z)"),
])
def test_header_names_the_interval_method(kw, want):
    # the issue: the header said "Random-effects model (REML)" while the test was t with 1 df
    res = am.pool(_normand(), **kw)
    assert _text(forest(res), "header-model") == want.format(df=f"{res.df:g}")


def test_header_of_k2_hartung_knapp_says_t1():
    res = am.pool(yi=[0.1, 0.5], vi=[0.04, 0.09], hksj=True)
    fig = forest(res)
    assert _text(fig, "header-model") == "Random-effects model (REML, Hartung-Knapp t(1))"
    # drawn inside the figure (it was cut off above a table without arm columns)
    box = _extent(fig, _by_gid(fig, "header-model")[0])
    assert box.y1 <= fig.bbox.y1 and box.x0 >= 0


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_column_headers_name_the_interval_and_its_level(level, bcg):
    res = bcg if level == 0.95 else _quiet(am.pool, _bcg(), level=level)
    fig = forest(res)
    pct = f"{level * 100:g}%"
    assert _text(fig, "header-effect") == f"RR ({pct} CI)"
    assert _text(fig, "diamond-random-label") == f"Total ({pct} CI)"


def test_bayesian_forest_names_a_credible_interval():
    res = bayes(yi=[0.1, 0.3, -0.2, 0.5, 0.2], sei=[0.2, 0.3, 0.25, 0.4, 0.15],
                tau_prior="half-normal:0.5", study=list("ABCDE"))
    fig = forest(res)
    head = _text(fig, "header-effect")
    assert head.endswith("(95% CrI)") and "CI)" not in head
    assert "CI" not in _text(fig, "header-model").replace("CrI", "")


# ------------------------------------------------------------------------- numbers printed

def test_decimals_are_kept_and_thousands_separated():
    # the issue: 3.2 (2.0) was printed 3.2 (2); counts had no thousands separator
    es = am.escalc("MD", m1i=[3.2, 4.1], sd1i=[2.0, 1.5], n1i=[1500, 20], m2i=[2.0, 3.5],
                   sd2i=[1.5, 1.0], n2i=[1450, 22], study=["A", "B"])
    fig = forest(am.pool(es))
    assert _text(fig, "arm-0-m1i") == "3.2 (2.0)"
    assert _text(fig, "arm-1-m2i") == "3.5 (1.0)"
    assert _text(fig, "arm-0-n1i") == "1,500"
    assert _text(fig, "total-diamond-random-n1i") == "1,520"  # 1500 + 20
    # the rule beside the examples: fewest decimals printing every value as stored
    assert [decimals([64.0, 17.0]), decimals([3.2, 2.0]), decimals([4.15])] == [0, 1, 2]
    assert [count(13598), count(88391.0), count(0.5)] == ["13,598", "88,391", "0.5"]


def test_integer_means_print_without_decimals():
    fig = forest(am.pool(_normand()))
    d = REF["datasets"]["normand1999"]
    assert _text(fig, "arm-0-m1i") == f"{d['m1i'][0]:.0f} ({d['sd1i'][0]:.0f})"


def test_binary_forests_have_a_total_events_row(bcg):
    fig = forest(bcg)
    assert _text(fig, "events-label") == "Total events"
    assert _text(fig, "events-ai") == f"{sum(BCG['ai']):,}"
    assert _text(fig, "events-ci") == f"{sum(BCG['ci']):,}"
    # one per subgroup too, with that subgroup's events
    sub = _quiet(am.subgroups, _bcg(), BCG["group"])
    fig = forest(sub)
    for g in sub.groups:
        ai = sum(a for a, gg in zip(BCG["ai"], BCG["group"], strict=True) if gg == g)
        assert _text(fig, f"events-subgroup-{g}-ai") == f"{ai:,}"
    assert not _by_gid(forest(am.pool(_normand())), "events-label")  # continuous: none


# ------------------------------------------------------------------------------- log ticks

def _tick_labels(fig):
    ax = fig.axes[0]
    _drawn(fig)
    return [t for t in ax.get_xticklabels() if t.get_text()]


def test_log_axis_at_tau2_zero_has_more_than_two_ticks():
    # the issue: a log axis at tau2 = 0 showed only the ticks 1 and 2
    res = am.pool(ai=[10, 12, 15], n1i=[100, 110, 120], ci=[12, 14, 17], n2i=[100, 110, 120],
                  measure="RR", study=list("ABC"))
    assert res.tau2 == 0
    fig = forest(res)
    labels = [t.get_text() for t in _tick_labels(fig)]
    assert len(labels) >= 4 and "1" in labels, labels
    lo, hi = fig.axes[0].get_xlim()
    assert all(lo <= float(s) <= hi for s in labels)


@pytest.mark.parametrize("xlim", [(0.003, 0.3), (0.002, 20), (0.57, 1.84), (0.9, 1.1),
                                  (0.01, 100), (0.0005, 2000)])
def test_log_tick_labels_never_collide(xlim):
    # the issue: labels ran together ("0.0050.01")
    fig = forest(rows(yi=[-2.0, -1.0, 0.0], vi=[0.04, 0.05, 0.06], measure="RR"), xlim=xlim)
    ticks = _tick_labels(fig)
    assert len(ticks) >= 2
    r = fig.canvas.get_renderer()
    boxes = sorted((t.get_window_extent(r) for t in ticks), key=lambda b: b.x0)
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert b.x0 - a.x1 > 2, (xlim, [t.get_text() for t in ticks])


# ---------------------------------------------------------------------------- columns, ax=

@pytest.mark.parametrize("case", ["bcg", "normand", "subgroups", "no-arms"])
def test_no_text_overlaps_and_no_gap_before_the_weight_column(case, bcg):
    res = {"bcg": lambda: bcg, "normand": lambda: am.pool(_normand()),
           "subgroups": lambda: _quiet(am.subgroups, _bcg(), BCG["group"]),
           "no-arms": lambda: am.pool(yi=[0.2, 0.35], vi=[0.04, 0.05],
                                      study=["Smith 2001", "Jones 2010"])}[case]()
    fig = forest(res)
    assert _overlaps(fig) == []
    # the issue: a wide empty gap before the Weight column. The widest text of each column
    # starts COL_GAP right of what is left of it (TEXT_WIDTH_IN: measured at another dpi)
    r = _renderer(fig)
    panel = fig.axes[0].get_window_extent(r)
    texts = _table_texts(fig)

    def left_edge(pattern):
        return min(t.get_window_extent(r).x0 for t in texts
                   if re.fullmatch(pattern, t.get_gid()))

    def right_edge(pattern):
        return max(t.get_window_extent(r).x1 for t in texts
                   if re.fullmatch(pattern, t.get_gid()))

    gaps = {"weight": (left_edge(r"header-weight|weight-\d+") - panel.x1) / fig.dpi}
    if case == "no-arms":  # the label column ends COL_GAP before the panel
        gaps["labels"] = (panel.x0 - right_edge(
            r"label-\d+|header-study|diamond-\w+-label|prediction-label")) / fig.dpi
    for name, gap in gaps.items():
        assert 0 < gap <= COL_GAP + TEXT_WIDTH_IN, (name, gap)
    # every text inside the figure
    for t in _table_texts(fig):
        b = t.get_window_extent(r)
        assert b.x0 >= -0.5 and b.x1 <= fig.bbox.x1 + 0.5, t.get_gid()


def test_forest_in_a_user_axes_with_room_lays_out_without_overlaps(bcg):
    fig = Figure(figsize=(11, 6))
    ax = fig.add_axes((0.45, 0.2, 0.25, 0.75))
    assert forest(bcg, ax=ax) is fig
    assert _overlaps(fig) == []
    r = _renderer(fig)
    for t in _table_texts(fig):  # every text inside the figure (not cut off at its edge)
        b = t.get_window_extent(r)
        assert b.x0 >= -0.5 and b.x1 <= fig.bbox.x1 + 0.5 and b.y0 >= -0.5, t.get_gid()


def test_forest_refuses_a_user_axes_without_room_and_says_what_works(bcg):
    # the issue: drawing into a user's ax overlapped the columns
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot(111)
    with pytest.raises(InputError, match=r"needs room around the axes: \d+\.\d+ in left of it"
                       r" \(it has 1\.00\)") as err:
        forest(bcg, ax=ax)
    # the figure and axes it proposes do take the table
    m = re.search(r"at least ([\d.]+) x ([\d.]+) in with the axes at \(([^)]*)\)",
                  str(err.value))
    w, h = float(m.group(1)), float(m.group(2))
    rect = tuple(float(v) for v in m.group(3).split(","))
    fig2 = Figure(figsize=(w + 0.1, h + 0.1))
    forest(bcg, ax=fig2.add_axes(rect))
    assert _overlaps(fig2) == []


# ------------------------------------------------------------------------- other plots' keys

def test_funnel_legend_names_its_lines(bcg):
    fig = funnel(bcg)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"Pooled estimate", "Pseudo 95% CI"} <= set(labels)
    (line,) = _by_gid(fig, "pooled-line")
    assert list(line.get_xdata()) == [np.exp(bcg.estimate)] * 2


def test_network_graph_has_a_key_for_node_size_and_edge_width():
    import pandas as pd

    from acu_meta.results.network import network

    arms = pd.read_csv(FIXTURES / "network_arms" / "hasselblad1998-OR.csv").astype(
        {"study": str})
    net = network(arms, measure="OR", reference="no_contact")
    fig = network_graph(net)
    (key,) = _by_gid(fig, "graph-key")
    labels = [t.get_text() for t in key.get_texts()]
    n = arms.groupby("treatment")["n"].sum()
    assert f"{int(n.min()):,} patients" in labels and f"{int(n.max()):,} patients" in labels
    assert any(s.endswith("studies") for s in labels)
    # the key's nodes have the areas of the graph's nodes with those numbers of patients
    nodes = {t: _by_gid(fig, f"node-{t}")[0].get_sizes()[0] for t in net.treatments}
    key_ms = [h.get_markersize() for h in key.legend_handles if h.get_marker() == "o"]
    assert np.allclose(sorted(k**2 for k in key_ms),
                       [nodes[n.idxmin()], nodes[n.idxmax()]])


def test_gosh_histograms_give_a_count_scale():
    y, v = gosh_example()
    fig = _quiet(gosh_plot, gosh(y[:6], v[:6]))
    top, right = fig.axes[1], fig.axes[2]
    _drawn(fig)
    assert top.get_ylabel() == "Subsets" and right.get_xlabel() == "Subsets"
    assert [t.get_text() for t in top.get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in right.get_xticklabels() if t.get_text()]
    counts = max(p.get_height() for p in top.patches)
    assert top.get_ylim()[1] >= counts
