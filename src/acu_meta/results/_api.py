"""The metafor-style calling conventions shared by the public functions of :mod:`acu_meta.results`.

- **Strict keyword arguments.** :func:`check_kwargs` raises ``TypeError`` for any keyword a
  function does not take, naming the argument the user probably meant (metafor's names such as
  ``tau2_method``/``slab``/``weights`` are mapped to this package's, or said to be unsupported),
  so a misspelt option never silently gives another analysis.
- **metafor's ``test=``.** :func:`hksj_from_test` reads ``test="z"``/``"knha"`` (also ``"t"``,
  ``"hksj"``) as the project's own ``hksj=`` flag.
- **Wrong kinds of object.** :func:`require` raises ``TypeError`` saying what is needed.
- **level.** Every function reads ``level`` through :func:`acu_meta.numeric.level_fraction`
  (95 or 0.95).

Checked in ``tests/results/test_api_conventions.py``.
"""

from __future__ import annotations

import difflib

from ..errors import InputError

#: metafor (or meta) argument names and what to use here instead (None: not supported).
METAFOR_NAMES = {
    "tau2_method": "method",
    "tau2method": "method",
    "method_tau": "method",
    "slab": "study",
    "studlab": "study",
    "sm": "measure",
    "knha": "hksj",
    "weights": None,
    "weighted": None,
}


def check_kwargs(func: str, given: dict, allowed) -> None:
    """Raise TypeError for every keyword in *given* that is not in *allowed*."""
    allowed = set(allowed)
    bad = [k for k in given if k not in allowed]
    if not bad:
        return
    msgs = []
    for k in bad:
        if k in METAFOR_NAMES:
            alt = METAFOR_NAMES[k]
            msgs.append(f"{k!r} (use {alt}=)" if alt else f"{k!r} (not supported by {func})")
            continue
        close = difflib.get_close_matches(k, sorted(allowed), n=1, cutoff=0.5)
        msgs.append(f"{k!r}" + (f" (did you mean {close[0]}=?)" if close else ""))
    raise TypeError(f"{func}() got unexpected keyword argument(s): {', '.join(msgs)}")


def hksj_from_test(test, hksj):
    """metafor's ``test=`` ("z", "knha"; also "t", "hksj", "adhoc" refused) as ``hksj``."""
    if test is None:
        return hksj
    t = str(test).lower()
    if t not in ("z", "knha", "t", "hksj"):
        raise InputError(f"test={test!r}: use 'z' or 'knha' (Hartung-Knapp-Sidik-Jonkman)")
    value = t != "z"
    if hksj is not None and bool(hksj) != value:
        raise TypeError(f"test={test!r} and hksj={hksj!r} disagree; give one of them")
    return value


def require(obj, kinds, func: str, what: str):
    """Raise TypeError unless *obj* is an instance of *kinds*, saying what *func* needs."""
    if not isinstance(obj, kinds):
        raise TypeError(f"{func}() needs {what}, not {type(obj).__name__}")
    return obj
