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
``footer-<name>`` (``footer-heterogeneity``, ``footer-overall``, ``footer-subgroups``);
``header-study``, ``header-weight``, ``header-effect``, ``header-model`` (the model and its
interval method), ``header-arm-0`` / ``-1``; ``diamond-<model>-label``, ``prediction-label``;
``total-diamond-<model>-n1i`` (participants), ``events-label``, ``events-ai`` / ``events-ci``
(the "Total events" row of binary data; ``events-subgroup-<g>-ai`` per subgroup);
``ci-inside-i`` (a whisker shorter than its square, drawn white inside it).

What an editor asks of a forest plot (issue #14; each checked in
``tests/plots/test_editor_fixes.py``, shown beside metafor's forest() in
``docs/forest_review.md``): every column is as wide as its widest text (measured with the
house font) plus :data:`COL_GAP`; squares are capped at :data:`SQUARE_OF_WHISKER` of their
drawn whisker; the header names the interval method (:func:`model_text`) and the column
header the interval and its level (:func:`interval_name`); arm cells keep their decimals
(:func:`decimals`) and counts are thousands-separated (:func:`count`); binary data get a
"Total events" row; log ticks are chosen for the range and the axis width
(:func:`_nice_log_ticks`); a user's ``ax`` without room for the columns is refused
(InputError) with the figure size and axes rectangle that work.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Polygon
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from ..errors import InputError
from ..numeric import exp_or_inf
from ..results import PooledResult, PooledRow, StudyRows, SubgroupedResult
from ..results._format import heterogeneity_text, overall_text
from ..results._shape import is_ratio
from ._style import BASE_FAMILY, COLORS, fit_fonts, house_style

__all__ = ["clip_limits", "count", "decimals", "forest", "heterogeneity_text",
           "interval_name", "model_text", "overall_text", "row_panel", "set_effect_axis",
           "square_size", "text_width"]

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
                [("ai", None), ("n1i", None), ("ci", None), ("n2i", None)])
    if {"m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"} <= set(a.columns):
        return (["Mean (SD)", "Total", "Mean (SD)", "Total"],
                [(("m1i", "sd1i"), None), ("n1i", None), (("m2i", "sd2i"), None),
                 ("n2i", None)])
    return [], []


def decimals(values, most: int = 4) -> int:
    """The fewest decimals (at most *most*) that print every finite value of *values* as it
    is stored: 3.25 needs 2, 3.2 needs 1, 64.0 needs 0."""
    need = 0
    for x in np.asarray(values, dtype=float).ravel():
        if not math.isfinite(x):
            continue
        d = 0
        while d < most and abs(round(x, d) - x) > 1e-9 * max(1.0, abs(x)):
            d += 1
        need = max(need, d)
    return need


def count(x: float) -> str:
    """A count (events, participants) with thousands separated: 13,598; a non-integer count
    (a continuity-corrected or imputed one) keeps its decimals."""
    x = float(x)
    if not math.isfinite(x):
        return f"{x:g}"
    return f"{x:,.0f}" if x == round(x) else f"{x:,.{max(1, decimals([x]))}f}"


def _mean_sd_decimals(a) -> tuple[int, int]:
    """Decimals of the means (both arms) and of the SDs: the SDs get at least the means'
    decimals, so 3.2 (2.0) is not printed 3.2 (2)."""
    dm = decimals(np.r_[a["m1i"].to_numpy(float), a["m2i"].to_numpy(float)])
    ds = decimals(np.r_[a["sd1i"].to_numpy(float), a["sd2i"].to_numpy(float)])
    return dm, max(dm, ds)


def _arm_cell(a, i, key, fmt=None) -> str:
    if isinstance(key, tuple):
        dm, ds = _mean_sd_decimals(a)
        m, s = float(a[key[0]].iloc[i]), float(a[key[1]].iloc[i])
        return f"{m:,.{dm}f} ({s:,.{ds}f})"
    return count(a[key].iloc[i])


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
    """A number of the effect column: fixed decimals (thousands separated: 1,234.50), or 3
    significant digits from 1e6 on."""
    if math.isfinite(x) and abs(x) >= 1e6:
        return f"{x:.3g}"
    return f"{x:,.{digits}f}"


