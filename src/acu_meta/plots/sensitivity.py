"""Plots of sensitivity analyses: leave-one-out and cumulative forest-style plots, and the
funnel plot of a trim-and-fill analysis with the filled studies.

Every element carries a ``gid`` (kept as the ``id`` of its group in SVG output):
``label-i``, ``effect-i``, ``het-i``, ``ci-i``, ``point-i`` (i = row from the top),
``diamond-full``, ``full-line``, ``null-line``; in :func:`filled_funnel` ``studies`` (observed,
filled black circles), ``filled-studies`` (open circles) and ``original-line``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon

from ..results.sensitivity import CumulativeResult, LeaveOneOutResult, TrimfillResult
from ._style import COLORS, house_style
from .forest import ROW_IN, _short, _whisker, row_panel, set_effect_axis
from .funnel import funnel


def _series_plot(res, labels, marker, header, ax, digits, max_label) -> Figure:
    ratio = res.ratio
    tr = np.exp if ratio else (lambda x: x)
    est, lo, hi = res.estimate, res.ci_low, res.ci_high
    n = len(labels)
    n_rows = n + 3  # header, rows, blank, full model
    label_w = min(max(1.8, 0.062 * max(len(s) for s in labels) + 0.2), 3.0)
    panel_w, eff_w, het_w = 2.6, 1.55, 1.05
    width = label_w + panel_w + eff_w + het_w + 0.3
    height = ROW_IN * (n_rows + 3.0)
    with house_style():
        if ax is None:
            fig = Figure(figsize=(width, height))
            bottom = ROW_IN * 2.6 / height
            ax = fig.add_axes((label_w / width, bottom, panel_w / width,
                               1 - bottom - 0.05 / height))
        else:
            fig = ax.figure
        fx, trans = row_panel(ax, n_rows)
        finite = np.isfinite(lo) & np.isfinite(hi)
        pts = np.concatenate([lo[finite], hi[finite], [res.full_ci_low, res.full_ci_high, 0.0]])
        xmin, xmax = float(np.min(pts)), float(np.max(pts))
        pad = 0.05 * max(xmax - xmin, 1e-6)
        xmin, xmax = xmin - pad, xmax + pad
        set_effect_axis(ax, xmin, xmax, ratio)
        ax.axvline(tr(0.0), color=COLORS["null"], lw=0.7, zorder=1, gid="null-line")
        ax.axvline(tr(res.full_estimate), color=COLORS["subtle"], lw=0.7, ls="--", zorder=1,
                   gid="full-line")
        # header
        ax.text(-fx(label_w), 0, header, transform=trans, ha="left", va="center",
                weight="bold")
        stat = res.measure + (" (95% CI)" if res.level == 0.95 else
                              f" ({res.level * 100:g}% CI)")
        ax.text(1 + fx(eff_w), 0, stat, transform=trans, ha="right", va="center",
                weight="bold")
        het_head = "I\u00b2" if res.method == "FE" else "Tau\u00b2; I\u00b2"
        ax.text(1 + fx(eff_w + het_w), 0, het_head, transform=trans, ha="right", va="center",
                weight="bold")
        for i in range(n):
            y = i + 1
            ax.text(-fx(label_w), y, _short(labels[i], max_label), transform=trans, ha="left",
                    va="center", gid=f"label-{i}")
            if not np.isfinite(est[i]):
                ax.text(1 + fx(eff_w), y, "NA", transform=trans, ha="right", va="center",
                        gid=f"effect-{i}")
                continue
            ax.text(1 + fx(eff_w), y, f"{tr(est[i]):.{digits}f} [{tr(lo[i]):.{digits}f}, "
                                      f"{tr(hi[i]):.{digits}f}]",
                    transform=trans, ha="right", va="center", gid=f"effect-{i}")
            het = (f"{res.I2[i]:.0f}%" if res.method == "FE" else
                   f"{res.tau2[i]:.{digits}f}; {res.I2[i]:.0f}%")
            ax.text(1 + fx(eff_w + het_w), y, het, transform=trans, ha="right", va="center",
                    fontsize=7.5, gid=f"het-{i}")
            _whisker(ax, y, lo[i], hi[i], est[i], xmin, xmax, tr, f"ci-{i}")
            ax.plot([tr(est[i])], [y], marker=marker, ms=4.5, color=COLORS["study"], ls="none",
                    zorder=3, gid=f"point-{i}")
        y = n + 2
        ax.text(-fx(label_w), y, f"All studies ({res.method})", transform=trans, ha="left",
                va="center", weight="bold", gid="label-full")
        ax.text(1 + fx(eff_w), y, f"{tr(res.full_estimate):.{digits}f} "
                                  f"[{tr(res.full_ci_low):.{digits}f}, "
                                  f"{tr(res.full_ci_high):.{digits}f}]",
                transform=trans, ha="right", va="center", weight="bold", gid="effect-full")
        ax.add_patch(Polygon(
            [(tr(res.full_ci_low), y), (tr(res.full_estimate), y - 0.38),
             (tr(res.full_ci_high), y), (tr(res.full_estimate), y + 0.38)], closed=True,
            color=COLORS["diamond_random"], zorder=3, gid="diamond-full"))
        ax.set_xlabel(f"{res.measure} (log scale)" if ratio else res.measure)
    return fig


def leave_one_out_plot(loo: LeaveOneOutResult, ax=None, *, digits: int = 2,
                       max_label: int = 40) -> Figure:
    """Forest-style plot of a leave-one-out analysis.

    One row per refit ("Omitting <study>") with its estimate (square) and CI, the numbers in a
    text column (estimate [CI]; tau2 and I2), the full model as a diamond at the bottom and a
    dashed line at its estimate. Ratio measures use a log axis with natural-scale labels.

    Parameters
    ----------
    loo
        :class:`~acu_meta.results.sensitivity.LeaveOneOutResult`.
    ax
        Axes for the plot panel (text is drawn beside it); by default a sized figure is made.

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = [f"Omitting {s}" for s in loo.studies]
    return _series_plot(loo, labels, "s", "Study left out", ax, digits, max_label)


def cumulative_plot(cum: CumulativeResult, ax=None, *, digits: int = 2,
                    max_label: int = 40) -> Figure:
    """Forest-style plot of a cumulative meta-analysis (as metafor's ``forest(cumul(res))``).

    Row i shows the pooled estimate and CI after adding ``cum.studies[i]`` ("+ <study>"), with
    the numbers in a text column; the last row equals the full model (diamond).

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = [f"+ {s}" for s in cum.studies]
    return _series_plot(cum, labels, "o", "Study added", ax, digits, max_label)


def filled_funnel(tf: TrimfillResult, ax=None, **funnel_kwargs) -> Figure:
    """Funnel plot of a trim-and-fill analysis (as metafor's ``funnel(trimfill(res))``).

    Drawn with :func:`acu_meta.plots.funnel` on the filled model (contours, pseudo-CI around
    the filled estimate, its estimate as a solid line); observed studies are filled black
    circles, the filled (imputed) studies open circles, and the original estimate is a dotted
    line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = funnel(tf.filled_result, ax=ax, **funnel_kwargs)
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
