"""The block-diagonal network GLS (issue #16 build item 4) equals the dense formulas.

Reference: a small dense implementation kept here (``inv(V + tau2 R)`` as an n x n matrix, the
GLS of :func:`acu_meta.models._linalg.wls` with that full weight matrix, the residual-maker
``pmat``), the form the network model used before. Random networks with two-, three- and
four-arm studies, block covariances with unequal off-diagonal entries (SMD-like), the rows of a
study not adjacent. Closed forms (fit, score, log-likelihood, DL) to ``CLOSED_FORM`` (1e-10);
REML tau2, found by the same root finder on the two forms of the score, to ``CLOSED_FORM``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from tolerances import CLOSED_FORM

from acu_meta import escalc
from acu_meta.models import _tau2
from acu_meta.models._linalg import pmat, wls
from acu_meta.models._network_linalg import NetworkSystem, blocks_from_study, blocks_of
from acu_meta.models._roots import scale_of, score_maximum
from acu_meta.models.network import (
    NetworkError,
    check_covariance,
    contrasts_from_arms,
    design_matrix,
    fit_network,
    q_decomposition,
    study_correlation,
)

# ------------------------------------------------------------------------------ dense reference


def dense_fit(t, y, V, R, X):
    S = V + t * R
    W = np.linalg.inv(S)
    return S, W, wls(y, X, W)


def dense_score(t, y, V, R, X):
    _, W, f = dense_fit(t, y, V, R, X)
    P = pmat(W, X, f.Ainv)
    Py = P @ y
    quad, tr = float(Py @ R @ Py), float(np.trace(P @ R))
    return quad - tr, abs(quad) + abs(tr)


def dense_loglik(t, y, V, R, X):
    S, _, f = dense_fit(t, y, V, R, X)
    logdet_a = np.linalg.slogdet(f.A_s)[1] + X.shape[1] * math.log(f.scale)
    return float(-0.5 * (np.linalg.slogdet(S)[1] + logdet_a + f.rss))


def dense_dl(y, V, R, X):
    W0 = np.linalg.inv(V)
    f = wls(y, X, W0)
    P0 = pmat(W0, X, f.Ainv)
    return max(0.0, (f.rss - (X.shape[0] - X.shape[1])) / float(np.trace(P0 @ R)))


def dense_reml(y, V, R, X):
    t, _ = score_maximum(lambda t: dense_score(t, y, V, R, X)[0],
                         lambda t: dense_loglik(t, y, V, R, X), scale_of(y, np.diag(V)))
    return t


# ------------------------------------------------------------------------------ random networks


def random_network(seed: int, n_studies: int = 30, n_trt: int = 5, shuffle: bool = True):
    """y, V, R, X and study labels of a random network (contrasts against each study's first
    arm), with the rows permuted so that a study's rows are not adjacent."""
    rng = np.random.default_rng(seed)
    study, t1, t2, ys, blocks_v = [], [], [], [], []
    for s in range(n_studies):
        arms = int(rng.choice([2, 2, 3, 4])) if s >= n_trt - 1 else 2
        trts = sorted(rng.choice(n_trt, size=arms, replace=False)) if s >= n_trt - 1 \
            else [0, s + 1]
        m = arms - 1
        g = rng.normal(0, 0.5, m)
        base = rng.uniform(0.005, 0.05)
        block = base + np.outer(g, g) * rng.uniform(0.0, 0.02)  # SMD-like: unequal covariances
        block[np.diag_indices(m)] += rng.uniform(0.005, 0.08, m)
        blocks_v.append(block)
        for j in trts[1:]:
            study.append(f"s{s}")
            t1.append(int(j))
            t2.append(int(trts[0]))
            ys.append(rng.normal(0.1 * j - 0.1 * trts[0], 0.3))
    n = len(ys)
    V = np.zeros((n, n))
    pos = 0
    for b in blocks_v:
        k = b.shape[0]
        V[pos:pos + k, pos:pos + k] = b
        pos += k
    X = np.zeros((n, n_trt - 1))
    for r, (a, b) in enumerate(zip(t1, t2, strict=True)):
        if a > 0:
            X[r, a - 1] += 1
        if b > 0:
            X[r, b - 1] -= 1
    st = np.array(study)
    R = np.where(st[:, None] == st[None, :], 0.5, 0.0)
    np.fill_diagonal(R, 1.0)
    y = np.array(ys)
    if shuffle:
        perm = rng.permutation(n)
        y, V, R, X, st = y[perm], V[np.ix_(perm, perm)], R[np.ix_(perm, perm)], X[perm], st[perm]
    return y, V, R, X, st


