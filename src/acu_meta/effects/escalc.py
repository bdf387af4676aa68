"""``escalc``: study-level effect sizes and sampling variances, as metafor's ``escalc()``.

Validated against metafor 3.8.1 ``escalc()`` on dat.bcg, dat.normand1999, dat.hine1989,
dat.yusuf1985, dat.lee2004 and hand-made sets with zero and double-zero cells
(``tests/models/test_metafor_reference.py`` reads ``tests/fixtures/metafor_reference.json``;
``tests/effects/test_effects.py`` checks further cases by hand).

``hedges_j`` (the small-sample correction of Hedges' g) lives in :mod:`acu_meta.numeric` and is
importable from here as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..numeric import hedges_j

MEASURES = ("MD", "SMD", "ROM", "RR", "OR", "RD", "PETO", "GEN")
RATIO_MEASURES = frozenset({"ROM", "RR", "OR", "PETO"})
BINARY_MEASURES = frozenset({"RR", "OR", "RD", "PETO"})
CONTINUOUS_MEASURES = frozenset({"MD", "SMD", "ROM"})

MEASURE_LABELS = {
    "MD": "Mean Difference",
    "SMD": "Standardized Mean Difference",
    "ROM": "Log Ratio of Means",
    "RR": "Log Risk Ratio",
    "OR": "Log Odds Ratio",
    "RD": "Risk Difference",
    "PETO": "Log Odds Ratio (Peto)",
    "GEN": "Generic",
}


class EffectSizeError(InputError):
    """Input that cannot give an effect size; the message names the study and the argument."""


@dataclass(frozen=True)
class EffectSizes:
    """Study-level effect sizes ``yi`` with sampling variances ``vi``.

    Ratio measures (ROM, RR, OR, PETO) are on the log scale, as in metafor.

    Attributes
    ----------
    measure
        Measure code (see :data:`MEASURES`).
    yi, vi
        Effect sizes and sampling variances; NaN where a study gives none (see ``excluded``).
    study
        Study labels, one per row.
    excluded
        ``(study, reason)`` for every study whose yi/vi is NaN, e.g. a double-zero study with
        ``drop00=True``.
    corrected
        Labels of studies whose cells got the continuity correction.
    arms
        Arm-level inputs as given (uncorrected), for tables and plots.
    options
        The options used (add, to, drop00, vtype, exact).
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    study: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...] = ()
    corrected: tuple[str, ...] = ()
    arms: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("yi", "vi"):
            arr = np.asarray(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.yi)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    @property
    def ratio(self) -> bool:
        """True when yi is a log ratio (exponentiate for the natural scale)."""
        return self.measure in RATIO_MEASURES

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"study": list(self.study), "yi": self.yi, "vi": self.vi})
        frame["sei"] = np.sqrt(frame["vi"])
        if self.arms is not None:
            frame = pd.concat([frame, self.arms.reset_index(drop=True)], axis=1)
        return frame


def _arr(x, name: str) -> np.ndarray:
    if x is None:
        raise EffectSizeError(f"argument {name!r} is required for this measure")
    return np.atleast_1d(np.asarray(x, dtype=float))


def _labels(study, k: int) -> tuple[str, ...]:
    if study is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    labels = tuple(str(s) for s in study)
    if len(labels) != k:
        raise EffectSizeError(f"'study' has {len(labels)} labels for {k} studies")
    return labels


def _same_length(study, **arrays) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    k = next(iter(lengths.values()))
    bad = [n for n, m in lengths.items() if m != k]
    if bad:
        raise EffectSizeError(f"arguments differ in length: {lengths}")
    return k


