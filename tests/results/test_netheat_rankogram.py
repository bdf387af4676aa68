"""Net heat plot numbers against netmeta 3.3 ``netheat`` and rankograms by their second route
(issue #15, item 5).

Fixture: the ``netheat`` and ``pscores`` entries of ``tests/fixtures/netmeta_netsplit.json``
(``validation/netmeta/netsplit_reference.R``, netheat's local variables captured from
netmeta's plotting helper). netheat's design-level rows are matched by design and comparison;
``Q_inc_design``, ``diff`` (NaN pattern included) and ``H`` are closed forms: ``CLOSED_FORM``.
netmeta refuses the plot for fewer than 3 designs (woods2010, same_design), so does acu_meta.
Rankograms are simulated: SUCRA equals the P-score (netmeta's ``netrank``, in the fixture) in
expectation, checked within ``MC_SE`` Monte-Carlo standard errors.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from tolerances import CLOSED_FORM, MC_SE

from acu_meta.models.network import NetworkError, rank_probabilities
from acu_meta.results.network import net_heat, rankogram

_spec = importlib.util.spec_from_file_location(
    "_netsplit_cases", Path(__file__).with_name("test_netsplit_netmeta.py"))
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
NETS, fit = _cases.NETS, _cases._fit
HEAT = [(n, m) for n in NETS for m in ("common", "random")]


def _mat(rows):
    return np.array([[np.nan if x is None else x for x in r] for r in rows], float)


@pytest.mark.parametrize("name,model", HEAT, ids=[f"{n}-{m}" for n, m in HEAT])
def test_net_heat_against_netmeta(name, model):
    ref = NETS[name]["netheat"][model]
    net = fit(name, model)
    if not ref["available"]:
        with pytest.raises(NetworkError, match="at least 3 designs"):
            net_heat(net, random=model == "random")
        return
    h = net_heat(net, random=model == "random")
    assert h.model == model
    mine = {}
    for i, label in enumerate(h.rows):
        design, comp = label.split(" | ")
        a, b = comp.split(" vs ")
        mine[(frozenset(design.split(":")), a, b)] = i
    idx = [mine[(frozenset(d.split(":")), *c.split(":"))]
           for d, c in zip(ref["rows_design"], ref["rows_comparison"], strict=True)]
    assert sorted(idx) == list(range(len(h.rows)))
    np.testing.assert_allclose(h.q_inc[idx], ref["Q_inc_design"], rtol=CLOSED_FORM,
                               atol=CLOSED_FORM)
    want = _mat(ref["diff"])
    got = h.diff[np.ix_(idx, idx)]
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=CLOSED_FORM,
                               atol=CLOSED_FORM)
    # the NaN columns are netmeta's dropped rows (1-based)
    assert sorted(np.flatnonzero(np.isnan(want).all(axis=0)) + 1) == sorted(ref["dropped"])
    comp = {}
    for m, label in enumerate(h.comparisons):
        a, b = label.split(" vs ")
        comp[(a, b)], comp[(b, a)] = (m, 1.0), (m, -1.0)
    H = _mat(ref["H"])
    for r, label in enumerate(ref["H_rows"]):
        m, sign = comp[tuple(label.split(":"))]
        np.testing.assert_allclose(sign * h.H[m, idx], H[r], rtol=CLOSED_FORM, atol=CLOSED_FORM)
    # second route: the shares add up to the network's Q between designs (common effect)
    if model == "common":
        assert float(np.sum(h.q_inc)) == pytest.approx(net.Q_between, rel=CLOSED_FORM)
    assert "Net heat" in h.summary() and h.to_frame().shape == (len(h.rows), len(h.rows) + 1)


@pytest.mark.parametrize("name", ["stowe2010", "hasselblad1998"])
def test_rankogram_sucra_equals_p_scores(name):
    net = fit(name, "random")
    r = rankogram(net, n_sim=40_000, seed=7)
    P = r.probabilities
    np.testing.assert_allclose(P.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    T = len(r.treatments)
    ref = NETS[name]["pscores"]["undesirable"]  # net.larger_is_better is True
    for t, want in zip(ref["treatments"], ref["random"], strict=True):
        # SUCRA is a mean of T - 1 indicator means: its MC SE is at most 1/(2 sqrt(n)) * 1
        se = 0.5 / np.sqrt(r.n_sim)
        assert abs(r.sucra[t] - want) <= MC_SE * se, (t, r.sucra[t], want)
        assert abs(r.p_scores[t] - want) <= CLOSED_FORM
    assert r.to_frame().shape == (T, T + 2) and "Rankogram" in r.summary()
    lo, hi = r.conf_int()
    assert (lo.to_numpy() <= P + 1e-15).all() and (hi.to_numpy() >= P - 1e-15).all()


def test_rank_probabilities_are_reproducible_and_ordered():
    est = np.array([0.0, 1.0, -1.0])
    cov = np.diag([0.0, 1e-4, 1e-4])
    P = rank_probabilities(est, cov, larger_is_better=True, n_sim=2_000, seed=3)
    np.testing.assert_array_equal(P, np.eye(3)[[1, 0, 2]])  # 1.0 first, 0 second, -1 third
    Q = rank_probabilities(est, cov, larger_is_better=False, n_sim=2_000, seed=3)
    np.testing.assert_array_equal(Q, np.eye(3)[[1, 2, 0]])
    wide = np.diag([0.0, 1.0, 1.0])
    a = rank_probabilities(est, wide, n_sim=5_000, seed=11, chunk=1_000)
    b = rank_probabilities(est, wide, n_sim=5_000, seed=11, chunk=1_000)
    np.testing.assert_array_equal(a, b)