def _effect_text(est, lo, hi, digits) -> str:
    if math.isnan(est):
        return "not estimable"
    return f"{_num(est, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


#: Mantissas of the tick sets of a log axis, coarsest first (1 is in every set).
_LOG_MANTISSAS = ((1,), (1, 2, 5), (1, 3), (1, 2, 3, 5), (1, 1.5, 2, 3, 5, 7),
                  (1, 1.5, 2, 3, 4, 6, 8), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))
_TICK_CHAR_IN = 0.07  # width of one tick-label character at 8 pt (DejaVu Sans digits), inches
_TICK_GAP_IN = 0.1  # least space between two tick labels, inches


def _tick_label(t: float) -> str:
    return f"{t:g}"


def _collide(ticks: list[float], lo: float, hi: float, width_in: float) -> bool:
    """True when two neighbouring tick labels of a log axis from *lo* to *hi* drawn
    *width_in* inches wide would touch ("0.0050.01")."""
    scale = width_in / (math.log(hi) - math.log(lo))
    for a, b in zip(ticks, ticks[1:], strict=False):
        room = (math.log(b) - math.log(a)) * scale
        need = _TICK_CHAR_IN * (len(_tick_label(a)) + len(_tick_label(b))) / 2 + _TICK_GAP_IN
        if room < need:
            return True
    return False


def _linear_ticks(lo: float, hi: float) -> list[float]:
    """3 to 5 evenly spaced round ticks (a range too narrow for a log tick set: 0.95 to
    1.05)."""
    for step in sorted({m * 10.0**e for e in range(-6, 7) for m in (1, 2, 2.5, 5)}):
        ticks = [float(f"{k * step:.12g}") for k in range(math.ceil(lo / step),
                                                         math.floor(hi / step) + 1)]
        if len(ticks) <= 5:
            return ticks
    return [lo, hi]


def _nice_log_ticks(lo: float, hi: float, width_in: float = 2.6) -> list[float]:
    """Ticks of a log axis from *lo* to *hi* (natural scale), *width_in* inches wide.

    The tick sets of :data:`_LOG_MANTISSAS` are tried coarsest first and the first with 4 to
    8 ticks whose labels do not touch (:func:`_collide`) is taken; failing that, the set with
    the most ticks whose labels do not touch; a range too narrow for 3 of them gets evenly
    spaced ticks. A range within one decade (a fit with tau2 = 0, 0.57 to 1.84) so gets 0.6,
    0.8, 1, 1.5 rather than only 1, and 0.003 to 0.3 gets 0.01, 0.03, 0.1, 0.3, not the
    touching labels 0.005 and 0.01.
    """
    if not (0 < lo < hi and math.isfinite(hi)):
        return []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))

    def ticks_of(mantissas):
        out = {float(f"{m * 10.0**e:.12g}") for e in range(e0, e1 + 1) for m in mantissas}
        return sorted(t for t in out if lo <= t <= hi)

    fitting = [t for t in map(ticks_of, _LOG_MANTISSAS)
               if 2 <= len(t) <= 8 and not _collide(t, lo, hi, width_in)]
    best = next((t for t in fitting if len(t) >= 4), None)
    if best is None:
        best = max(fitting, key=len, default=[])
    if not best:  # even the powers of ten touch: every 2nd, 3rd, ... of them (1 kept)
        tens = ticks_of((1,))
        for step in range(2, max(3, len(tens) + 1)):
            best = [t for t in tens if round(math.log10(t)) % step == 0]
            if len(best) < 2 or not _collide(best, lo, hi, width_in):
                break
    if len(best) < 3 and hi / lo < 3:
        lin = _linear_ticks(lo, hi)
        if len(lin) > len(best) and not _collide(lin, lo, hi, width_in):
            return lin
    return best


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
    """x limits on the analysis scale; for ratio measures a log axis with natural-unit ticks
    chosen for the range and the axis width (:func:`_nice_log_ticks`: no touching labels).
    Limits are clipped first (:func:`clip_limits`)."""
    xmin, xmax = clip_limits(xmin, xmax, ratio)
    if ratio:
        ax.set_xscale("log")
        ax.set_xlim(math.exp(xmin), math.exp(xmax))
        if xmax - xmin > _WIDE:  # beyond the nice ticks: a few powers of ten
            ticks, labels = _decade_ticks(xmin, xmax)
        else:
            width_in = ax.get_position().width * ax.figure.get_figwidth()
            ticks = _nice_log_ticks(math.exp(xmin), math.exp(xmax), width_in)
            labels = [_tick_label(t) for t in ticks]
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels)
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.set_xlim(xmin, xmax)


