"""``escalc``: study-level effect sizes and sampling variances, as metafor's ``escalc()``.

Validated against metafor 3.8.1 ``escalc()`` on dat.bcg, dat.normand1999, dat.hine1989,
dat.yusuf1985, dat.lee2004 and hand-made sets with zero and double-zero cells
(``tests/models/test_metafor_reference.py`` reads ``tests/fixtures/metafor_reference.json``;
``tests/effects/test_effects.py`` checks further cases by hand); the correlation, pre-post,
single-proportion and rate measures (COR, UCOR, ZCOR, SMCC, SMCR, MC, PR, PLO, PAS, PFT, IRR,
IRD, with their vtype options) on the ``escalc`` and ``escalc_rma`` families of
``tests/fixtures/metafor_gaps.json`` (``tests/effects/test_escalc_gaps.py``).

``hedges_j`` (the small-sample correction of Hedges' g) lives in :mod:`acu_meta.numeric` and is
importable from here as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..numeric import hedges_j
from ._hypergeometric import hyp2f1

MEASURES = ("MD", "SMD", "ROM", "RR", "OR", "RD", "PETO", "GEN", "COR", "UCOR", "ZCOR",
            "SMCC", "SMCR", "MC", "PR", "PLO", "PAS", "PFT", "IRR", "IRD")
RATIO_MEASURES = frozenset({"ROM", "RR", "OR", "PETO", "IRR"})
BINARY_MEASURES = frozenset({"RR", "OR", "RD", "PETO"})
CONTINUOUS_MEASURES = frozenset({"MD", "SMD", "ROM"})
CORRELATION_MEASURES = frozenset({"COR", "UCOR", "ZCOR"})
PREPOST_MEASURES = frozenset({"SMCC", "SMCR", "MC"})
PROPORTION_MEASURES = frozenset({"PR", "PLO", "PAS", "PFT"})
RATE_MEASURES = frozenset({"IRR", "IRD"})

MEASURE_LABELS = {
    "MD": "Mean Difference",
    "SMD": "Standardized Mean Difference",
    "ROM": "Log Ratio of Means",
    "RR": "Log Risk Ratio",
    "OR": "Log Odds Ratio",
    "RD": "Risk Difference",
    "PETO": "Log Odds Ratio (Peto)",
    "GEN": "Generic",
    "COR": "Raw Correlation Coefficient",
    "UCOR": "Raw Correlation Coefficient (bias-corrected, Olkin-Pratt)",
    "ZCOR": "Fisher's r-to-z Transformed Correlation Coefficient",
    "SMCC": "Standardized Mean Change (change-score standardization)",
    "SMCR": "Standardized Mean Change (raw-score standardization)",
    "MC": "Mean Change",
    "PR": "Proportion",
    "PLO": "Log Odds (single proportion)",
    "PAS": "Arcsine Square Root Transformed Proportion",
    "PFT": "Freeman-Tukey Double Arcsine Transformed Proportion",
    "IRR": "Log Incidence Rate Ratio",
    "IRD": "Incidence Rate Difference",
}

#: The variance types (``vtype``) each measure takes, as metafor 3.8.1 (the first is the
#: default; any other value is refused).
VTYPES = {
    "MD": ("LS", "UB", "HO"), "SMD": ("LS", "UB", "LS2"), "ROM": ("LS",),
    "RR": ("LS",), "OR": ("LS",), "RD": ("LS",), "PETO": ("LS",), "GEN": ("LS",),
    "COR": ("LS", "AV"), "UCOR": ("LS", "UB", "AV"), "ZCOR": ("LS",),
    "SMCC": ("LS", "LS2"), "SMCR": ("LS", "LS2"), "MC": ("LS",),
    "PR": ("LS", "UB", "AV"), "PLO": ("LS", "AV"), "PAS": ("LS",), "PFT": ("LS",),
    "IRR": ("LS",), "IRD": ("LS",),
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
    data
        With ``escalc(..., data=df)``: the rows of ``df`` (index reset), one per study, so that
        moderators and other columns travel with the effect sizes (``pool``, ``metareg``).
    """

    measure: str
    yi: np.ndarray
    vi: np.ndarray
    study: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...] = ()
    corrected: tuple[str, ...] = ()
    arms: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)

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
        """study, yi, vi, sei, the arm data, and the other columns of ``data`` (if given)."""
        frame = pd.DataFrame({"study": list(self.study), "yi": self.yi, "vi": self.vi})
        frame["sei"] = np.sqrt(frame["vi"])
        if self.arms is not None:
            frame = pd.concat([frame, self.arms.reset_index(drop=True)], axis=1)
        if self.data is not None:
            extra = self.data.drop(columns=[c for c in self.data.columns if c in frame.columns])
            frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
        return frame

    def subset(self, keep) -> EffectSizes:
        """The studies where the boolean mask *keep* is True (arm data and ``data`` rows too)."""
        keep = np.asarray(keep, dtype=bool)
        return EffectSizes(
            self.measure, self.yi[keep], self.vi[keep],
            tuple(s for s, k in zip(self.study, keep, strict=True) if k),
            excluded=tuple((s, r) for s, r in self.excluded
                           if s in {x for x, k in zip(self.study, keep, strict=True) if k}),
            corrected=tuple(c for c in self.corrected
                            if c in {x for x, k in zip(self.study, keep, strict=True) if k}),
            arms=self.arms[keep].reset_index(drop=True) if self.arms is not None else None,
            options=self.options,
            data=self.data[keep].reset_index(drop=True) if self.data is not None else None)


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
    ri=None,
    ni=None,
    xi=None,
    mi=None,
    x1i=None,
    t1i=None,
    x2i=None,
    t2i=None,
    study: Sequence | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    exact: bool = True,
    data: pd.DataFrame | None = None,
    slab: Sequence | str | None = None,
) -> EffectSizes:
    """Effect sizes and sampling variances, with metafor's measure codes and defaults.

    Parameters
    ----------
    measure
        One of :data:`MEASURES`: MD, SMD, ROM (two groups' means); RR, OR, RD, PETO (2x2
        counts); GEN (given yi); COR, UCOR, ZCOR (correlations); SMCC, SMCR, MC (pre-post
        change in one group); PR, PLO, PAS, PFT (single proportions); IRR, IRD (two
        incidence rates).
    ai, bi, ci, di
        2x2 cells: events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``,
        ``di``). ``bi``/``di`` may be replaced by group sizes ``n1i``/``n2i``.
    m1i, sd1i, n1i, m2i, sd2i, n2i
        Means, SDs and sizes of the two groups (continuous measures). For the pre-post
        measures ``m1i, sd1i`` and ``m2i, sd2i`` are the two time points of one group (metafor's
        convention: yi is ``m1i - m2i``), with ``ni`` and ``ri``.
    yi, vi, sei
        Generic effect sizes with variances or standard errors (``measure="GEN"``).
    ri, ni
        Correlation and sample size (COR, UCOR, ZCOR); ``ri`` is the correlation of the two
        time points for SMCC, SMCR and MC.
    xi, ni (or mi)
        Events and sample size (or non-events ``mi = ni - xi``) of a single proportion.
    x1i, t1i, x2i, t2i
        Events and person-time of the two groups (IRR, IRD).
    study
        Study labels.
    add, to, drop00
        Continuity correction, as escalc: ``add`` is added to every cell of the studies chosen
        by ``to`` ("only0": studies with a zero cell (default); "all"; "if0all": all studies if
        any has a zero cell; "none"). ``drop00=True`` gives double-zero studies (no events or
        no non-events in both groups; IRR/IRD: no events in both groups) no yi/vi; by default
        they are kept (corrected). For PR and PLO a "zero cell" is ``xi = 0`` or ``xi = ni``;
        PAS and PFT are never corrected (metafor 3.8.1).
    vtype
        Variance type (:data:`VTYPES` lists those of each measure; the first is the default):
        MD "LS", "UB", "HO"; SMD "LS", "UB", "LS2"; COR "LS", "AV"; UCOR "LS", "UB", "AV";
        SMCC and SMCR "LS", "LS2"; PR "LS", "UB", "AV"; PLO "LS", "AV"; the others "LS".
    exact
        SMD only: exact gamma-function correction J (metafor, default) or, with
        ``exact=False``, the RevMan 5 / meta approximation J = 1 - 3/(4N - 9) with variance
        N/(n1 n2) + g^2/(2(N - 3.94)).
    data
        A DataFrame, as metafor's ``data=``: every data argument (and ``study``/``slab``) given
        as a string is the name of one of its columns (``escalc("RR", data=df, ai="tpos",
        bi="tneg", ci="cpos", di="cneg", slab="author")``). The rows travel with the result
        (:attr:`EffectSizes.data`). A missing column raises ``EffectSizeError`` listing the
        columns found.
    slab
        metafor's name for ``study`` (give one of the two).

    Returns
    -------
    EffectSizes
        yi is on metafor's scale (log for RR, OR, PETO, ROM, IRR; logit for PLO; the
        transformed scale for ZCOR, PAS and PFT). Studies whose yi or vi is not finite (metafor:
        NA) get NaN and a reason in ``excluded``.

    Notes
    -----
    The formulas of the correlation, pre-post, proportion and rate measures are those of
    :func:`_correlation`, :func:`_prepost`, :func:`_proportion` and :func:`_rates` (metafor
    3.8.1). Validated against metafor 3.8.1 ``escalc()`` to 1e-12 (closed forms) on the fixture
    grids: ``tests/models/test_metafor_reference.py`` (two-group measures) and
    ``tests/effects/test_escalc_gaps.py`` (the measures above, every vtype, the zero-cell
    options; and ``pool`` on them against ``rma`` FE and REML).
    """
    if slab is not None:
        if study is not None:
            raise TypeError("give study= or slab= (metafor's name), not both")
        study = slab
    if data is not None:
        return _from_data(measure, data, study, dict(
            ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, m1i=m1i, sd1i=sd1i, m2i=m2i, sd2i=sd2i,
            yi=yi, vi=vi, sei=sei, ri=ri, ni=ni, xi=xi, mi=mi, x1i=x1i, t1i=t1i, x2i=x2i,
            t2i=t2i), dict(add=add, to=to, drop00=drop00, vtype=vtype, exact=exact))
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise EffectSizeError(f"unknown measure {measure!r}; use one of {', '.join(MEASURES)}")
    if to not in ("only0", "all", "if0all", "none"):
        raise EffectSizeError(f"unknown 'to' {to!r}; use only0, all, if0all or none")
    vtype = str(vtype).upper()
    if vtype not in VTYPES[measure]:
        raise EffectSizeError(f"vtype {vtype!r} is not available for {measure} "
                              f"({', '.join(VTYPES[measure])})")
    opts = {"add": add, "to": to, "drop00": drop00, "vtype": vtype, "exact": exact}
    if measure == "GEN":
        return _generic(yi, vi, sei, study, opts)
    if measure in CONTINUOUS_MEASURES:
        return _from_means(measure, (m1i, sd1i, n1i, m2i, sd2i, n2i), study, vtype, exact)
    if measure in CORRELATION_MEASURES:
        return _from_correlations(measure, ri, ni, study, vtype)
    if measure in PREPOST_MEASURES:
        return _from_prepost(measure, m1i, m2i, sd1i, sd2i, ni, ri, study, vtype)
    if measure in PROPORTION_MEASURES:
        return _from_proportions(measure, xi, ni, mi, study, add, to, vtype)
    if measure in RATE_MEASURES:
        return _from_rates(measure, x1i, t1i, x2i, t2i, study, add, to, drop00)
    return _from_counts(measure, ai, bi, ci, di, n1i, n2i, study, add, to, drop00, opts)


