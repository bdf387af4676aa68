"""The network plots (``acu_meta.plots.network``), read back from the artists' gids, on
dat.hasselblad1998 (``tests/fixtures/network_arms/hasselblad1998-OR.csv``): the graph draws one
node per treatment sized by patients and one edge per directly compared pair, widened by the
number of studies (or by the precision of the direct estimate); the forest draws one row per
treatment against the reference, at the network estimate and its 95% CI.

The network numbers themselves are validated against metafor rma.mv in
``tests/results/test_network.py``.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from _helpers import FIXTURES

from acu_meta.numeric import Z975
from acu_meta.plots.network import network_forest, network_graph
from acu_meta.results.network import network


@pytest.fixture(scope="module")
def arms():
    return pd.read_csv(FIXTURES / "network_arms" / "hasselblad1998-OR.csv").astype(
        {"study": str})


@pytest.fixture(scope="module")
def net(arms):
    return network(arms, measure="OR", reference="no_contact")


def _gid(fig, gid):
    (artist,) = [a for a in fig.findobj() if a.get_gid() == gid]
    return artist


def _gids(fig, prefix):
    return {a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)}


def test_network_graph_nodes_and_edges_by_studies(arms, net):
    # the pairs compared directly, counted from the arm table itself
    pairs = Counter()
    for _, trts in arms.groupby("study", sort=False).treatment:
        pairs.update(itertools.combinations(sorted(set(trts)), 2))
    fig = network_graph(net)
    assert _gids(fig, "node-") == {f"node-{t}" for t in net.treatments}
    assert _gids(fig, "edge-") == {f"edge-{a}-{b}" for a, b in pairs}
    top = max(pairs.values())
    for (a, b), k in pairs.items():
        assert _gid(fig, f"edge-{a}-{b}").get_linewidth() == pytest.approx(1 + 7 * k / top)
    n = arms.groupby("treatment").n.sum()
    for t in net.treatments:  # node area by patients
        assert _gid(fig, f"node-{t}").get_sizes()[0] == pytest.approx(
            150 + 1100 * n[t] / n.max())
        assert _gid(fig, f"label-{t}").get_text() == t  # as written in the data (#14)


def test_network_graph_edges_by_precision(net):
    fig = network_graph(net, edge_weight="precision")
    split = net.netsplit().set_index("comparison")
    prec = {tuple(sorted(c.split(" vs "))): 1 / se**2 for c, se in split.direct_se.items()}
    widths = {tuple(g[len("edge-"):].split("-")): _gid(fig, g).get_linewidth()
              for g in _gids(fig, "edge-")}
    top = max(prec[p] for p in widths)
    for p, w in widths.items():
        assert w == pytest.approx(1 + 7 * prec[p] / top)


def test_network_forest_rows_are_the_network_estimates(net):
    fig = network_forest(net)
    others = [i for i, t in enumerate(net.treatments) if t != net.reference]
    for row, i in enumerate(others):
        assert _gid(fig, f"label-{row}").get_text() == f"{net.treatments[i]} vs {net.reference}"
        e, se = net.estimate[i], net.se[i]
        want = f"{np.exp(e):.2f} [{np.exp(e - Z975 * se):.2f}, {np.exp(e + Z975 * se):.2f}]"
        assert _gid(fig, f"effect-{row}").get_text() == want
    assert not _gids(fig, f"label-{len(others)}")  # no extra row
    assert not _gids(fig, "diamond")  # network estimates are not pooled again
