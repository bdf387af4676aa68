"""Forest plots of anything with the drawable result shape, laid out as RevMan, metafor and
meta print them.

:func:`forest` takes any :class:`~acu_meta.results.PooledResult` (``MetaResult``,
``SubgroupResult``, ``rows(es)`` for rows that are not pooled, a future Bayesian result, ...)
and never fits a model: it reads ``study_rows``, ``pooled_rows``, ``description`` and
``footer`` (see :mod:`acu_meta.results._shape`). It is drawn in named steps: table rows ->
layout -> figure -> x limits -> column headers -> rows (study, pooled, prediction,
heterogeneity, group) -> footer.

Every element carries a ``gid`` (kept as the ``id`` of its group in SVG output), so tests and
users can find it: ``label-i``, ``arm-i-<column>``, ``weight-i``, ``effect-i``, ``square-i``,
``ci-i`` (i = display row of a study, from 0), ``shrunken-i`` (a shrunken estimate, when the
rows have one), ``diamond-<model>``, ``diamond-subgroup-<g>``, ``prediction-interval``,
``footer-<name>`` (``footer-heterogeneity``, ``footer-overall``, ``footer-subgroups``).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from ..numeric import exp_or_inf
from ..results import PooledResult, PooledRow, StudyRows, SubgroupedResult
from ..results._format import heterogeneity_text, overall_text
from ..results._shape import is_ratio
from ._style import COLORS, fit_fonts, house_style

__all__ = ["clip_limits", "forest", "heterogeneity_text", "overall_text", "row_panel",
           "set_effect_axis"]

ROW_IN = 0.21  # height of one row, inches
ELLIPSIS = "\u2026"


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1].rstrip() + ELLIPSIS


def _arm_columns(a):
    """Arm-level columns to show: (header, key) pairs, or none when arms are unknown."""
    if a is None:
        return [], []
    if {"ai", "n1i", "ci", "n2i"} <= set(a.columns):
        return (["Events", "Total", "Events", "Total"],
                [("ai", "{:g}"), ("n1i", "{:g}"), ("ci", "{:g}"), ("n2i", "{:g}")])
    if {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"} <= set(a.columns):
        return (["Mean (SD)", "Total", "Mean (SD)", "Total"],
                [(("m1i", "sd1i"), None), ("n1i", "{:g}"), (("m2i", "sd2i"), None),
                 ("n2i", "{:g}")])
    return [], []


def _arm_cell(a, i, key, fmt) -> str:
    if isinstance(key, tuple):
        m, s = a[key[0]].iloc[i], a[key[1]].iloc[i]
        return f"{m:.4g} ({s:.3g})"
    return fmt.format(a[key].iloc[i])


def _order(sr: StudyRows, idx: list[int], sort: str | None) -> list[int]:
    if sort is None:
        return idx
    if sort == "effect":
        return sorted(idx, key=lambda i: sr.yi[i])
    if sort == "weight":
        return sorted(idx, key=lambda i: -sr.weight[i])
    if sort == "label":
        return sorted(idx, key=lambda i: sr.labels[i])
    raise ValueError("sort must be None, 'effect', 'weight' or 'label'")


#: Largest |axis limit| on the analysis scale: a ratio axis ends at exp(+-700) (about 1e+-304,
#: finite with a finite span of logarithms), a linear one at +-1e300 (a finite span). Rows
#: beyond end in arrows, as beyond a user's ``xlim``.
LOG_LIMIT = 700.0
LINEAR_LIMIT = 1e300
_WIDE = math.log(1e8)  # a ratio axis over more than 8 decades gets power-of-ten ticks


def clip_limits(xmin: float, xmax: float, ratio: bool) -> tuple[float, float]:
    """Axis limits (analysis scale) clipped to +-:data:`LOG_LIMIT` (ratio) or
    +-:data:`LINEAR_LIMIT`; an empty or non-finite range becomes a small one around it."""
    lim = LOG_LIMIT if ratio else LINEAR_LIMIT
    lo = min(max(float(xmin), -lim), lim) if not math.isnan(xmin) else -1.0
    hi = min(max(float(xmax), -lim), lim) if not math.isnan(xmax) else 1.0
    if not lo < hi:
        mid = lo if lo == hi else 0.0
        lo, hi = mid - max(1.0, abs(mid) * 1e-6), mid + max(1.0, abs(mid) * 1e-6)
        lo, hi = max(lo, -lim), min(hi, lim)
    return lo, hi


def _num(x: float, digits: int) -> str:
    """A number of the effect column: fixed decimals, or 3 significant digits from 1e6 on."""
    if math.isfinite(x) and abs(x) >= 1e6:
        return f"{x:.3g}"
    return f"{x:.{digits}f}"


def _effect_text(est, lo, hi, digits) -> str:
    if math.isnan(est):
        return "not estimable"
    return f"{_num(est, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def _nice_log_ticks(lo: float, hi: float) -> list[float]:
    cands = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100,
             200, 500, 1000]
    ticks = [t for t in cands if lo <= t <= hi]
    if len(ticks) > 7:
        ticks = [t for t in ticks if str(t).lstrip("0.").startswith(("1", "5"))] or ticks
    return ticks


def _decade_ticks(xmin: float, xmax: float) -> tuple[list[float], list[str]]:
    """At most 5 powers of ten, 1 among them when in range, for a ratio axis from exp(xmin)
    to exp(xmax) (analysis scale) that spans too many decades for the nice ticks."""
    lo, hi = math.ceil(xmin / math.log(10)), math.floor(xmax / math.log(10))
    step = max(1, math.ceil((hi - lo) / 4))
    exps = [e for e in range(lo, hi + 1) if e % step == 0]  # 0 among them when in range
    return [10.0**e for e in exps], ["1" if e == 0 else f"1e{e}" for e in exps]


def row_panel(ax, n_rows: int):
    """Set up *ax* as a panel of rows (row 0 at the top, no y axis) and return ``fx`` (inches
    from the axes' left edge -> axes fraction) and the (axes x, data y) text transform."""
    ax_w_in = ax.get_position().width * ax.figure.get_figwidth()

    def fx(inches: float) -> float:
        return inches / ax_w_in

    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return fx, blended_transform_factory(ax.transAxes, ax.transData)


def set_effect_axis(ax, xmin: float, xmax: float, ratio: bool) -> None:
    """x limits on the analysis scale; for ratio measures a log axis with natural-unit ticks.
    Limits are clipped first (:func:`clip_limits`)."""
    xmin, xmax = clip_limits(xmin, xmax, ratio)
    if ratio:
        ax.set_xscale("log")
        ax.set_xlim(math.exp(xmin), math.exp(xmax))
        if xmax - xmin > _WIDE:  # beyond the nice ticks: a few powers of ten
            ticks, labels = _decade_ticks(xmin, xmax)
        else:
            ticks = _nice_log_ticks(math.exp(xmin), math.exp(xmax))
            labels = [f"{t:g}" for t in ticks]
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels)
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.set_xlim(xmin, xmax)