def _column(data: pd.DataFrame, name: str, what: str):
    if name not in data.columns:
        raise EffectSizeError(f"{what}={name!r}: no such column in data; the columns are "
                              f"{', '.join(map(str, data.columns))}")
    return data[name].to_numpy()


def _from_data(measure, data, study, args: dict, options: dict) -> EffectSizes:
    """escalc(..., data=df): strings name columns of *df*; the rows are kept with the result."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data= must be a pandas DataFrame, not {type(data).__name__}")
    data = data.reset_index(drop=True)
    resolved = {k: (_column(data, v, k) if isinstance(v, str) else v)
                for k, v in args.items() if v is not None}
    if isinstance(study, str):
        study = [str(s) for s in _column(data, study, "study")]
    out = escalc(measure, study=study, **resolved, **options)
    if len(out.yi) != len(data):
        raise EffectSizeError(f"data has {len(data)} rows but the arguments give {len(out.yi)} "
                              "studies")
    return dataclasses.replace(out, data=data)


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


# ------------------------------------------------------------------ one-sample and rate measures


def _not_finite(labels, y, v, reason: str, skip=None):
    """yi/vi set to NaN where either is not finite (metafor: NA), with the reason."""
    bad = ~np.isfinite(y) | ~np.isfinite(v)
    listed = bad if skip is None else bad & ~skip  # skip: already excluded (drop00)
    excluded = [(labels[i], reason) for i in np.flatnonzero(listed)]
    return np.where(bad, np.nan, y), np.where(bad, np.nan, v), excluded


def _check(cond: np.ndarray, labels, message: str) -> None:
    """EffectSizeError naming the first study where *cond* fails (NaN inputs pass)."""
    bad = np.flatnonzero(~cond)
    if bad.size:
        raise EffectSizeError(f"study {labels[bad[0]]!r}: {message}")


def _correlation(measure: str, r, n, vtype: str):
    """COR, UCOR, ZCOR from correlations r and sample sizes n (metafor 3.8.1).

    COR: ``yi = r``, LS ``vi = (1 - r^2)^2 / (n - 1)``, AV: r replaced by the n-weighted mean of
    the r's. UCOR (Olkin & Pratt 1958): ``yi = r 2F1(1/2, 1/2; (n - 2)/2; 1 - r^2)``, NaN for
    n <= 4; LS ``(1 - yi^2)^2 / (n - 1)``, AV with the n-weighted mean of the yi, UB (Hedges
    1989, unbiased) ``yi^2 - 1 + (n - 3)/(n - 2) (1 - r^2) 2F1(1, 1; n/2; 1 - r^2)``.
    ZCOR: ``yi = atanh(r)``, ``vi = 1 / (n - 3)`` (NaN for n <= 3: no variance).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "ZCOR":
            return np.arctanh(r), np.where(n > 3, 1 / (n - 3), np.nan)
        if measure == "COR":
            y = r.copy()
        else:
            y = np.where(n > 4, r * hyp2f1(0.5, 0.5, (n - 2) / 2, 1 - r**2), np.nan)
        if vtype == "UB":  # UCOR only
            v = y**2 - 1 + (n - 3) / (n - 2) * (1 - r**2) * hyp2f1(1.0, 1.0, n / 2, 1 - r**2)
        elif vtype == "AV":
            ok = np.isfinite(y) & np.isfinite(n)
            ybar = np.sum(n[ok] * y[ok]) / np.sum(n[ok])
            v = (1 - ybar**2) ** 2 / (n - 1)
        else:
            v = (1 - y**2) ** 2 / (n - 1)
    return y, v


