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

from dataclasses import dataclass

import numpy as np
from scipy import stats

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
    cmh: float = np.nan  # Cochran-Mantel-Haenszel test statistic (OR only)
    cmh_p: float = np.nan


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
        return float(stats.chi2.sf(Q, k_yi - 1)), i2_from_q(Q, k_yi - 1), h2_from_q(Q, k_yi - 1)
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


def mantel_haenszel(measure: str, ai, bi, ci, di, *, correct: bool = True) -> FixedFit:
    """Mantel-Haenszel pooled OR, RR or RD (log scale for OR and RR)."""
    a, b, c, d = (np.asarray(x, dtype=float) for x in (ai, bi, ci, di))
    n1, n2 = a + b, c + d
    N = n1 + n2
    measure = measure.upper()
    cmh = cmh_p = np.nan
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
        num = np.sum(a - n1 * xt / N)
        den = np.sum(xt * yt * (n1 * n2) / (N**2 * (N - 1)))
        cmh = float((abs(num) - 0.5 * correct) ** 2 / den)
        cmh_p = float(stats.chi2.sf(cmh, 1))
    elif measure == "RR":
        R, S = a * n2 / N, c * n1 / N
        sR, sS = R.sum(), S.sum()
        if sR == 0 or sS == 0:
            raise ModelError("the Mantel-Haenszel risk ratio is 0 or infinite (no events in one "
                             "group across all studies)")
        beta = float(np.log(sR / sS))
        var = np.sum((n1 * n2 * (a + c) / N - a * c) / N) / (sR * sS)
        wts = S / sS
    elif measure == "RD":
        W = n1 * n2 / N
        sW = W.sum()
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / sW)
        var = (beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2
                             + (n1 / N) * (n2 / N) * (n2 - n1) / 2)
               + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2) / sW**2
        wts = W / sW
    else:
        raise ValueError(f"Mantel-Haenszel pooling is for OR, RR and RD, not {measure}")
    if not var > 0:  # NaN included
        raise ModelError(_zero_variance_reason(measure, a, b, c, d))
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, add=0.5, to="only0", drop00=True)
    ok = np.isfinite(es.yi)
    Q = _q_around(es.yi[ok], es.vi[ok], beta)
    k_yi = int(ok.sum())
    qp, I2, H2 = _het(Q, k_yi)
    k_pos = int(np.sum(wts > 0))
    return FixedFit("MH", measure, beta, float(np.sqrt(var)), len(a), k_yi, k_pos, Q, qp, I2,
                    H2, es.yi, es.vi, 100 * wts, cmh, cmh_p)


def peto(ai, bi, ci, di) -> FixedFit:
    """Peto's one-step log odds ratio."""
    a, b, c, d = (np.asarray(x, dtype=float) for x in (ai, bi, ci, di))
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
    es = escalc("PETO", ai=a, bi=b, ci=c, di=d, add=0.5, to="only0", drop00=True)
    k_yi = int(np.isfinite(es.yi).sum())
    k_pos = int(pos.sum())
    if k_pos > 1:
        qp, I2, H2 = _het(Q, k_yi)
    else:
        qp, I2, H2 = 1.0, 0.0, 1.0
    return FixedFit("PETO", "PETO", beta, float(1 / np.sqrt(sV)), len(a), k_yi, k_pos, Q, qp,
                    I2, H2, es.yi, es.vi, 100 * V / sV)
