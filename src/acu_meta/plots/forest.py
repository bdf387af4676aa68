"""Forest plots driven by the fitted model, laid out as RevMan, metafor and meta print them.

Every element carries a ``gid`` (kept as the ``id`` of its group in SVG output), so tests and
users can find it: ``label-i``, ``arm-i-<column>``, ``weight-i``, ``effect-i``, ``square-i``,
``ci-i`` (i = display row of a study, from 0), ``diamond-<model>``, ``diamond-subgroup-<g>``,
``prediction-interval``, ``footer-heterogeneity``, ``footer-overall``, ``footer-subgroups``.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from ..results import MetaResult, SubgroupResult
from ._style import COLORS, house_style

ROW_IN = 0.21  # height of one row, inches
ELLIPSIS = "\u2026"


@dataclass
class _Row:
    kind: str  # header, group, study, pooled, prediction, het, blank
    cells: dict = field(default_factory=dict)
    study: int | None = None  # index into the result's study arrays
    group: str | None = None


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1].rstrip() + ELLIPSIS


def _p_revman(p: float) -> str:
    if p is None or math.isnan(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p < 0.0001:
        return "P < 0.0001"
    if p < 0.001:
        return f"P = {p:.4f}"
    return f"P = {p:.2f}" if p >= 0.01 else f"P = {p:.3f}"


def heterogeneity_text(r: MetaResult) -> str:
    """RevMan's footer line: Tau2, Chi2 with df and P, I2."""
    parts = []
    if r.model == "random":
        parts.append(f"Tau\u00b2 = {r.tau2:.2f}")
    parts.append(f"Chi\u00b2 = {r.Q:.2f}, df = {r.Q_df} ({_p_revman(r.Q_p)})")
    parts.append(f"I\u00b2 = {r.I2:.0f}%")
    return "Heterogeneity: " + "; ".join(parts)


def overall_text(r: MetaResult) -> str:
    if r.test == "t":
        return f"Test for overall effect: t = {abs(r.statistic):.2f}, df = {r.df:g} " \
               f"({_p_revman(r.p_value)})"
    return f"Test for overall effect: Z = {abs(r.statistic):.2f} ({_p_revman(r.p_value)})"


def _arm_columns(r: MetaResult):
    """Arm-level columns to show: (header, key) pairs, or none when arms are unknown."""
    a = r.arms
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


def _order(r: MetaResult, idx: list[int], sort: str | None) -> list[int]:
    if sort is None:
        return idx
    if sort == "effect":
        return sorted(idx, key=lambda i: r.yi[i])
    if sort == "weight":
        return sorted(idx, key=lambda i: -r.weights[i])
    if sort == "label":
        return sorted(idx, key=lambda i: r.studies[i])
    raise ValueError("sort must be None, 'effect', 'weight' or 'label'")


def _effect_text(est, lo, hi, digits) -> str:
    return f"{est:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _nice_log_ticks(lo: float, hi: float) -> list[float]:
    cands = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100,
             200, 500, 1000]
    ticks = [t for t in cands if lo <= t <= hi]
    if len(ticks) > 7:
        ticks = [t for t in ticks if str(t).lstrip("0.").startswith(("1", "5"))] or ticks
    return ticks


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
    """x limits on the analysis scale; for ratio measures a log axis with natural-unit ticks."""
    if ratio:
        ax.set_xscale("log")
        ax.set_xlim(math.exp(xmin), math.exp(xmax))
        ticks = _nice_log_ticks(math.exp(xmin), math.exp(xmax))
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.set_xlim(xmin, xmax)


