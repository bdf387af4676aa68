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
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter
from scipy import stats

from ..results import MetaResult, pool
from ._style import COLORS, house_style
from .forest import _nice_log_ticks


def _fig_ax(ax, size=(4.6, 3.8)):
    if ax is None:
        fig = Figure(figsize=size)
        ax = fig.add_subplot(111)
        return fig, ax
    return ax.figure, ax


def funnel(
    result: MetaResult,
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
    Dashed lines: the pooled estimate +/- 1.96 SE (pseudo 95% CI). Ratio measures are drawn on
    a log axis with natural-scale tick labels.
    """
    r = result
    sei = np.sqrt(r.vi)
    se_max = float(np.max(sei)) * 1.08
    se_grid = np.linspace(0, se_max, 200)
    tr = np.exp if r.ratio else (lambda x: x)
    with house_style():
        fig, ax = _fig_ax(ax)
        levels = sorted(contours)
        zs = [stats.norm.ppf(0.5 + lv / 2) for lv in levels]
        span = max(float(np.max(np.abs(r.yi - refline))), zs[-1] * se_max) * 1.1
        lo_x, hi_x = refline - span, refline + span
        ax.fill_betweenx(se_grid, tr(lo_x), tr(hi_x), color=COLORS["contours"][3], lw=0,
                         gid="contour-outer")
        for z, color, lv in zip(reversed(zs), COLORS["contours"][2::-1], reversed(levels),
                                strict=False):
            ax.fill_betweenx(se_grid, tr(refline - z * se_grid), tr(refline + z * se_grid),
                             color=color, lw=0, gid=f"contour-{lv:g}")
        if pseudo_ci:
            z95 = stats.norm.ppf(0.975)
            ax.plot(tr(r.estimate - z95 * se_grid), se_grid, ls="--", color="black", lw=0.7)
            ax.plot(tr(r.estimate + z95 * se_grid), se_grid, ls="--", color="black", lw=0.7)
        ax.axvline(tr(r.estimate), color="black", lw=0.8, gid="pooled-line")
        ax.plot(tr(r.yi), sei, "o", ms=4.5, mfc="white", mec="black", mew=0.8, zorder=4,
                gid="studies")
        ax.set_ylim(se_max, 0)
        if r.ratio:
            ax.set_xscale("log")
            ax.set_xlim(tr(lo_x), tr(hi_x))
            ticks = _nice_log_ticks(tr(lo_x), tr(hi_x))
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_xlim(lo_x, hi_x)
        ax.set_ylabel("Standard error")
        ax.set_xlabel(xlabel or (f"{r.measure} (log scale)" if r.ratio else r.measure))
        handles = [Patch(color=c, label=lab) for c, lab in zip(
            COLORS["contours"],
            [f"P > {1 - levels[0]:.2f}", f"{1 - levels[1]:.2f} < P < {1 - levels[0]:.2f}",
             f"{1 - levels[2]:.2f} < P < {1 - levels[1]:.2f}", f"P < {1 - levels[2]:.2f}"],
            strict=True)]
        leg = ax.legend(handles=handles, fontsize=6.5, loc="lower right", frameon=True)
        leg.get_frame().set_edgecolor("black")
        leg.get_frame().set_linewidth(0.5)
        fig.tight_layout()
    return fig


def labbe(result: MetaResult, *, ax=None) -> Figure:
    """L'Abbe plot: event rate in the treatment arm against the control arm (binary data).

    Circles are sized by weight; the solid line is no effect, the dashed line the pooled effect
    (RR, OR or RD) translated to event rates.
    """
    r = result
    a = r.arms
    if a is None or not {"ai", "n1i", "ci", "n2i"} <= set(a.columns):
        raise ValueError("L'Abbe plots need binary arm data (events and totals per arm)")
    p1 = a.ai.to_numpy(float) / a.n1i.to_numpy(float)
    p2 = a.ci.to_numpy(float) / a.n2i.to_numpy(float)
    with house_style():
        fig, ax = _fig_ax(ax, (4.0, 4.0))
        grid = np.linspace(0.0005, 0.9995, 400)
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, gid="no-effect")
        if r.measure == "RR":
            fitted = np.clip(grid * math.exp(r.estimate), 0, 1)
        elif r.measure in ("OR", "PETO"):
            odds = grid / (1 - grid) * math.exp(r.estimate)
            fitted = odds / (1 + odds)
        elif r.measure == "RD":
            fitted = np.clip(grid + r.estimate, 0, 1)
        else:
            raise ValueError(f"L'Abbe plot for measure {r.measure} is not defined")
        ax.plot(grid, fitted, ls="--", color="black", lw=0.8, gid="pooled-effect")
        size = 20 + 280 * r.weights / np.max(r.weights)
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


def _leave_one_out(result: MetaResult) -> np.ndarray:
    """Pooled estimate and its variance without each study (same method, same options)."""
    out = np.empty((result.k, 2))
    for i in range(result.k):
        keep = np.arange(result.k) != i
        method = result.method if result.method not in ("MH", "PETO") else "FE"
        rr = pool(yi=result.yi[keep], vi=result.vi[keep], method=method, hksj=result.hksj)
        out[i] = rr.estimate, rr.se**2
    return out


def baujat_values(result: MetaResult) -> tuple[np.ndarray, np.ndarray]:
    """metafor's baujat() coordinates: x = (y_i - b)^2 / (v_i + tau2), the study's share of
    the (generalized) Q; y = (b - b_(-i))^2 / var(b_(-i)), its influence on the pooled estimate
    (b_(-i) refitted without study i by the same method). Validated against metafor 3.8.1
    baujat() on dat.bcg (FE and REML)."""
    x = (result.yi - result.estimate) ** 2 / (result.vi + result.tau2)
    loo = _leave_one_out(result)
    y = (result.estimate - loo[:, 0]) ** 2 / loo[:, 1]
    return x, y


def baujat(result: MetaResult, *, ax=None, label_top: int = 5) -> Figure:
    """Baujat plot; the *label_top* most influential studies are labelled."""
    x, y = baujat_values(result)
    with house_style():
        fig, ax = _fig_ax(ax)
        ax.scatter(x, y, s=22, facecolors="white", edgecolors="black", lw=0.8, gid="studies")
        top = np.argsort(-(x / max(x.max(), 1e-12) + y / max(y.max(), 1e-12)))[:label_top]
        for i in top:
            ax.annotate(result.studies[i], (x[i], y[i]), fontsize=6.5, xytext=(3, 3),
                        textcoords="offset points")
        ax.set_xlabel("Contribution to overall heterogeneity (Q)")
        ax.set_ylabel("Influence on overall result")
        fig.tight_layout()
    return fig


def radial(result: MetaResult, *, ax=None) -> Figure:
    """Radial (Galbraith) plot: y / sqrt(v + tau2) against 1 / sqrt(v + tau2), the pooled
    estimate as the slope of the line through the origin, and +/- 1.96 bands around it."""
    s = np.sqrt(result.vi + result.tau2)
    xv, yv = 1 / s, result.yi / s
    with house_style():
        fig, ax = _fig_ax(ax)
        xs = np.array([0, float(np.max(xv)) * 1.1])
        ax.plot(xs, result.estimate * xs, color="black", lw=0.8, gid="pooled-slope")
        for sign in (-1, 1):
            ax.plot(xs, result.estimate * xs + sign * 1.96, ls="--", color="black", lw=0.6)
        ax.axhline(0, color=COLORS["grid"], lw=0.6)
        ax.scatter(xv, yv, s=22, facecolors="white", edgecolors="black", lw=0.8, zorder=3,
                   gid="studies")
        ax.set_xlim(0, xs[1])
        ax.set_xlabel("1 / SE (precision)")
        ax.set_ylabel("Standardized effect (y / SE)")
        fig.tight_layout()
    return fig
