"""The vectorized permutation engine of :mod:`acu_meta.models.metareg` against the single engine
(``fit_regression`` one permutation at a time): QM and the coefficient statistics agree to
SAME_ENGINE for FE, DL, ML and REML, with and without Knapp-Hartung, and rows with an ambiguous
likelihood (several maxima) are handed to the single engine."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _metafor import REF
from tolerances import SAME_ENGINE

from acu_meta import escalc
from acu_meta.models import metareg as m


def _data(seed, k=8, p=3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(k), rng.normal(size=(k, p - 1)) * [1, 30][: p - 1]])
    v = rng.uniform(0.02, 0.4, k)
    y = X @ rng.normal(scale=0.1, size=p) + rng.normal(scale=np.sqrt(v + 0.05))
    return y, v, X, np.array([rng.permutation(k) for _ in range(20)])


def _single(y, v, X, method, hksj, btt, perms):
    QM, stat = [], []
    for order in perms:
        r = m.fit_regression(y, v, X[order], method=method, hksj=hksj)
        q = m.wald(r, btt)
        QM.append(q / len(btt) if hksj else q)
        stat.append(r.beta / np.sqrt(np.diag(r.vb)))
    return np.array(QM), np.array(stat)


@pytest.mark.parametrize("method", m.BATCH_METHODS)
@pytest.mark.parametrize("hksj", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_permutations_equal_single_fits(method, hksj, seed):
    y, v, X, perms = _data(seed)
    btt = m.default_btt(X)
    got = m.permutation_tests(y, v, X, method, hksj, btt, perms, exact=False)
    QM, stat = _single(y, v, X, method, hksj, btt, perms)
    np.testing.assert_allclose(got.QM, QM, rtol=SAME_ENGINE, atol=SAME_ENGINE)
    np.testing.assert_allclose(got.stat, stat, rtol=SAME_ENGINE, atol=SAME_ENGINE)


def test_a_boundary_maximum_is_refitted_singly():
    # dat.bcg[1:6] ~ ablat (metafor's fixture data), permutation 368 of itertools' order:
    # Fisher scoring from DL stops at an interior local maximum of the REML likelihood while
    # tau2 = 0 is the global one; the row must be flagged and refitted singly
    d = REF["datasets"]["bcg"]
    es = escalc("RR", ai=d["ai"][:6], bi=d["bi"][:6], ci=d["ci"][:6], di=d["di"][:6])
    y, v = es.yi, es.vi
    X = np.column_stack([np.ones(6), d["mod"][:6]])
    perms = np.array([list(itertools.permutations(range(6)))[368], list(range(6))])
    Xc, _ = m.conditioned(X)
    tau2, refit = m._batch_tau2(y, v, Xc[perms], "REML")
    assert refit[0] and tau2[0] > 0
    assert m.fit_regression(y, v, X[perms[0]], "REML").fit.tau2 == 0
    got = m.permutation_tests(y, v, X, "REML", False, [1], perms, exact=False)
    QM, _ = _single(y, v, X, "REML", False, [1], perms)
    np.testing.assert_allclose(got.QM, QM, rtol=SAME_ENGINE)


def test_other_methods_use_the_single_engine():
    y, v, X, perms = _data(4)
    got = m.permutation_tests(y, v, X, "PM", False, [1, 2], perms[:5], exact=False)
    QM, _ = _single(y, v, X, "PM", False, [1, 2], perms[:5])
    np.testing.assert_allclose(got.QM, QM, rtol=SAME_ENGINE)
