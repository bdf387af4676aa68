"""Moderators to a model matrix: column names, formulas (``"~ year + C(design)"``) or arrays.

Formulas are parsed by `formulaic <https://github.com/matthewwardrop/formulaic>`_ (Wilkinson
formulas; chosen over patsy, which is in maintenance mode: see ARCHITECTURE.md). String and
categorical columns become treatment-coded indicators (first level the reference, as R's
``factor()``); ``C(x)`` makes a numeric column categorical; ``- 1`` or ``0 +`` drops the
intercept. The intercept is named ``intrcpt``, as metafor. The formulaic model spec is kept so
that :meth:`MetaRegressionResult.predict` can build the rows of new data the same way.

Checked in ``tests/results/test_api_conventions.py`` (names, coding, rows with missing
moderators dropped) and against metafor's ``mods = ~ ablat + factor(alloc)`` in
``tests/results/test_api_metafor.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError


@dataclass(frozen=True)
class Design:
    """A model matrix with its column names, the rows of the data it used and (for a formula or
    column names) the formulaic spec that rebuilds it for new data."""

    X: np.ndarray  # (k_used, p)
    names: tuple[str, ...]
    rows: np.ndarray  # bool (k,): rows of the input used (False: a moderator is missing)
    spec: object | None = None  # formulaic ModelSpec
    formula: str | None = None


def _quote(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def _rename(name: str) -> str:
    return "intrcpt" if name == "Intercept" else name


def from_formula(formula: str, data: pd.DataFrame) -> Design:
    """The model matrix of *formula* on *data* (rows with a missing moderator are dropped)."""
    try:
        from formulaic import model_matrix
        from formulaic.errors import FormulaicError
    except ImportError as e:  # pragma: no cover - formulaic is a dependency
        raise InputError("formula moderators need the 'formulaic' package") from e
    if not isinstance(data, pd.DataFrame):
        raise TypeError("a formula for mods= needs data: escalc(..., data=df) or metareg(df, ...)")
    formula = formula.strip()
    if not formula.startswith("~"):
        formula = "~ " + formula
    data = data.reset_index(drop=True)
    try:
        mm = model_matrix(formula, data, na_action="drop")
    except FormulaicError as e:  # an unknown column, bad syntax, a factor it cannot encode
        raise InputError(f"mods={formula!r}: {e} (columns: "
                         f"{', '.join(map(str, data.columns))})") from e
    rows = np.zeros(len(data), dtype=bool)
    rows[np.asarray(mm.index, dtype=int)] = True
    names = tuple(_rename(str(c)) for c in mm.columns)
    return Design(mm.to_numpy(dtype=float), names, rows, mm.model_spec, formula)


def new_rows(design: Design, newdata) -> np.ndarray:
    """Rows of the model matrix for new data with the variables of the formula."""
    if design.spec is None:
        raise TypeError("newmods as a DataFrame needs a model fitted with a formula or column "
                        "names; give an array of moderator values instead")
    from formulaic.errors import FormulaicError

    try:
        mm = design.spec.get_model_matrix(pd.DataFrame(newdata).reset_index(drop=True),
                                          na_action="raise")
    except FormulaicError as e:  # a variable missing from newmods, an unseen level, ...
        raise InputError(f"newmods for {design.formula!r}: {e}") from e
    return mm.to_numpy(dtype=float)


def design(mods, data: pd.DataFrame | None, k: int) -> Design:
    """The model matrix of *mods*: a formula string, a column name or list of column names of
    *data*, a DataFrame or Series (numeric columns as they are, others as indicators), or an
    array of shape (k,) or (k, m). An intercept is added except where a formula removes it."""
    if isinstance(mods, str) and "~" not in mods and data is not None and mods in data.columns:
        mods = [mods]
    if isinstance(mods, str):
        if data is None:
            raise TypeError(f"mods={mods!r} names columns or is a formula: it needs data "
                            "(escalc(..., data=df) or metareg(df, mods, yi=..., vi=...))")
        return from_formula(mods, data)
    if isinstance(mods, (list, tuple)) and mods and all(isinstance(m, str) for m in mods):
        if data is None:
            raise TypeError("moderator column names need data (escalc(..., data=df))")
        missing = [m for m in mods if m not in data.columns]
        if missing:
            raise InputError(f"moderator column(s) {', '.join(missing)} not in the data; the "
                             f"columns are {', '.join(map(str, data.columns))}")
        return from_formula("~ " + " + ".join(_quote(m) for m in mods), data)
    if isinstance(mods, pd.Series):
        mods = mods.to_frame(name=str(mods.name) if mods.name is not None else "mod")
    if isinstance(mods, pd.DataFrame):
        if len(mods) != k:
            raise InputError(f"moderators have {len(mods)} rows for {k} studies")
        frame = mods.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return from_formula("~ " + " + ".join(_quote(c) for c in frame.columns), frame)
    X = np.asarray(mods, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.shape[0] != k:
        raise InputError(f"moderators have {X.shape[0]} rows for {k} studies")
    rows = np.all(np.isfinite(X), axis=1)
    names = ("intrcpt", *(f"mod{i + 1}" for i in range(X.shape[1])))
    return Design(np.column_stack([np.ones(int(rows.sum())), X[rows]]), names, rows)
