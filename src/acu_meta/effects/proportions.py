"""Confidence intervals for one proportion and for a difference of two, and Fisher's exact test.

One proportion (``binom_ci``): Clopper-Pearson (exact), Wilson score, Wald.
Difference p1 - p2 (``rd_ci``), the methods compared by Newcombe (1998, Stat Med 17:873):

============  =================================================================================
method        definition
============  =================================================================================
wald          d +/- z sqrt(p1 q1 / n1 + p2 q2 / n2)
wald_cc       the same widened by (1/n1 + 1/n2) / 2 (Yates-type continuity correction)
agresti_caffo Wald after adding one success and one failure to each group (Agresti & Caffo 2000)
newcombe      hybrid score from the two Wilson intervals (Newcombe's method 10)
newcombe_cc   the same from continuity-corrected Wilson intervals (method 11)
mn            Miettinen-Nurminen (1985) score interval: the roots in Delta of
              (d - Delta)^2 / V(Delta) = z^2, V from the restricted MLE under p1 - p2 = Delta,
              times N / (N - 1)
fm            Farrington-Manning: the same without the N / (N - 1) factor (Mee 1984)
============  =================================================================================

Validated against Newcombe (1998) Table II (methods 10 and 1) and, for the score methods, by
a second route (restricted MLE by numeric maximization instead of the closed-form cubic) in
``tests/effects/test_proportions.py``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from .. import numeric
from ..numeric import z_crit

RD_METHODS = ("wald", "wald_cc", "agresti_caffo", "newcombe", "newcombe_cc", "mn", "fm")


def binom_ci(x: int, n: int, method: str = "clopper_pearson", level: float = 0.95,
             cc: bool = False) -> tuple[float, float]:
    """CI of a single proportion x/n, as a fraction: ``clopper_pearson`` (exact), ``wilson``
    (``cc=True``: Newcombe's continuity-corrected method 4) or ``wald``; the formulas are
    :func:`acu_meta.numeric.clopper_pearson`, :func:`~acu_meta.numeric.wilson` and
    :func:`~acu_meta.numeric.wald`."""
    if not 0 <= x <= n or n < 1:
        raise ValueError("need 0 <= x <= n and n >= 1")
    if method == "clopper_pearson":
        return numeric.clopper_pearson(x, n, level)
    if method == "wald":
        return numeric.wald(x, n, level)
    if method == "wilson":
        return numeric.wilson(x, n, level, cc)
    raise ValueError("method must be clopper_pearson, wilson or wald")


def _restricted_mle(x1, n1, x2, n2, delta):
    """Restricted MLE (p1, p2) under p1 - p2 = delta (closed-form cubic, Miettinen &
    Nurminen 1985 / Farrington & Manning 1990)."""
    p1h, p2h = x1 / n1, x2 / n2
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1h + theta * p2h + delta * (theta + 2))
    c = delta**2 + delta * (2 * p1h + theta + 1) + p1h + theta * p2h
    d = -p1h * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u = math.copysign(1.0, v) * math.sqrt(max(b**2 / (9 * a**2) - c / (3 * a), 0.0))
    if u == 0:
        p1 = -b / (3 * a)
    else:
        w = (math.pi + math.acos(max(-1.0, min(1.0, v / u**3)))) / 3
        p1 = 2 * u * math.cos(w) - b / (3 * a)
    p1 = min(max(p1, 0.0), 1.0)
    p2 = min(max(p1 - delta, 0.0), 1.0)
    return p1, p2


def score_statistic(x1, n1, x2, n2, delta, mn: bool = True) -> float:
    """Signed score statistic (d - delta) / sqrt(V(delta)) of the MN / FM interval."""
    p1, p2 = _restricted_mle(x1, n1, x2, n2, delta)
    var = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if mn:
        var *= (n1 + n2) / (n1 + n2 - 1)
    d = x1 / n1 - x2 / n2
    if var <= 0:
        return math.copysign(math.inf, d - delta) if d != delta else 0.0
    return (d - delta) / math.sqrt(var)


def rd_ci(x1: int, n1: int, x2: int, n2: int, method: str = "newcombe",
          level: float = 0.95) -> tuple[float, float]:
    """CI of p1 - p2 by *method* (see the module docstring), as fractions."""
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    z = z_crit(level)
    if method in ("wald", "wald_cc"):
        h = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        if method == "wald_cc":
            h += (1 / n1 + 1 / n2) / 2
        return d - h, d + h
    if method == "agresti_caffo":
        q1, q2 = (x1 + 1) / (n1 + 2), (x2 + 1) / (n2 + 2)
        h = z * math.sqrt(q1 * (1 - q1) / (n1 + 2) + q2 * (1 - q2) / (n2 + 2))
        return q1 - q2 - h, q1 - q2 + h
    if method in ("newcombe", "newcombe_cc"):
        cc = method == "newcombe_cc"
        l1, u1 = binom_ci(x1, n1, "wilson", level, cc)
        l2, u2 = binom_ci(x2, n2, "wilson", level, cc)
        return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
                d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    if method in ("mn", "fm"):
        mn = method == "mn"

        def f(delta, sign):
            return score_statistic(x1, n1, x2, n2, delta, mn) - sign * z

        eps = 1e-12
        # the score decreases in Delta: + at Delta -> -1, - at Delta -> 1
        lo = optimize.brentq(f, -1 + eps, d, args=(1,), xtol=1e-14) \
            if f(-1 + eps, 1) > 0 else -1.0
        hi = optimize.brentq(f, d, 1 - eps, args=(-1,), xtol=1e-14) \
            if f(1 - eps, -1) < 0 else 1.0
        return lo, hi
    raise ValueError(f"method must be one of {', '.join(RD_METHODS)}")


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact test P (sum of tables no more likely than the observed, as R's
    fisher.test and scipy)."""
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    from scipy.stats import fisher_exact  # loads scipy.stats on first use only
    return float(fisher_exact(table, alternative="two-sided").pvalue)
