"""Gauss's hypergeometric function 2F1(a, b; c; x) on 0 <= x <= 1, for the Olkin-Pratt
unbiased correlation (escalc's UCOR) and its unbiased variance.

``scipy.special.hyp2f1`` returns NaN in part of this range (scipy 1.17: a = b = 1/2, c = 162,
x = 0.9975, the case of a correlation of 0.05 from 326 subjects), so the function is summed
here:

* ``x < 1``: the power series ``sum (a)_j (b)_j / ((c)_j j!) x^j`` (DLMF 15.2.1) when it
  converges within 5,000 terms (always for ``x <= 1/2``; near ``x = 1`` when c is large, the
  UCOR case of a large study);
* otherwise (``x`` near 1 with a small c): the connection formulas to ``1 - x`` (DLMF 15.8.4
  for non-integer ``m = c - a - b``; 15.8.10, with logarithms and digammas, for integer
  ``m >= 0``), whose series in ``1 - x`` converge fast there and whose terms are of modest
  size for a small c (for a large c they would cancel digits, hence the order);
* ``x = 1``: Gauss's sum ``Gamma(c) Gamma(c-a-b) / (Gamma(c-a) Gamma(c-b))`` (DLMF 15.4.20;
  ``c - a - b > 0``).

Requires ``c > 0``, ``c - a > 0``, ``c - b > 0`` and ``a, b > 0`` (the UCOR uses: a = b = 1/2,
c = (n - 2)/2 and a = b = 1, c = n/2 with n > 4). Checked against the direct series where it
converges and against Gauss's sum in ``tests/effects/test_escalc_gaps.py``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_TOL = 1e-17
_MAXTERMS = 100_000
_DIRECT_TERMS = 5_000


def _series(a: float, b: float, c: float, x: float, maxterms: int = _MAXTERMS) -> float:
    """``sum_j (a)_j (b)_j / ((c)_j j!) x^j``; NaN when *maxterms* terms do not converge."""
    total, term = 1.0, 1.0
    for j in range(maxterms):
        term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * x
        total += term
        if abs(term) <= _TOL * abs(total):
            return total
    return math.nan


def _gamma_ratio(num, den) -> float:
    """prod Gamma(num) / prod Gamma(den), with signs (arguments may be negative non-integers)."""
    log = sum(special.gammaln(t) for t in num) - sum(special.gammaln(t) for t in den)
    sign = np.prod([special.gammasgn(t) for t in num]) * np.prod(
        [special.gammasgn(t) for t in den])
    return float(sign * math.exp(log))


def _near_one(a: float, b: float, c: float, x: float) -> float:
    """2F1 for 1/2 < x < 1 through the connection formulas to y = 1 - x."""
    y = 1.0 - x
    m = c - a - b
    mi = round(m)
    if abs(m - mi) > 1e-12:  # DLMF 15.8.4
        first = _gamma_ratio((c, m), (c - a, c - b)) * _series(a, b, 1 - m, y)
        second = _gamma_ratio((c, -m), (a, b)) * y**m * _series(c - a, c - b, 1 + m, y)
        return first + second
    if mi < 0:
        # c - a - b a negative integer: use Euler's transformation to make it positive
        return y**m * _near_one(c - a, c - b, c, x)
    # DLMF 15.8.10 (regularized form, times Gamma(c)), m = 0, 1, 2, ...
    finite = 0.0
    term = 1.0  # (a)_k (b)_k / k! (z - 1)^k, z - 1 = -y
    for k in range(mi):
        finite += term * math.factorial(mi - k - 1)
        term *= (a + k) * (b + k) / (k + 1) * (-y)
    finite /= math.gamma(a + mi) * math.gamma(b + mi)
    logy = math.log(y)
    tail = 0.0
    coef = 1.0 / math.factorial(mi)  # (a+m)_k (b+m)_k / (k! (k+m)!)
    for k in range(_MAXTERMS):
        psi = (logy - special.digamma(k + 1) - special.digamma(k + mi + 1)
               + special.digamma(a + k + mi) + special.digamma(b + k + mi))
        t = coef * psi
        tail += t
        if k > 2 and abs(t) <= _TOL * abs(tail):
            break
        coef *= (a + mi + k) * (b + mi + k) / ((k + 1) * (k + mi + 1)) * y
    tail *= (-y) ** mi / (math.gamma(a) * math.gamma(b))
    return math.gamma(c) * (finite - tail)


def hyp2f1(a: float, b: float, c, x) -> np.ndarray:
    """``2F1(a, b; c; x)`` elementwise for arrays *c* and *x* (broadcast), ``0 <= x <= 1``.

    NaN where the inputs are NaN or outside the range of the module docstring.
    """
    c, x = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(x, dtype=float))
    out = np.full(c.shape, np.nan)
    for i in np.ndindex(c.shape):
        ci, xi = float(c[i]), float(x[i])
        if not (np.isfinite(ci) and np.isfinite(xi)) or xi < 0 or xi > 1:
            continue
        if ci <= 0 or ci - a <= 0 or ci - b <= 0:
            continue
        if xi < 1:
            # the direct series first: it converges fast for x <= 1/2 and, near x = 1, for a
            # large c (where the connection formulas would cancel digits); otherwise (a small
            # c near x = 1) the connection formulas, whose terms are then of modest size
            val = _series(a, b, ci, xi, _DIRECT_TERMS)
            out[i] = val if not math.isnan(val) else _near_one(a, b, ci, xi)
        elif ci - a - b > 0:
            out[i] = _gamma_ratio((ci, ci - a - b), (ci - a, ci - b))
    return out
