"""Read ``data/datapackage.json``: the data dictionary every table is validated against.

The file follows the Frictionless Data Package / Table Schema layout (``resources`` with
``schema.fields``, ``primaryKey``, ``foreignKeys``; field ``type`` and ``constraints``), so
external tools can read it too. acu_meta adds one resource property, ``acu:evidence``: a table
whose every numeric cell must carry provenance (``source_id``, ``location``, ``label``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROVENANCE_COLUMNS = ("source_id", "location", "label", "note")
LABELS = ("reported", "secondary", "derived")


@dataclass(frozen=True)
class Field:
    """One column of a table: name, type, and constraints from the data dictionary."""

    name: str
    type: str
    description: str = ""
    unit: str = ""
    required: bool = False
    unique: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def numeric(self) -> bool:
        """True for ``number`` and ``integer`` columns (the cells that need provenance)."""
        return self.type in ("number", "integer")


@dataclass(frozen=True)
class ForeignKey:
    """A column whose non-empty values must appear in a column of another table."""

    field: str
    resource: str
    ref_field: str


@dataclass(frozen=True)
class Resource:
    """One table of the data package."""

    name: str
    path: str
    title: str
    description: str
    evidence: bool
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no column {name!r}")


def default_data_dir() -> Path:
    """The evidence folder: ``$ACU_META_DATA`` if set, else ``data/`` at the repository root."""
    env = os.environ.get("ACU_META_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "data"


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _field(spec: dict) -> Field:
    c = spec.get("constraints", {})
    enum = c.get("enum")
    return Field(
        name=spec["name"],
        type=spec.get("type", "string"),
        description=spec.get("description", ""),
        unit=spec.get("unit", ""),
        required=bool(c.get("required", False)),
        unique=bool(c.get("unique", False)),
        enum=tuple(enum) if enum is not None else None,
        minimum=c.get("minimum"),
        maximum=c.get("maximum"),
    )


def _package_error(path: Path, message: str):
    """A :class:`DataValidationError` for the data dictionary itself (file, no line)."""
    from ._tables import DataValidationError, Problem  # _tables imports this module

    return DataValidationError([Problem(str(path), None, None, message)])


def _resource(r: dict) -> Resource:
    schema = r["schema"]
    fks = tuple(
        ForeignKey(fk["fields"], fk["reference"]["resource"], fk["reference"]["fields"])
        for fk in schema.get("foreignKeys", [])
    )
    return Resource(
        name=r["name"],
        path=r["path"],
        title=r.get("title", r["name"]),
        description=r.get("description", ""),
        evidence=bool(r.get("acu:evidence", False)),
        fields=tuple(_field(f) for f in schema["fields"]),
        primary_key=_as_tuple(schema.get("primaryKey")),
        foreign_keys=fks,
    )


def read_package(data_dir: Path | str | None = None) -> dict[str, Resource]:
    """Parse ``datapackage.json`` in *data_dir* into :class:`Resource` objects, keyed by name.

    Raises
    ------
    DataValidationError
        The dictionary is missing, is not JSON, or lacks a required entry (``resources``; per
        resource ``name``, ``path``, ``schema.fields``; per field ``name``); the message names
        the file.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    path = data_dir / "datapackage.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise _package_error(path, "data dictionary not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _package_error(path, f"data dictionary is not valid JSON ({err})") from None
    try:
        return {r["name"]: _resource(r) for r in raw["resources"]}
    except (KeyError, TypeError) as err:
        raise _package_error(path, f"data dictionary lacks a required entry ({err!r})") from None
