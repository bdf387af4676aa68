"""Plots of sensitivity analyses: leave-one-out and cumulative forest-style plots, and the
funnel plot of a trim-and-fill analysis with the filled studies.

Every element carries a ``gid`` (kept as the ``id`` of its group in SVG output):
``label-i``, ``effect-i``, ``het-i``, ``ci-i``, ``point-i`` (i = row from the top),
``diamond-full``, ``full-line``, ``null-line``; in :func:`filled_funnel` ``studies`` (observed,
filled black circles), ``filled-studies`` (open circles) and ``original-line``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from ..results import MetaResult
from ..results._shape import is_ratio
from ..results.sensitivity import (
    CumulativeResult,
    LeaveOneOutResult,
    TrimfillResult,
    cumulative,
    leave_one_out,
    trimfill,
)
from ._style import COLORS, house_style
from .forest import ROW_IN, _short, _whisker, row_panel, set_effect_axis
from .funnel import funnel

_PANEL_W, _EFF_W, _HET_W = 2.6, 1.55, 1.05


def _as(result, cls, compute, plot: str, how: str):
    """*result* if it is a *cls*; a :class:`~acu_meta.results.MetaResult` gives
    ``compute(result)`` (the analysis API, defaults as documented there); anything else is
    refused with a TypeError that says what the plot needs."""
    if isinstance(result, cls):
        return result
    if isinstance(result, MetaResult):
        return compute(result)
    raise TypeError(f"{plot}() needs a {cls.__name__} ({how}) or a MetaResult (from "
                    f"acu_meta.pool), not {type(result).__name__}")


def _series_figure(ax, labels, n_rows: int):
    """The figure (sized to the rows) and the panel axes; the label column width."""
    label_w = min(max(1.8, 0.062 * max(len(s) for s in labels) + 0.2), 3.0)
    if ax is not None:
        return ax.figure, ax, label_w
    width = label_w + _PANEL_W + _EFF_W + _HET_W + 0.3
    height = ROW_IN * (n_rows + 3.0)
    fig = Figure(figsize=(width, height))
    bottom = ROW_IN * 2.6 / height
    ax = fig.add_axes((label_w / width, bottom, _PANEL_W / width, 1 - bottom - 0.05 / height))
    return fig, ax, label_w


def _series_limits(lo, hi, full) -> tuple[float, float]:
    finite = np.isfinite(lo) & np.isfinite(hi)
    pts = np.concatenate([lo[finite], hi[finite], [full.ci_low, full.ci_high, 0.0]])
    xmin, xmax = float(np.min(pts)), float(np.max(pts))
    pad = 0.05 * max(xmax - xmin, 1e-6)
    return xmin - pad, xmax + pad


class _Panel(NamedTuple):
    ax: object
    fx: object  # inches -> axes fraction
    trans: object  # (axes x, data y)
    label_w: float
    tr: object  # analysis scale -> axis scale
    lims: tuple[float, float]
    digits: int
    max_label: int


def _series_row(p: _Panel, y: int, i: int, res, rows, labels, marker) -> None:
    """One refit: label, estimate [CI], tau2 / I2, whisker and marker."""
    ax, fx, trans, tr, d = p.ax, p.fx, p.trans, p.tr, p.digits
    est, lo, hi = rows
    ax.text(-fx(p.label_w), y, _short(labels[i], p.max_label), transform=trans, ha="left",
            va="center", gid=f"label-{i}")
    if not np.isfinite(est[i]):
        ax.text(1 + fx(_EFF_W), y, "NA", transform=trans, ha="right", va="center",
                gid=f"effect-{i}")
        return
    ax.text(1 + fx(_EFF_W), y, f"{tr(est[i]):.{d}f} [{tr(lo[i]):.{d}f}, {tr(hi[i]):.{d}f}]",
            transform=trans, ha="right", va="center", gid=f"effect-{i}")
    het = (f"{res.I2[i]:.0f}%" if res.method == "FE" else
           f"{res.tau2[i]:.{d}f}; {res.I2[i]:.0f}%")
    ax.text(1 + fx(_EFF_W + _HET_W), y, het, transform=trans, ha="right", va="center",
            fontsize=7.5, gid=f"het-{i}")
    _whisker(ax, y, lo[i], hi[i], est[i], p.lims[0], p.lims[1], tr, f"ci-{i}")
    ax.plot([tr(est[i])], [y], marker=marker, ms=4.5, color=COLORS["study"], ls="none",
            zorder=3, gid=f"point-{i}")


def _series_full(p: _Panel, y: int, full) -> None:
    """The full model (all studies) as a diamond at the bottom."""
    ax, fx, trans, tr, d = p.ax, p.fx, p.trans, p.tr, p.digits
    ax.text(-fx(p.label_w), y, full.label, transform=trans, ha="left", va="center",
            weight="bold", gid="label-full")
    ax.text(1 + fx(_EFF_W), y, f"{tr(full.estimate):.{d}f} [{tr(full.ci_low):.{d}f}, "
                               f"{tr(full.ci_high):.{d}f}]",
            transform=trans, ha="right", va="center", weight="bold", gid="effect-full")
    ax.add_patch(Polygon(
        [(tr(full.ci_low), y), (tr(full.estimate), y - 0.38), (tr(full.ci_high), y),
         (tr(full.estimate), y + 0.38)], closed=True, color=COLORS["diamond_random"],
        zorder=3, gid="diamond-full"))


def _series_header(p: _Panel, header: str, res, full) -> None:
    ax, fx, trans = p.ax, p.fx, p.trans
    ax.text(-fx(p.label_w), 0, header, transform=trans, ha="left", va="center", weight="bold")
    ax.text(1 + fx(_EFF_W), 0, f"{res.measure} ({full.interval})", transform=trans,
            ha="right", va="center", weight="bold")
    het_head = "I\u00b2" if res.method == "FE" else "Tau\u00b2; I\u00b2"
    ax.text(1 + fx(_EFF_W + _HET_W), 0, het_head, transform=trans, ha="right", va="center",
            weight="bold")


def _series_plot(res, labels, marker, header, ax, digits, max_label) -> Figure:
    """Forest-style plot of refits: the study rows (one per refit) and the pooled row (the
    full model) of *res*, which has the drawable shape."""
    ratio = is_ratio(res.measure)
    tr = np.exp if ratio else (lambda x: x)
    full = res.pooled_rows[0]
    sr = res.study_rows
    rows = (sr.yi, *sr.interval(res.level))
    n = len(labels)
    n_rows = n + 3  # header, rows, blank, full model
    with house_style():
        fig, ax, label_w = _series_figure(ax, labels, n_rows)
        fx, trans = row_panel(ax, n_rows)
        lims = _series_limits(rows[1], rows[2], full)
        set_effect_axis(ax, lims[0], lims[1], ratio)
        ax.axvline(tr(0.0), color=COLORS["null"], lw=0.7, zorder=1, gid="null-line")
        ax.axvline(tr(full.estimate), color=COLORS["subtle"], lw=0.7, ls="--", zorder=1,
                   gid="full-line")
        p = _Panel(ax, fx, trans, label_w, tr, lims, digits, max_label)
        _series_header(p, header, res, full)
        for i in range(n):
            _series_row(p, i + 1, i, res, rows, labels, marker)
        _series_full(p, n + 2, full)
        ax.set_xlabel(f"{res.measure} (log scale)" if ratio else res.measure)
    return fig


def leave_one_out_plot(loo: LeaveOneOutResult | MetaResult, ax=None, *, digits: int = 2,
                       max_label: int = 40) -> Figure:
    """Forest-style plot of a leave-one-out analysis.

    One row per refit ("Omitting <study>") with its estimate (square) and CI, the numbers in a
    text column (estimate [CI]; tau2 and I2), the full model as a diamond at the bottom and a
    dashed line at its estimate. Ratio measures use a log axis with natural-scale labels.

    Parameters
    ----------
    loo
        :class:`~acu_meta.results.sensitivity.LeaveOneOutResult`, or a
        :class:`~acu_meta.results.MetaResult` (its leave-one-out analysis is computed with
        :func:`acu_meta.results.sensitivity.leave_one_out`); anything else raises TypeError.
    ax
        Axes for the plot panel (text is drawn beside it); by default a sized figure is made.

    Returns
    -------
    matplotlib.figure.Figure
    """
    loo = _as(loo, LeaveOneOutResult, leave_one_out, "leave_one_out_plot",
              "acu_meta.results.leave_one_out(res)")
    labels = [f"Omitting {s}" for s in loo.studies]
    return _series_plot(loo, labels, "s", "Study left out", ax, digits, max_label)


def cumulative_plot(cum: CumulativeResult | MetaResult, ax=None, *, digits: int = 2,
                    max_label: int = 40) -> Figure:
    """Forest-style plot of a cumulative meta-analysis (as metafor's ``forest(cumul(res))``).

    Row i shows the pooled estimate and CI after adding ``cum.studies[i]`` ("+ <study>"), with
    the numbers in a text column; the last row equals the full model (diamond). *cum* is a
    :class:`~acu_meta.results.sensitivity.CumulativeResult` or a
    :class:`~acu_meta.results.MetaResult` (then :func:`acu_meta.results.sensitivity.cumulative`
    adds the studies in their input order); anything else raises TypeError.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cum = _as(cum, CumulativeResult, cumulative, "cumulative_plot",
              "acu_meta.results.cumulative(res)")
    labels = [f"+ {s}" for s in cum.studies]
    return _series_plot(cum, labels, "o", "Study added", ax, digits, max_label)


def filled_funnel(tf: TrimfillResult | MetaResult, ax=None, **funnel_kwargs) -> Figure:
    """Funnel plot of a trim-and-fill analysis (as metafor's ``funnel(trimfill(res))``).

    Drawn with :func:`acu_meta.plots.funnel` on the filled model (contours, pseudo-CI around
    the filled estimate, its estimate as a solid line); observed studies are filled black
    circles, the filled (imputed) studies open circles, and the original estimate is a dotted
    line. *tf* is a :class:`~acu_meta.results.sensitivity.TrimfillResult` or a
    :class:`~acu_meta.results.MetaResult` (then :func:`acu_meta.results.sensitivity.trimfill`
    runs with its defaults: estimator L0, side from the Egger-type slope); anything else raises
    TypeError.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tf = _as(tf, TrimfillResult, trimfill, "filled_funnel", "acu_meta.results.trimfill(res)")
    fig = funnel(tf, ax=ax, **funnel_kwargs)  # the filled data and the filled model
    ax = ax if ax is not None else fig.axes[0]
    tr = np.exp if tf.ratio else (lambda x: x)
    sei = np.sqrt(tf.vi)
    with house_style():
        for line in list(ax.lines):
            if line.get_gid() == "studies":
                line.remove()
        obs = ~tf.filled
        ax.plot(tr(tf.yi[obs]), sei[obs], "o", ms=4.5, mfc="black", mec="black", mew=0.8,
                zorder=4, gid="studies")
        if tf.k0 > 0:
            ax.plot(tr(tf.yi[tf.filled]), sei[tf.filled], "o", ms=4.5, mfc="white", mec="black",
                    mew=0.8, zorder=5, gid="filled-studies")
            ax.axvline(tr(tf.original.estimate), color="black", lw=0.8, ls=":",
                       gid="original-line")
        old = ax.get_legend()  # the contour legend of funnel(), kept beside the new one
        handles = [Line2D([], [], marker="o", ls="none", ms=4.5, mfc="black", mec="black",
                          label="Observed")]
        if tf.k0 > 0:
            handles += [Line2D([], [], marker="o", ls="none", ms=4.5, mfc="white", mec="black",
                               label=f"Filled (k0 = {tf.k0}, {tf.side})"),
                        Line2D([], [], color="black", lw=0.8, ls=":", label="Original estimate")]
        leg = ax.legend(handles=handles, fontsize=6.5, loc="lower left", frameon=True)
        leg.get_frame().set_edgecolor("black")
        leg.get_frame().set_linewidth(0.5)
        if old is not None:
            ax.add_artist(old)
    return fig
