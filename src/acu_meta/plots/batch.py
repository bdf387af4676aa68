"""Figures of the batch engine: the GOSH plot and the coverage figure of the small-k study.

``gosh_plot`` draws what metafor's ``plot(gosh(res))`` draws for one pair of variables: the
pooled estimate (x) against I2 (y) of every subset of studies, with marginal histograms.
``coverage_figure`` draws the output of :func:`acu_meta.simulate.coverage_study`: coverage
against k, one line per interval method, with the nominal level and +/- z(0.975) Monte Carlo
SE.
Both return a :class:`matplotlib.figure.Figure` and run headless.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import numeric
from ..results.batch import GoshResult
from ._style import COLORS, house_style

# greyscale-readable styles for up to eight methods: (colour, marker, line style)
_LINES = (
    ("#000000", "o", "-"),
    ("#555555", "s", "--"),
    ("#000000", "^", ":"),
    ("#7f7f7f", "D", "-"),
    ("#555555", "v", "-."),
    ("#a6a6a6", "o", "--"),
    ("#000000", "x", "-"),
    ("#7f7f7f", "P", ":"),
)


def _gosh_axes(ax, hist: bool):
    """(figure, scatter axes, top histogram axes or None, right histogram axes or None)."""
    if ax is not None:
        return ax.figure, ax, None, None
    fig = Figure(figsize=(5.0, 4.6))
    if not hist:
        return fig, fig.add_subplot(111), None, None
    gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05,
                          hspace=0.05)
    ax = fig.add_subplot(gs[1, 0])
    top = fig.add_subplot(gs[0, 0], sharex=ax)
    right = fig.add_subplot(gs[1, 1], sharey=ax)
    return fig, ax, top, right


def _gosh_scatter(ax, g: GoshResult, ok, highlight, alpha: float) -> None:
    """Every subset as a point (black / grey by *highlight*); the full set as a diamond."""
    color = np.full(ok.sum(), COLORS["prediction"], dtype=object)
    if highlight is not None:
        j = g.studies.index(highlight) if isinstance(highlight, str) else int(highlight)
        color = np.where(g.subsets[ok, j], COLORS["study"], COLORS["contours"][2])
    ax.scatter(g.estimate[ok], g.I2[ok], s=3, c=list(color), alpha=alpha, linewidths=0,
               rasterized=True, gid="subsets")
    full = np.flatnonzero(g.subsets.all(axis=1))
    if full.size:
        i = full[0]
        ax.plot([g.estimate[i]], [g.I2[i]], "D", ms=6, mfc="white", mec="black", mew=1.0,
                zorder=5, gid="full-set", label="all studies")


def _gosh_histograms(top, right, x, y) -> None:
    top.hist(x, bins=60, color=COLORS["subtle"], gid="hist-estimate")
    right.hist(y, bins=60, orientation="horizontal", color=COLORS["subtle"], gid="hist-I2")
    for a in (top, right):
        a.tick_params(labelleft=False, labelbottom=False, left=False, bottom=False)
        for side in ("top", "right", "left", "bottom"):
            a.spines[side].set_visible(False)


def gosh_plot(g: GoshResult, ax=None, hist: bool = True, highlight: int | str | None = None,
              xlabel: str = "Pooled estimate", alpha: float | None = None) -> Figure:
    """GOSH plot: the estimate against I2 of every fitted subset of studies.

    Parameters
    ----------
    g
        Result of :func:`acu_meta.results.batch.gosh`.
    ax
        Axes to draw the scatter in (then no marginal histograms); None: a new figure, with
        marginal histograms when *hist*.
    highlight
        A study (index or name): subsets containing it are drawn black, the others grey, as
        metafor's ``plot(sav, col = ...)`` is used to find influential studies.
    alpha
        Point opacity (default: from the number of subsets).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Draws the numbers of :func:`gosh` (validated against :func:`acu_meta.results.pool`); the
    full set of studies is marked with a white diamond. Checked headless in
    ``tests/plots/test_batch_plots.py``.
    """
    n = len(g)
    if alpha is None:
        alpha = float(np.clip(3000.0 / max(n, 1), 0.05, 0.8))
    with house_style():
        fig, ax, top, right = _gosh_axes(ax, hist)
        ok = np.isfinite(g.estimate) & np.isfinite(g.I2)
        x, y = g.estimate[ok], g.I2[ok]
        _gosh_scatter(ax, g, ok, highlight, alpha)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("I\u00b2 (%)")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if top is not None:
            _gosh_histograms(top, right, x, y)
        what = f"all {n:,} subsets" if g.exact else f"{n:,} random subsets"
        title = f"GOSH: {what} of k = {g.k} studies ({g.method})"
        (top if top is not None else ax).set_title(title, fontsize=8.5, loc="left")
    return fig


def _coverage_panels(ax, d: pd.DataFrame):
    """The figure and its panels: (axes, rows of the frame, title) per panel."""
    if ax is not None:
        return ax.figure, [(ax, d, "averaged over \u03c4\u00b2" if d["tau2"].nunique() > 1
                            else f"\u03c4\u00b2 = {d['tau2'].iloc[0]:g}")]
    tau2s = sorted(d["tau2"].unique())
    fig = Figure(figsize=(2.3 * len(tau2s) + 0.6, 2.9))
    axes = fig.subplots(1, len(tau2s), sharey=True, squeeze=False)[0]
    return fig, [(a, d[d["tau2"] == t], f"\u03c4\u00b2 = {t:g}")
                 for a, t in zip(axes, tau2s, strict=True)]


def _coverage_panel(a, part: pd.DataFrame, title: str, methods, level: float) -> None:
    """One panel: the nominal level, and coverage against k per method with +/- z(0.975)
    Monte Carlo SE bars."""
    a.axhline(level, color=COLORS["grid"], lw=1.2, zorder=0, gid="nominal")
    for j, m in enumerate(methods):
        sub = part[part["method"] == m]
        if sub.empty:
            continue
        agg = sub.groupby("k").agg(coverage=("coverage", "mean"),
                                   var=("mc_se", lambda s: float(np.sum(s**2))),
                                   n=("mc_se", "size"))
        se = np.sqrt(agg["var"]) / agg["n"]
        color, marker, ls = _LINES[j % len(_LINES)]
        a.errorbar(agg.index, agg["coverage"], yerr=numeric.Z975 * se, color=color,
                   marker=marker, ms=3.5, ls=ls, lw=0.9, capsize=0, elinewidth=0.6,
                   mfc="white" if j % 2 else color, label=m, gid=f"method-{m}")
    a.set_title(title, fontsize=8.5)
    a.set_xlabel("k (studies)")
    a.set_xticks(sorted(part["k"].unique()))
    for side in ("top", "right"):
        a.spines[side].set_visible(False)


def coverage_figure(df: pd.DataFrame, ax=None, interval: str = "CI",
                    methods=None) -> Figure:
    """Coverage against k, one line per method, from :func:`acu_meta.simulate.coverage_study`.

    Parameters
    ----------
    df
        The tidy frame of ``coverage_study`` (columns method, interval, mu, k, tau2, coverage,
        mc_se, and level).
    ax
        None: one panel per tau2 (coverage averaged over mu). An Axes: one panel, coverage
        averaged over tau2 and mu (filter *df* first to show one scenario).
    interval
        "CI" (does the interval cover the mean effect?) or "PI" (the effect in a new study).
    methods
        Methods to draw, in order (default: all in *df*).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Error bars: +/- z(0.975) Monte Carlo SE of the averaged coverage (the cells are
    independent).
    Checked headless in ``tests/plots/test_batch_plots.py``.
    """
    d = df[df["interval"] == interval]
    if d.empty:
        raise ValueError(f"no rows with interval {interval!r}")
    methods = list(dict.fromkeys(d["method"])) if methods is None else list(methods)
    level = float(d["level"].iloc[0]) if "level" in d else 0.95
    with house_style():
        fig, panels = _coverage_panels(ax, d)
        for i, (a, part, title) in enumerate(panels):
            _coverage_panel(a, part, title, methods, level)
            if i == 0:
                what = "CI covers the mean" if interval == "CI" else "PI covers a new study"
                a.set_ylabel(f"Coverage ({what})")
        handles, labels = panels[0][0].get_legend_handles_labels()
        panels[-1][0].legend(handles, labels, frameon=False, fontsize=7.5, loc="lower right")
        lo = min(float(d["coverage"].min()) - 0.02, level - 0.05)
        panels[0][0].set_ylim(max(0.0, lo), 1.0)
        if ax is None:
            fig.tight_layout()
    return fig