# ------------------------------------------------------------------------------ the steps


@dataclass
class _Row:
    kind: str  # header, group, study, pooled, events, prediction, het, blank
    label: str = ""
    study: int | None = None  # index into the study rows
    group: str | None = None
    summary: PooledRow | None = None
    source: PooledResult | None = None  # the result a pooled row belongs to


#: Space between two columns of the table, inches.
COL_GAP = 0.12
#: Smallest side of a study square, points; below it the square never shrinks.
MIN_SQUARE = 3.0
#: A square is at most this fraction of the length of its whisker (on the drawn axis), so
#: both ends of the whisker stay visible when a wide interval stretches the axis.
SQUARE_OF_WHISKER = 0.6
_SQUARE_EDGE = 0.5  # marker edge width of the squares, points
_MARGIN = 0.08  # figure margin left and right of the table, inches


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
    def right_w(self) -> float:
        """Room the columns right of the panel take (weight and effect)."""
        return self.weight_w + self.eff_w

    @property
    def bottom_h(self) -> float:
        """Room under the panel: tick labels, favours texts and the footer lines."""
        return ROW_IN * (self.footer_lines + 1.2)

    @property
    def width(self) -> float:
        return _MARGIN + self.left_w + self.panel_w + self.right_w + _MARGIN

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


def _binary(sr: StudyRows) -> bool:
    return sr.arms is not None and {"ai", "n1i", "ci", "n2i"} <= set(sr.arms.columns)


def _group_rows(result: SubgroupedResult, sort: str | None) -> list[_Row]:
    """Per subgroup: its header, its studies, its subtotal (and events) and its heterogeneity
    line."""
    sr, rows = result.study_rows, []
    for g, res in result.groups.items():
        rows.append(_Row("group", label=str(g), group=g))
        idx = [i for i, gg in enumerate(result.group_of) if gg == g]
        rows += [_Row("study", study=i, group=g) for i in _order(sr, idx, sort)]
        for j, p in enumerate(_of_kind(res, "pooled")):
            rows.append(_Row("pooled", label=f"Subtotal ({p.interval})", group=g, summary=p,
                             source=res))
            if j == 0 and _binary(res.study_rows):
                rows.append(_Row("events", label="Total events", group=g, source=res))
        het = dict(res.footer).get("heterogeneity")
        if het is not None:
            rows.append(_Row("het", label=het, group=g))
        rows.append(_Row("blank"))
    return rows


def _table_rows(result: PooledResult, sort, pooled: bool, prediction: bool) -> list[_Row]:
    """Every row of the table, top to bottom: the model description and the arm names
    (when there are either), the column headers, the rows."""
    sr = result.study_rows
    rows = [_Row("header")]
    if _arm_columns(sr.arms)[0] or pooled:
        rows.append(_Row("header"))  # arm names and the model above, column names below
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
            if j == 0 and _binary(sr):
                rows.append(_Row("events", label="Total events", source=result))
        if prediction:
            rows += [_Row("prediction", label=p.label, summary=p)
                     for p in _of_kind(result, "prediction") if not math.isnan(p.ci_low)]
    return rows


