"""One effect estimated by several methods, side by side: the sensitivity table of a comparison.

:class:`MethodTable` holds rows of (group, method, estimate, interval) computed elsewhere
(per-trial estimates, fixed effect, REML with Wald / HKSJ / HKSJ ad hoc intervals, Bayesian
posteriors under several priors, network models); it selects, names and formats them and
never changes a number. :func:`acu_meta.plots.interval_stack` draws it.

Built by :func:`acu_meta.analyses.answer.sensitivity_table`; every row is checked against a
second route in ``tests/analyses/test_answer.py``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from ._format import html_table

__all__ = ["GROUPS", "MethodRow", "MethodTable"]

#: Row groups in display order.
GROUPS = ("trial", "frequentist", "bayesian", "network")


@dataclass(frozen=True)
class MethodRow:
    """One estimate of the effect: ``group`` (one of :data:`GROUPS`), ``method`` (label),
    ``estimate`` with its ``interval`` (``"95% CI"`` or ``"95% CrI"``) from ``ci_low`` to
    ``ci_high``, and a ``detail`` saying how it was computed."""

    group: str
    method: str
    estimate: float
    ci_low: float
    ci_high: float
    interval: str = "95% CI"
    detail: str = ""

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {', '.join(GROUPS)}, not {self.group!r}")

    @property
    def width(self) -> float:
        return self.ci_high - self.ci_low


@dataclass(frozen=True)
class MethodTable:
    """The sensitivity table of one comparison.

    Attributes
    ----------
    comparison
        E.g. ``"verum vs sham"`` (positive = benefit with the first arm).
    outcome
        The outcome set (e.g. ``"function, end of treatment"``).
    measure
        The effect measure (``"SMD"``).
    rows
        :class:`MethodRow` in display order.
    notes
        Flags and statements that belong with the numbers (k, heterogeneity with its interval,
        what is not shown and why).
    """

    comparison: str
    outcome: str
    measure: str
    rows: tuple[MethodRow, ...]
    notes: tuple[str, ...] = ()

    def row(self, method: str) -> MethodRow:
        """The row called *method* (KeyError if there is none)."""
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(method)

    def to_frame(self) -> pd.DataFrame:
        """One line per row: group, method, estimate, ci_low, ci_high, interval, detail."""
        return pd.DataFrame([{"group": r.group, "method": r.method, "estimate": r.estimate,
                              "ci_low": r.ci_low, "ci_high": r.ci_high, "interval": r.interval,
                              "detail": r.detail} for r in self.rows])

    def conf_int(self) -> pd.DataFrame:
        """Estimate and interval of every row, indexed by method."""
        return self.to_frame().set_index("method")[["estimate", "ci_low", "ci_high"]]

    def title(self) -> str:
        return f"{self.comparison.capitalize()}: {self.outcome} ({self.measure}, positive = " \
               f"benefit with {self.comparison.split(' vs ')[0]})"

    def summary(self, digits: int = 2) -> str:
        """Plain text: the title, one line per row, the notes."""
        w = max(len(r.method) for r in self.rows)
        lines = [self.title(), ""]
        group = None
        for r in self.rows:
            if r.group != group:
                group = r.group
                lines.append(f"[{group}]")
            lines.append(f"  {r.method.ljust(w)}  {_ci(r, digits)}  {r.interval}")
        lines += [""] + [f"* {n}" for n in self.notes]
        return "\n".join(lines).rstrip()

    def to_markdown(self, digits: int = 2) -> str:
        """A Markdown table (method, estimate with interval, how)."""
        lines = ["| method | estimate (95% interval) | how |", "|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r.method} | {_ci(r, digits)} | {r.detail} |")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<p><b>{html.escape(self.title())}</b></p>" + html_table(self.to_frame())
                + (f"<ul>{notes}</ul>" if notes else ""))


def _ci(r: MethodRow, digits: int) -> str:
    def f(x):
        return "NaN" if math.isnan(x) else f"{x:.{digits}f}"

    return f"{f(r.estimate)} ({f(r.ci_low)} to {f(r.ci_high)})"