# ------------------------------------------------------------------------------ the steps


@dataclass
class _Row:
    kind: str  # header, group, study, pooled, prediction, het, blank
    label: str = ""
    study: int | None = None  # index into the study rows
    group: str | None = None
    summary: PooledRow | None = None
    source: PooledResult | None = None  # the result a pooled row belongs to


@dataclass(frozen=True)
class _Layout:
    """Widths and heights in inches."""

    label_w: float
    arm_w: tuple[float, ...]
    weight_w: float
    footer_lines: int
    title_lines: int
    n_rows: int
    panel_w: float = 2.6
    eff_w: float = 1.45

    @property
    def left_w(self) -> float:
        return self.label_w + sum(self.arm_w)

    @property
    def width(self) -> float:
        return self.left_w + self.panel_w + (self.weight_w + self.eff_w) + 0.3

    @property
    def height(self) -> float:
        return ROW_IN * (self.n_rows + self.footer_lines + 1.5) + 0.22 * self.title_lines

    @property
    def arm_x(self) -> list[float]:
        """Right edge of each arm column, inches from the left edge of the labels."""
        x, out = self.label_w, []
        for w in self.arm_w:
            out.append(x + w)
            x += w
        return out


@dataclass
class _Panel:
    """What every drawing step needs: the axes, its coordinates and the study rows."""

    ax: object
    fx: object  # inches -> axes fraction
    trans: object  # (axes x, data y)
    lay: _Layout
    tr: object  # analysis scale -> axis scale
    xmin: float
    xmax: float
    digits: int
    pooled: bool
    weights: bool  # a weight column (pooled rows that carry weights)
    rows: StudyRows
    lo: np.ndarray
    hi: np.ndarray
    arm_keys: list

    def left(self, inches: float | None = None) -> float:
        """x (axes fraction) *inches* right of the left edge of the label column."""
        base = -self.fx(self.lay.left_w)
        return base if inches is None else base + self.fx(inches)

    def right(self, inches: float) -> float:
        """x (axes fraction) *inches* right of the panel."""
        return 1 + self.fx(inches)

    def text(self, x: float, y: float, s: str, **kw):
        return self.ax.text(x, y, s, transform=self.trans, va="center", **kw)


