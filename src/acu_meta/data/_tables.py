"""Read the CSV tables of ``data/`` as printed text, validate them, and type them.

Validation is strict and complete: every problem is reported with file, line, column and what is
wrong, and a table with any problem is not returned. Numbers must be written exactly as printed
(plain decimals such as ``0.90``, ``-0.00``, ``13475``), so the number of printed decimals can be
recovered from the text (:func:`decimals`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._schema import Resource, read_package

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")
_BOOLEAN = {"true": True, "false": False}


@dataclass(frozen=True)
class Problem:
    """One validation problem, located to file, line and column."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class DataValidationError(InputError):
    """Raised when a data table breaks its data dictionary.

    ``str(err)`` is one line naming file, line, column and problem (the first problem found);
    ``err.problems`` lists every problem. An :class:`acu_meta.errors.InputError` (so also a
    ``ValueError``): the CLI reports it in one line with exit status 2.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = str(self.problems[0])
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem(s))" if more else ""))


def decimals(text: str) -> int:
    """Number of printed decimals of a number written as text (``"0.90"`` -> 2, ``"387"`` -> 0)."""
    text = text.strip()
    return len(text.split(".", 1)[1]) if "." in text else 0


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text_table(resource: Resource, data_dir: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a table as strings (exactly as in the file) and check its shape and header."""
    path = data_dir / resource.path
    shown = _display(path)
    problems: list[Problem] = []
    if not path.exists():
        return pd.DataFrame(columns=list(resource.field_names)), [
            Problem(shown, None, None, "file not found")
        ]
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        return pd.DataFrame(columns=list(resource.field_names)), [
            Problem(shown, None, None, "not a UTF-8 text CSV file")
        ]
    except OSError as err:  # a folder, no permission, ...
        return pd.DataFrame(columns=list(resource.field_names)), [
            Problem(shown, None, None, f"cannot be read ({err.strerror or err})")
        ]
    if not rows:
        return pd.DataFrame(columns=list(resource.field_names)), [
            Problem(shown, None, None, "file is empty (no header row)")
        ]
    header = [h.strip() for h in rows[0]]
    expected = list(resource.field_names)
    if header != expected:
        missing = [c for c in expected if c not in header]
        extra = [c for c in header if c not in expected]
        if missing:
            problems.append(
                Problem(shown, 1, missing[0], "required column is missing from the header")
            )
        elif extra:
            problems.append(Problem(shown, 1, extra[0], "column is not in the data dictionary"))
        else:
            problems.append(
                Problem(shown, 1, None, f"columns are out of order; expected {','.join(expected)}")
            )
        return pd.DataFrame(columns=expected), problems
    body = []
    lines = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            problems.append(Problem(shown, i, None, "blank line"))
            continue
        if len(row) != len(header):
            problems.append(
                Problem(shown, i, None, f"has {len(row)} cells, the header has {len(header)}")
            )
            continue
        body.append([c.strip() for c in row])
        lines.append(i)
    frame = pd.DataFrame(body, columns=expected, dtype=object)
    frame.index = pd.Index(lines, name="line")
    return frame, problems


def _check_cell(field, text: str) -> str | None:
    """Return a problem message for one cell, or None."""
    if text == "":
        return "required value is missing" if field.required else None
    if text.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity", "na", "null"):
        return f"{text!r} is not allowed; leave the cell empty for a missing value"
    if field.type == "number":
        if not _NUMBER.match(text):
            return f"{text!r} is not a number written as printed (plain decimal)"
        value = float(text)
    elif field.type == "integer":
        if not _INTEGER.match(text):
            return f"{text!r} is not a whole number"
        value = float(text)
    elif field.type == "boolean":
        if text not in _BOOLEAN:
            return f"{text!r} is not true or false"
        return None
    else:
        value = None
    if field.enum is not None and text not in field.enum:
        return f"{text!r} is not one of {', '.join(repr(e) for e in field.enum if e)}"
    if value is not None:
        if not math.isfinite(value):
            return f"{text!r} is not finite"
        if field.minimum is not None and value < field.minimum:
            return f"{text} is below the minimum {field.minimum}"
        if field.maximum is not None and value > field.maximum:
            return f"{text} is above the maximum {field.maximum}"
    return None


