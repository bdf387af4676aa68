"""Network plots: the evidence graph and a forest plot of every treatment vs the reference."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..models.network import study_treatments
from ..results import rows
from ..results.network import NetHeatResult, NetworkResult
from ._style import COLORS, house_style
from .forest import forest


def _node_area(n: float, nmax: float) -> float:
    """Marker area (points squared) of a node of *n* patients."""
    return 150 + 1100 * n / nmax


def _graph_key(ax, n_by_treatment, nmax, pairs, widths, edge_weight: str) -> None:
    """The key: node area for the fewest and the most patients, edge width for the fewest
    and the most studies (or the lowest and highest precision)."""
    ns = sorted({int(v) for v in n_by_treatment.values()})
    node_ns = [ns[0], ns[-1]] if len(ns) > 1 else ns
    handles = [Line2D([], [], ls="none", marker="o", ms=math.sqrt(_node_area(n, nmax)),
                      mfc="white", mec="black", mew=1.0, label=f"{n:,} patients")
               for n in node_ns]
    thin, thick = min(widths, key=widths.get), max(widths, key=widths.get)
    if edge_weight == "precision":
        edge = [(thin, "lowest precision"), (thick, "highest precision")]
    else:
        edge = [(k, f"{pairs[k]} {'study' if pairs[k] == 1 else 'studies'}")
                for k in (thin, thick)]
    seen = set()
    for k, label in edge:
        if label not in seen:
            seen.add(label)
            handles.append(Line2D([], [], color=COLORS["subtle"], lw=widths[k],
                                  solid_capstyle="butt", label=label))
    # in the band x < -2 left of the graph (the treatments sit on the unit circle, labels out
    # to about 2); spacing for the largest key node
    leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.02, 1.02),
                    fontsize=6.5, frameon=False, labelspacing=3.8, borderpad=0.2,
                    handlelength=6.0, handleheight=2.0, handletextpad=0.6,
                    title="Node: patients; edge: "
                    + ("precision" if edge_weight == "precision" else "studies"),
                    title_fontsize=6.5)
    leg.set_gid("graph-key")


def network_graph(result: NetworkResult, *, ax=None, edge_weight: str = "studies") -> Figure:
    """Treatments on a circle; edge width by the number of studies comparing the two
    treatments directly (``edge_weight="studies"``) or by the precision of the direct
    estimate (``"precision"``); node area by the number of patients. Edge labels give the
    number of studies. A key (legend, gid ``graph-key``) shows the node area of the fewest
    and the most patients and the edge width of the fewest and the most studies (or the
    lowest and highest precision)."""
    c = result.contrasts
    pairs = Counter()
    for trts in study_treatments(c).values():
        for i, a in enumerate(trts):
            for b in trts[i + 1:]:
                pairs[tuple(sorted((a, b)))] += 1
    T = len(result.treatments)
    angles = [math.pi / 2 - 2 * math.pi * i / T for i in range(T)]
    pos = {t: (math.cos(a), math.sin(a)) for t, a in zip(result.treatments, angles, strict=True)}
    with house_style():
        if ax is None:
            fig = Figure(figsize=(4.8, 4.4))
            ax = fig.add_subplot(111)
        else:
            fig = ax.figure
        if edge_weight == "precision":
            ns = result.netsplit().set_index("comparison")
            prec = {tuple(sorted(k.split(" vs "))): 1 / v**2 for k, v in ns.direct_se.items()}
            top = max(prec.values())
            widths = {k: 1 + 7 * prec[k] / top for k in pairs}
        else:
            top = max(pairs.values())
            widths = {k: 1 + 7 * v / top for k, v in pairs.items()}
        for (a, b), k in pairs.items():
            (x1, y1), (x2, y2) = pos[a], pos[b]
            ax.plot([x1, x2], [y1, y2], color=COLORS["subtle"], lw=widths[(a, b)], zorder=1,
                    solid_capstyle="round", gid=f"edge-{a}-{b}")
            ax.text(x1 + 0.4 * (x2 - x1), y1 + 0.4 * (y2 - y1), str(k), fontsize=7,
                    ha="center", va="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"}, zorder=3)
        nmax = max(c.n_by_treatment.values())
        for t, (x, y) in pos.items():
            size = _node_area(c.n_by_treatment.get(t, 0), nmax)
            ax.scatter([x], [y], s=size, color="white", edgecolors="black", lw=1.0, zorder=2,
                       gid=f"node-{t}")
            ha = "left" if x > 0.3 else "right" if x < -0.3 else "center"
            ax.text(x * 1.22 + (0.08 if x > 0.3 else -0.08 if x < -0.3 else 0),
                    y * (1.36 if abs(y) > 0.3 else 1.0),
                    t, ha=ha, va="center", fontsize=8, gid=f"label-{t}")
        _graph_key(ax, c.n_by_treatment, nmax, pairs, widths, edge_weight)
        ax.set_xlim(-3.3, 2.0)  # x < -2: a band for the key, clear of the treatment labels
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
        ax.axis("off")
        fig.tight_layout()
    return fig


def network_forest(result: NetworkResult, *, ax=None, favours=("Favours reference",
                                                                 "Favours treatment"),
                   title: str | None = None) -> Figure:
    """Forest plot of every treatment vs the reference (network estimates, not pooled)."""
    idx = [i for i, t in enumerate(result.treatments) if t != result.reference]
    labels = [f"{result.treatments[i]} vs {result.reference}" for i in idx]
    drawn = rows(yi=result.estimate[idx], vi=result.se[idx] ** 2, study=labels,
                 measure=result.measure if result.ratio else "GEN", level=result.level)
    return forest(drawn, ax=ax, favours=favours, label_header="Comparison",
                  effect_label=f"{result.measure} ({result.level * 100:g}% CI)", title=title)



def net_heat_plot(heat: NetHeatResult, *, ax=None, limit: float = 8.0) -> Figure:
    """Net heat plot (Krahn et al. 2013) of a :class:`~acu_meta.results.network.NetHeatResult`:
    rows and columns are the design-level rows in the result's order; cell (i, j) is coloured
    by ``-diff[i, j]`` clipped at +-*limit* (red: detaching design j lowers row i's share of
    the inconsistency Q; blue: raises it); grey boxes on the diagonal frame each row's own
    share; columns of designs without a loop are left blank (netmeta drops them). Draws the
    result, never fits. Tested in ``tests/plots/test_net_heat_plot.py``."""
    keep = ~np.all(np.isnan(heat.diff), axis=0)
    vals = np.clip(heat.colours[np.ix_(keep, keep)], -limit, limit)
    labels = [r for r, k in zip(heat.rows, keep, strict=True) if k]
    n = len(labels)
    top = float(np.nanmax(np.abs(vals))) if n and np.isfinite(vals).any() else 1.0
    with house_style():
        if ax is None:
            fig = Figure(figsize=(1.6 + 0.42 * n, 1.2 + 0.42 * n))
            ax = fig.add_subplot(111)
        else:
            fig = ax.figure
        im = ax.imshow(vals, cmap="RdBu_r", vmin=-max(top, 1e-12), vmax=max(top, 1e-12),
                       interpolation="nearest", gid="net-heat")
        for i in range(n):
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, ec=COLORS["subtle"],
                                   lw=1.2, gid=f"diag-{i}"))
        ax.set_xticks(range(n))
        ax.set_xticklabels(labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xlabel("design detached")
        ax.set_title(f"Net heat plot ({heat.model} effects)", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8, label="-diff (change in Q_inc)")
    return fig
