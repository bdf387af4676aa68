"""One comparison, every method: the intervals of a :class:`acu_meta.results.MethodTable`
stacked top to bottom (per-trial estimates, then the frequentist, Bayesian and network rows),
so that their widths can be compared at a glance.

Every element carries a ``gid``: ``label-i``, ``ci-i``, ``point-i`` (i = row from the top),
``group-<name>`` (the group headings) and ``null-line``. The plot draws the numbers of the
table and computes nothing (``tests/plots/test_interval_stack.py``).
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from ..results.method_table import MethodTable
from ._style import COLORS, house_style

_ROW_IN = 0.27
_GROUP_TITLES = {"trial": "Each trial alone", "frequentist": "Pairwise, frequentist",
                 "bayesian": "Pairwise, Bayesian", "network": "Network model"}


def interval_stack(table: MethodTable, ax=None, title: str | None = None,
                   xlabel: str | None = None) -> Figure:
    """Stack the rows of *table* as point estimates with horizontal interval bars.

    Rows with a non-finite interval are drawn as a point with an arrow-free label ``(no
    interval)``. Returns the Figure (a new one when ``ax`` is None)."""
    rows = list(table.rows)
    lines: list[tuple[str, object]] = []
    group = None
    for r in rows:
        if r.group != group:
            group = r.group
            lines.append(("group", group))
        lines.append(("row", r))
    n = len(lines)
    with house_style():
        if ax is None:
            height = _ROW_IN * (n + 4)
            fig = Figure(figsize=(8.0, height))
            ax = fig.add_axes((0.36, 2.4 * _ROW_IN / height, 0.42, 1 - 3.4 * _ROW_IN / height))
        fig = ax.figure
        i = 0
        lo_all, hi_all = [], []
        for k, (kind, item) in enumerate(lines):
            y = n - k
            if kind == "group":
                ax.annotate(_GROUP_TITLES.get(item, item), (0, y), xycoords=("axes fraction",
                                                                                "data"),
                            xytext=(-6, 0), textcoords="offset points", ha="right",
                            va="center", fontweight="bold", gid=f"group-{item}")
                continue
            r = item
            color = COLORS["study"] if r.group == "trial" else COLORS["subtle"]
            finite = math.isfinite(r.ci_low) and math.isfinite(r.ci_high)
            if finite:
                ax.plot([r.ci_low, r.ci_high], [y, y], color=color, lw=1.4, gid=f"ci-{i}")
                lo_all.append(r.ci_low)
                hi_all.append(r.ci_high)
            ax.plot([r.estimate], [y], marker="s" if r.group == "trial" else "D", ms=4.5,
                    color=color, ls="none", gid=f"point-{i}")
            ax.annotate(r.method, (0, y), xycoords=("axes fraction", "data"), xytext=(-10, 0),
                        textcoords="offset points", ha="right", va="center", gid=f"label-{i}")
            text = (f"{r.estimate:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})" if finite
                    else f"{r.estimate:.2f} (no interval)")
            ax.annotate(text, (1, y), xycoords=("axes fraction", "data"), xytext=(6, 0),
                        textcoords="offset points", ha="left", va="center",
                        gid=f"effect-{i}")
            i += 1
        ax.axvline(0.0, color="0.4", lw=0.8, ls="--", gid="null-line")
        if lo_all:
            span = max(hi_all) - min(lo_all)
            ax.set_xlim(min(lo_all) - 0.05 * span, max(hi_all) + 0.05 * span)
        ax.set_ylim(0.3, n + 0.7)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        first, second = table.comparison.split(" vs ")
        ax.set_xlabel(xlabel or f"{table.measure}: < 0 favours {second}, > 0 favours {first}")
        ax.set_title(title or table.title(), fontsize="medium")
    return fig