def validate_cells(resource: Resource, text: pd.DataFrame, shown: str) -> list[Problem]:
    """Types, enums, ranges, required and unique values, primary key, provenance rules."""
    problems: list[Problem] = []
    for field in resource.fields:
        for line, cell in text[field.name].items():
            msg = _check_cell(field, cell)
            if msg:
                problems.append(Problem(shown, int(line), field.name, msg))
        if field.unique:
            dup = text[field.name][text[field.name].duplicated(keep="first")]
            for line, cell in dup.items():
                if cell:
                    problems.append(Problem(shown, int(line), field.name, f"{cell!r} is repeated"))
    if resource.primary_key:
        key = text[list(resource.primary_key)].apply(tuple, axis=1)
        for line in key[key.duplicated(keep="first")].index:
            problems.append(
                Problem(
                    shown,
                    int(line),
                    None,
                    f"primary key ({', '.join(resource.primary_key)}) = {key[line]} is repeated",
                )
            )
    if resource.evidence:
        for line, label in text["label"].items():
            if label == "derived":
                problems.append(
                    Problem(
                        shown,
                        int(line),
                        "label",
                        "derived values are computed in code (acu_meta.data.derived), "
                        "never typed into data/",
                    )
                )
    return problems


def validate_foreign_keys(
    resource: Resource, text: pd.DataFrame, tables: dict[str, pd.DataFrame], shown: str
) -> list[Problem]:
    problems: list[Problem] = []
    for fk in resource.foreign_keys:
        ref = tables.get(fk.resource)
        if ref is None:
            continue
        allowed = set(ref[fk.ref_field])
        for line, cell in text[fk.field].items():
            if cell and cell not in allowed:
                problems.append(
                    Problem(
                        shown,
                        int(line),
                        fk.field,
                        f"{cell!r} is not listed in {fk.resource}.csv (column {fk.ref_field})",
                    )
                )
    return problems


def typed(resource: Resource, text: pd.DataFrame) -> pd.DataFrame:
    """Convert a validated text table to typed columns.

    number -> float64 (NaN when empty), integer -> pandas nullable Int64, boolean -> bool,
    string -> str ("" when empty). The index is the CSV line number.
    """
    out = {}
    for field in resource.fields:
        col = text[field.name]
        if field.type == "number":
            out[field.name] = pd.to_numeric(col.replace("", np.nan), errors="raise").astype(float)
        elif field.type == "integer":
            out[field.name] = pd.array(
                [int(c) if c != "" else pd.NA for c in col], dtype="Int64"
            )
        elif field.type == "boolean":
            out[field.name] = col.map(_BOOLEAN).astype(bool)
        else:
            out[field.name] = col.astype(str)
    frame = pd.DataFrame(out, index=text.index)
    return frame


class Store:
    """Every table of a data folder, read once, validated together (foreign keys span tables)."""

    def __init__(self, data_dir: Path | str | None = None):
        from ._schema import default_data_dir

        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.resources = read_package(self.data_dir)
        self.text: dict[str, pd.DataFrame] = {}
        self.problems: list[Problem] = []
        for name, res in self.resources.items():
            frame, probs = read_text_table(res, self.data_dir)
            self.text[name] = frame
            self.problems.extend(probs)
        for name, res in self.resources.items():
            shown = _display(self.data_dir / res.path)
            if any(p.file == shown and p.line in (None, 1) for p in self.problems):
                continue  # header or file problems: cells cannot be checked
            self.problems.extend(validate_cells(res, self.text[name], shown))
            self.problems.extend(validate_foreign_keys(res, self.text[name], self.text, shown))

    def raise_if_invalid(self) -> None:
        if self.problems:
            raise DataValidationError(self.problems)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.resources:
            known = ", ".join(sorted(self.resources))
            raise KeyError(f"no dataset {name!r}; known datasets: {known}")
        self.raise_if_invalid()
        return typed(self.resources[name], self.text[name])