def _from_correlations(measure, ri, ni, study, vtype) -> EffectSizes:
    r = _arr(ri, "ri")
    n = _arr(ni, "ni")
    k = _same_length(study, ri=r, ni=n)
    labels = _labels(study, k)
    _check(~(np.abs(r) > 1), labels, "a correlation 'ri' must lie in [-1, 1]")
    _check(~(n < 1), labels, "'ni' must be at least 1")
    y, v = _correlation(measure, r, n, vtype)
    y, v, excluded = _not_finite(labels, y, v, "effect size not estimable (sample "
                                 "size too small, or |ri| = 1)")
    return EffectSizes(measure, y, v, labels, tuple(excluded),
                       arms=pd.DataFrame({"ri": r, "ni": n}), options={"vtype": vtype})


def _prepost(measure: str, m1, m2, sd1, sd2, n, r, vtype: str):
    """SMCC, SMCR, MC for one group measured twice (metafor 3.8.1; yi = change m1 - m2).

    MC: ``yi = m1 - m2``, ``vi = sd_d^2 / n`` with ``sd_d^2 = sd1^2 + sd2^2 - 2 r sd1 sd2``.
    SMCC (change-score standardization; Gibbons et al. 1993): ``d = (m1 - m2) / sd_d``,
    ``yi = J d`` with ``J = hedges_j(n - 1)``; LS ``vi = 1/n + yi^2 / (2n)``, LS2
    ``J^2 (1/n + d^2 / (2n))``.
    SMCR (raw-score standardization by sd1; Becker 1988): ``d = (m1 - m2) / sd1``,
    ``yi = J d``; LS ``vi = 2 (1 - r) / n + yi^2 / (2n)``, LS2 ``J^2 (2 (1 - r)/n + d^2/(2n))``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        sdd2 = sd1**2 + sd2**2 - 2 * r * sd1 * sd2
        if measure == "MC":
            return m1 - m2, sdd2 / n
        j = hedges_j(n - 1)
        if measure == "SMCC":
            d = (m1 - m2) / np.sqrt(sdd2)
            y = j * d
            base = 1 / n
        else:
            d = (m1 - m2) / sd1
            y = j * d
            base = 2 * (1 - r) / n
        if vtype == "LS2":
            return y, j**2 * (base + d**2 / (2 * n))
        return y, base + y**2 / (2 * n)


def _from_prepost(measure, m1i, m2i, sd1i, sd2i, ni, ri, study, vtype) -> EffectSizes:
    a = {"m1i": _arr(m1i, "m1i"), "m2i": _arr(m2i, "m2i"), "sd1i": _arr(sd1i, "sd1i")}
    if measure != "SMCR" or sd2i is not None:
        a["sd2i"] = _arr(sd2i, "sd2i")
    a["ni"] = _arr(ni, "ni")
    a["ri"] = _arr(ri, "ri")
    k = _same_length(study, **a)
    labels = _labels(study, k)
    _check(~(np.abs(a["ri"]) > 1), labels, "a correlation 'ri' must lie in [-1, 1]")
    for name in ("sd1i", "sd2i"):
        if name in a:
            _check(~(a[name] < 0), labels, f"{name!r} must not be negative")
    sd2 = a.get("sd2i", np.full(k, np.nan))
    y, v = _prepost(measure, a["m1i"], a["m2i"], a["sd1i"], sd2, a["ni"], a["ri"], vtype)
    y, v, excluded = _not_finite(labels, y, v, "effect size not estimable (a zero "
                                 "SD, or a sample size too small)")
    return EffectSizes(measure, y, v, labels, tuple(excluded), arms=pd.DataFrame(a),
                       options={"vtype": vtype})


def _proportion(measure: str, x, n, vtype: str):
    """PR, PLO, PAS, PFT from (corrected) events x of n (metafor 3.8.1), ``p = x / n``.

    PR: ``yi = p``; LS ``vi = p (1 - p) / n``, UB ``p (1 - p) / (n - 1)``, AV with the pooled
    ``pbar = sum x / sum n`` in place of p. PLO: ``yi = log(p / (1 - p))``; LS
    ``1/x + 1/(n - x)``, AV ``1 / (n pbar (1 - pbar))``. PAS: ``yi = asin(sqrt(p))``,
    ``vi = 1 / (4n)``. PFT (Freeman & Tukey 1950): ``yi = (asin(sqrt(x/(n+1))) +
    asin(sqrt((x+1)/(n+1)))) / 2``, ``vi = 1 / (4n + 2)``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        ok = np.isfinite(x) & np.isfinite(n)
        pbar = np.sum(x[ok]) / np.sum(n[ok]) if ok.any() else np.nan
        if measure == "PR":
            q = pbar if vtype == "AV" else p
            return p, q * (1 - q) / (n - 1 if vtype == "UB" else n)
        if measure == "PLO":
            v = 1 / (n * pbar * (1 - pbar)) if vtype == "AV" else 1 / x + 1 / (n - x)
            return np.log(p / (1 - p)), v
        if measure == "PAS":
            return np.arcsin(np.sqrt(p)), 1 / (4 * n)
        return (0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1)))),
                1 / (4 * n + 2))