# ------------------------------------------------------------------------------ text widths

_MEASURE_DPI = 100


@cache
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(10, 10, _MEASURE_DPI)


def text_width(s: str, size: float = 8.5, weight: str = "normal",
               style: str = "normal") -> float:
    """Width of *s* in inches as drawn in the house font (DejaVu Sans) on screen (Agg at
    100 dpi, the house figure dpi; hinting makes small text a few percent wider there than
    at 300 dpi or in SVG/PDF, so columns sized by it have their gap at every resolution)."""
    if not s:
        return 0.0
    prop = FontProperties(family=BASE_FAMILY, size=size, weight=weight, style=style)
    with warnings.catch_warnings():  # a glyph DejaVu Sans lacks: measured as its box; the
        warnings.simplefilter("ignore")  # drawn text gets a fallback font (fit_fonts)
        w, _h, _d = _renderer().get_text_width_height_descent(s, prop, ismath=False)
    return w / _MEASURE_DPI


def _widest(texts, **kw) -> float:
    return max((text_width(t, **kw) for t in texts), default=0.0)


def _cells(result: PooledResult, rows: list[_Row], arm_keys, digits: int, tr):
    """The texts of every column, to size it: labels (normal, bold, italic), each arm
    column, effects."""
    sr = result.study_rows
    lo, hi = sr.interval(result.level)
    cols = {"label": [], "label_bold": [], "label_italic": [], "effect": [],
            "effect_bold": [], "effect_italic": [], "arms": [[] for _ in arm_keys],
            "arms_bold": [[] for _ in arm_keys]}
    for r in rows:
        if r.kind == "study":
            i = r.study
            cols["effect"].append(_effect_text(tr(sr.yi[i]), tr(lo[i]), tr(hi[i]), digits))
            for j, (key, _fmt) in enumerate(arm_keys):
                cols["arms"][j].append(_arm_cell(sr.arms, i, key))
        elif r.kind in ("pooled", "group"):
            cols["label_bold"].append(r.label)
            if r.kind == "pooled":
                s = r.summary
                cols["effect_bold"].append(
                    _effect_text(tr(s.estimate), tr(s.ci_low), tr(s.ci_high), digits))
                for j, text in _total_cells(r, arm_keys, "pooled"):
                    cols["arms_bold"][j].append(text)
        elif r.kind == "events":
            cols["label"].append(r.label)
            for j, text in _total_cells(r, arm_keys, "events"):
                cols["arms_bold"][j].append(text)
        elif r.kind == "prediction":
            s = r.summary
            cols["label_italic"].append(r.label)
            cols["effect_italic"].append(f"[{_num(tr(s.ci_low), digits)}, "
                                         f"{_num(tr(s.ci_high), digits)}]")
    return cols


def _total_cells(row: _Row, arm_keys, kind: str) -> list[tuple[int, str]]:
    """(column, text) of the totals of a pooled row (participants) or an events row."""
    arms = row.source.study_rows.arms if row.source is not None else None
    if arms is None:
        return []
    want = ("n1i", "n2i") if kind == "pooled" else ("ai", "ci")
    return [(j, count(arms[key].sum())) for j, (key, _f) in enumerate(arm_keys)
            if isinstance(key, str) and key in want]


