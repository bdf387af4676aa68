"""Values derived from reported ones, computed in code with their derivation (never typed in).

The transcribed tables hold only what a source prints. Whatever follows from printed values, e.g.
GERAC's responder counts (184, 171, 106 of 387: printed only as percentages) or the denominators
implied by "232 (59.9%)", is computed here, labelled ``derived``, and carries the formula and the
printed inputs it came from.

Rounding convention: a value printed with *d* decimals stands for every number in the closed
interval ``[x - 0.5*10**-d, x + 0.5*10**-d]`` (either rounding rule, half-up or half-even, lands
inside it), see :func:`rounding_interval`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .. import numeric
from ._tables import decimals

__all__ = [
    "attainable_counts",
    "clopper_pearson",
    "derived_values",
    "implied_denominators",
    "rounding_interval",
    "wilson",
]

# Exact rational arithmetic is not needed: every comparison is widened by this relative slack so
# that 100*k/n exactly on a rounding boundary (e.g. 1/8 = 12.5%) counts as attainable.
_EPS = 1e-9


def rounding_interval(text: str) -> tuple[float, float]:
    """The interval of true values that print as *text* (``"47.6"`` -> (47.55, 47.65)).

    Validated by hand against the examples in the module docstring.
    """
    d = decimals(text)
    x = Decimal(text.strip())
    half = Decimal(5) * Decimal(10) ** (-(d + 1))
    return float(x - half), float(x + half)


def attainable_counts(percent_text: str, n: int) -> list[int]:
    """Counts k in 0..n for which 100*k/n prints as *percent_text*.

    >>> attainable_counts("44.2", 387)
    [171]
    >>> attainable_counts("47.6", 387)
    []
    """
    lo, hi = rounding_interval(percent_text)
    k = np.arange(n + 1)
    pct = 100.0 * k / n
    ok = (pct >= lo - _EPS * max(1.0, abs(lo))) & (pct <= hi + _EPS * max(1.0, abs(hi)))
    return [int(v) for v in k[ok]]


def implied_denominators(events: int, percent_text: str) -> list[int]:
    """Denominators n >= events for which 100*events/n prints as *percent_text*.

    >>> implied_denominators(232, "59.9")
    [387]
    """
    lo, hi = rounding_interval(percent_text)
    if hi <= 0:
        return []
    lo = max(lo, 1e-12)
    n_min = max(int(events), int(np.floor(100.0 * events / hi)))
    n_max = int(np.ceil(100.0 * events / lo)) + 1
    out = []
    for n in range(max(n_min, 1), n_max + 1):
        pct = 100.0 * events / n
        if lo - _EPS * lo <= pct <= hi + _EPS * hi and n >= events:
            out.append(n)
    return out


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for k/n, as a fraction (R's ``binom.test(k, n)``);
    the formula is :func:`acu_meta.numeric.clopper_pearson`."""
    return numeric.clopper_pearson(k, n, level)


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k/n, as a fraction (``prop.test`` without continuity
    correction); the formula is :func:`acu_meta.numeric.wilson`."""
    return numeric.wilson(k, n, level)


def _fmt(x: float, d: int) -> str:
    return f"{x:.{d}f}"


def responder_counts(proportions: pd.DataFrame, printed: pd.DataFrame) -> pd.DataFrame:
    """Counts behind printed percentages that come with a denominator but no count.

    For each row with ``percent`` and ``n`` but no ``events``: the counts k with 100*k/n printing
    as the percentage. One such k is the derived count. None (GERAC's 47.6% of 387): the nearest
    k is given with status ``not attainable``, and the printed CI is compared with the
    Clopper-Pearson interval of that k.
    """
    rows = []
    for line, row in proportions.iterrows():
        txt = printed.loc[line]
        if txt["percent"] == "" or txt["n"] == "" or txt["events"] != "":
            continue
        n = int(row["n"])
        ks = attainable_counts(txt["percent"], n)
        if len(ks) == 1:
            k, status = ks[0], "unique"
        elif ks:
            k, status = ks[0], f"ambiguous: {', '.join(map(str, ks))}"
        else:
            k = int(round(row["percent"] * n / 100.0))
            status = "not attainable; nearest count"
        d = decimals(txt["percent"])
        derivation = (
            f"k such that 100*k/{n} prints as {txt['percent']}% ({d} decimals); "
            f"{k}/{n} = {100.0 * k / n:.3f}%"
        )
        if txt["ci_low"] and txt["ci_high"]:
            lo, hi = clopper_pearson(k, n)
            dc = decimals(txt["ci_low"])
            derivation += (
                f"; Clopper-Pearson 95% CI of {k}/{n} = {_fmt(100 * lo, dc)} to "
                f"{_fmt(100 * hi, dc)} (printed {txt['ci_low']} to {txt['ci_high']})"
            )
        rows.append(
            {
                "quantity": "responder count",
                "study_id": row["study_id"],
                "group": row["group"],
                "outcome": row["outcome"],
                "timepoint": row["timepoint"],
                "value": k,
                "status": status,
                "inputs": f"proportions line {line}: percent {txt['percent']}, n {txt['n']}",
                "derivation": derivation,
                "label": "derived",
            }
        )
    return pd.DataFrame(rows)


def denominators(proportions: pd.DataFrame, printed: pd.DataFrame) -> pd.DataFrame:
    """Denominators implied by a printed count and percentage when no denominator is printed.

    GERAC's "five additional sessions given to 232 (59.9%) verum, 209 (54.3%) sham, 192 (52.5%)
    conventional patients" imply 387, 385 and 366.
    """
    rows = []
    for line, row in proportions.iterrows():
        txt = printed.loc[line]
        if txt["percent"] == "" or txt["events"] == "" or txt["n"] != "":
            continue
        ns = implied_denominators(int(row["events"]), txt["percent"])
        value = ns[0] if len(ns) == 1 else np.nan
        rows.append(
            {
                "quantity": "implied denominator",
                "study_id": row["study_id"],
                "group": row["group"],
                "outcome": row["outcome"],
                "timepoint": row["timepoint"],
                "value": value,
                "status": "unique" if len(ns) == 1 else (
                    f"range {ns[0]} to {ns[-1]}" if ns else "none"
                ),
                "inputs": f"proportions line {line}: events {txt['events']}, "
                f"percent {txt['percent']}",
                "derivation": f"n such that 100*{txt['events']}/n prints as {txt['percent']}%: "
                + (", ".join(map(str, ns)) if len(ns) <= 6 else f"{ns[0]} to {ns[-1]}"),
                "label": "derived",
            }
        )
    return pd.DataFrame(rows)


def derived_values(where: Path | str | None = None) -> pd.DataFrame:
    """Every derived value, one row each, with label ``derived``, its inputs and derivation.

    Validated against the derivations stated in ``shared/sources/gerac2007.md`` (184/171/106 of
    387; denominators 387, 385, 366) by ``tests/data/test_derived.py``.
    """
    from . import load, printed

    props = load("proportions", where)
    text = printed("proportions", where)
    frames = [responder_counts(props, text), denominators(props, text)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