SEEDS = [1, 2, 3, 4]
TAUS = [0.0, 1e-4, 0.03, 1.7]


def test_blocks_from_pattern_equal_blocks_from_study():
    y, V, R, X, st = random_network(5)
    a, b = blocks_of(V, R), blocks_from_study(st)
    assert a.n == b.n == len(y)
    assert [g.shape[1] for g in a.groups] == [g.shape[1] for g in b.groups] == [1, 2, 3]
    for ga, gb, fa, fb in zip(a.groups, b.groups, a.first, b.first, strict=True):
        np.testing.assert_array_equal(ga, gb)
        np.testing.assert_array_equal(fa, fb)
        assert all(len(set(st[row])) == 1 for row in ga)  # one study per block
    rows = np.sort(np.concatenate([g.ravel() for g in a.groups]))
    np.testing.assert_array_equal(rows, np.arange(len(y)))  # every row once


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("t", TAUS)
def test_fit_score_loglik_equal_dense(seed, t):
    y, V, R, X, _ = random_network(seed)
    system = NetworkSystem(y, V, R, X)
    f, _, _ = system.wls(t)
    _, _, g = dense_fit(t, y, V, R, X)
    assert f.scale == g.scale
    np.testing.assert_allclose(f.beta, g.beta, rtol=CLOSED_FORM, atol=CLOSED_FORM)
    np.testing.assert_allclose(f.Ainv, g.Ainv, rtol=CLOSED_FORM, atol=CLOSED_FORM * 1e-3)
    np.testing.assert_allclose(f.resid, g.resid, rtol=CLOSED_FORM, atol=CLOSED_FORM)
    assert f.rss == pytest.approx(g.rss, rel=CLOSED_FORM)
    sc, size = dense_score(t, y, V, R, X)
    assert abs(system.score(t) - sc) <= CLOSED_FORM * size
    assert _tau2.network_score(t, y, V, R, X) == system.score(t)  # the public wrapper
    assert system.loglik(t) == pytest.approx(dense_loglik(t, y, V, R, X), rel=CLOSED_FORM)
    assert _tau2.network_loglik(t, y, V, R, X) == system.loglik(t)


@pytest.mark.parametrize("seed", SEEDS)
def test_tau2_estimators_equal_dense(seed):
    y, V, R, X, _ = random_network(seed)
    reml = _tau2.network_reml(y, V, R, X)
    assert reml > 0  # the random networks are heterogeneous: a non-trivial maximum
    assert reml == pytest.approx(dense_reml(y, V, R, X), rel=CLOSED_FORM)
    # the maximum: the dense score changes sign there
    assert dense_score(reml * 0.99, y, V, R, X)[0] > 0 > dense_score(reml * 1.01, y, V, R, X)[0]
    dl = _tau2.network_dl(y, V, R, X)
    assert dl > 0
    assert dl == pytest.approx(dense_dl(y, V, R, X), rel=CLOSED_FORM)
    system = NetworkSystem(y, V, R, X)  # a prebuilt system passes through
    assert _tau2.network_reml(y, system, None, X) == reml
    assert _tau2.network_dl(y, system, None, X) == dl