def _of_kind(result: PooledResult, kind: str) -> list[PooledRow]:
    return [p for p in result.pooled_rows if p.kind == kind]


def _group_rows(result: SubgroupedResult, sort: str | None) -> list[_Row]:
    """Per subgroup: its header, its studies, its subtotal and its heterogeneity line."""
    sr, rows = result.study_rows, []
    for g, res in result.groups.items():
        rows.append(_Row("group", label=str(g), group=g))
        idx = [i for i, gg in enumerate(result.group_of) if gg == g]
        rows += [_Row("study", study=i, group=g) for i in _order(sr, idx, sort)]
        rows += [_Row("pooled", label=f"Subtotal ({p.interval})", group=g, summary=p, source=res)
                 for p in _of_kind(res, "pooled")]
        het = dict(res.footer).get("heterogeneity")
        if het is not None:
            rows.append(_Row("het", label=het, group=g))
        rows.append(_Row("blank"))
    return rows


def _table_rows(result: PooledResult, sort, pooled: bool, prediction: bool) -> list[_Row]:
    """Every row of the table, top to bottom."""
    sr = result.study_rows
    rows = [_Row("header")]
    if _arm_columns(sr.arms)[0]:
        rows.append(_Row("header"))  # arm names above, column names below
    if isinstance(result, SubgroupedResult):
        rows += _group_rows(result, sort)
    else:
        rows += [_Row("study", study=i) for i in _order(sr, list(range(len(sr))), sort)]
        if pooled:
            rows.append(_Row("blank"))
    if pooled:
        for j, p in enumerate(_of_kind(result, "pooled")):
            label = f"Total ({p.interval})" if j == 0 else f"{p.label} ({p.interval})"
            rows.append(_Row("pooled", label=label, summary=p, source=result))
        if prediction:
            rows += [_Row("prediction", label=p.label, summary=p)
                     for p in _of_kind(result, "prediction") if not math.isnan(p.ci_low)]
    return rows


def _layout(sr: StudyRows, rows, weights: bool, n_footer: int, title, max_label) -> _Layout:
    label_w = min(max(1.6, 0.062 * max(len(_short(s, max_label)) for s in sr.labels) + 0.2), 2.8)
    arm_w = tuple(0.8 if h.startswith("Mean") else 0.55 for h in _arm_columns(sr.arms)[0])
    title_lines = 0 if not title else len(textwrap.wrap(
        title, width=max(40, int((label_w + sum(arm_w) + 2.6 + 2.05 + 0.3) * 11))))
    return _Layout(label_w=label_w, arm_w=arm_w, weight_w=0.6 if weights else 0.1,
                   footer_lines=2 + n_footer, title_lines=title_lines, n_rows=len(rows))


def _figure(ax, lay: _Layout):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=(lay.width, lay.height))
    bottom = ROW_IN * (lay.footer_lines + 1.2) / lay.height
    top_pad = (0.22 * lay.title_lines + 0.05) / lay.height
    ax = fig.add_axes((lay.left_w / lay.width, bottom, lay.panel_w / lay.width,
                       1 - bottom - top_pad))
    return fig, ax


def _x_limits(result, sr: StudyRows, lo, hi, rows, xlim, ratio) -> tuple[float, float]:
    """Axis limits on the analysis scale: every row, the null, whiskers cut at 2.5 widths of
    the core (estimates and pooled intervals) beyond it."""
    if xlim is not None:
        lims = (math.log(xlim[0]), math.log(xlim[1])) if ratio else xlim
        return clip_limits(*lims, ratio)
    ends = [x for p in _of_kind(result, "pooled") for x in (p.ci_low, p.ci_high)]
    pts = _finite(sr.yi, ends)
    span = _finite(lo, hi, ends, [x for r in rows if r.kind == "prediction"
                                  for x in (r.summary.ci_low, r.summary.ci_high)])
    lim = LOG_LIMIT if ratio else LINEAR_LIMIT
    pts = np.clip(pts, -lim, lim) if pts.size else np.zeros(1)  # rows without a finite
    span = span if span.size else pts  # estimate do not set the scale
    xmin, xmax = clip_limits(float(np.min(span)), float(np.max(span)), ratio)
    widths = [p.ci_high - p.ci_low for p in _of_kind(result, "pooled")]
    core = min(max(float(np.ptp(pts)), *_finite(widths), 1e-6), lim)
    xmin = max(xmin, float(np.min(pts)) - 2.5 * core)
    xmax = min(xmax, float(np.max(pts)) + 2.5 * core)
    xmin, xmax = clip_limits(min(xmin, 0.0), max(xmax, 0.0), ratio)
    pad = 0.05 * (xmax - xmin)
    return clip_limits(xmin - pad, xmax + pad, ratio)


