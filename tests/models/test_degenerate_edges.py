"""Degenerate data in the Mantel-Haenszel, Peto and network engines (issue #17 item 4): a clean
ModelError that names why (and which study), or a defined result; never a division by zero,
a singular-matrix traceback or a numpy warning.

metafor 3.8.1 ``rma.mh`` for the zero-variance cases (read from its source): RR and RD with
every table all events or no events give the estimate with SE 0, a zero-width CI and z, p NA;
acu_meta refuses them (``models/_mh.py`` says why). Peto's Q is checked against metafor's
formula ``sum((O-E)^2/V) - (sum(O-E))^2 / sum(V)`` (``SECOND_ROUTE``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tolerances import SECOND_ROUTE

from acu_meta.errors import ModelError
from acu_meta.models import mantel_haenszel, peto
from acu_meta.models.network import NetworkError, contrasts_from_arms, fit_network
from acu_meta.results import pool
from acu_meta.results.network import network


@pytest.mark.parametrize("measure", ["RR", "RD"])
@pytest.mark.parametrize("tables,what", [
    (([10], [0], [12], [0]), "1 study with only events"),
    (([0, 0], [10, 5], [0, 0], [12, 7]), "2 studies with no events"),
    (([3, 0], [0, 9], [5, 0], [0, 4]), "1 study with only events, 1 study with no events"),
])
def test_mantel_haenszel_with_standard_error_zero_is_refused(measure, tables, what):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if measure == "RR" and sum(tables[0]) == 0:
            with pytest.raises(ModelError, match="risk ratio is 0 or infinite"):
                mantel_haenszel(measure, *tables)
            return
        with pytest.raises(ModelError, match=f"Mantel-Haenszel {measure} has standard error 0"
                                             rf".*\({what}\)"):
            mantel_haenszel(measure, *tables)


def test_mantel_haenszel_with_one_informative_table_is_pooled():
    # one table with events and non-events is enough for a positive variance
    r = mantel_haenszel("RD", [10, 3], [0, 7], [12, 5], [0, 5])
    assert r.se > 0 and np.isfinite(r.beta)
    with pytest.warns(UserWarning, match="Study 1: double-zero study"):  # all events
        res = pool(ai=[10, 3], n1i=[10, 10], ci=[12, 5], n2i=[12, 10], measure="RD",
                   method="MH")
    assert res.ci_low < res.estimate < res.ci_high


def test_peto_q_is_metafors_formula_in_its_centred_form():
    a, b = np.array([3.0, 7, 0, 12]), np.array([40.0, 33, 25, 60])
    c, d = np.array([9.0, 4, 2, 20]), np.array([35.0, 38, 30, 51])
    r = peto(a, b, c, d)
    n1, n2 = a + b, c + d
    N = n1 + n2
    E = (a + c) * n1 / N
    Vh = (a + c) * (b + d) * n1 * n2 / (N**2 * (N - 1))
    want = np.sum((a - E) ** 2 / Vh) - np.sum(a - E) ** 2 / np.sum(Vh)
    assert r.QE == pytest.approx(want, rel=SECOND_ROUTE)


def _arms(rows):
    return pd.DataFrame(rows, columns=["study", "treatment", "mean", "sd", "n"])


SWAMPED = [("S0", "B", -23.78, 26.3, 18), ("S0", "C", -2.0, 25.7, 27),
           ("S1", "D", -5.7, 6.75, 17), ("S1", "B", 31.36, 1e154, 170),
           ("S1", "C", 42.55, 1.5, 40), ("S2", "B", 47.38, 5.89, 17),
           ("S2", "C", 0.479, 1.5, 18), ("S2", "D", 33.86, 6.17, 20)]


@pytest.mark.parametrize("method", ["FE", "REML", "DL"])
def test_a_study_whose_covariance_is_singular_is_named(method):
    # sd = 1e154 for the baseline arm: v_b + v_j rounds to v_b, the block is singular
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NetworkError, match=r"^study 'S1': the covariance of its 2 "
                                               "contrasts is singular"):
            network(_arms(SWAMPED), measure="MD", method=method)


def test_a_badly_scaled_but_regular_covariance_is_fitted():
    # variances of 1e-201 and 1e198 in one study: its correlation matrix is the identity to
    # double precision, so it is fitted; the Q above the largest double stays inf
    rows = [("S0", "a", -1e-100, 1e-10, 16), ("S0", "b", 1e150, 1e-150, 17),
            ("S1", "b", 1e100, 1e-100, 6), ("S1", "c", -1e-150, 1e100, 12),
            ("S1", "a", 1e-150, 1e-150, 2)]
    d = _arms(rows)
    c, order = contrasts_from_arms("MD", d.study, d.treatment, mean=d["mean"], sd=d["sd"],
                                   n=d["n"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fit_network(c, order, "FE")
    assert np.isfinite(f.beta).all() and np.isfinite(np.diag(f.vb)).all()
    assert f.Q == np.inf


def test_a_treatment_listed_twice_is_the_one_named():
    rows = [("S0", "A", 1.0, 1.0, 10), ("S0", "B", 2.0, 1.0, 10), ("S0", "B", 2.5, 1.0, 10)]
    with pytest.raises(NetworkError, match="study 'S0' lists treatment 'B' twice"):
        network(_arms(rows), measure="MD", method="FE")
