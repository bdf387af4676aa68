"""The metafor 3.8.1 reference fixtures (``tests/fixtures/metafor_reference.json``, the grid of
escalc/rma/MH/Peto/moderator cases; ``tests/fixtures/metafor_sensitivity.json``, the sensitivity
and small-study cases) and the comparison helpers of the tests that read them.

The fixture is written by ``validation/metafor/reference.R`` (numbers printed with %.17g;
iterative estimators run with threshold 1e-13 so the reference itself is accurate far beyond
the tolerances of ``tests/tolerances.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings

import numpy as np
from _helpers import fixture_json
from tolerances import CLOSED_FORM, ITERATIVE

from acu_meta import escalc
from acu_meta.effects import EffectSizes
from acu_meta.results import pool

REF = fixture_json("metafor_reference.json")
SENSITIVITY = fixture_json("metafor_sensitivity.json")

#: tau2 estimators whose estimate is an iterative root (ITERATIVE); the rest are closed forms.
ITERATIVE_METHODS = {"REML", "ML", "PM", "EB"}


def tol_for(method: str) -> float:
    """The tolerance of a fit by *method* against metafor."""
    return ITERATIVE if method in ITERATIVE_METHODS else CLOSED_FORM


def close(a, b, rtol, atol=None) -> bool:
    """Equal within rtol relative to b, or atol absolutely (default atol = rtol); metafor's
    NA (None) matches None or NaN, "Inf"/"-Inf" match the infinities."""
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    if isinstance(b, str):
        return (b == "Inf" and a == math.inf) or (b == "-Inf" and a == -math.inf)
    atol = rtol if atol is None else atol
    return abs(a - b) <= atol + rtol * abs(b)


def assert_close(got, want, rtol, what):
    assert close(got, want, rtol), f"{what}: got {got!r}, metafor {want!r}"


def escalc_case(e) -> EffectSizes:
    """acu_meta's escalc for one case of the fixture's escalc grid."""
    d = REF["datasets"][e["dataset"]]
    opts = dict(e.get("options") or {})
    kw = {}
    if d["kind"] == "binary":
        kw = dict(ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
        for key in ("add", "to", "drop00"):
            if key in opts:
                kw[key] = opts[key]
    elif d["kind"] == "continuous":
        kw = {c: d[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
        if "vtype" in opts:
            kw["vtype"] = opts["vtype"]
    else:
        kw = dict(yi=d["yi"], vi=d["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return escalc(e["measure"], study=d["study"], **kw)


def es_for(dataset: str, measure: str) -> EffectSizes:
    """The effect sizes of one dataset and measure, as in the fixture's escalc grid."""
    e = next(x for x in REF["escalc"] if x["id"] == f"{dataset}-{measure}")
    return escalc_case(e)


def num(x) -> float:
    """A fixture number: None (R's NA) -> NaN, "Inf"/"-Inf" -> the infinities."""
    if x is None:
        return math.nan
    if x == "Inf":
        return math.inf
    if x == "-Inf":
        return -math.inf
    return float(x)


def arr(xs) -> np.ndarray:
    return np.array([num(x) for x in xs], dtype=float)


@functools.cache
def sensitivity_model(dataset: str, method: str, test: str):
    """The pooled fit of one dataset of the sensitivity fixture (cached: results are frozen)."""
    d = SENSITIVITY["datasets"][dataset]
    res = pool(yi=arr(d["yi"]), vi=arr(d["vi"]), study=d["study"], method=method,
               hksj=test == "knha")
    return dataclasses.replace(res, measure=d["measure"])