def test_extreme_scales_equal_dense():
    """Variances of 1e-150 and 1e150 side by side (the dense wls's balanced scaling, #17)."""
    y, V, R, X, st = random_network(7, shuffle=False)
    first = np.nonzero(st == st[0])[0]
    V = V.copy()
    V[np.ix_(first, first)] *= 1e-150
    last = np.nonzero(st == st[-1])[0]
    V[np.ix_(last, last)] *= 1e150
    y = y * 1e3
    system = NetworkSystem(y, V, R, X)
    f, _, _ = system.wls(0.0)
    _, _, g = dense_fit(0.0, y, V, R, X)
    assert np.all(np.isfinite(f.beta)) and math.isfinite(f.rss)
    np.testing.assert_allclose(f.beta, g.beta, rtol=CLOSED_FORM, atol=CLOSED_FORM * 1e3)
    assert f.rss == pytest.approx(g.rss, rel=CLOSED_FORM)
    assert system.loglik(0.0) == pytest.approx(dense_loglik(0.0, y, V, R, X), rel=CLOSED_FORM)


# ------------------------------------------------------------------------------ fit_network


def _arms(seed: int, n_studies: int = 25):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_studies):
        k = int(rng.choice([2, 2, 3, 4])) if s >= 3 else 2
        trts = ["A", "B", "C", "D", "E"]
        pick = list(rng.choice(5, size=k, replace=False)) if s >= 3 else [0, s + 1]
        for t in pick:
            nn = int(rng.integers(20, 120))
            ev = int(rng.integers(0, nn + 1)) if s % 5 else 0  # zero cells: the correction
            rows.append((f"s{s}", trts[t], ev, nn, rng.normal(0.2 * t, 1.0),
                         rng.uniform(0.5, 2.0)))
    return rows


def _dense_fit_network(c, order, method):
    X = design_matrix(c, order)
    R = study_correlation(c)
    y, V = c.yi, c.V
    Q = wls(y, X, np.linalg.inv(V)).rss
    t2 = {"FE": 0.0, "DL": lambda: dense_dl(y, V, R, X),
          "REML": lambda: dense_reml(y, V, R, X)}[method]
    t2 = t2 if isinstance(t2, float) else t2()
    f = wls(y, X, np.linalg.inv(V + t2 * R))
    return f.beta, f.Ainv, t2, Q


@pytest.mark.parametrize("measure", ["MD", "SMD", "OR", "RR", "RD"])
@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_fit_network_equals_dense(measure, method):
    rows = _arms(11)
    study, trt, ev, nn, mean, sd = zip(*rows, strict=True)
    kw = {"events": ev, "n": nn} if measure in ("OR", "RR", "RD") else \
        {"mean": mean, "sd": sd, "n": nn}
    c, order = contrasts_from_arms(measure, study, trt, **kw)
    fit = fit_network(c, order, method)
    beta, vb, t2, Q = _dense_fit_network(c, order, method)
    assert fit.tau2 == pytest.approx(t2, rel=CLOSED_FORM, abs=1e-300)
    np.testing.assert_allclose(fit.beta, beta, rtol=CLOSED_FORM, atol=CLOSED_FORM)
    np.testing.assert_allclose(fit.vb, vb, rtol=CLOSED_FORM, atol=CLOSED_FORM * 1e-3)
    assert fit.Q == pytest.approx(Q, rel=CLOSED_FORM)
    # Q within designs: each design's own dense GLS
    q_w = 0.0
    for d in dict.fromkeys(c.design):
        r = [i for i, dd in enumerate(c.design) if dd == d]
        sub_order = d.split(":")
        Xd = design_matrix(c, order)[r]
        keep = [j for j, t in enumerate(order[1:]) if t in sub_order]  # same column space
        Xd = Xd[:, keep] if order[0] in sub_order else Xd[:, keep[1:]]
        q_w += wls(c.yi[r], Xd, np.linalg.inv(c.V[np.ix_(r, r)])).rss
    assert fit.Q_within == pytest.approx(q_w, rel=CLOSED_FORM, abs=CLOSED_FORM)
    assert q_decomposition(c)[0] == fit.Q_within


