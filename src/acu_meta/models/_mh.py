"""Mantel-Haenszel and Peto fixed-effect pooling of 2x2 tables, as metafor's ``rma.mh`` and
``rma.peto``.

The pooled estimate uses the raw counts (no continuity correction): a double-zero study adds
nothing to the sums, so it does not contribute to the estimate, but it is still counted in k.
The heterogeneity test uses the individual study effects from escalc with the corrections
metafor uses for it (add 1/2 to studies with a zero cell, double-zero studies dropped), so Q has
``k_yi - 1`` degrees of freedom, ``k_yi`` the number of studies with an effect size.

Formulas
--------
OR (Mantel & Haenszel 1959): ``sum(a d / N) / sum(b c / N)``; variance of the log by Robins,
Breslow & Greenland (1986).
RR: ``sum(a n2 / N) / sum(c n1 / N)``; variance of the log by Greenland & Robins (1985).
RD: ``sum((a n2 - c n1) / N) / sum(n1 n2 / N)``; variance by Sato (1989), as metafor.
Peto: ``sum(O - E) / sum(V)``, variance ``1 / sum(V)``;
Q = ``sum((O-E)^2/V) - (sum(O-E))^2/sum(V)``, computed in the equal centred form
``sum V ((O-E)/V - beta)^2`` (no cancellation). Every Q is formed with its weights divided by
their maximum.

Degenerate data raise :class:`~acu_meta.errors.ModelError` naming the reason: an OR or RR of 0
or infinity (no events, or no non-events, in one group of every study), a Peto analysis in
which one outcome never occurs, and a Mantel-Haenszel variance of 0 (RR or RD when every study
has only events or no events in both arms). metafor 3.8.1 returns NA for the first two and, for
the last, the estimate with SE 0, a zero-width interval and z, p NA; acu_meta refuses it rather
than report an interval of width 0 that the data do not support.

Validated against metafor 3.8.1 ``rma.mh`` and ``rma.peto``
(``tests/models/test_metafor_reference.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import numeric
from ..effects.escalc import escalc
from ..errors import ModelError
from ..numeric import h2_from_q, i2_from_q


@dataclass(frozen=True)
class FixedFit:
    """Raw numbers of an MH or Peto fit."""

    method: str  # "MH" or "PETO"
    measure: str
    beta: float
    se: float
    k: int
    k_yi: int  # studies with an individual effect size (used for Q)
    k_pos: int  # studies contributing to the pooled estimate
    QE: float
    QE_p: float
    I2: float
    H2: float
    yi: np.ndarray
    vi: np.ndarray
    weights: np.ndarray  # percent weight of each study in the pooled estimate
    cmh: float = np.nan  # Cochran-Mantel-Haenszel test (metafor's MH): OR, IRR
    cmh_p: float = np.nan
    cochran: float = np.nan  # Cochran's test (metafor's CO, no N - 1 factor): OR only
    cochran_p: float = np.nan
    bd: float = np.nan  # Breslow-Day test of a common OR (metafor's BD): OR only
    bd_p: float = np.nan
    tarone: float = np.nan  # Breslow-Day with Tarone's correction (metafor's TA): OR only
    tarone_p: float = np.nan
    k_bd: int = 0  # tables used by the Breslow-Day test (metafor's k.pos for OR)

    def tests(self) -> dict[str, float]:
        """The association and homogeneity tests as rma.mh prints them (NaN where metafor
        reports NA): ``MH``/``MHp`` (Cochran-Mantel-Haenszel), ``CO``/``COp`` (Cochran),
        ``BD``/``BDp`` (Breslow-Day), ``TA``/``TAp`` (Tarone)."""
        return {"MH": self.cmh, "MHp": self.cmh_p, "CO": self.cochran, "COp": self.cochran_p,
                "BD": self.bd, "BDp": self.bd_p, "TA": self.tarone, "TAp": self.tarone_p}


def _q_around(y, v, beta: float) -> float:
    """``sum (y - beta)^2 / v`` with the weights ``1 / v`` divided by their maximum."""
    if len(y) == 0:
        return 0.0
    w = 1.0 / v
    c = float(np.max(w))
    return max(0.0, c * float(np.sum(w / c * (y - beta) ** 2)))


def _het(Q: float, k_yi: int) -> tuple[float, float, float]:
    """p of the Q test on k_yi - 1 df, I2 and H2 from Q (metafor: 1, 0, 1 for one study)."""
    if k_yi > 1:
        return float(numeric.chi2_sf(Q, k_yi - 1)), i2_from_q(Q, k_yi - 1), h2_from_q(Q, k_yi - 1)
    return 1.0, 0.0, 1.0


def _zero_variance_reason(measure: str, a, b, c, d) -> str:
    """Why the Mantel-Haenszel variance is 0: every table is all events or no events."""
    full = int(np.sum((b == 0) & (d == 0)))
    none = int(np.sum((a == 0) & (c == 0)))
    parts = [f"{n} {'study' if n == 1 else 'studies'} with {what}" for n, what in
             ((full, "only events"), (none, "no events")) if n]
    return (f"the Mantel-Haenszel {measure} has standard error 0: every study has only events "
            f"or no events in both arms ({', '.join(parts) or 'to rounding'}), so no interval "
            "can be computed (metafor: SE 0, z and p NA)")


def _add_cells(cells, add: float, to: str):
    """Add *add* to every cell of the tables (``to="all"``), of the tables with a zero cell
    (``"only0"``), of every table if any has a zero cell (``"if0all"``), or of none."""
    cells = [np.array(x, dtype=float) for x in cells]
    if add == 0 or to == "none":
        return cells
    zero = np.zeros(len(cells[0]), dtype=bool)
    for x in cells:
        zero |= x == 0
    if to == "all":
        hit = np.ones_like(zero)
    elif to == "only0":
        hit = zero
    elif to == "if0all":
        hit = np.full_like(zero, zero.any())
    else:
        raise ValueError(f"to must be 'all', 'only0', 'if0all' or 'none', not {to!r}")
    return [np.where(hit, x + add, x) for x in cells]


def _chi2_1(num: float, den: float, correct: bool) -> tuple[float, float]:
    """``(|num| - 1/2 correct)^2 / den`` and its p on 1 df (NaN when den is 0)."""
    if not den > 0:
        return np.nan, np.nan
    x = float((abs(num) - 0.5 * correct) ** 2 / den)
    return x, float(numeric.chi2_sf(x, 1))


def breslow_day(psi: float, a, n1, n2, m1) -> tuple[float, float, float, float, int]:
    """Breslow-Day test that every table has the odds ratio *psi* (Breslow & Day 1980,
    section 4.4), and with Tarone's (1985) correction.

    The expected count ``A`` of each table solves ``A (n2 - m1 + A) = psi (n1 - A)(m1 - A)``
    (the root inside ``(max(0, m1 - n2), min(n1, m1))``), computed as
    ``2 c / (b + sqrt(b^2 - 4 (psi - 1) c))`` with ``b = psi (n1 + m1) + n2 - m1``,
    ``c = psi n1 m1``: no cancellation, and ``n1 m1 / N`` at ``psi = 1``. Tables with no
    expected count (``A = 0``) or with only events or only non-events are left out, as in
    metafor. Returns BD, its p, TA, its p (on ``k - 1`` df, NaN for fewer than 2 tables) and k.
    """
    N = n1 + n2
    b = psi * (n1 + m1) + n2 - m1
    c = psi * n1 * m1
    with np.errstate(divide="ignore", invalid="ignore"):
        A = 2 * c / (b + np.sqrt(np.maximum(b * b - 4 * (psi - 1) * c, 0.0)))
    pos = (A > 0) & (m1 > 0) & (N - m1 > 0)
    A, a_, n1_, m1_, N_ = A[pos], a[pos], n1[pos], m1[pos], N[pos]
    var_a = 1.0 / (1 / A + 1 / (n1_ - A) + 1 / (m1_ - A) + 1 / (N_ - n1_ - m1_ + A))
    dev = a_ - A
    k = int(pos.sum())
    bd = max(0.0, float(np.sum(dev**2 / var_a)))
    ta = max(0.0, bd - float(np.sum(dev)) ** 2 / float(np.sum(var_a))) if k else 0.0
    if k > 1:
        return bd, float(numeric.chi2_sf(bd, k - 1)), ta, float(numeric.chi2_sf(ta, k - 1)), k
    return bd, np.nan, ta, np.nan, k


def mantel_haenszel(measure: str, ai, bi, ci, di, *, correct: bool = True,
                    add: float = 0.5, to: str = "only0", drop00: bool = True,
                    mh_add: float = 0.0, mh_to: str = "only0", mh_drop00: bool = False,
                    rd_variance: str = "sato", rd_raw_effects: bool = False) -> FixedFit:
    """Mantel-Haenszel pooled OR, RR or RD (log scale for OR and RR), as metafor's ``rma.mh``.

    Parameters
    ----------
    measure
        "OR", "RR" or "RD".
    ai, bi, ci, di
        The 2x2 cells (events and non-events in group 1, then group 2).
    correct
        Continuity correction of the CMH and Cochran tests (metafor's ``correct``).
    add, to, drop00
        How the individual effects for Q are formed (metafor's ``add[1]``, ``to[1]``,
        ``drop00[1]``).
    mh_add, mh_to, mh_drop00
        What is added to the cells before pooling (metafor's ``add[2]``, ``to[2]``,
        ``drop00[2]``; by default nothing). R's meta with ``MH.exact = FALSE`` (its RevMan 5
        setting) corresponds to ``mh_add=0.5, mh_to="only0"`` and, for OR and RR,
        ``mh_drop00=True``.
    rd_variance
        Variance of the MH risk difference: ``"sato"`` (Sato, Greenland & Robins 1989, as
        metafor) or ``"gr1985"`` (Greenland & Robins 1985,
        ``sum((a b n2^2 / n1 + c d n1^2 / n2) / N^2) / sum(n1 n2 / N)^2``, as RevMan 5 and
        meta), both from the cells after *mh_add*.
    rd_raw_effects
        RD: pool the studies' risk differences of the cells *before* *mh_add* with the MH
        weights ``n1 n2 / N`` of the cells after it (R's meta with ``MH.exact = FALSE``); by
        default both come from the same cells (metafor).

    The RevMan 5 settings of R's meta 8.3 (``settings.meta("RevMan5")``) are
    ``mh_add=0.5, mh_to="only0", mh_drop00=(measure != "RD"), rd_variance="gr1985",
    rd_raw_effects=True``: validated on the MH fits of ``tests/fixtures/meta_revman5.json``
    (``tests/models/test_mh_revman5.py``).

    Notes
    -----
    For OR the result carries the Cochran-Mantel-Haenszel test (``cmh``), Cochran's test
    (``cochran``), the Breslow-Day test (``bd``) and Tarone's correction of it (``tarone``)
    (:func:`breslow_day`). Validated against metafor 3.8.1 ``rma.mh``
    (``tests/models/test_mh_gaps.py``, fixture ``tests/fixtures/metafor_gaps.json``, and
    ``tests/models/test_metafor_reference.py``).
    """
    a, b, c, d = (np.asarray(x, dtype=float) for x in (ai, bi, ci, di))
    k_all = len(a)
    measure = measure.upper()
    if measure not in ("OR", "RR", "RD"):
        raise ValueError(f"Mantel-Haenszel pooling is for OR, RR and RD, not {measure}")
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, add=add, to=to, drop00=drop00)
    if mh_drop00:
        keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    raw_rd = a / (a + b) - c / (c + d) if measure == "RD" else None
    a, b, c, d = _add_cells((a, b, c, d), mh_add, mh_to)
    n1, n2 = a + b, c + d
    N = n1 + n2
    extra: dict = {}
    if measure == "OR":
        P, Q_ = (a + d) / N, (b + c) / N
        R, S = a * d / N, b * c / N
        sR, sS = R.sum(), S.sum()
        if sR == 0 or sS == 0:
            raise ModelError("the Mantel-Haenszel odds ratio is 0 or infinite (no events or no "
                             "non-events in one group across all studies)")
        beta = float(np.log(sR / sS))
        var = (np.sum(P * R) / (2 * sR**2) + np.sum(P * S + Q_ * R) / (2 * sR * sS)
               + np.sum(Q_ * S) / (2 * sS**2))
        wts = S / sS
        xt, yt = a + c, b + d
        num = float(np.sum(a - (n1 / N) * xt))
        if xt.sum() > 0 and yt.sum() > 0:
            core = (n1 / N) * (n2 / N) * xt
            extra["cochran"], extra["cochran_p"] = _chi2_1(num, float(np.sum(core * yt / N)),
                                                          correct)
            extra["cmh"], extra["cmh_p"] = _chi2_1(num, float(np.sum(core * yt / (N - 1))),
                                                  correct)
        bd, bdp, ta, tap, k_bd = breslow_day(sR / sS, a, n1, n2, xt)
        extra.update(bd=bd, bd_p=bdp, tarone=ta, tarone_p=tap, k_bd=k_bd)
    elif measure == "RR":
        R, S = a * n2 / N, c * n1 / N
        sR, sS = R.sum(), S.sum()
        if sR == 0 or sS == 0:
            raise ModelError("the Mantel-Haenszel risk ratio is 0 or infinite (no events in one "
                             "group across all studies)")
        beta = float(np.log(sR / sS))
        var = np.sum((n1 * n2 * (a + c) / N - a * c) / N) / (sR * sS)
        wts = S / sS
    else:  # RD
        W = n1 * n2 / N
        sW = W.sum()
        if rd_raw_effects:
            beta = float(np.sum(W * raw_rd) / sW)
        else:
            beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / sW)
        if rd_variance == "sato":
            var = (beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2
                                 + (n1 / N) * (n2 / N) * (n2 - n1) / 2)
                   + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2) / sW**2
        elif rd_variance == "gr1985":
            var = float(np.sum(a * b * (n2 / N) ** 2 / n1
                               + c * d * (n1 / N) ** 2 / n2)) / sW**2
        else:
            raise ValueError(f"rd_variance must be 'sato' or 'gr1985', not {rd_variance!r}")
        wts = W / sW
    if not var > 0:  # NaN included
        raise ModelError(_zero_variance_reason(measure, a, b, c, d))
    ok = np.isfinite(es.yi)
    Q = _q_around(es.yi[ok], es.vi[ok], beta)
    k_yi = int(ok.sum())
    qp, I2, H2 = _het(Q, k_yi)
    k_pos = int(np.sum(wts > 0))
    return FixedFit("MH", measure, beta, float(np.sqrt(var)), k_all, k_yi, k_pos, Q, qp, I2,
                    H2, es.yi, es.vi, 100 * wts, **extra)


def mantel_haenszel_rates(measure: str, x1i, t1i, x2i, t2i, *, correct: bool = True,
                          add: float = 0.5, to: str = "only0", drop00: bool = True,
                          mh_add: float = 0.0, mh_to: str = "only0") -> FixedFit:
    """Mantel-Haenszel pooled incidence rate ratio (log scale) or rate difference, as
    metafor's ``rma.mh`` with ``x1i, t1i, x2i, t2i``.

    IRR: ``sum(x1 t2 / T) / sum(x2 t1 / T)``, variance of the log
    ``sum(t1 t2 (x1 + x2) / T^2) / (R S)``; IRD: ``sum((x1 t2 - x2 t1) / T) / sum(t1 t2 / T)``,
    variance ``sum((t1 t2 / T)^2 (x1 / t1^2 + x2 / t2^2)) / sum(t1 t2 / T)^2`` (Greenland &
    Robins 1985). For IRR the result carries the Mantel-Haenszel test of no association
    (``cmh``). Q is formed from escalc's IRR/IRD with *add*, *to*, *drop00*. Validated against
    metafor 3.8.1 (``tests/models/test_mh_gaps.py``).
    """
    x1, t1, x2, t2 = (np.asarray(x, dtype=float) for x in (x1i, t1i, x2i, t2i))
    measure = measure.upper()
    if measure not in ("IRR", "IRD"):
        raise ValueError(f"Mantel-Haenszel pooling of rates is for IRR and IRD, not {measure}")
    es = escalc(measure, x1i=x1, t1i=t1, x2i=x2, t2i=t2, add=add, to=to, drop00=drop00)
    x1, x2 = _add_cells((x1, x2), mh_add, mh_to)
    T = t1 + t2
    extra: dict = {}
    if measure == "IRR":
        R, S = x1 * (t2 / T), x2 * (t1 / T)
        sR, sS = R.sum(), S.sum()
        if x1.sum() == 0 or x2.sum() == 0:
            raise ModelError("the Mantel-Haenszel rate ratio is 0 or infinite (no events in one "
                             "group across all studies)")
        beta = float(np.log(sR / sS))
        var = float(np.sum((t1 / T) * (t2 / T) * (x1 + x2)) / (sR * sS))
        wts = S / sS
        xt = x1 + x2
        if xt.sum() > 0:
            extra["cmh"], extra["cmh_p"] = _chi2_1(
                float(np.sum(x1 - xt * (t1 / T))), float(np.sum(xt * (t1 / T) * (t2 / T))),
                correct)
    else:
        W = (t1 / T) * t2
        sW = W.sum()
        beta = float(np.sum((x1 * t2 - x2 * t1) / T) / sW)
        var = float(np.sum(W**2 * (x1 / t1**2 + x2 / t2**2)) / sW**2)
        wts = W / sW
    if not var > 0:
        raise ModelError(f"the Mantel-Haenszel {measure} has standard error 0 (no events in "
                         "any study)")
    ok = np.isfinite(es.yi)
    Q = _q_around(es.yi[ok], es.vi[ok], beta)
    k_yi = int(ok.sum())
    qp, I2, H2 = _het(Q, k_yi)
    return FixedFit("MH", measure, beta, float(np.sqrt(var)), len(x1), k_yi,
                    int(np.sum(wts > 0)), Q, qp, I2, H2, es.yi, es.vi, 100 * wts, **extra)


def peto(ai, bi, ci, di, *, add: float = 0.5, to: str = "only0", drop00: bool = True,
         mh_add: float = 0.0, mh_to: str = "only0", mh_drop00: bool = False) -> FixedFit:
    """Peto's one-step log odds ratio, as metafor's ``rma.peto``.

    *add*, *to*, *drop00* shape the individual effects (escalc "PETO", which give k_yi);
    *mh_add*, *mh_to*, *mh_drop00* what is added to the cells before pooling (metafor's second
    elements of ``add``, ``to``, ``drop00``). Validated against metafor 3.8.1
    (``tests/models/test_mh_gaps.py``, ``tests/models/test_metafor_reference.py``).
    """
    a, b, c, d = (np.asarray(x, dtype=float) for x in (ai, bi, ci, di))
    k_all = len(a)
    es = escalc("PETO", ai=a, bi=b, ci=c, di=d, add=add, to=to, drop00=drop00)
    if mh_drop00:
        keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    a, b, c, d = _add_cells((a, b, c, d), mh_add, mh_to)
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    sV = V.sum()
    if sV == 0:
        raise ModelError("one of the two outcomes never occurred in any study; Peto's method "
                         "cannot be used")
    beta = float(np.sum(a - E) / sV)
    pos = V > 0
    # sum((O-E)^2/V) - (sum(O-E))^2 / sum(V) = sum V ((O-E)/V - beta)^2: the centred form
    Q = _q_around((a - E)[pos] / V[pos], 1.0 / V[pos], beta)
    k_yi = int(np.isfinite(es.yi).sum())
    k_pos = int(pos.sum())
    if k_pos > 1:
        qp, I2, H2 = _het(Q, k_yi)
    else:
        qp, I2, H2 = 1.0, 0.0, 1.0
    return FixedFit("PETO", "PETO", beta, float(1 / np.sqrt(sV)), k_all, k_yi, k_pos, Q, qp,
                    I2, H2, es.yi, es.vi, 100 * V / sV)


def mantel_haenszel_revman5(measure: str, ai, bi, ci, di) -> FixedFit:
    """Mantel-Haenszel as R's meta 8.3 under ``settings.meta("RevMan5")`` (RevMan 5): 1/2 added
    to every cell of a study with a zero cell in the MH weights and variance
    (``MH.exact = FALSE``), double-zero studies dropped for OR and RR, the Greenland & Robins
    (1985) RD variance and the raw per-study risk differences; Q as :func:`mantel_haenszel`.
    The CMH and Cochran tests are those of the raw cells (meta's ``Q.CMH`` is Cochran's
    uncorrected test, ``cochran``). Validated on the MH fits of
    ``tests/fixtures/meta_revman5.json`` (``tests/models/test_mh_revman5.py``)."""
    measure = measure.upper()
    fit_ = mantel_haenszel(measure, ai, bi, ci, di, correct=False, mh_add=0.5, mh_to="only0",
                           mh_drop00=measure != "RD", rd_variance="gr1985", rd_raw_effects=True)
    if measure != "OR":
        return fit_
    raw = mantel_haenszel(measure, ai, bi, ci, di, correct=False)
    return dataclasses.replace(fit_, cmh=raw.cmh, cmh_p=raw.cmh_p, cochran=raw.cochran,
                               cochran_p=raw.cochran_p, bd=raw.bd, bd_p=raw.bd_p,
                               tarone=raw.tarone, tarone_p=raw.tarone_p, k_bd=raw.k_bd)