def _continuous(measure, m1i, sd1i, n1i, m2i, sd2i, n2i, vtype, exact):
    if measure == "MD":
        yi = m1i - m2i
        if vtype in ("LS", "UB"):
            vi = sd1i**2 / n1i + sd2i**2 / n2i
        elif vtype == "HO":
            sdp2 = ((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / (n1i + n2i - 2)
            vi = sdp2 * (1 / n1i + 1 / n2i)
        else:
            raise EffectSizeError(f"vtype {vtype!r} is not available for MD (LS, UB, HO)")
        return yi, vi
    if measure == "SMD":
        m = n1i + n2i - 2
        sdp = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / m)
        d = (m1i - m2i) / sdp
        j = hedges_j(m, exact)
        yi = j * d
        nt = n1i + n2i
        if not exact:
            # RevMan 5 / meta: var(g) = N/(n1 n2) + g^2 / (2 (N - 3.94))
            return yi, nt / (n1i * n2i) + yi**2 / (2 * (nt - 3.94))
        if vtype == "LS":
            vi = 1 / n1i + 1 / n2i + yi**2 / (2 * nt)
        elif vtype == "UB":
            vi = 1 / n1i + 1 / n2i + (1 - (m - 2) / (m * j**2)) * yi**2
        elif vtype == "LS2":
            vi = j**2 * (1 / n1i + 1 / n2i + d**2 / (2 * nt))
        else:
            raise EffectSizeError(f"vtype {vtype!r} is not available for SMD (LS, UB, LS2)")
        return yi, vi
    # ROM
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(m1i / m2i)
        vi = sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2)
    return yi, vi


def _binary(measure, ai, bi, ci, di):
    n1i, n2i = ai + bi, ci + di
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = ai / n1i, ci / n2i
        if measure == "RR":
            return np.log(p1) - np.log(p2), 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
        if measure == "OR":
            return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di
        if measure == "RD":
            return p1 - p2, p1 * (1 - p1) / n1i + p2 * (1 - p2) / n2i
        # PETO
        ni = n1i + n2i
        xt, yt = ai + ci, bi + di
        ei = xt * n1i / ni
        vpeto = xt * yt * (n1i / ni) * (n2i / ni) / (ni - 1)
        return (ai - ei) / vpeto, 1 / vpeto


