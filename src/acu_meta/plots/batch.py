"""Figures of the batch engine: the GOSH plot and the coverage figure of the small-k study.

``gosh_plot`` draws what metafor's ``plot(gosh(res))`` draws for one pair of variables: the
pooled estimate (x) against I2 (y) of every subset of studies, with marginal histograms.
``coverage_figure`` draws the output of :func:`acu_meta.simulate.coverage_study`: coverage
against k, one line per interval method, with the nominal level and +/- z(0.975) Monte Carlo
SE, and below it the mean width of the intervals.
Both return a :class:`matplotlib.figure.Figure` and run headless.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator

from .. import numeric
from ..results.batch import GoshResult
from ._style import COLORS, house_style

# greyscale-readable styles for up to eight methods: (colour, marker, line style)
_LINES = (
    ("#000000", "o", "-"),
    ("#555555", "s", "--"),
    ("#000000", "^", ":"),
    ("#7f7f7f", "D", "-"),
    ("#555555", "v", (0, (5, 1, 1, 1, 1, 1))),  # dash-dot-dot ("-." is for Bayesian methods)
    ("#a6a6a6", "o", "--"),
    ("#000000", "x", "-"),
    ("#7f7f7f", "P", ":"),
)
# Bayesian methods (labels starting with "Bayes"): dash-dotted, with their own markers
_BAYES_LINES = (
    ("#000000", "*", "-."),
    ("#555555", "h", "-."),
    ("#7f7f7f", "X", "-."),
    ("#000000", "p", "-."),
)


def _styles(methods) -> dict:
    """method -> (colour, marker, line style, open marker?): frequentist methods from
    ``_LINES``, Bayesian ones from ``_BAYES_LINES``, each in the order given."""
    out, nf, nb = {}, 0, 0
    for m in methods:
        if str(m).lower().startswith("bayes"):
            out[m] = (*_BAYES_LINES[nb % len(_BAYES_LINES)], False)
            nb += 1
        else:
            out[m] = (*_LINES[nf % len(_LINES)], bool(nf % 2))
            nf += 1
    return out


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
    """Marginal histograms with a count scale: the top one's on its left, the right one's
    at its bottom (``Subsets``, 3 ticks at most)."""
    top.hist(x, bins=60, color=COLORS["subtle"], gid="hist-estimate")
    right.hist(y, bins=60, orientation="horizontal", color=COLORS["subtle"], gid="hist-I2")
    top.tick_params(labelbottom=False, bottom=False, labelsize=6.5)
    right.tick_params(labelleft=False, left=False, labelsize=6.5)
    top.yaxis.set_major_locator(MaxNLocator(3, integer=True))
    right.xaxis.set_major_locator(MaxNLocator(2, integer=True))
    top.set_ylabel("Subsets", fontsize=7)
    right.set_xlabel("Subsets", fontsize=7)
    for side in ("top", "right", "bottom"):
        top.spines[side].set_visible(False)
    for side in ("top", "right", "left"):
        right.spines[side].set_visible(False)


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


def _coverage_panels(ax, d: pd.DataFrame, width: bool):
    """The figure and its panels: (coverage axes, width axes or None, rows, title) per
    panel."""
    if ax is not None:
        return ax.figure, [(ax, None, d, "averaged over \u03c4\u00b2" if d["tau2"].nunique() > 1
                            else f"\u03c4\u00b2 = {d['tau2'].iloc[0]:g}")]
    tau2s = sorted(d["tau2"].unique())
    rows = 2 if width else 1
    fig = Figure(figsize=(2.3 * len(tau2s) + 1.7, 2.9 * rows))
    axes = fig.subplots(rows, len(tau2s), sharey="row", sharex=True, squeeze=False)
    # coverage panels first (fig.axes[:n]), then the width panels
    return fig, [(axes[0, j], axes[1, j] if width else None, d[d["tau2"] == t],
                  f"\u03c4\u00b2 = {t:g}") for j, t in enumerate(tau2s)]


def _averaged(sub: pd.DataFrame, value: str, se: str) -> pd.DataFrame:
    """Mean of *value* over the cells of each k and the SE of that mean (cells independent)."""
    agg = sub.groupby("k").agg(value=(value, "mean"), var=(se, lambda s: float(np.sum(s**2))),
                               n=(se, "size"))
    agg["se"] = np.sqrt(agg["var"]) / agg["n"]
    return agg


def _method_line(a, agg, m, style, gid_prefix: str) -> None:
    color, marker, ls, hollow = style
    a.errorbar(agg.index, agg["value"], yerr=numeric.Z975 * agg["se"], color=color,
               marker=marker, ms=3.5, ls=ls, lw=0.9, capsize=0, elinewidth=0.6,
               mfc="white" if hollow else color, label=m, gid=f"{gid_prefix}{m}")


def _coverage_panel(a, part: pd.DataFrame, title: str, methods, styles, level: float) -> None:
    """One panel: the nominal level, and coverage against k per method with +/- z(0.975)
    Monte Carlo SE bars."""
    a.axhline(level, color=COLORS["grid"], lw=1.2, zorder=0, gid="nominal")
    for m in methods:
        sub = part[part["method"] == m]
        if not sub.empty:
            _method_line(a, _averaged(sub, "coverage", "mc_se"), m, styles[m], "method-")
    a.set_title(title, fontsize=8.5)
    a.set_xlabel("k (studies)")
    a.set_xticks(sorted(part["k"].unique()))
    for side in ("top", "right"):
        a.spines[side].set_visible(False)


def _width_panel(a, part: pd.DataFrame, methods, styles) -> None:
    """One panel: mean width against k per method (log scale), +/- z(0.975) Monte Carlo SE."""
    for m in methods:
        sub = part[part["method"] == m]
        if not sub.empty:
            _method_line(a, _averaged(sub, "mean_width", "width_mc_se"), m, styles[m],
                         "width-")
    a.set_yscale("log")
    a.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    a.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    a.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    a.tick_params(axis="y", which="minor", labelsize=6.5)
    a.set_xlabel("k (studies)")
    a.set_xticks(sorted(part["k"].unique()))
    for side in ("top", "right"):
        a.spines[side].set_visible(False)


def coverage_figure(df: pd.DataFrame, ax=None, interval: str = "CI",
                    methods=None, width: bool | None = None) -> Figure:
    """Coverage against k, one line per method, from :func:`acu_meta.simulate.coverage_study`;
    below it, the mean width of the intervals.

    Parameters
    ----------
    df
        The tidy frame of ``coverage_study`` (columns method, interval, mu, k, tau2, coverage,
        mc_se, level, and for the width panels mean_width and width_mc_se).
    ax
        None: one column of panels per tau2 (averaged over mu). An Axes: one coverage panel,
        averaged over tau2 and mu (filter *df* first to show one scenario), no width panel.
    interval
        "CI" (does the interval cover the mean effect?) or "PI" (the effect in a new study).
    methods
        Methods to draw, in order (default: all in *df*). Methods whose label starts with
        "Bayes" are drawn with dash-dotted lines and their own markers.
    width
        Draw the row of mean-width panels (log scale) under the coverage panels; None: when
        *df* has the width columns and *ax* is None.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes``: the coverage panels, then the width panels, each in tau2 order.

    Notes
    -----
    Error bars: +/- z(0.975) Monte Carlo SE of the averaged coverage or width (the cells are
    independent).
    Checked headless in ``tests/plots/test_batch_plots.py`` and
    ``tests/plots/test_coverage_width.py``.
    """
    d = df[df["interval"] == interval]
    if d.empty:
        raise ValueError(f"no rows with interval {interval!r}")
    methods = list(dict.fromkeys(d["method"])) if methods is None else list(methods)
    styles = _styles(methods)
    level = float(d["level"].iloc[0]) if "level" in d else 0.95
    has_width = {"mean_width", "width_mc_se"} <= set(d.columns)
    if width is None:
        width = has_width and ax is None
    if width and not has_width:
        raise ValueError("the frame has no mean_width / width_mc_se columns")
    if width and ax is not None:
        raise ValueError("width panels need a new figure (ax=None)")
    with house_style():
        fig, panels = _coverage_panels(ax, d, bool(width))
        for i, (a, wa, part, title) in enumerate(panels):
            _coverage_panel(a, part, title, methods, styles, level)
            if wa is not None:
                _width_panel(wa, part, methods, styles)
                a.set_xlabel("")
            if i == 0:
                what = "CI covers the mean" if interval == "CI" else "PI covers a new study"
                a.set_ylabel(f"Coverage ({what})")
                if wa is not None:
                    wa.set_ylabel(f"Mean width of the {interval}")
        handles, labels = panels[0][0].get_legend_handles_labels()
        if ax is None:
            panels[-1][0].legend(handles, labels, frameon=False, fontsize=7.5,
                                 loc="upper left", bbox_to_anchor=(1.02, 1.0))
        else:
            ax.legend(handles, labels, frameon=False, fontsize=7.5, loc="lower right")
        lo = min(float(d["coverage"].min()) - 0.02, level - 0.05)
        panels[0][0].set_ylim(max(0.0, lo), 1.0)
        if ax is None:
            fig.tight_layout()
    return fig
