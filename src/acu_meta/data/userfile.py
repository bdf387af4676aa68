"""Read a user's CSV of studies or of network arms, strictly.

Every user CSV (``acu-meta pool`` / ``forest`` / ``funnel`` study files and ``acu-meta network``
arm files) goes through one reader, :func:`read_csv`:

* UTF-8 text (a byte-order mark is allowed); NUL bytes or other encodings are refused.
* Comma-separated, RFC 4180 quoting: a field in double quotes may hold commas, ``""`` for a
  quote, and line breaks. A header separated by ``;`` or tabs is refused with a message that
  names the separator.
* Line endings LF, CRLF or CR (old Mac) are all read; in a file with LF line ends, a stray CR
  inside a line is kept as a character of its field (it is blank space at the edge of a cell).
* Any field length the file holds (there is no field size limit).
* Every cell knows its PHYSICAL line in the file (the header is line 1; a line break inside a
  quoted field counts), so every message names the line an editor shows.

Accepted shapes of a study file (header names exactly, case-sensitive; other columns are kept,
e.g. a subgroup column):

* generic: ``study,yi,vi`` or ``study,yi,sei``
* continuous: ``study,treat_mean,treat_sd,treat_n,control_mean,control_sd,control_n``
* binary: ``study,treat_events,treat_n,control_events,control_n``

and of a network file: ``study,treatment,events,n`` or ``study,treatment,mean,sd,n``.

Numbers are what a CSV user means (:func:`parse_number`): plain decimal or scientific notation
with an optional sign (``-0.5``, ``+12``, ``.5``, ``1e-3``). Underscores (``1_000``), non-ASCII
digits (``٣``, ``１２０``), hexadecimal, thousands separators or decimal commas, infinities and
values that overflow are refused with a message that says what was found. A number whose
square overflows (magnitude above :data:`SQUARE_MAX`), a variance below the smallest normal
float (:data:`VARIANCE_MIN`; its reciprocal, the weight, overflows or loses precision) and a
standard error or SD whose square is below it (:data:`SCALE_MIN`) are refused at input, naming
the cell, and so is a sample size or event count above 2**53 (:data:`COUNT_MAX`); the bounds
come from ``numpy.finfo(float)``.

Every problem is an :class:`InputError` whose one-line message names the file, the line, the
column and what is wrong (the file alone for whole-file problems). A row with a missing value
(blank, ``NA`` or ``NaN``) in a study file is an error unless ``drop_missing=True``; then it is
left out and listed in ``excluded``.

Tested by ``tests/data/test_userfile_reader.py`` (reader, numbers, bounds),
``tests/data/test_data_errors.py`` and the CLI tests under ``tests/cli/`` (including the fuzz
test ``tests/cli/test_fuzz.py``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import errors

SHAPES = {
    "binary": ("treat_events", "treat_n", "control_events", "control_n"),
    "continuous": ("treat_mean", "treat_sd", "treat_n", "control_mean", "control_sd",
                   "control_n"),
    "generic_vi": ("yi", "vi"),
    "generic_sei": ("yi", "sei"),
}
NETWORK_SHAPES = {"binary": ("events", "n"), "continuous": ("mean", "sd", "n")}

_FINFO = np.finfo(float)
#: Largest magnitude of any number read: its square is still finite (``sqrt(finfo.max)``,
#: 1.34e154; 1e160 and 1e308 are above it).
SQUARE_MAX = math.sqrt(float(_FINFO.max))
#: Smallest variance read: ``finfo.tiny`` (2.23e-308), the smallest normal float; its
#: reciprocal, the inverse-variance weight, is finite (below ``1 / finfo.max`` = 5.56e-309 it
#: overflows; 1e-320 is there).
VARIANCE_MIN = float(_FINFO.tiny)
#: Smallest standard error or SD read: its square is at least :data:`VARIANCE_MIN`
#: (``sqrt(finfo.tiny)``, 1.49e-154; 1e-160 is below it).
SCALE_MIN = math.sqrt(VARIANCE_MIN)
if SCALE_MIN * SCALE_MIN < VARIANCE_MIN:  # pragma: no cover (a rounded-down square root)
    SCALE_MIN = math.nextafter(SCALE_MIN, math.inf)
#: Largest sample size or event count read: ``2 ** (finfo.nmant + 1)`` = 2**53, the largest
#: whole number below which a float holds every whole number exactly.
COUNT_MAX = 2.0 ** (int(_FINFO.nmant) + 1)

MISSING = ("", "NA", "NAN")  # a cell that is missing (upper-cased, stripped)


class InputError(errors.InputError):
    """Malformed user input; ``str(err)`` is one line naming file, line, column and problem.

    An :class:`acu_meta.errors.InputError` (so also a ``ValueError``), re-exported as
    ``acu_meta.data.InputError``.
    """


# ---------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class CsvRecord:
    """One record below the header: its cells (as written, unstripped) and the physical line
    of the record and of each cell."""

    line: int
    cells: tuple[str, ...]
    cell_lines: tuple[int, ...]

    def line_of(self, index: int) -> int:
        """The physical line of cell *index* (the record's line for a cell it lacks)."""
        return self.cell_lines[index] if index < len(self.cell_lines) else self.line


@dataclass(frozen=True)
class CsvFile:
    """A user's CSV: the shown path, the stripped header and the non-blank records below it."""

    shown: str
    header: tuple[str, ...]
    records: tuple[CsvRecord, ...]

    def where(self, line: int, column: str | None = None) -> str:
        """``"FILE, line L, column 'C'"``: the start of a message about a cell."""
        text = f"{self.shown}, line {line}"
        return text if column is None else f"{text}, column {column!r}"

    def missing_column(self, column: str, hint: str = "") -> InputError:
        """The error for a required *column* that the header lacks (shows the header found)."""
        near = [h for h in self.header if h.lower() == column.lower()]
        case = (f"; found {near[0]!r}: column names are case-sensitive" if near else "")
        return InputError(f"{self.where(1, column)}: required column is missing{hint}{case} "
                          f"(header found: {','.join(self.header)!r})")


class _ParseError(Exception):
    def __init__(self, line: int, index: int, message: str):
        super().__init__(message)
        self.line, self.index, self.message = line, index, message


_QUOTED_BODY = re.compile(r'[^"]*(?:""[^"]*)*')
_UNQUOTED = {"\n": re.compile(r"[^,\n]*"), "\r": re.compile(r"[^,\r]*")}
_BEFORE_QUOTE = re.compile(r"[ \t]*")
_AFTER_QUOTE = {"\n": re.compile(r"[ \t\r]*"), "\r": re.compile(r"[ \t]*")}


def _tokenize(text: str):
    """Yield (line, cells, cell_lines) for every record of *text* (RFC 4180 quoting).

    The line terminator is LF (with an optional CR before it) if the text has any LF, else CR.
    Lines are counted physically: each terminator, also inside a quoted field, is one line.
    """
    nl = "\n" if "\n" in text else "\r"
    unquoted, after_quote = _UNQUOTED[nl], _AFTER_QUOTE[nl]
    pos, line, n = 0, 1, len(text)
    while pos < n:
        start, cells, lines = line, [], []
        while True:  # one field per pass
            lead = _BEFORE_QUOTE.match(text, pos).end()
            cell_line = line
            if lead < n and text[lead] == '"':
                body = _QUOTED_BODY.match(text, lead + 1)
                if body.end() >= n:
                    raise _ParseError(cell_line, len(cells), 'a quoted field opens here and is '
                                      'never closed (a closing " is missing)')
                value = body.group().replace('""', '"')
                line += value.count(nl)
                pos = after_quote.match(text, body.end() + 1).end()
                if pos < n and text[pos] not in (",", nl):
                    raise _ParseError(line, len(cells), f"{text[pos]!r} after the closing quote "
                                      'of a quoted field (write "" for a quote inside it)')
            else:
                m = unquoted.match(text, pos)
                value, pos = m.group(), m.end()
                if nl == "\n" and value.endswith("\r") and text.startswith("\n", pos):
                    value = value[:-1]  # the CR of a CRLF
            cells.append(value)
            lines.append(cell_line)
            if pos >= n:
                break
            pos += 1
            if text[pos - 1] != ",":  # the terminator
                line += 1
                break
        yield start, cells, lines


def _decode(path: Path, shown: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{shown}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{shown}: is a folder, not a CSV file") from None
    except OSError as err:  # no permission, a name too long, ...
        raise InputError(f"{shown}: cannot be read ({err.strerror or err})") from None
    if b"\x00" in raw:
        raise InputError(f"{shown}: not a text CSV file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{shown}: not a UTF-8 text CSV file (byte {err.start + 1} is "
                         f"{raw[err.start:err.start + 1]!r})") from None


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def read_csv(path: str | Path) -> CsvFile:
    """Read a user's CSV: the one reader behind :func:`read_study_csv` and
    :func:`read_network_csv` (see the module docstring for what it accepts).

    Raises :class:`InputError` naming the file (and line and column) for an unreadable, binary,
    non-UTF-8 or empty file, a header separated by something other than commas, a duplicated
    column, a quoted field that is never closed or text after a closing quote.
    """
    path = Path(path)
    shown = str(path)
    text = _decode(path, shown)
    if not text.strip():
        raise InputError(f"{shown}: file is empty (no header row)")
    header: list[str] | None = None
    records: list[CsvRecord] = []
    try:
        for line, cells, lines in _tokenize(text):
            if header is None:
                header = [c.strip() for c in cells]
                _check_header(header, shown)  # before any later line can fail
                continue
            if not "".join(cells).strip():
                continue  # a blank line
            records.append(CsvRecord(line, tuple(cells), tuple(lines)))
    except _ParseError as err:
        where = f"{shown}, line {err.line}"
        if header is not None:
            name = header[err.index] if err.index < len(header) else f"#{err.index + 1}"
            where += f", column {name!r}"
        raise InputError(f"{where}: {err.message}") from None
    return CsvFile(shown, tuple(header), tuple(records))


def _check_header(header: list[str], shown: str) -> None:
    if not any(header):
        raise InputError(f"{shown}, line 1: the first line is blank; it must be the header")
    if len(header) == 1:
        for sep, name in _SEPARATORS.items():
            if sep in header[0]:
                raise InputError(f"{shown}, line 1: the columns are separated by {name}, not "
                                 f"commas; save the file as comma-separated CSV (header found: "
                                 f"{header[0]!r})")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise InputError(f"{shown}, line 1, column {dup[0]!r}: column appears twice")


def _rows(table: CsvFile):
    """Every record, checked to have as many cells as the header."""
    width = len(table.header)
    for rec in table.records:
        if len(rec.cells) != width:
            raise InputError(f"{table.where(rec.line)}: has {len(rec.cells)} cells, the header "
                             f"has {width} ({','.join(table.header)!r})")
        yield rec


# ---------------------------------------------------------------------------- numbers


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)
_HEX = re.compile(r"[+-]?0[xX]")


def _what_is_wrong(text: str) -> str:
    """Why *text* is not a plain decimal number (a clause for the message, or "")."""
    for ch in text:
        if not ch.isascii():
            kind = "digit" if ch.isdigit() else "character"
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            return (f" (it has the non-ASCII {kind} {ch!r}, {name}; write numbers with the "
                    "ASCII digits 0-9, '.', '-' and 'e')")
    if "_" in text:
        return " (underscores are not allowed in numbers: write 1000, not 1_000)"
    if _HEX.match(text):
        return " (hexadecimal is not accepted: write the decimal value)"
    if "," in text:
        return (" (a thousands separator or decimal comma: write 1000, not 1,000, and 0.5, "
                "not 0,5)")
    if any(ch.isspace() for ch in text):
        return " (it has a space inside)"
    return ""


class _CellError(Exception):
    """What is wrong with one cell (the caller adds file, line and column)."""


def _parse(text: str, kind: str) -> float:
    if not _DECIMAL.fullmatch(text):
        if _NOT_FINITE.fullmatch(text):
            raise _CellError(f"{text!r} is not a finite number")
        raise _CellError(f"{text!r} is not a number{_what_is_wrong(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise _CellError(f"{text!r} is beyond the largest float ({float(_FINFO.max):.4g}, "
                         "numpy.finfo(float).max)")
    if value == 0 and any(ch in "123456789" for ch in re.split("[eE]", text)[0]):
        raise _CellError(f"{text!r} is below the smallest float "
                         f"({float(_FINFO.smallest_subnormal):.4g}) and would read as 0")
    if math.isinf(value * value):
        named = f"{kind} {text}" if kind else text
        raise _CellError(f"{named} is too large: its square overflows (a number must be at most "
                         f"{SQUARE_MAX:.4g} = sqrt(numpy.finfo(float).max) in magnitude)")
    return value


def parse_number(text: str, where: str, kind: str = "") -> float:
    """The float a CSV cell means, strictly; *where* starts the message of any error.

    Accepts ``[+-]digits[.digits][e[+-]digits]`` (also ``.5`` and ``5.``) in ASCII digits, and
    nothing else. Refuses, saying what was found: non-ASCII digits or signs, underscores, hex,
    thousands separators or decimal commas, inner spaces, infinities and NaN, a value beyond
    the largest float (``1e999``), a nonzero value that rounds to 0 (``1e-400``) and a value
    whose square overflows (magnitude above :data:`SQUARE_MAX`). *kind* (``"variance"``, ...)
    names the value in the message.
    """
    try:
        return _parse(text, kind)
    except _CellError as err:
        raise InputError(f"{where}: {err}") from None


def _positive_scale(value: float, text: str, kind: str) -> None:
    """A variance, standard error or SD: positive, and its weight finite."""
    if value <= 0:
        raise _CellError(f"{kind} {value:g} must be positive")
    if kind == "variance":
        if value < VARIANCE_MIN:
            why = ("its reciprocal, the weight, overflows" if math.isinf(1 / value) else
                   "it is a subnormal float, without full precision")
            raise _CellError(f"variance {text} is too small: {why} (a variance must be at "
                             f"least {VARIANCE_MIN:.4g} = numpy.finfo(float).tiny, the smallest "
                             "normal float)")
    elif value * value < VARIANCE_MIN:
        raise _CellError(f"{kind} {text} is too small: its square is below the smallest normal "
                         f"float, and the weight overflows (a {kind} must be at least "
                         f"{SCALE_MIN:.4g} = sqrt(numpy.finfo(float).tiny))")


def _is_missing(cell: str) -> bool:
    return cell.strip().upper() in MISSING


def _kind(col: str) -> str:
    """What the values of *col* are, for messages."""
    if col == "n" or col.endswith("_n"):
        return "sample size"
    if col == "events" or col.endswith("_events"):
        return "event count"
    if col == "sd" or col.endswith("_sd"):
        return "standard deviation"
    return {"vi": "variance", "sei": "standard error"}.get(col, "")


def _check(kind: str, value: float, text: str) -> None:
    """The range of one value of a study or network column, by its *kind* (:func:`_kind`)."""
    if kind in ("sample size", "event count") and value > COUNT_MAX:
        raise _CellError(f"{kind} {text} is too large: above 2**53 = {COUNT_MAX:.0f}, not every "
                         "whole number is a float (numpy.finfo(float).nmant + 1 = 53 bits)")
    if kind == "sample size":
        if value != int(value):
            raise _CellError(f"sample size {value:g} is not a whole number")
        if value < 1:
            raise _CellError(f"sample size {value:g} must be at least 1")
    elif kind == "event count":
        if value != int(value):
            raise _CellError(f"event count {value:g} is not a whole number")
        if value < 0:
            raise _CellError(f"event count {value:g} is negative")
    elif kind in ("standard deviation", "variance", "standard error"):
        _positive_scale(value, text, kind)


def _values(table: CsvFile, rec: CsvRecord, idx: dict[str, int], kinds: dict[str, str]
            ) -> dict[str, float]:
    """The checked numbers of the columns *kinds* (column -> kind) in record *rec*."""
    values = {}
    for c, kind in kinds.items():
        text = rec.cells[idx[c]].strip()
        try:
            values[c] = _parse(text, kind)
            _check(kind, values[c], text)
        except _CellError as err:
            raise InputError(f"{table.where(rec.line_of(idx[c]), c)}: {err}") from None
    return values


def _arm_counts(table: CsvFile, rec: CsvRecord, idx, values, pairs) -> None:
    for ev, n in pairs:
        if values[ev] > values[n]:
            raise InputError(f"{table.where(rec.line_of(idx[ev]), ev)}: {values[ev]:g} events "
                             f"exceed {n} = {values[n]:g}")


def _sd_needs_two(table: CsvFile, rec: CsvRecord, idx, values, cols) -> None:
    for n in cols:
        if values[n] < 2:
            raise InputError(f"{table.where(rec.line_of(idx[n]), n)}: n = {values[n]:g}; an SD "
                             "needs n >= 2")


# ---------------------------------------------------------------------------- study files


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


def _shape(table: CsvFile) -> tuple[str, tuple[str, ...]]:
    hs = set(table.header)
    if "study" not in hs:
        raise table.missing_column("study")
    if "treat_events" in hs or "control_events" in hs:
        kind = "binary"
    elif any(c in hs for c in SHAPES["continuous"]):
        kind = "continuous"
    elif "yi" in hs:
        if "vi" not in hs and "sei" not in hs:
            raise table.missing_column("vi", " (give vi or sei with yi)")
        kind = "generic_vi" if "vi" in hs else "generic_sei"
    else:
        raise InputError(
            f"{table.shown}, line 1: header must have study plus yi,vi or yi,sei or "
            "treat_mean,treat_sd,treat_n,control_mean,control_sd,control_n or "
            "treat_events,treat_n,control_events,control_n (header found: "
            f"{','.join(table.header)!r}; column names are case-sensitive)"
        )
    for col in SHAPES[kind]:
        if col not in hs:
            raise table.missing_column(col)
    return ("generic" if kind.startswith("generic") else kind), SHAPES[kind]


def read_study_csv(path: str | Path, drop_missing: bool = False) -> StudyTable:
    """Read and validate a user's study CSV (see the module docstring)."""
    table = read_csv(path)
    shape, needed = _shape(table)
    idx = {h: i for i, h in enumerate(table.header)}
    kinds = {c: _kind(c) for c in needed}
    study, lines, excluded = [], [], []
    cols: dict[str, list[float]] = {c: [] for c in needed}
    extra: dict[str, list[str]] = {h: [] for h in table.header
                                   if h not in needed and h != "study"}
    for rec in _rows(table):
        label = rec.cells[idx["study"]].strip()
        if not label:
            raise InputError(f"{table.where(rec.line_of(idx['study']), 'study')}: study label "
                             "is missing")
        missing = [c for c in needed if _is_missing(rec.cells[idx[c]])]
        if missing:
            if drop_missing:
                excluded.append((label, f"line {rec.line_of(idx[missing[0]])}: missing "
                                        f"{', '.join(missing)} (dropped with --drop-missing)"))
                continue
            raise InputError(f"{table.where(rec.line_of(idx[missing[0]]), missing[0])}: missing "
                             "value (use --drop-missing to leave such rows out)")
        values = _values(table, rec, idx, kinds)
        if shape == "binary":
            _arm_counts(table, rec, idx, values, (("treat_events", "treat_n"),
                                                  ("control_events", "control_n")))
        if shape == "continuous":
            _sd_needs_two(table, rec, idx, values, ("treat_n", "control_n"))
        study.append(label)
        lines.append(rec.line)
        for c in needed:
            cols[c].append(values[c])
        for h in extra:
            extra[h].append(rec.cells[idx[h]].strip())
    if not study:
        if excluded:
            raise InputError(f"{table.shown}: every row has a missing value; nothing to pool")
        raise InputError(f"{table.shown}: no data rows below the header")
    return StudyTable(
        path=table.shown, shape=shape, study=tuple(study),
        columns={c: tuple(v) for c, v in cols.items()},
        extra={h: tuple(v) for h, v in extra.items()}, lines=tuple(lines),
        excluded=tuple(excluded),
    )


# ---------------------------------------------------------------------------- network files


def read_network_csv(path: str | Path) -> tuple[str, dict[str, list]]:
    """Read a long-format network CSV: ``study,treatment,events,n`` or
    ``study,treatment,mean,sd,n`` (one row per study arm). Returns (shape, columns)."""
    table = read_csv(path)
    hint = " (header must be study,treatment,events,n or study,treatment,mean,sd,n)"
    for col in ("study", "treatment"):
        if col not in table.header:
            raise table.missing_column(col, hint)
    shape = "binary" if "events" in table.header else "continuous"
    for col in NETWORK_SHAPES[shape]:
        if col not in table.header:
            raise table.missing_column(col, hint)
    needed = NETWORK_SHAPES[shape]
    idx = {h: i for i, h in enumerate(table.header)}
    kinds = {c: _kind(c) for c in needed}
    cols: dict[str, list] = {c: [] for c in ("study", "treatment", *needed)}
    for rec in _rows(table):
        for col in ("study", "treatment"):
            if not rec.cells[idx[col]].strip():
                what = "treatment name is blank" if col == "treatment" else "study label is missing"
                raise InputError(f"{table.where(rec.line_of(idx[col]), col)}: {what}")
        for col in needed:
            if _is_missing(rec.cells[idx[col]]):
                raise InputError(f"{table.where(rec.line_of(idx[col]), col)}: missing value")
        vals = _values(table, rec, idx, kinds)
        if shape == "binary":
            _arm_counts(table, rec, idx, vals, (("events", "n"),))
        else:
            _sd_needs_two(table, rec, idx, vals, ("n",))
        for col in ("study", "treatment"):
            cols[col].append(rec.cells[idx[col]].strip())
        for col, v in vals.items():
            cols[col].append(v)
    if not cols["study"]:
        raise InputError(f"{table.shown}: no data rows below the header")
    return shape, cols


# ---------------------------------------------------------------------------- moderators


def moderator_column(table: StudyTable, column: str, option: str = "--mods"
                     ) -> tuple[str, tuple]:
    """The values of the extra *column* of a study *table* as a moderator (``acu-meta pool
    --mods``): ``("numeric", floats)`` when every cell is a number (read as
    :func:`parse_number` reads them), ``("categorical", labels)`` when none is.

    Refused with an :class:`InputError` naming file, line and column: a column the header lacks
    (the message shows the header found), a missing cell (blank, ``NA``), a column that mixes
    numbers and text (a typo in a numeric column must not turn it into categories), a
    categorical column with one level only, and a number the weights cannot hold.
    Tested by ``tests/cli/test_cli_moderators.py``.
    """
    if column not in table.extra:
        header = ",".join(["study", *table.columns, *table.extra])
        near = [h for h in table.extra if h.lower() == column.lower()]
        case = f"; found {near[0]!r}: column names are case-sensitive" if near else ""
        raise InputError(f"{table.path}, line 1, column {column!r}: no such column for {option}"
                         f"{case} (header found: {header!r})")
    cells = table.extra[column]
    where = [f"{table.path}, line {line}, column {column!r}" for line in table.lines]
    for text, at in zip(cells, where, strict=True):
        if _is_missing(text):
            raise InputError(f"{at}: missing value for {option} (fill it in or leave the row "
                             "out)")
    numeric = [bool(_DECIMAL.fullmatch(t.strip())) for t in cells]
    if all(numeric):
        return "numeric", tuple(parse_number(t.strip(), at) for t, at in
                                zip(cells, where, strict=True))
    if any(numeric):
        first_text = numeric.index(False)
        first_num = numeric.index(True)
        raise InputError(f"{where[first_text]}: {cells[first_text].strip()!r} is not a number, "
                         f"but {cells[first_num].strip()!r} ({where[first_num].split(', ')[1]}) "
                         f"is: a {option} column is all numbers (continuous) or all labels "
                         "(categorical)")
    labels = tuple(t.strip() for t in cells)
    if len(set(labels)) < 2:
        raise InputError(f"{table.path}, column {column!r}: every row has the level "
                         f"{labels[0]!r}; a categorical {option} column needs two levels or more")
    return "categorical", labels