def _from_proportions(measure, xi, ni, mi, study, add, to, vtype) -> EffectSizes:
    x = _arr(xi, "xi")
    n = _arr(ni, "ni") if ni is not None else x + _arr(mi, "mi")
    k = _same_length(study, xi=x, ni=n)
    labels = _labels(study, k)
    _check(~(x < 0) & ~(x > n), labels, "'xi' must lie between 0 and 'ni'")
    _check(~(n <= 0), labels, "'ni' must be positive")
    xc, nc = x.copy(), n.copy()
    corrected: tuple[str, ...] = ()
    if measure in ("PR", "PLO"):  # metafor 3.8.1 corrects neither PAS nor PFT
        id0 = ((x == 0) | (x == n)) & np.isfinite(x)
        sel = _correction_mask(id0, np.isfinite(x), to)
        if add and sel.any():
            xc[sel] += add
            nc[sel] += 2 * add
            corrected = tuple(labels[i] for i in np.flatnonzero(sel))
    y, v = _proportion(measure, xc, nc, vtype)
    y, v, excluded = _not_finite(labels, y, v, "effect size not estimable (xi = 0 "
                                 "or xi = ni and no continuity correction)")
    opts = {"add": add, "to": to, "vtype": vtype}
    return EffectSizes(measure, y, v, labels, tuple(excluded), corrected,
                       pd.DataFrame({"xi": x, "ni": n}), opts)


