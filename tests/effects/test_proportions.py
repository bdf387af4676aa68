"""Intervals for proportions and their difference against Newcombe (1998, Stat Med 17:873,
Table II) and by a second route.

Tolerances (``tests/tolerances.py``): published and R-printed limits at their printed decimals
(``printed``); the restricted MLE against a numerical maximization (``OPTIMIZER``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from tolerances import OPTIMIZER, printed

from acu_meta.effects.proportions import RD_METHODS, _restricted_mle, binom_ci, rd_ci


@pytest.mark.parametrize("x1,n1,x2,n2,method,lo,hi", [
    (56, 70, 48, 80, "newcombe", "0.0524", "0.3339"),  # Table II, example (a), method 10
    (9, 10, 3, 10, "newcombe", "0.1705", "0.8090"),    # example (b), method 10
    (56, 70, 48, 80, "wald", "0.0575", "0.3425"),      # example (a), method 1
])
def test_newcombe_table2(x1, n1, x2, n2, method, lo, hi):
    """Newcombe 1998 (Stat Med 17:873), Table II, printed to 4 decimals."""
    a, b = rd_ci(x1, n1, x2, n2, method)
    assert printed(a, lo) and printed(b, hi)


def test_wald_cc_equals_r_prop_test():
    # R: prop.test(c(56, 48), c(70, 80), correct = TRUE)$conf.int = 0.04411204 0.35588796
    a, b = rd_ci(56, 70, 48, 80, "wald_cc")
    assert printed(a, "0.04411204") and printed(b, "0.35588796")


@pytest.mark.parametrize("delta", [-0.3, -0.05, 0.0, 0.1, 0.25])
def test_restricted_mle_by_numeric_maximization(delta):
    x1, n1, x2, n2 = 56, 70, 48, 80

    def negll(p2):
        p1 = p2 + delta
        return -(x1 * np.log(p1) + (n1 - x1) * np.log(1 - p1) + x2 * np.log(p2)
                 + (n2 - x2) * np.log(1 - p2))

    lo, hi = max(1e-9, -delta + 1e-9), min(1 - 1e-9, 1 - delta - 1e-9)
    p2 = optimize.minimize_scalar(negll, bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-12}).x
    p1c, p2c = _restricted_mle(x1, n1, x2, n2, delta)
    assert p2c == pytest.approx(p2, abs=OPTIMIZER)
    assert p1c == pytest.approx(p2 + delta, abs=OPTIMIZER)


@pytest.mark.parametrize("method", RD_METHODS)
def test_every_method_contains_the_estimate(method):
    lo, hi = rd_ci(184, 387, 106, 387, method)
    assert lo < (184 - 106) / 387 < hi


def test_binomial_interval_errors():
    with pytest.raises(ValueError):
        binom_ci(5, 3)
    assert binom_ci(0, 10)[0] == 0.0