def _finite(*parts) -> np.ndarray:
    """The finite values of the concatenated *parts*."""
    a = np.concatenate([np.asarray(x, dtype=float).ravel() for x in parts])
    return a[np.isfinite(a)]


def _headers(p: _Panel, arm_heads, arm_labels, label_header, measure, description) -> None:
    lay = p.lay
    head_y = 1 if arm_heads else 0
    p.text(p.left(), head_y, label_header, ha="left", weight="bold", gid="header-study")
    for h, xr in zip(arm_heads, lay.arm_x, strict=True):
        p.text(p.left(xr), head_y, h, ha="right", weight="bold")
    if arm_heads:
        w = lay.arm_w
        mid1 = lay.label_w + (w[0] + w[1]) / 2
        mid2 = lay.label_w + w[0] + w[1] + (w[2] + w[3]) / 2
        for mid, name in ((mid1, arm_labels[0]), (mid2, arm_labels[1])):
            p.text(p.left(mid), head_y - 1, name, ha="center", weight="bold")
    if p.weights:
        p.text(p.right(lay.weight_w), head_y, "Weight", ha="right", weight="bold")
    p.text(p.right(lay.weight_w + lay.eff_w), head_y, measure, ha="right", weight="bold")
    if p.pooled:
        p.text(p.right(lay.weight_w + lay.eff_w), head_y - 1, description, ha="right",
               fontsize=7.5, gid="header-model")


def _draw_study(p: _Panel, y: int, i: int, disp: int, max_label: int, wmax: float) -> None:
    sr, lay, tr = p.rows, p.lay, p.tr
    p.text(p.left(), y, _short(sr.labels[i], max_label), ha="left", gid=f"label-{disp}")
    for (key, fmt), xr in zip(p.arm_keys, lay.arm_x, strict=True):
        name = key if isinstance(key, str) else key[0]
        p.text(p.left(xr), y, _arm_cell(sr.arms, i, key, fmt), ha="right",
               gid=f"arm-{disp}-{name}")
    weighted = p.weights and math.isfinite(sr.weight[i])
    if weighted:
        p.text(p.right(lay.weight_w), y, f"{sr.weight[i]:.1f}%", ha="right",
               gid=f"weight-{disp}")
    p.text(p.right(lay.weight_w + lay.eff_w), y,
           _effect_text(tr(sr.yi[i]), tr(p.lo[i]), tr(p.hi[i]), p.digits), ha="right",
           gid=f"effect-{disp}")
    _whisker(p.ax, y, p.lo[i], p.hi[i], sr.yi[i], p.xmin, p.xmax, tr, f"ci-{disp}")
    if p.xmin <= sr.yi[i] <= p.xmax:
        size = 3 + 9 * math.sqrt(sr.weight[i] / wmax) if weighted else 5
        p.ax.plot([tr(sr.yi[i])], [y], marker="s", ms=size, color=COLORS["study"], ls="none",
                  zorder=3, gid=f"square-{disp}")
    if sr.theta is not None and math.isfinite(sr.theta[i]):
        _draw_shrunken(p, y, i, disp)


def _draw_shrunken(p: _Panel, y: int, i: int, disp: int) -> None:
    """A shrunken estimate (e.g. a Bayesian theta_i): open circle with a thin grey interval,
    just below the observed one."""
    sr, tr = p.rows, p.tr
    if sr.theta_low is not None:
        a, b = max(sr.theta_low[i], p.xmin), min(sr.theta_high[i], p.xmax)
        if a < b:
            p.ax.plot([tr(a), tr(b)], [y + 0.28] * 2, color=COLORS["subtle"], lw=0.7,
                      zorder=2, gid=f"shrunken-ci-{disp}")
    if p.xmin <= sr.theta[i] <= p.xmax:
        p.ax.plot([tr(sr.theta[i])], [y + 0.28], marker="o", ms=3.5, mfc="white",
                  mec=COLORS["subtle"], ls="none", zorder=3, gid=f"shrunken-{disp}")