def _layout(result, rows, arm_heads, arm_keys, arm_labels, weights: bool, n_footer: int,
            title, max_label, digits, tr, measure, label_header) -> _Layout:
    """Column widths from the widths of their texts (each column as wide as its widest text
    and :data:`COL_GAP`): no overlap, and no empty gap before a column."""
    sr = result.study_rows
    cols = _cells(result, rows, arm_keys, digits, tr)
    label_w = max(_widest(_short(s, max_label) for s in sr.labels),
                  _widest(cols["label"]),
                  _widest(cols["label_bold"] + [label_header], weight="bold"),
                  _widest(cols["label_italic"], style="italic"))
    label_w = min(max(label_w, 0.6), 3.2) + COL_GAP
    arm_w = [max(text_width(h, weight="bold"), _widest(c), _widest(b, weight="bold"))
             + COL_GAP for h, c, b in zip(arm_heads, cols["arms"], cols["arms_bold"],
                                          strict=True)]
    if arm_w:  # the arm names centred over their two columns fit there
        for k, name in enumerate(arm_labels):
            need = text_width(name, weight="bold") + COL_GAP
            have = arm_w[2 * k] + arm_w[2 * k + 1]
            if need > have:
                arm_w[2 * k] += (need - have) / 2
                arm_w[2 * k + 1] += (need - have) / 2
    weight_w = (COL_GAP + max(text_width("Weight", weight="bold"),
                              text_width("100.0%", weight="bold"))) if weights else 0.0
    eff_w = COL_GAP + max(_widest(cols["effect"]), _widest(cols["effect_bold"], weight="bold"),
                          _widest(cols["effect_italic"], style="italic"),
                          text_width(measure, weight="bold"))
    width = _MARGIN * 2 + label_w + sum(arm_w) + 2.6 + weight_w + eff_w
    title_lines = 0 if not title else len(textwrap.wrap(title, width=max(40, int(width * 11))))
    return _Layout(label_w=label_w, arm_w=tuple(arm_w), weight_w=weight_w,
                   footer_lines=2 + n_footer, title_lines=title_lines, n_rows=len(rows),
                   eff_w=eff_w)


def _figure(ax, lay: _Layout):
    if ax is not None:
        _check_axes(ax, lay)
        return ax.figure, ax
    fig = Figure(figsize=(lay.width, lay.height))
    bottom = lay.bottom_h / lay.height
    top_pad = (0.22 * lay.title_lines + 0.05) / lay.height
    ax = fig.add_axes(((_MARGIN + lay.left_w) / lay.width, bottom, lay.panel_w / lay.width,
                       1 - bottom - top_pad))
    return fig, ax


#: Least height of one table row in a user's axes, inches (8.5 pt text needs about 0.12).
MIN_ROW_IN = 0.14


def _check_axes(ax, lay: _Layout) -> None:
    """Refuse a user's axes that leaves no room for the columns beside it or the footer
    under it (they would overlap its neighbours or leave the figure), saying what it needs."""
    fig = ax.figure
    w_in, h_in = fig.get_size_inches()
    pos = ax.get_position()
    have = {"left of": pos.x0 * w_in, "right of": (1 - pos.x1) * w_in, "below": pos.y0 * h_in}
    need = {"left of": lay.left_w, "right of": lay.right_w, "below": lay.bottom_h}
    short = [f"{need[k]:.2f} in {k} it (it has {have[k]:.2f})" for k in need
             if have[k] < need[k] - 1e-9]
    row_in = pos.height * h_in / lay.n_rows
    if row_in < MIN_ROW_IN:
        short.append(f"{MIN_ROW_IN * lay.n_rows:.2f} in of height for {lay.n_rows} rows "
                     f"(it has {pos.height * h_in:.2f})")
    if short:
        w, h = lay.width, lay.height
        rect = ((_MARGIN + lay.left_w) / w, lay.bottom_h / h, lay.panel_w / w,
                1 - (lay.bottom_h + 0.05 + 0.22 * lay.title_lines) / h)
        raise InputError(
            "forest(ax=...): the table needs room around the axes: " + "; ".join(short)
            + ". Give a "
            f"figure of at least {w:.1f} x {h:.1f} in with the axes at "
            f"({', '.join(f'{v:.3f}' for v in rect)}) (fig.add_axes), or call forest() "
            "without ax to get a figure sized to the table")


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