def escalc(
    measure: str,
    *,
    ai=None,
    bi=None,
    ci=None,
    di=None,
    n1i=None,
    n2i=None,
    m1i=None,
    sd1i=None,
    m2i=None,
    sd2i=None,
    yi=None,
    vi=None,
    sei=None,
    study: Sequence | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    exact: bool = True,
) -> EffectSizes:
    """Effect sizes and sampling variances, with metafor's measure codes and defaults.

    Parameters
    ----------
    measure
        One of MD, SMD, ROM, RR, OR, RD, PETO, GEN.
    ai, bi, ci, di
        2x2 cells: events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``,
        ``di``). ``bi``/``di`` may be replaced by group sizes ``n1i``/``n2i``.
    m1i, sd1i, n1i, m2i, sd2i, n2i
        Means, SDs and sizes of the two groups (continuous measures).
    yi, vi, sei
        Generic effect sizes with variances or standard errors (``measure="GEN"``).
    study
        Study labels.
    add, to, drop00
        Continuity correction, as escalc: ``add`` is added to every cell of the studies chosen
        by ``to`` ("only0": studies with a zero cell (default); "all"; "if0all": all studies if
        any has a zero cell; "none"). ``drop00=True`` gives double-zero studies (no events or
        no non-events in both groups) no yi/vi; by default they are kept (corrected).
    vtype
        Variance type for MD ("LS", "HO") and SMD ("LS" default, "UB", "LS2"), as escalc.
    exact
        SMD only: exact gamma-function correction J (metafor, default) or, with
        ``exact=False``, the RevMan 5 / meta approximation J = 1 - 3/(4N - 9) with variance
        N/(n1 n2) + g^2/(2(N - 3.94)).

    Returns
    -------
    EffectSizes

    Notes
    -----
    Validated against metafor 3.8.1 ``escalc()`` to 1e-12 (closed forms) on the fixture grid.
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise EffectSizeError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    if to not in ("only0", "all", "if0all", "none"):
        raise EffectSizeError(f"unknown 'to' {to!r}; use only0, all, if0all or none")
    if measure == "GEN":
        return _generic(yi, vi, sei, study,
                        {"add": add, "to": to, "drop00": drop00, "vtype": vtype, "exact": exact})
    if measure in CONTINUOUS_MEASURES:
        return _from_means(measure, (m1i, sd1i, n1i, m2i, sd2i, n2i), study, vtype, exact)
    return _from_counts(measure, ai, bi, ci, di, n1i, n2i, study, add, to, drop00,
                        {"add": add, "to": to, "drop00": drop00, "vtype": vtype, "exact": exact})


def _generic(yi, vi, sei, study, opts: dict) -> EffectSizes:
    """GEN: the given yi with vi (or sei squared)."""
    y = _arr(yi, "yi")
    if vi is not None:
        v = _arr(vi, "vi")
    elif sei is not None:
        v = _arr(sei, "sei") ** 2
    else:
        raise EffectSizeError("measure GEN needs 'vi' or 'sei'")
    k = _same_length(study, yi=y, vi=v)
    return EffectSizes("GEN", y, v, _labels(study, k), options=opts)


def _from_means(measure: str, values, study, vtype: str, exact: bool) -> EffectSizes:
    """MD, SMD, ROM from the two groups' means, SDs and sizes."""
    a = {n: _arr(x, n) for n, x in zip(("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), values,
                                       strict=True)}
    k = _same_length(study, **a)
    labels = _labels(study, k)
    y, v = _continuous(measure, a["m1i"], a["sd1i"], a["n1i"], a["m2i"], a["sd2i"],
                       a["n2i"], vtype, exact)
    opts = {"vtype": vtype, "exact": exact} if measure == "SMD" else {"vtype": vtype}
    return EffectSizes(measure, y, v, labels, arms=pd.DataFrame(a), options=opts)


def _correction_mask(id0: np.ndarray, present: np.ndarray, to: str) -> np.ndarray:
    """The studies that get the continuity correction under escalc's ``to`` rule."""
    if to == "all":
        return present
    if to == "only0":
        return id0
    if to == "if0all":
        return np.full(len(id0), id0.any()) & present
    return np.zeros(len(id0), dtype=bool)


def _from_counts(measure, ai, bi, ci, di, n1i, n2i, study, add, to, drop00,
                 opts: dict) -> EffectSizes:
    """RR, OR, RD, PETO from 2x2 cells, with escalc's continuity correction and drop00."""
    a_ = _arr(ai, "ai")
    c_ = _arr(ci, "ci")
    b_ = _arr(bi, "bi") if bi is not None else _arr(n1i, "n1i") - a_
    d_ = _arr(di, "di") if di is not None else _arr(n2i, "n2i") - c_
    k = _same_length(study, ai=a_, bi=b_, ci=c_, di=d_)
    labels = _labels(study, k)
    arms = pd.DataFrame({"ai": a_, "n1i": a_ + b_, "ci": c_, "n2i": c_ + d_})
    a, b, c, d = a_.copy(), b_.copy(), c_.copy(), d_.copy()
    excluded: list[tuple[str, str]] = []
    corrected: tuple[str, ...] = ()
    id00 = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    if drop00 and id00.any():
        for i in np.flatnonzero(id00):
            excluded.append((labels[i], "double-zero study (no events, or no non-events, in "
                                        "both groups) dropped (drop00=True)"))
        a[id00] = b[id00] = c[id00] = d[id00] = np.nan
    id0 = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~np.isnan(a)
    sel = _correction_mask(id0, ~np.isnan(a), to)
    if add and sel.any():
        a[sel] += add
        b[sel] += add
        c[sel] += add
        d[sel] += add
        corrected = tuple(labels[i] for i in np.flatnonzero(sel))
    y, v = _binary(measure, a, b, c, d)
    bad = ~np.isfinite(y) | ~np.isfinite(v)
    for i in np.flatnonzero(bad & ~(drop00 & id00)):
        excluded.append((labels[i], "effect size not estimable (a zero cell and no continuity "
                                    "correction)"))
    y = np.where(bad, np.nan, y)
    v = np.where(bad, np.nan, v)
    return EffectSizes(measure, y, v, labels, tuple(excluded), corrected, arms, opts)