@pytest.mark.parametrize("measure", ["SMD", "OR"])
def test_contrast_data_equal_one_escalc_per_contrast(measure):
    """One escalc call for all contrasts equals one call per contrast (the former assembly)."""
    rows = _arms(12)
    study, trt, ev, nn, mean, sd = zip(*rows, strict=True)
    binary = measure == "OR"
    kw = {"events": ev, "n": nn} if binary else {"mean": mean, "sd": sd, "n": nn}
    c, order = contrasts_from_arms(measure, study, trt, **kw)
    arm = {(s, t): i for i, (s, t) in enumerate(zip(study, trt, strict=True))}
    for r, (s, a, b) in enumerate(zip(c.study, c.treat1, c.treat2, strict=True)):
        i, j = arm[s, a], arm[s, b]
        if binary:
            members = [k for k, ss in enumerate(study) if ss == s]
            zero = any(ev[k] in (0, nn[k]) for k in members)
            add = 0.5 if zero else 0.0
            es = escalc("OR", ai=[ev[i] + add], n1i=[nn[i] + 2 * add], ci=[ev[j] + add],
                        n2i=[nn[j] + 2 * add], add=0)
        else:
            es = escalc("SMD", m1i=[mean[i]], sd1i=[sd[i]], n1i=[nn[i]], m2i=[mean[j]],
                        sd2i=[sd[j]], n2i=[nn[j]])
        assert c.yi[r] == pytest.approx(es.yi[0], rel=CLOSED_FORM, abs=CLOSED_FORM)
        assert c.V[r, r] == pytest.approx(es.vi[0], rel=CLOSED_FORM)


def test_check_covariance_names_the_first_failing_study():
    """With failing studies of different block sizes, the first in study order is named."""
    rows = [("S0", "A", 0, 1.0, 50), ("S0", "B", 0, 1.0, 50),
            ("S1", "A", 0, 1.0, 50), ("S1", "B", 0, 1.0, 50), ("S1", "C", 0, 1.0, 50),
            ("S2", "A", 0, 1e154, 50), ("S2", "B", 0, 1.5, 50), ("S2", "C", 0, 1.5, 50),
            ("S3", "B", 0, 1.0, 50), ("S3", "C", 0, 1.0, 50)]
    study, trt, mean, sd, nn = zip(*rows, strict=True)
    c, _ = contrasts_from_arms("MD", study, trt, mean=mean, sd=sd, n=nn)
    with pytest.raises(NetworkError, match=r"^study 'S2': the covariance of its 2 contrasts"):
        check_covariance(c)
    V = c.V.copy()
    V[0, 0] = math.nan  # a two-arm study earlier in order now fails too
    with pytest.raises(NetworkError, match=r"^study 'S0': the covariance of its 1 contrasts"):
        check_covariance(type(c)(c.measure, c.study, c.treat1, c.treat2, c.yi, V, c.design,
                                 c.n_by_treatment))


def test_fit_network_inverts_no_n_by_n_matrix(monkeypatch):
    """Every matrix fit_network (REML) and netsplit invert or factor is a study block or p x p:
    the structural form of "no dense n x n inverse" (the dense form inverted n x n matrices)."""
    from acu_meta.results.network import network

    sizes = []
    for name in ("inv", "solve", "slogdet", "cholesky", "cond"):
        real = getattr(np.linalg, name)

        def spy(a, *args, _real=real, **kw):
            sizes.append(np.shape(a)[-1])
            return _real(a, *args, **kw)

        monkeypatch.setattr(np.linalg, name, spy)
    rows = _arms(13, n_studies=40)
    study, trt, _, nn, mean, sd = zip(*rows, strict=True)
    arms = pd.DataFrame({"study": study, "treatment": trt, "mean": mean, "sd": sd, "n": nn})
    res = network(arms, measure="MD", method="REML")
    res.netsplit()
    n = len(res.contrasts.yi)
    assert sizes and n > 40
    assert max(sizes) <= max(3, len(res.treatments) - 1)  # blocks of <= 3, X'WX of 4 x 4
