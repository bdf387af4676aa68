"""Read a user's CSV of studies for ``acu-meta pool`` / ``acu-meta forest``, strictly.

Accepted shapes (header names exactly; other columns are kept, e.g. a subgroup column):

* generic: ``study,yi,vi`` or ``study,yi,sei``
* continuous: ``study,treat_mean,treat_sd,treat_n,control_mean,control_sd,control_n``
* binary: ``study,treat_events,treat_n,control_events,control_n``

Every problem is an :class:`InputError` whose one-line message names the file, the line (the
header is line 1), the column and what is wrong. A row with a missing value is an error unless
``drop_missing=True``; then it is left out and listed in ``excluded``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from .. import errors

SHAPES = {
    "binary": ("treat_events", "treat_n", "control_events", "control_n"),
    "continuous": ("treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                   "control_n"),
    "generic_vi": ("yi", "vi"),
    "generic_sei": ("yi", "sei"),
}


class InputError(errors.InputError):
    """Malformed user input; ``str(err)`` is one line naming file, line, column and problem.

    An :class:`acu_meta.errors.InputError` (so also a ``ValueError``), re-exported as
    ``acu_meta.data.InputError``.
    """


@dataclass(frozen=True)
class StudyTable:
    """Validated numeric columns of a user's CSV."""

    path: str
    shape: str  # "binary", "continuous", "generic"
    study: tuple[str, ...]
    columns: dict[str, tuple[float, ...]]
    extra: dict[str, tuple[str, ...]]
    lines: tuple[int, ...]
    excluded: tuple[tuple[str, str], ...]


def _shape(header: list[str], shown: str) -> tuple[str, tuple[str, ...]]:
    if "study" not in header:
        raise InputError(f"{shown}, line 1, column 'study': required column is missing")
    hs = set(header)
    if "treat_events" in hs or "control_events" in hs:
        kind = "binary"
    elif any(c in hs for c in SHAPES["continuous"]):
        kind = "continuous"
    elif "yi" in hs:
        if "vi" not in hs and "sei" not in hs:
            raise InputError(f"{shown}, line 1, column 'vi': required column is missing "
                             "(give vi or sei with yi)")
        kind = "generic_vi" if "vi" in hs else "generic_sei"
    else:
        raise InputError(
            f"{shown}, line 1: header must have study plus yi,vi or yi,sei or "
            "treat_mean,treat_sd,treat_n,control_mean,control_sd,control_n or "
            "treat_events,treat_n,control_events,control_n"
        )
    for col in SHAPES[kind]:
        if col not in hs:
            raise InputError(f"{shown}, line 1, column {col!r}: required column is missing")
    return ("generic" if kind.startswith("generic") else kind), SHAPES[kind]