def interval_name(result: PooledResult) -> str:
    """The name of the interval of the effect column: the first pooled row's ("95% CI",
    "95% CrI" for a Bayesian result), else a confidence interval at the result's level."""
    first = next(iter(_of_kind(result, "pooled")), None)
    return first.interval if first is not None else f"{result.level * 100:g}% CI"


_METHOD_IN_PARENS = re.compile(r"^(?P<kind>[^()]*?) \((?P<method>[^()]*)\)$")


def model_text(result: PooledResult) -> str:
    """The header over the effect column: the model and how its interval was computed.

    A frequentist result joins its description and its pooled row's: "Random-effects model
    (REML)" and "REML, Hartung-Knapp t(12)" give "Random-effects model (REML, Hartung-Knapp
    t(12))"; "Fixed-effect model (MH)" and "Mantel-Haenszel, z" give "Fixed-effect model
    (MH: Mantel-Haenszel, z)". Any other result (a Bayesian one names its priors) shows its
    description.
    """
    d = result.description
    first = next(iter(_of_kind(result, "pooled")), None)
    if first is None or not first.description or first.model not in ("fixed", "random"):
        return d
    m = _METHOD_IN_PARENS.match(d)
    if m is None:
        return f"{d}; {first.description}"
    method = m.group("method")
    if first.description.startswith(f"{method},"):
        return f"{m.group('kind')} ({first.description})"
    return f"{m.group('kind')} ({method}: {first.description})"


def _headers(p: _Panel, arm_heads, arm_labels, label_header, measure, description) -> None:
    lay = p.lay
    head_y = 1 if (arm_heads or p.pooled) else 0
    p.text(p.left(), head_y, label_header, ha="left", weight="bold", gid="header-study")
    for h, xr in zip(arm_heads, lay.arm_x, strict=True):
        p.text(p.left(xr), head_y, h, ha="right", weight="bold")
    if arm_heads:
        w = lay.arm_w
        mid1 = lay.label_w + (w[0] + w[1]) / 2
        mid2 = lay.label_w + w[0] + w[1] + (w[2] + w[3]) / 2
        for j, (mid, name) in enumerate(((mid1, arm_labels[0]), (mid2, arm_labels[1]))):
            p.text(p.left(mid), head_y - 1, name, ha="center", weight="bold",
                   gid=f"header-arm-{j}")
    if p.weights:
        p.text(p.right(lay.weight_w), head_y, "Weight", ha="right", weight="bold",
               gid="header-weight")
    p.text(p.right(lay.weight_w + lay.eff_w), head_y, measure, ha="right", weight="bold",
           gid="header-effect")
    if p.pooled:
        p.text(p.right(lay.weight_w + lay.eff_w), head_y - 1, description, ha="right",
               fontsize=7.5, gid="header-model")


def _points(ax, a: float, b: float) -> float:
    """Length in points on *ax* between two x values (axis scale)."""
    xa = ax.transData.transform((a, 0.0))[0]
    xb = ax.transData.transform((b, 0.0))[0]
    return abs(xb - xa) * 72.0 / ax.figure.dpi


def square_size(size: float, whisker_pt: float) -> float:
    """Side of a study square (points): its weight's *size*, at most
    :data:`SQUARE_OF_WHISKER` of the drawn whisker's length, never below
    :data:`MIN_SQUARE`."""
    return max(MIN_SQUARE, min(size, SQUARE_OF_WHISKER * whisker_pt))


