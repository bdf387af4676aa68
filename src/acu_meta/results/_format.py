"""Presentation helpers: numbers in, text out. Never changes a stored number."""

from __future__ import annotations

import html
import math

import numpy as np


def fmt(x: float, digits: int = 4) -> str:
    """Format like metafor's print (fixed decimals, '<.0001' for tiny P handled by fmt_p)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if isinstance(x, float) and math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def fmt_p(p: float, digits: int = 4) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "NA"
    if p < 10 ** (-digits):
        return "<." + "0" * (digits - 1) + "1"
    return f"{p:.{digits}f}"


def stars(p: float) -> str:
    if p is None or np.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Right-aligned plain-text table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    for r in rows:
        lines.append("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def html_table(frame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="")


class Printable:
    """Mixin for results objects: ``str()`` is ``summary()``; in Jupyter the first line of the
    summary as a title above the ``to_frame()`` table. Formatting only, never the numbers."""

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        title = html.escape(self.summary().splitlines()[0])
        return f"<p><b>{title}</b></p>" + html_table(self.to_frame())


# ------------------------------------------------------------------ RevMan's lines under a forest


def p_revman(p: float) -> str:
    """A P value as RevMan prints it under a forest plot ("P = 0.03", "P < 0.00001")."""
    if p is None or math.isnan(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p < 0.0001:
        return "P < 0.0001"
    if p < 0.001:
        return f"P = {p:.4f}"
    return f"P = {p:.2f}" if p >= 0.01 else f"P = {p:.3f}"


def heterogeneity_text(r) -> str:
    """RevMan's footer line of a pooled result *r*: Tau2 (random effects), Chi2 with df and P,
    I2."""
    parts = []
    if r.model == "random":
        parts.append(f"Tau\u00b2 = {r.tau2:.2f}")
    parts.append(f"Chi\u00b2 = {r.Q:.2f}, df = {r.Q_df} ({p_revman(r.Q_p)})")
    parts.append(f"I\u00b2 = {r.I2:.0f}%")
    return "Heterogeneity: " + "; ".join(parts)


def overall_text(r) -> str:
    """RevMan's "Test for overall effect" line of a pooled result *r* (Z, or t with df)."""
    if r.test == "t":
        return f"Test for overall effect: t = {abs(r.statistic):.2f}, df = {r.df:g} " \
               f"({p_revman(r.p_value)})"
    return f"Test for overall effect: Z = {abs(r.statistic):.2f} ({p_revman(r.p_value)})"


def subgroup_test_text(Q: float, df: int, p: float, I2: float) -> str:
    """RevMan's "Test for subgroup differences" line (I2 in percent)."""
    return (f"Test for subgroup differences: Chi\u00b2 = {Q:.2f}, df = {df} ({p_revman(p)}), "
            f"I\u00b2 = {I2:.0f}%")


def league_square(treatments, league, point: str, digits: int, exp: bool):
    """Square league table from a long *league* frame (``treatment1, treatment2``, the point
    column *point*, ``ci_low``, ``ci_high``): cell (row a, column b) = a vs b as
    "point (low, high)", on the exp scale when *exp*; the diagonal names the treatment. The
    one layout of the frequentist and the Bayesian network's ``league_table``."""
    import pandas as pd

    tr = np.exp if exp else (lambda x: x)
    out = pd.DataFrame("", index=list(treatments), columns=list(treatments))
    for _, r in league.iterrows():
        out.loc[r.treatment1, r.treatment2] = (
            f"{tr(r[point]):.{digits}f} ({tr(r.ci_low):.{digits}f}, "
            f"{tr(r.ci_high):.{digits}f})")
    for t in treatments:
        out.loc[t, t] = t
    return out