def _number(text: str, shown: str, line: int, col: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"{shown}, line {line}, column {col!r}: {text!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"{shown}, line {line}, column {col!r}: {text!r} is not a finite number")
    return value


def _check(col: str, value: float, row: dict[str, float], shown: str, line: int) -> None:
    where = f"{shown}, line {line}, column {col!r}"
    if col.endswith("_n"):
        if value != int(value):
            raise InputError(f"{where}: sample size {value:g} is not a whole number")
        if value < 1:
            raise InputError(f"{where}: sample size {value:g} must be at least 1")
    if col.endswith("_events"):
        if value != int(value):
            raise InputError(f"{where}: event count {value:g} is not a whole number")
        if value < 0:
            raise InputError(f"{where}: event count {value:g} is negative")
    if col.endswith("_sd") and value <= 0:
        raise InputError(f"{where}: standard deviation {value:g} must be positive")
    if col in ("vi", "sei") and value <= 0:
        raise InputError(f"{where}: {'variance' if col == 'vi' else 'standard error'} "
                         f"{value:g} must be positive")


def _read_rows(path: str | Path) -> tuple[str, list[str], list[list[str]]]:
    """Read a CSV strictly: (shown path, stripped header, rows below it)."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{shown}: is a folder, not a CSV file") from None
    except OSError as err:  # no permission, ...
        raise InputError(f"{shown}: cannot be read ({err.strerror or err})") from None
    if b"\x00" in raw:
        raise InputError(f"{shown}: not a text CSV file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{shown}: not a UTF-8 text CSV file") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError(f"{shown}: file is empty (no header row)")
    header = [h.strip() for h in rows[0]]
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise InputError(f"{shown}, line 1, column {sorted(dup)[0]!r}: column appears twice")
    return shown, header, rows


def _data_rows(shown: str, header: list[str], rows: list[list[str]]):
    """(line, row) for every non-blank row below the header; a ragged row is an error."""
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{shown}, line {line}: has {len(row)} cells, the header has "
                             f"{len(header)}")
        yield line, row


def read_study_csv(path: str | Path, drop_missing: bool = False) -> StudyTable:
    """Read and validate a user's study CSV (see the module docstring)."""
    shown, header, rows = _read_rows(path)
    shape, needed = _shape(header, shown)
    idx = {h: i for i, h in enumerate(header)}
    study, lines, excluded = [], [], []
    cols: dict[str, list[float]] = {c: [] for c in needed}
    extra: dict[str, list[str]] = {h: [] for h in header if h not in needed and h != "study"}
    for line, row in _data_rows(shown, header, rows):
        label = row[idx["study"]].strip()
        if not label:
            raise InputError(f"{shown}, line {line}, column 'study': study label is missing")
        values: dict[str, float] = {}
        missing = [c for c in needed if not row[idx[c]].strip() or row[idx[c]].strip().upper()
                   in ("NA", "NAN")]
        if missing:
            if drop_missing:
                excluded.append((label, f"line {line}: missing {', '.join(missing)} "
                                        "(dropped with --drop-missing)"))
                continue
            raise InputError(f"{shown}, line {line}, column {missing[0]!r}: missing value "
                             "(use --drop-missing to leave such rows out)")
        for c in needed:
            values[c] = _number(row[idx[c]].strip(), shown, line, c)
            _check(c, values[c], values, shown, line)
        if shape == "binary":
            for ev, n in (("treat_events", "treat_n"), ("control_events", "control_n")):
                if values[ev] > values[n]:
                    raise InputError(f"{shown}, line {line}, column {ev!r}: {values[ev]:g} events "
                                     f"exceed {n} = {values[n]:g}")
        if shape == "continuous":
            for n in ("treat_n", "control_n"):
                if values[n] < 2:
                    raise InputError(f"{shown}, line {line}, column {n!r}: n = {values[n]:g}; an "
                                     "SD needs n >= 2")
        study.append(label)
        lines.append(line)
        for c in needed:
            cols[c].append(values[c])
        for h in extra:
            extra[h].append(row[idx[h]].strip())
    if not study:
        if excluded:
            raise InputError(f"{shown}: every row has a missing value; nothing to pool")
        raise InputError(f"{shown}: no data rows below the header")
    return StudyTable(
        path=shown, shape=shape, study=tuple(study),
        columns={c: tuple(v) for c, v in cols.items()},
        extra={h: tuple(v) for h, v in extra.items()}, lines=tuple(lines),
        excluded=tuple(excluded),
    )


NETWORK_SHAPES = {"binary": ("events", "n"), "continuous": ("mean", "sd", "n")}


def read_network_csv(path: str | Path) -> tuple[str, dict[str, list]]:
    """Read a long-format network CSV: ``study,treatment,events,n`` or
    ``study,treatment,mean,sd,n`` (one row per study arm). Returns (shape, columns)."""
    shown, header, rows = _read_rows(path)
    for col in ("study", "treatment"):
        if col not in header:
            raise InputError(f"{shown}, line 1, column {col!r}: required column is missing")
    shape = "binary" if "events" in header else "continuous"
    for col in NETWORK_SHAPES[shape]:
        if col not in header:
            raise InputError(f"{shown}, line 1, column {col!r}: required column is missing "
                             "(header must be study,treatment,events,n or "
                             "study,treatment,mean,sd,n)")
    idx = {h: i for i, h in enumerate(header)}
    cols: dict[str, list] = {c: [] for c in ("study", "treatment", *NETWORK_SHAPES[shape])}
    for line, row in _data_rows(shown, header, rows):
        for col in ("study", "treatment"):
            if not row[idx[col]].strip():
                what = "treatment name is blank" if col == "treatment" else "study label is missing"
                raise InputError(f"{shown}, line {line}, column {col!r}: {what}")
            cols[col].append(row[idx[col]].strip())
        vals = {}
        for col in NETWORK_SHAPES[shape]:
            cell = row[idx[col]].strip()
            if not cell:
                raise InputError(f"{shown}, line {line}, column {col!r}: missing value")
            vals[col] = _number(cell, shown, line, col)
        for col, v in vals.items():
            where = f"{shown}, line {line}, column {col!r}"
            if col == "n" and (v != int(v) or v < 1):
                raise InputError(f"{where}: sample size {v:g} must be a whole number >= 1")
            if col == "events" and (v != int(v) or v < 0):
                raise InputError(f"{where}: event count {v:g} must be a whole number >= 0")
            if col == "sd" and v <= 0:
                raise InputError(f"{where}: standard deviation {v:g} must be positive")
        if shape == "binary" and vals["events"] > vals["n"]:
            raise InputError(f"{shown}, line {line}, column 'events': {vals['events']:g} events "
                             f"exceed n = {vals['n']:g}")
        if shape == "continuous" and vals["n"] < 2:
            raise InputError(f"{shown}, line {line}, column 'n': n = {vals['n']:g}; an SD needs "
                             "n >= 2")
        for col, v in vals.items():
            cols[col].append(v)
    if not cols["study"]:
        raise InputError(f"{shown}: no data rows below the header")
    return shape, cols
