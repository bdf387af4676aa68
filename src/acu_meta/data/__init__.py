"""The transcribed evidence base: load, validate, trace.

Every table in ``data/`` is described by ``data/datapackage.json`` (a Frictionless Data Package:
column names, types, units, enums, keys). :func:`load` returns a table only after the whole
package validates; every numeric cell of an evidence table carries ``source_id`` (where it is
printed), ``location`` (table / figure / page) and ``label`` (reported / secondary; derived
values are computed in :mod:`acu_meta.data.derived`, never typed in).

Errors: :class:`DataValidationError` (a table or the dictionary breaks the data package) and
:class:`InputError` (a user's CSV, :mod:`acu_meta.data.userfile`) are both
:class:`acu_meta.errors.InputError`: bad input, reported by the CLI in one line with exit
status 2 (``tests/data/test_data_errors.py``).

Examples
--------
>>> from acu_meta import data
>>> data.list_datasets()[:3]
['sources', 'outcomes', 'arms']
>>> arms = data.load("arms")
>>> data.provenance("arms", ("haake2007", "conventional"), "n_randomized").location
'Abstract'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._schema import PROVENANCE_COLUMNS, Field, Resource, default_data_dir, read_package
from ._tables import DataValidationError, Problem, Store, decimals
from .userfile import InputError

__all__ = [
    "DataValidationError",
    "InputError",
    "Problem",
    "Provenance",
    "check",
    "data_dir",
    "decimals",
    "describe",
    "list_datasets",
    "load",
    "printed",
    "provenance",
    "validate",
]

_CACHE: dict[tuple, Store] = {}


def data_dir() -> Path:
    """The folder read by default: ``$ACU_META_DATA`` if set, else the repository's ``data/``."""
    return default_data_dir()


def _store(where: Path | str | None) -> Store:
    folder = Path(where) if where is not None else default_data_dir()
    folder = folder.resolve()
    stamp = tuple(
        sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*"))
    ) if folder.exists() else ()
    key = (str(folder), stamp)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = Store(folder)
    return _CACHE[key]


def list_datasets(where: Path | str | None = None) -> list[str]:
    """Names of the tables in the data package, in dictionary order."""
    return list(read_package(where if where is not None else default_data_dir()))


def validate(where: Path | str | None = None) -> list[Problem]:
    """Every problem in every table (empty list when the package is valid).

    Checks: header equals the dictionary; types (numbers as printed plain decimals, whole
    numbers, booleans); required values; enums; minimum / maximum; unique columns and primary
    keys; foreign keys between tables; provenance on every row with a number; no typed-in
    derived values.
    """
    return list(_store(where).problems)


def load(name: str, where: Path | str | None = None) -> pd.DataFrame:
    """Return table *name* with typed columns, after validating the whole package.

    The index is the CSV line number (header = line 1), so an error message and a row of the
    frame point at the same place. Numbers are float64 (NaN when not printed), counts are
    nullable ``Int64``, text is ``str`` ("" when empty).

    Raises
    ------
    KeyError
        Unknown dataset name.
    DataValidationError
        Any table breaks the data dictionary; the message names file, line, column and problem.
    """
    return _store(where).table(name)


def printed(name: str, where: Path | str | None = None) -> pd.DataFrame:
    """Table *name* as text exactly as transcribed (keeps printed decimals such as ``0.90``)."""
    store = _store(where)
    store.table(name)  # validates
    return store.text[name].copy()


def describe(name: str, where: Path | str | None = None) -> pd.DataFrame:
    """The data dictionary of table *name*: one row per column (type, unit, constraints)."""
    res = _resource(name, where)
    rows = []
    for f in res.fields:
        rows.append(
            {
                "column": f.name,
                "type": f.type,
                "unit": f.unit,
                "required": f.required,
                "enum": ", ".join(f.enum) if f.enum else "",
                "minimum": f.minimum,
                "maximum": f.maximum,
                "description": f.description,
            }
        )
    return pd.DataFrame(rows)


def _resource(name: str, where) -> Resource:
    resources = read_package(where if where is not None else default_data_dir())
    if name not in resources:
        raise KeyError(f"no dataset {name!r}; known datasets: {', '.join(resources)}")
    return resources[name]


@dataclass(frozen=True)
class Provenance:
    """Where one value comes from."""

    dataset: str
    line: int
    column: str
    value: float | int | str
    printed: str
    decimals: int | None
    source_id: str
    citation: str
    doi: str
    location: str
    label: str
    note: str

    def __str__(self) -> str:
        doi = f", doi:{self.doi}" if self.doi else ""
        return (
            f"{self.dataset}.{self.column} = {self.printed} ({self.label}; {self.source_id}, "
            f"{self.location}{doi})"
        )


def provenance(
    name: str, row: int | tuple | str, column: str, where: Path | str | None = None
) -> Provenance:
    """Source, location and label of one value.

    Parameters
    ----------
    name
        Dataset name (see :func:`list_datasets`).
    row
        The CSV line number (an ``int``, as in the index of :func:`load`), or the row's primary
        key (a tuple, or a string for one-column keys).
    column
        Column name; must hold a value in that row.
    """
    store = _store(where)
    frame = store.table(name)
    res = store.resources[name]
    if not res.evidence:
        raise KeyError(f"{name} is not an evidence table; its values are metadata")
    field: Field = res.field(column)
    if column in PROVENANCE_COLUMNS:
        raise KeyError(f"{column!r} is a provenance column, not a value")
    if isinstance(row, int | float) and not isinstance(row, bool):
        line = int(row)
        if line not in frame.index:
            raise KeyError(f"{name} has no line {line}")
    else:
        key = (row,) if isinstance(row, str) else tuple(row)
        pk = list(res.primary_key)
        if len(key) != len(pk):
            raise KeyError(f"{name}: primary key is ({', '.join(pk)}), got {key!r}")
        mask = (store.text[name][pk].apply(tuple, axis=1) == key)
        if not mask.any():
            raise KeyError(f"{name} has no row with ({', '.join(pk)}) = {key!r}")
        line = int(mask[mask].index[0])
    text = store.text[name].loc[line, column]
    if text == "":
        raise KeyError(f"{name} line {line} has no value in {column!r}")
    src_id = store.text[name].loc[line, "source_id"]
    sources = store.text["sources"].set_index("source_id")
    return Provenance(
        dataset=name,
        line=line,
        column=column,
        value=frame.loc[line, column],
        printed=text,
        decimals=decimals(text) if field.numeric else None,
        source_id=src_id,
        citation=sources.loc[src_id, "citation"],
        doi=sources.loc[src_id, "doi"],
        location=store.text[name].loc[line, "location"],
        label=store.text[name].loc[line, "label"],
        note=store.text[name].loc[line, "note"],
    )


def check(where: Path | str | None = None):
    """Run the consistency checks on the transcribed data; see :mod:`acu_meta.data.checks`."""
    from .checks import run_checks

    return run_checks(where)