def _draw_study(p: _Panel, y: int, i: int, disp: int, max_label: int, wmax: float) -> None:
    sr, lay, tr = p.rows, p.lay, p.tr
    p.text(p.left(), y, _short(sr.labels[i], max_label), ha="left", gid=f"label-{disp}")
    for (key, _fmt), xr in zip(p.arm_keys, lay.arm_x, strict=True):
        name = key if isinstance(key, str) else key[0]
        p.text(p.left(xr), y, _arm_cell(sr.arms, i, key), ha="right",
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
        a, b = max(p.lo[i], p.xmin), min(p.hi[i], p.xmax)
        drawn = _points(p.ax, tr(a), tr(b)) if a < b else 0.0
        size = square_size(3 + 9 * math.sqrt(sr.weight[i] / wmax) if weighted else 5, drawn)
        p.ax.plot([tr(sr.yi[i])], [y], marker="s", ms=size, mew=_SQUARE_EDGE,
                  color=COLORS["study"], ls="none", zorder=3, gid=f"square-{disp}")
        if 0 < drawn <= size + _SQUARE_EDGE:  # the square covers the whole whisker: drawn
            p.ax.plot([tr(a), tr(b)], [y, y], color="white", lw=0.7, zorder=4,  # inside it
                      solid_capstyle="butt", gid=f"ci-inside-{disp}")  # (meta's col.inside)
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


def _row_gid(row: _Row) -> str:
    s = row.summary
    return f"diamond-subgroup-{row.group}" if row.group is not None else f"diamond-{s.model}"


def _draw_totals(p: _Panel, y: int, row: _Row, kind: str, gid: str) -> None:
    xs = p.lay.arm_x
    for j, text in _total_cells(row, p.arm_keys, kind):
        key = p.arm_keys[j][0]
        p.text(p.left(xs[j]), y, text, ha="right", weight="bold", gid=f"{gid}-{key}")


def _draw_pooled(p: _Panel, y: int, row: _Row, result: PooledResult) -> None:
    s, lay, tr = row.summary, p.lay, p.tr
    gid = _row_gid(row)
    p.text(p.left(), y, row.label, ha="left", weight="bold", gid=f"{gid}-label")
    _draw_totals(p, y, row, "pooled", f"total-{gid}")
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


def _draw_events(p: _Panel, y: int, row: _Row) -> None:
    """RevMan's "Total events" row under a binary total: the events of each arm."""
    gid = "events" if row.group is None else f"events-subgroup-{row.group}"
    p.text(p.left(), y, row.label, ha="left", gid=f"{gid}-label")
    _draw_totals(p, y, row, "events", gid)


def _draw_prediction(p: _Panel, y: int, row: _Row) -> None:
    s, tr, d = row.summary, p.tr, p.digits
    p.text(p.left(), y, row.label, ha="left", style="italic", gid="prediction-label")
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
        elif row.kind == "events":
            _draw_events(p, y, row)
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
        Axes for the plot panel; the text columns are drawn beside it and the footer under it,
        so the figure must leave room for them: an axes without that room (e.g. a default
        ``fig.add_subplot(111)``) raises :class:`~acu_meta.errors.InputError` naming what is
        missing and a figure size and axes rectangle that work. By default a figure sized to
        the table is made.
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
    (``tests/plots/test_forest_shape.py``); the layout (no overlaps, no gaps, capped squares,
    headers, decimals, events row, ticks, ``ax=``) from the drawn artists' extents in
    ``tests/plots/test_editor_fixes.py``.
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
    measure = effect_label or f"{result.measure} ({interval_name(result)})"
    lay = _layout(result, rows, arm_heads, arm_keys, arm_labels, weights, len(foot), title,
                  max_label, digits, tr, measure, label_header)
    with house_style():
        fig, ax = _figure(ax, lay)
        fx, trans = row_panel(ax, len(rows))
        xmin, xmax = _x_limits(result, sr, lo, hi, rows, xlim, ratio)
        set_effect_axis(ax, xmin, xmax, ratio)
        ax.axvline(tr(0.0), color=COLORS["null"], lw=0.7, zorder=1)
        p = _Panel(ax, fx, trans, lay, tr, xmin, xmax, digits, pooled, weights, sr, lo, hi,
                   arm_keys)
        _headers(p, arm_heads, arm_labels, label_header, measure, model_text(result))
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