def _rates(measure: str, x1, t1, x2, t2):
    """IRR, IRD from (corrected) events and person-time (metafor 3.8.1).

    IRR: ``yi = log(x1/t1) - log(x2/t2)``, ``vi = 1/x1 + 1/x2``. IRD: ``yi = x1/t1 - x2/t2``,
    ``vi = x1/t1^2 + x2/t2^2``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            return np.log(x1 / t1) - np.log(x2 / t2), 1 / x1 + 1 / x2
        return x1 / t1 - x2 / t2, x1 / t1**2 + x2 / t2**2


def _from_rates(measure, x1i, t1i, x2i, t2i, study, add, to, drop00) -> EffectSizes:
    a = {"x1i": _arr(x1i, "x1i"), "t1i": _arr(t1i, "t1i"), "x2i": _arr(x2i, "x2i"),
         "t2i": _arr(t2i, "t2i")}
    k = _same_length(study, **a)
    labels = _labels(study, k)
    for name in ("x1i", "x2i"):
        _check(~(a[name] < 0), labels, f"{name!r} must not be negative")
    for name in ("t1i", "t2i"):
        _check(~(a[name] <= 0), labels, f"person-time {name!r} must be positive")
    x1, x2 = a["x1i"].copy(), a["x2i"].copy()
    excluded: list[tuple[str, str]] = []
    id00 = (x1 == 0) & (x2 == 0)
    if drop00 and id00.any():
        excluded += [(labels[i], "double-zero study (no events in both groups) dropped "
                                 "(drop00=True)") for i in np.flatnonzero(id00)]
        x1[id00] = x2[id00] = np.nan
    present = np.isfinite(x1) & np.isfinite(x2)
    id0 = ((x1 == 0) | (x2 == 0)) & present
    sel = _correction_mask(id0, present, to)
    corrected: tuple[str, ...] = ()
    if add and sel.any():
        x1[sel] += add
        x2[sel] += add
        corrected = tuple(labels[i] for i in np.flatnonzero(sel))
    y, v = _rates(measure, x1, a["t1i"], x2, a["t2i"])
    y, v, more = _not_finite(labels, y, v, "effect size not estimable (a zero count "
                             "and no continuity correction)", skip=drop00 & id00)
    opts = {"add": add, "to": to, "drop00": drop00, "vtype": "LS"}
    return EffectSizes(measure, y, v, labels, tuple(excluded + more), corrected,
                       pd.DataFrame(a), opts)