def _draw_pooled(p: _Panel, y: int, row: _Row, result: PooledResult) -> None:
    s, lay, tr = row.summary, p.lay, p.tr
    gid = f"diamond-subgroup-{row.group}" if row.group is not None else f"diamond-{s.model}"
    p.text(p.left(), y, row.label, ha="left", weight="bold")
    arms = row.source.study_rows.arms
    if p.arm_keys and arms is not None:
        for (key, _fmt), xr in zip(p.arm_keys, lay.arm_x, strict=True):
            if isinstance(key, str) and key in ("n1i", "n2i"):
                p.text(p.left(xr), y, f"{arms[key].sum():g}", ha="right", weight="bold")
    if p.rows.pooled:
        wsum = 100.0 if row.group is None else float(
            sum(p.rows.weight[i] for i, g in enumerate(result.group_of) if g == row.group))
        p.text(p.right(lay.weight_w), y, f"{wsum:.1f}%", ha="right", weight="bold")
    p.text(p.right(lay.weight_w + lay.eff_w), y,
           _effect_text(tr(s.estimate), tr(s.ci_low), tr(s.ci_high), p.digits), ha="right",
           weight="bold", gid=f"effect-{gid}")
    color = COLORS["diamond_fixed"] if s.model == "fixed" else COLORS["diamond_random"]
    lo, est, hi = (tr(min(max(x, p.xmin), p.xmax)) for x in (s.ci_low, s.estimate, s.ci_high))
    p.ax.add_patch(Polygon([(lo, y), (est, y - 0.38), (hi, y), (est, y + 0.38)], closed=True,
                           color=color, zorder=3, gid=gid))


def _draw_prediction(p: _Panel, y: int, row: _Row) -> None:
    s, tr, d = row.summary, p.tr, p.digits
    p.text(p.left(), y, row.label, ha="left", style="italic")
    p.text(p.right(p.lay.weight_w + p.lay.eff_w), y, f"[{_num(tr(s.ci_low), d)}, "
           f"{_num(tr(s.ci_high), d)}]", ha="right", style="italic", gid="effect-prediction")
    lo, hi = tr(max(s.ci_low, p.xmin)), tr(min(s.ci_high, p.xmax))
    p.ax.add_patch(Polygon([(lo, y - 0.16), (hi, y - 0.16), (hi, y + 0.16), (lo, y + 0.16)],
                           closed=True, color=COLORS["prediction"], zorder=2,
                           gid="prediction-interval"))


def _draw_rows(p: _Panel, rows: list[_Row], result: PooledResult, max_label: int) -> None:
    w = p.rows.weight
    wmax = float(np.nanmax(w)) if np.isfinite(w).any() else 1.0
    disp = 0
    for y, row in enumerate(rows):
        if row.kind == "group":
            p.text(p.left(), y, row.label, ha="left", weight="bold", gid=f"group-{row.label}")
        elif row.kind == "study":
            _draw_study(p, y, row.study, disp, max_label, wmax)
            disp += 1
        elif row.kind == "pooled":
            _draw_pooled(p, y, row, result)
        elif row.kind == "prediction":
            _draw_prediction(p, y, row)
        elif row.kind == "het":
            p.text(p.left(), y, row.label, ha="left", fontsize=7.5, color=COLORS["subtle"],
                   gid=f"het-{row.group}")


def _footer(p: _Panel, fig, foot, favours) -> None:
    """Lines under the axis (heterogeneity, overall effect, subgroups) and the favours texts."""
    ax = p.ax
    ax_h_in = ax.get_position().height * fig.get_figheight()
    for j, (name, text) in enumerate(foot):
        ax.text(p.left(), -(ROW_IN * (2.7 + j)) / ax_h_in, text, transform=ax.transAxes,
                ha="left", va="center", fontsize=7.5, gid=f"footer-{name}")
    null_x = ax.transAxes.inverted().transform(ax.transData.transform((p.tr(0.0), 0)))[0]
    ax.text(null_x - 0.02, -(ROW_IN * 1.7) / ax_h_in, favours[0], transform=ax.transAxes,
            ha="right", va="center", fontsize=7.5, gid="favours-left")
    ax.text(null_x + 0.02, -(ROW_IN * 1.7) / ax_h_in, favours[1], transform=ax.transAxes,
            ha="left", va="center", fontsize=7.5, gid="favours-right")


