"""Reproduction targets: a published number beside the number recomputed from ``data/``.

Status of a target (issue #5):

exact
    the reproduced value rounds to the printed one (lies in its rounding interval);
consistent
    not exact, but the printed value is attainable when every input varies within its own
    printed precision: the rounding intervals of the inputs are propagated through the same
    computation (by evaluating it at every corner of the box of input intervals, plus the
    centre; the computations here are monotone or smooth in each input over such small boxes);
discrepancy
    neither; the note says what is known about why, and a computed part (appended by
    :func:`target`, :func:`discrepancy_note`): the value expected (the printed one and its
    rounding allowance), the value got, by how much it misses the allowance and, where given,
    the range attainable with the inputs varied within their printed precision;
not comparable
    the printed number measures a different quantity from the one the data can recompute
    (Cherkin 2009 Table 3's covariate-adjusted difference beside the unadjusted difference of
    the Table 2 means): it is shown beside, never scored. The status is declared by the
    target's author (``not_comparable=`` with the reason), not inferred from the size of the
    gap, so a real discrepancy cannot be relabelled by it; the note still gives the gap.

Printed bounds such as ``< .001`` are met when the reproduced value is below the bound.

Validated by ``tests/analyses/test_reproduction.py`` (``test_status_rules``,
``test_not_comparable_status``, ``test_discrepancy_note_is_computed``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from ..data.derived import rounding_interval

STATUSES = ("exact", "consistent", "discrepancy", "not comparable")
"""Every status a target can have, in report order."""

SCORED = ("exact", "consistent", "discrepancy")
"""The statuses that score a reproduction (*not comparable* targets are shown, not scored)."""


@dataclass(frozen=True)
class Target:
    """One published number and its reproduction."""

    target_id: str
    study: str
    quantity: str
    published: str  # as printed
    reproduced: float
    printed_decimals: int | None
    status: str
    note: str = ""


def _decimals(text: str) -> int | None:
    t = text.strip().lstrip("<>= ").strip()
    try:
        float(t)
    except ValueError:
        return None
    return len(t.split(".")[1]) if "." in t else 0


def _interval(text: str) -> tuple[float, float]:
    t = text.strip()
    if t.startswith("."):
        t = "0" + t
    if t.startswith("-."):
        t = "-0" + t[1:]
    return rounding_interval(t)


def box_range(func: Callable[..., float], inputs: Sequence[str | float]) -> tuple[float, float]:
    """Range of *func* when each printed input (text) varies within its rounding interval.

    Numbers given as floats are exact (e.g. counts). Evaluated at every corner and the centre.
    """
    ivs = []
    for x in inputs:
        if isinstance(x, str):
            ivs.append(_interval(x))
        else:
            ivs.append((float(x), float(x)))
    vals = [func(*c) for c in itertools.product(*ivs)]
    vals.append(func(*[(a + b) / 2 for a, b in ivs]))
    vals = [v for v in vals if not math.isnan(v)]
    return min(vals), max(vals)


def classify(published: str, reproduced: float, attainable: tuple[float, float] | None = None
             ) -> str:
    """exact / consistent / discrepancy for one target (see the module docstring)."""
    t = published.strip()
    if t.startswith("<"):
        bound = float(_norm(t[1:]))
        return "exact" if reproduced < bound else "discrepancy"
    lo, hi = _interval(_norm(t))
    tol = 1e-12 * max(1.0, abs(reproduced))
    if lo - tol <= reproduced <= hi + tol:
        return "exact"
    if attainable is not None and attainable[0] <= hi + tol and lo - tol <= attainable[1]:
        return "consistent"
    return "discrepancy"


def _norm(t: str) -> str:
    t = t.strip()
    if t.startswith("."):
        return "0" + t
    if t.startswith("-."):
        return "-0" + t[1:]
    return t


def _fmt(x: float, decimals: int | None) -> str:
    """*x* with two more decimals than the printed value (4 significant digits if unknown)."""
    return f"{x:.{decimals + 2}f}" if decimals is not None else f"{x:.4g}"


def discrepancy_note(published: str, reproduced: float,
                     attainable: tuple[float, float] | None = None) -> str:
    """The computed part of a discrepancy's note: expected, got, by how much, the allowance.

    For a printed value with *d* decimals the allowance is its rounding interval (half a unit
    of the last decimal either side); the miss is the distance from the reproduced value (or,
    when given, from the attainable range) to that interval. For a printed bound (``< .001``)
    the miss is the distance above the bound. Checked in
    ``tests/analyses/test_reproduction.py::test_discrepancy_note_is_computed``.
    """
    t = published.strip()
    dec = _decimals(t)
    got = _fmt(reproduced, dec)
    if t.startswith("<"):
        bound = float(_norm(t[1:]))
        return (f"Expected below {_norm(t[1:])} (printed {t}); got {got}, "
                f"{_fmt(reproduced - bound, dec)} above the bound.")
    lo, hi = _interval(_norm(t))
    half = (hi - lo) / 2
    miss = lo - reproduced if reproduced < lo else reproduced - hi
    out = (f"Expected {t} (rounding allowance +/-{half:.{(dec or 0) + 1}g}: {_fmt(lo, dec)} to "
           f"{_fmt(hi, dec)}); got {got}, {_fmt(reproduced - float(_norm(t)), dec)} from the "
           f"printed value and {_fmt(miss, dec)} outside the allowance.")
    if attainable is not None:
        gap = lo - attainable[1] if attainable[1] < lo else attainable[0] - hi
        out += (f" With every input varied within its printed precision the value ranges over "
                f"{_fmt(attainable[0], dec)} to {_fmt(attainable[1], dec)}, still "
                f"{_fmt(gap, dec)} outside the allowance.")
    return out


def target(target_id: str, study: str, quantity: str, published: str, reproduced: float,
           attainable: tuple[float, float] | None = None, note: str = "",
           note_if_not_exact: str = "", not_comparable: str = "") -> Target:
    """Build a Target, classifying it; *note_if_not_exact* is added when it is not exact.

    *not_comparable* (a reason) declares that the printed number measures another quantity:
    the status is then ``not comparable`` and the note gives the reason and the computed gap.
    Every discrepancy's note ends with :func:`discrepancy_note`.
    """
    if not_comparable:
        diff = float(reproduced) - float(_norm(published.strip().lstrip("<>= ")))
        dec = _decimals(published)
        note = (f"{note} {not_comparable} Printed {published.strip()}, recomputed "
                f"{_fmt(reproduced, dec)} (difference {_fmt(diff, dec)}); shown beside, not "
                "scored.").strip()
        return Target(target_id, study, quantity, published.strip(), float(reproduced),
                      dec, "not comparable", note)
    status = classify(published, reproduced, attainable)
    if status != "exact" and note_if_not_exact:
        note = (note + " " + note_if_not_exact).strip()
    if status == "consistent" and attainable is not None:
        note = (note + f" Attainable range with inputs varied within their printed precision: "
                f"{attainable[0]:.4g} to {attainable[1]:.4g}.").strip()
    if status == "discrepancy":
        note = (note + " " + discrepancy_note(published, reproduced, attainable)).strip()
    return Target(target_id, study, quantity, published.strip(), float(reproduced),
                  _decimals(published), status, note)


def to_frame(targets: Sequence[Target]) -> pd.DataFrame:
    cols = ["target_id", "study", "quantity", "published", "reproduced", "printed_decimals",
            "status", "note"]
    return pd.DataFrame([asdict(t) for t in targets], columns=cols)


def to_markdown(targets: Sequence[Target]) -> str:
    frame = to_frame(targets)
    counts = frame.status.value_counts().reindex(list(STATUSES), fill_value=0)
    scored = int(counts[list(SCORED)].sum())
    share = (counts["exact"] + counts["consistent"]) / max(scored, 1)
    out = [
        "# Reproduction report",
        "",
        "Generated by `acu-meta reproduce`. One row per published number: the value printed,",
        "the value recomputed from the transcribed data, and the status: *exact* (rounds to the",
        "printed value), *consistent* (attainable with every input within its printed precision),",
        "*discrepancy* (neither; the note says by how much) or *not comparable* (not scored).",
        "",
        f"**{len(frame)} targets: {counts['exact']} exact, {counts['consistent']} consistent, "
        f"{counts['discrepancy']} discrepancy, {counts['not comparable']} not comparable "
        f"({100 * share:.0f}% of the {scored} scored targets exact or consistent).**",
        "",
        "| target | study | quantity | published | reproduced | status | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in frame.iterrows():
        rep = f"{r.reproduced:.{(r.printed_decimals or 0) + 2}f}" if r.printed_decimals \
            is not None and not pd.isna(r.printed_decimals) else f"{r.reproduced:.4g}"
        note = str(r.note).replace("|", "/")
        out.append(f"| {r.target_id} | {r.study} | {r.quantity} | {r.published} | {rep} | "
                   f"{r.status} | {note} |")
    out.append("")
    return "\n".join(out)


def snapshot(targets: Sequence[Target]) -> dict[str, str]:
    """target_id -> reproduced value at full precision (%.17g), for the regression guard."""
    return {t.target_id: f"{t.reproduced:.17g}" for t in targets}


def snapshot_diff(targets: Sequence[Target], saved: dict[str, str], rtol: float = 1e-10
                  ) -> list[str]:
    """Lines naming every target whose reproduced value moved beyond *rtol*, appeared or
    disappeared, compared with a saved snapshot."""
    now = {t.target_id: t.reproduced for t in targets}
    lines = []
    for tid in sorted(set(now) | set(saved)):
        if tid not in saved:
            lines.append(f"{tid}: new target (reproduced {now[tid]:.17g})")
        elif tid not in now:
            lines.append(f"{tid}: target disappeared (was {saved[tid]})")
        else:
            old = float(saved[tid])
            new = now[tid]
            if not (abs(new - old) <= rtol * max(1.0, abs(old))
                    or (math.isnan(new) and math.isnan(old))):
                lines.append(f"{tid}: {old:.17g} -> {new:.17g}")
    return lines