def forest(
    result: MetaResult | SubgroupResult,
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
    """Forest plot of a pooled result (or of subgroups with their subtotals).

    Parameters
    ----------
    result
        :class:`~acu_meta.results.MetaResult`, or :class:`~acu_meta.results.SubgroupResult`
        for subgroup headers, subtotal diamonds and the test for subgroup differences.
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
        Draw the prediction interval of a random-effects model (metafor's definition).
    xlim
        Axis limits on the natural scale (ratio measures: e.g. (0.1, 10)); whiskers beyond them
        end in arrows.
    max_label
        Longer study labels are shortened with an ellipsis; the row is never dropped.
    pooled
        False draws the rows only (no weights, diamond or heterogeneity footer): for rows that
        must not be pooled, such as several outcomes of one trial.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Checked structurally (``tests/plots/test_plots.py`` reads the SVG: each label, weight and CI
    text once per row, in order; the diamond spans the pooled CI; a log axis for ratio measures),
    against committed baseline images, and beside metafor's ``forest()`` (see the issue note).
    """
    sub = result if isinstance(result, SubgroupResult) else None
    r: MetaResult = sub.overall if sub else result
    ratio = r.ratio
    tr = np.exp if ratio else (lambda x: x)
    z = stats.norm.ppf(0.5 + r.level / 2)
    sei = np.sqrt(r.vi)
    lo_i, hi_i = r.yi - z * sei, r.yi + z * sei
    arm_heads, arm_keys = _arm_columns(r)
    model_name = ("Random-effects model" if r.model == "random" else
                  "Fixed-effect model") + f" ({r.method})"

    # ---------------------------------------------------------------- rows
    rows: list[_Row] = [_Row("header")]
    if arm_heads:
        rows.append(_Row("header"))  # arm names above, column names below
    if sub:
        groups = list(sub.groups)
        for g in groups:
            rows.append(_Row("group", {"label": str(g)}, group=g))
            idx = [i for i, gg in enumerate(sub.group_of) if gg == g]
            for i in _order(r, idx, sort):
                rows.append(_Row("study", study=i, group=g))
            rows.append(_Row("pooled", {"label": "Subtotal"}, group=g))
            rows.append(_Row("het", {"text": heterogeneity_text(sub.groups[g])}, group=g))
            rows.append(_Row("blank"))
    else:
        for i in _order(r, list(range(r.k)), sort):
            rows.append(_Row("study", study=i))
        if pooled:
            rows.append(_Row("blank"))
    if pooled:
        rows.append(_Row("pooled", {"label": f"Total ({r.level * 100:g}% CI)"}))
    show_pi = pooled and prediction and r.model == "random" and not math.isnan(r.pi_low)
    if show_pi:
        rows.append(_Row("prediction", {"label": "Prediction interval"}))
    n_rows = len(rows)

    # ---------------------------------------------------------------- layout (inches)
    label_w = min(max(1.6, 0.062 * max(len(_short(s, max_label)) for s in r.studies) + 0.2), 2.8)
    arm_w = [0.8 if h.startswith("Mean") else 0.55 for h in arm_heads]
    panel_w, weight_w, eff_w = 2.6, (0.6 if pooled else 0.1), 1.45
    left_w = label_w + sum(arm_w)
    right_w = weight_w + eff_w
    footer_lines = (4 if pooled else 2) + (1 if sub else 0)
    title_lines = 0 if not title else len(textwrap.wrap(
        title, width=max(40, int((label_w + sum(arm_w) + 2.6 + 2.05 + 0.3) * 11))))
    height = ROW_IN * (n_rows + footer_lines + 1.5) + 0.22 * title_lines
    width = left_w + panel_w + right_w + 0.3

    with house_style():
        if ax is None:
            fig = Figure(figsize=(width, height))
            bottom = ROW_IN * (footer_lines + 1.2) / height
            top_pad = (0.22 * title_lines + 0.05) / height
            ax = fig.add_axes((left_w / width, bottom, panel_w / width, 1 - bottom - top_pad))
        else:
            fig = ax.figure
        fx, trans = row_panel(ax, n_rows)

        # x limits on the analysis scale
        if xlim is not None:
            xmin, xmax = (math.log(xlim[0]), math.log(xlim[1])) if ratio else xlim
        else:
            pts = np.concatenate([r.yi, [r.ci_low, r.ci_high]])
            span = np.concatenate([lo_i, hi_i, [r.ci_low, r.ci_high]])
            if show_pi:
                span = np.concatenate([span, [r.pi_low, r.pi_high]])
            xmin, xmax = float(np.min(span)), float(np.max(span))
            core = max(float(np.ptp(pts)), r.ci_high - r.ci_low, 1e-6)
            xmin = max(xmin, float(np.min(pts)) - 2.5 * core)
            xmax = min(xmax, float(np.max(pts)) + 2.5 * core)
            null = 0.0
            xmin, xmax = min(xmin, null), max(xmax, null)
            pad = 0.05 * (xmax - xmin)
            xmin, xmax = xmin - pad, xmax + pad
        set_effect_axis(ax, xmin, xmax, ratio)
        ax.axvline(tr(0.0), color=COLORS["null"], lw=0.7, zorder=1)

        # column headers
        head_y = 1 if arm_heads else 0
        ax.text(-fx(left_w), head_y, label_header, transform=trans, ha="left", va="center",
                weight="bold", gid="header-study")
        x = label_w
        arm_x = []
        for h, w in zip(arm_heads, arm_w, strict=True):
            arm_x.append(x + w)
            ax.text(-fx(left_w) + fx(x + w), head_y, h, transform=trans, ha="right", va="center",
                    weight="bold")
            x += w
        if arm_heads:
            mid1 = label_w + (arm_w[0] + arm_w[1]) / 2
            mid2 = label_w + arm_w[0] + arm_w[1] + (arm_w[2] + arm_w[3]) / 2
            for mid, name in ((mid1, arm_labels[0]), (mid2, arm_labels[1])):
                ax.text(-fx(left_w) + fx(mid), head_y - 1, name, transform=trans,
                        ha="center", va="center", weight="bold")
        if pooled:
            ax.text(1 + fx(weight_w), head_y, "Weight", transform=trans, ha="right",
                    va="center", weight="bold")
        measure = effect_label or r.measure + (" (95% CI)" if r.level == 0.95 else
                                               f" ({r.level * 100:g}% CI)")
        ax.text(1 + fx(weight_w + eff_w), head_y, measure, transform=trans, ha="right",
                va="center", weight="bold")
        if pooled:
            ax.text(1 + fx(weight_w + eff_w), head_y - 1, model_name, transform=trans,
                    ha="right", va="center", fontsize=7.5, gid="header-model")

        wmax = float(np.max(r.weights)) if r.k else 1.0
        disp = 0
        for y, row in enumerate(rows):
            if row.kind == "group":
                ax.text(-fx(left_w), y, row.cells["label"], transform=trans, ha="left",
                        va="center", weight="bold", gid=f"group-{row.cells['label']}")
            elif row.kind == "study":
                i = row.study
                ax.text(-fx(left_w), y, _short(r.studies[i], max_label), transform=trans,
                        ha="left", va="center", gid=f"label-{disp}")
                for (key, fmt), xr in zip(arm_keys, arm_x, strict=True):
                    name = key if isinstance(key, str) else key[0]
                    ax.text(-fx(left_w) + fx(xr), y, _arm_cell(r.arms, i, key, fmt),
                            transform=trans, ha="right", va="center", gid=f"arm-{disp}-{name}")
                if pooled:
                    ax.text(1 + fx(weight_w), y, f"{r.weights[i]:.1f}%", transform=trans,
                            ha="right", va="center", gid=f"weight-{disp}")
                ax.text(1 + fx(weight_w + eff_w), y,
                        _effect_text(tr(r.yi[i]), tr(lo_i[i]), tr(hi_i[i]), digits),
                        transform=trans, ha="right", va="center", gid=f"effect-{disp}")
                _whisker(ax, y, lo_i[i], hi_i[i], r.yi[i], xmin, xmax, tr, f"ci-{disp}")
                if xmin <= r.yi[i] <= xmax:
                    size = 3 + 9 * math.sqrt(r.weights[i] / wmax) if pooled else 5
                    ax.plot([tr(r.yi[i])], [y], marker="s", ms=size, color=COLORS["study"],
                            ls="none", zorder=3, gid=f"square-{disp}")
                disp += 1
            elif row.kind == "pooled":
                res = sub.groups[row.group] if row.group is not None else r
                gid = (f"diamond-subgroup-{row.group}" if row.group is not None
                       else f"diamond-{res.model}")
                label = row.cells["label"] if row.group is None else \
                    f"Subtotal ({res.level * 100:g}% CI)"
                ax.text(-fx(left_w), y, label, transform=trans, ha="left", va="center",
                        weight="bold")
                if arm_keys and res.arms is not None:
                    for (key, _fmt), xr in zip(arm_keys, arm_x, strict=True):
                        if isinstance(key, str) and key in ("n1i", "n2i"):
                            ax.text(-fx(left_w) + fx(xr), y, f"{res.arms[key].sum():g}",
                                    transform=trans, ha="right", va="center", weight="bold")
                wsum = 100.0 if row.group is None else float(
                    sum(r.weights[i] for i, g in enumerate(sub.group_of) if g == row.group))
                ax.text(1 + fx(weight_w), y, f"{wsum:.1f}%", transform=trans, ha="right",
                        va="center", weight="bold")
                ax.text(1 + fx(weight_w + eff_w), y,
                        _effect_text(tr(res.estimate), tr(res.ci_low), tr(res.ci_high), digits),
                        transform=trans, ha="right", va="center", weight="bold",
                        gid=f"effect-{gid}")
                color = COLORS["diamond_random"] if res.model == "random" else \
                    COLORS["diamond_fixed"]
                ax.add_patch(Polygon(
                    [(tr(res.ci_low), y), (tr(res.estimate), y - 0.38), (tr(res.ci_high), y),
                     (tr(res.estimate), y + 0.38)], closed=True, color=color, zorder=3, gid=gid))
            elif row.kind == "prediction":
                ax.text(-fx(left_w), y, row.cells["label"], transform=trans, ha="left",
                        va="center", style="italic")
                ax.text(1 + fx(weight_w + eff_w), y,
                        f"[{tr(r.pi_low):.{digits}f}, {tr(r.pi_high):.{digits}f}]",
                        transform=trans, ha="right", va="center", style="italic",
                        gid="effect-prediction")
                ax.add_patch(Polygon(
                    [(tr(max(r.pi_low, xmin)), y - 0.16), (tr(min(r.pi_high, xmax)), y - 0.16),
                     (tr(min(r.pi_high, xmax)), y + 0.16), (tr(max(r.pi_low, xmin)), y + 0.16)],
                    closed=True, color=COLORS["prediction"], zorder=2, gid="prediction-interval"))
            elif row.kind == "het":
                ax.text(-fx(left_w), y, row.cells["text"], transform=trans, ha="left",
                        va="center", fontsize=7.5, color=COLORS["subtle"],
                        gid=f"het-{row.group}")

        # footer under the axis: heterogeneity, overall effect, subgroup differences, favours
        foot = [("footer-heterogeneity", heterogeneity_text(r)),
                ("footer-overall", overall_text(r))] if pooled else []
        if sub:
            i2 = max(0.0, 100 * (sub.Q_between - sub.Q_between_df) / sub.Q_between) \
                if sub.Q_between > 0 else 0.0
            foot.append(("footer-subgroups",
                         f"Test for subgroup differences: Chi\u00b2 = {sub.Q_between:.2f}, "
                         f"df = {sub.Q_between_df} ({_p_revman(sub.Q_between_p)}), "
                         f"I\u00b2 = {i2:.0f}%"))
        ax_h_in = ax.get_position().height * fig.get_figheight()
        for j, (gid, text) in enumerate(foot):
            ax.text(-fx(left_w), -(ROW_IN * (2.7 + j)) / ax_h_in, text, transform=ax.transAxes,
                    ha="left", va="center", fontsize=7.5, gid=gid)
        null_x = ax.transAxes.inverted().transform(ax.transData.transform((tr(0.0), 0)))[0]
        ax.text(null_x - 0.02, -(ROW_IN * 1.7) / ax_h_in, favours[0], transform=ax.transAxes,
                ha="right", va="center", fontsize=7.5, gid="favours-left")
        ax.text(null_x + 0.02, -(ROW_IN * 1.7) / ax_h_in, favours[1], transform=ax.transAxes,
                ha="left", va="center", fontsize=7.5, gid="favours-right")
        if title:
            fig.suptitle(textwrap.fill(title, width=max(40, int(fig.get_figwidth() * 11))),
                         x=0.02, ha="left", fontsize=9, weight="bold")
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