def forest(
    result: PooledResult,
    *,
    ax=None,
    sort: str | None = None,
    favours: tuple[str, str] = ("Favours treatment", "Favours control"),
    arm_labels: tuple[str, str] = ("Treatment", "Control"),
    prediction: bool = True,
    xlim: tuple[float, float] | None = None,
    max_label: int = 36,
    digits: int = 2,
    title: str | None = None,
    effect_label: str | None = None,
    pooled: bool = True,
    label_header: str = "Study",
) -> Figure:
    """Forest plot of a result with the drawable shape (or of subgroups with their subtotals).

    Parameters
    ----------
    result
        Anything with the shape of :class:`~acu_meta.results.PooledResult`:
        :class:`~acu_meta.results.MetaResult`; :class:`~acu_meta.results.SubgroupResult` for
        subgroup headers, subtotal diamonds and the test for subgroup differences;
        :func:`acu_meta.results.rows` for study rows that are not pooled. Nothing is fitted.
    ax
        Axes for the plot panel; text columns are drawn beside it. By default a figure sized to
        the number of rows is made.
    sort
        None (input order), "effect", "weight" or "label" (within subgroups).
    favours
        Texts under the left and right half of the axis.
    arm_labels
        Headers over the arm-level columns (events/total or mean (SD)/total per arm).
    prediction
        Draw the prediction rows (a random-effects model's prediction interval, metafor's
        definition).
    xlim
        Axis limits on the natural scale (ratio measures: e.g. (0.1, 10)); whiskers beyond them
        end in arrows.
    max_label
        Longer study labels are shortened with an ellipsis; the row is never dropped.
    pooled
        False draws the rows only (no weights, diamond or heterogeneity footer): for rows that
        must not be pooled, such as several outcomes of one trial. A result without pooled
        rows is always drawn so; rows without weights (NaN) get no weight column.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Checked structurally (``tests/plots/test_plots.py`` reads the SVG: each label, weight and CI
    text once per row, in order; the diamond spans the pooled CI; a log axis for ratio measures),
    against committed baseline images, and with hand-made results and no model fitting
    (``tests/plots/test_forest_shape.py``).
    """
    sr, ratio = result.study_rows, is_ratio(result.measure)
    pooled = pooled and bool(result.pooled_rows)
    tr = exp_or_inf if ratio else (lambda x: x)
    lo, hi = sr.interval(result.level)
    arm_heads, arm_keys = _arm_columns(sr.arms)
    foot = list(result.footer) if pooled else []
    if isinstance(result, SubgroupedResult):
        foot.append(("subgroups", result.subgroup_test))
    rows = _table_rows(result, sort, pooled, prediction)
    weights = pooled and sr.pooled
    lay = _layout(sr, rows, weights, len(foot), title, max_label)
    with house_style():
        fig, ax = _figure(ax, lay)
        fx, trans = row_panel(ax, len(rows))
        xmin, xmax = _x_limits(result, sr, lo, hi, rows, xlim, ratio)
        set_effect_axis(ax, xmin, xmax, ratio)
        ax.axvline(tr(0.0), color=COLORS["null"], lw=0.7, zorder=1)
        p = _Panel(ax, fx, trans, lay, tr, xmin, xmax, digits, pooled, weights, sr, lo, hi,
                   arm_keys)
        measure = effect_label or f"{result.measure} ({result.level * 100:g}% CI)"
        _headers(p, arm_heads, arm_labels, label_header, measure, result.description)
        _draw_rows(p, rows, result, max_label)
        _footer(p, fig, foot, favours)
        if title:
            fig.suptitle(textwrap.fill(title, width=max(40, int(fig.get_figwidth() * 11))),
                         x=0.02, ha="left", fontsize=9, weight="bold")
    fit_fonts(fig)  # any Unicode label: font fallback, or a marker (plots/_style.py)
    return fig


def _whisker(ax, y, lo, hi, est, xmin, xmax, tr, gid):
    a, b = max(lo, xmin), min(hi, xmax)
    if a < b:
        ax.plot([tr(a), tr(b)], [y, y], color=COLORS["whisker"], lw=0.9, zorder=2, gid=gid)
    if lo < xmin:
        ax.plot([tr(xmin)], [y], marker="<", ms=4, color=COLORS["whisker"], zorder=2,
                gid=f"{gid}-arrow-left")
    if hi > xmax:
        ax.plot([tr(xmax)], [y], marker=">", ms=4, color=COLORS["whisker"], zorder=2,
                gid=f"{gid}-arrow-right")
