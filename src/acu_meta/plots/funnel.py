"""Funnel (contour-enhanced), L'Abbe, Baujat and radial (Galbraith) plots of a pooled result.

Definitions follow metafor: ``funnel(res, level=c(90, 95, 99), refline=0)`` for the contours
(Peters et al. 2008) and pseudo-confidence lines around the pooled estimate; ``labbe()`` with
event rates per arm; ``baujat()`` with each study's contribution to Q on the x axis and its
influence on the pooled estimate on the y axis; ``radial()`` with x = 1/sqrt(v + tau2) and
y = y / sqrt(v + tau2).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from .. import numeric
from ..errors import InputError
from ..results import MetaResult, PooledResult
from ..results._shape import is_ratio
from ..results.sensitivity import BaujatResult
from ..results.sensitivity import baujat as _baujat_result
from ._style import COLORS, house_style
from .forest import _nice_log_ticks


def _fig_ax(ax, size=(4.6, 3.8)):
    if ax is None:
        fig = Figure(figsize=size)
        ax = fig.add_subplot(111)
        return fig, ax
    return ax.figure, ax


def _pooled_estimate(result: PooledResult) -> float | None:
    """The estimate of the first pooled row (None when the rows are not pooled)."""
    return next((p.estimate for p in result.pooled_rows if p.kind == "pooled"), None)


def _contours(ax, tr, levels, refline, lo_x, hi_x, se_grid) -> None:
    """Shaded significance regions around *refline*, darkest outside the widest level."""
    zs = [numeric.z_crit(lv) for lv in levels]
    ax.fill_betweenx(se_grid, tr(lo_x), tr(hi_x), color=COLORS["contours"][3], lw=0,
                     gid="contour-outer")
    for z, color, lv in zip(reversed(zs), COLORS["contours"][2::-1], reversed(levels),
                            strict=False):
        ax.fill_betweenx(se_grid, tr(refline - z * se_grid), tr(refline + z * se_grid),
                         color=color, lw=0, gid=f"contour-{lv:g}")


def _funnel_axes(ax, ratio: bool, tr, lo_x, hi_x, se_max, xlabel, measure, levels,
                 lines=()) -> None:
    ax.set_ylim(se_max, 0)
    if ratio:
        ax.set_xscale("log")
        ax.set_xlim(tr(lo_x), tr(hi_x))
        ticks = _nice_log_ticks(tr(lo_x), tr(hi_x),
                                ax.get_position().width * ax.figure.get_figwidth())
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(lo_x, hi_x)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(xlabel or (f"{measure} (log scale)" if ratio else measure))
    handles = [Patch(color=c, label=lab) for c, lab in zip(
        COLORS["contours"],
        [f"P > {1 - levels[0]:.2f}", f"{1 - levels[1]:.2f} < P < {1 - levels[0]:.2f}",
         f"{1 - levels[2]:.2f} < P < {1 - levels[1]:.2f}", f"P < {1 - levels[2]:.2f}"],
        strict=True)] + list(lines)
    leg = ax.legend(handles=handles, fontsize=6.5, loc="lower right", frameon=True)
    leg.get_frame().set_edgecolor("black")
    leg.get_frame().set_linewidth(0.5)


def funnel(
    result: PooledResult,
    *,
    ax=None,
    contours: tuple[float, ...] = (0.90, 0.95, 0.99),
    refline: float = 0.0,
    pseudo_ci: bool = True,
    xlabel: str | None = None,
) -> Figure:
    """Contour-enhanced funnel plot: effect (x) against standard error (y, inverted).

    Shaded regions show where a study's two-sided P against ``refline`` (0 on the analysis
    scale, i.e. ratio 1) falls: white P > 0.10, light 0.05-0.10, mid 0.01-0.05, dark < 0.01.
    Dashed lines: the pooled estimate +/- z(0.975) SE (pseudo 95% CI). The legend keys the
    shading and both lines (solid: pooled estimate, gid ``pooled-line``; dashed: pseudo 95%
    CI, ``pseudo-ci-low`` / ``pseudo-ci-high``). Ratio measures are drawn on a log axis with
    natural-scale tick labels chosen for the range.

    *result* is anything with the drawable shape (:class:`~acu_meta.results.PooledResult`):
    its study rows' yi and vi, and the estimate of its pooled row (no pooled line or pseudo-CI
    when it has none). Nothing is fitted. Checked against the baseline image in
    ``tests/plots/test_plots.py``.
    """
    sr, ratio = result.study_rows, is_ratio(result.measure)
    estimate = _pooled_estimate(result)
    sei = np.sqrt(sr.vi)
    # rows without an effect (a double-zero study under MH: yi, vi NaN) are not drawn and do
    # not set the axes (issue #17's fuzz test: funnel of RD/MH with such a row)
    drawn = np.isfinite(sr.yi) & np.isfinite(sei)
    if not drawn.any():
        raise InputError("funnel plot: no study has a finite effect size and standard error")
    se_max = float(np.max(sei[drawn])) * 1.08
    se_grid = np.linspace(0, se_max, 200)
    tr = np.exp if ratio else (lambda x: x)
    with house_style():
        fig, ax = _fig_ax(ax)
        levels = sorted(contours)
        span = max(float(np.max(np.abs(sr.yi[drawn] - refline))),
                   numeric.z_crit(levels[-1]) * se_max) * 1.1
        lo_x, hi_x = refline - span, refline + span
        _contours(ax, tr, levels, refline, lo_x, hi_x, se_grid)
        lines = []  # the legend's key to the lines
        if estimate is not None:
            ax.axvline(tr(estimate), color="black", lw=0.8, gid="pooled-line")
            lines.append(Line2D([], [], color="black", lw=0.8, label="Pooled estimate"))
        if pseudo_ci and estimate is not None:
            ax.plot(tr(estimate - numeric.Z975 * se_grid), se_grid, ls="--", color="black",
                    lw=0.7, gid="pseudo-ci-low")
            ax.plot(tr(estimate + numeric.Z975 * se_grid), se_grid, ls="--", color="black",
                    lw=0.7, gid="pseudo-ci-high")
            lines.append(Line2D([], [], color="black", lw=0.7, ls="--",
                                label="Pseudo 95% CI"))
        ax.plot(tr(sr.yi), sei, "o", ms=4.5, mfc="white", mec="black", mew=0.8, zorder=4,
                gid="studies")
        _funnel_axes(ax, ratio, tr, lo_x, hi_x, se_max, xlabel, result.measure, levels,
                     lines)
        fig.tight_layout()
    return fig


def labbe(result: PooledResult, *, ax=None) -> Figure:
    """L'Abbe plot: event rate in the treatment arm against the control arm (binary data).

    Circles are sized by weight (equal when the rows carry none); the solid line is no effect,
    the dashed line the pooled effect (RR, OR or RD) translated to event rates. *result* is
    anything with the drawable shape whose study rows carry binary arm data.
    """
    sr = result.study_rows
    a = sr.arms
    if a is None or not {"ai", "n1i", "ci", "n2i"} <= set(a.columns):
        raise ValueError("L'Abbe plots need binary arm data (events and totals per arm)")
    p1 = a.ai.to_numpy(float) / a.n1i.to_numpy(float)
    p2 = a.ci.to_numpy(float) / a.n2i.to_numpy(float)
    estimate = _pooled_estimate(result)
    with house_style():
        fig, ax = _fig_ax(ax, (4.0, 4.0))
        grid = np.linspace(0.0005, 0.9995, 400)
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, gid="no-effect")
        if estimate is not None:
            ax.plot(grid, _labbe_line(result.measure, estimate, grid), ls="--", color="black",
                    lw=0.8, gid="pooled-effect")
        w = sr.weight
        size = 20 + 280 * w / np.max(w) if np.isfinite(w).all() else np.full(len(w), 60.0)
        ax.scatter(p2, p1, s=size, facecolors="white", edgecolors="black", lw=0.8, zorder=3,
                   gid="studies")
        hi = min(1.0, max(float(np.max(p1)), float(np.max(p2))) * 1.15 + 0.01)
        ax.set_xlim(0, hi)
        ax.set_ylim(0, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("Event rate, control")
        ax.set_ylabel("Event rate, treatment")
        fig.tight_layout()
    return fig


def _labbe_line(measure: str, estimate: float, grid: np.ndarray) -> np.ndarray:
    """Event rate in the treatment arm implied by the pooled effect at control rate *grid*."""
    if measure == "RR":
        return np.clip(grid * math.exp(estimate), 0, 1)
    if measure in ("OR", "PETO"):
        odds = grid / (1 - grid) * math.exp(estimate)
        return odds / (1 + odds)
    if measure == "RD":
        return np.clip(grid + estimate, 0, 1)
    raise ValueError(f"L'Abbe plot for measure {measure} is not defined")


def baujat_values(result: MetaResult | BaujatResult) -> tuple[np.ndarray, np.ndarray]:
    """metafor's baujat() coordinates (x, y): see :func:`acu_meta.results.baujat`, which
    computes them with the model layer's leave-one-out refits. Validated against metafor 3.8.1
    baujat() on dat.bcg (FE, DL, REML; ``tests/plots/test_plots.py``)."""
    b = result if isinstance(result, BaujatResult) else _baujat_result(result)
    return b.x, b.y


def baujat(result: MetaResult | BaujatResult, *, ax=None, label_top: int = 5) -> Figure:
    """Baujat plot; the *label_top* most influential studies are labelled.

    *result* is a :class:`~acu_meta.results.BaujatResult` (from
    :func:`acu_meta.results.baujat`), or a MetaResult whose coordinates are computed by it.
    """
    b = result if isinstance(result, BaujatResult) else _baujat_result(result)
    x, y = b.x, b.y
    with house_style():
        fig, ax = _fig_ax(ax)
        ax.scatter(x, y, s=22, facecolors="white", edgecolors="black", lw=0.8, gid="studies")
        top = np.argsort(-(x / max(x.max(), 1e-12) + y / max(y.max(), 1e-12)))[:label_top]
        for i in top:
            ax.annotate(b.studies[i], (x[i], y[i]), fontsize=6.5, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xlabel("Contribution to overall heterogeneity (Q)")
        ax.set_ylabel("Influence on overall result")
        fig.tight_layout()
    return fig


def radial(result: MetaResult, *, ax=None) -> Figure:
    """Radial (Galbraith) plot: y / sqrt(v + tau2) against 1 / sqrt(v + tau2), the pooled
    estimate as the slope of the line through the origin, and +/- z(0.975) bands around it
    (metafor's ``radial()``)."""
    s = np.sqrt(result.vi + result.tau2)
    xv, yv = 1 / s, result.yi / s
    with house_style():
        fig, ax = _fig_ax(ax)
        xs = np.array([0, float(np.max(xv)) * 1.1])
        ax.plot(xs, result.estimate * xs, color="black", lw=0.8, gid="pooled-slope")
        for sign in (-1, 1):
            ax.plot(xs, result.estimate * xs + sign * numeric.Z975, ls="--", color="black",
                    lw=0.6)
        ax.axhline(0, color=COLORS["grid"], lw=0.6)
        ax.scatter(xv, yv, s=22, facecolors="white", edgecolors="black", lw=0.8, zorder=3,
                   gid="studies")
        ax.set_xlim(0, xs[1])
        ax.set_xlabel("1 / SE (precision)")
        ax.set_ylabel("Standardized effect (y / SE)")
        fig.tight_layout()
    return fig
