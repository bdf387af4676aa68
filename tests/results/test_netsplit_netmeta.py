"""netsplit (back-calculation) and P-scores against netmeta 3.3 on networks with multi-arm
studies, common and random effects (issue #15, item 5).

Fixture: ``tests/fixtures/netmeta_netsplit.json`` from ``validation/netmeta/netsplit_reference.R``
(dat.stowe2010, Senn2013, dat.woods2010, dat.hasselblad1998 and a made-up network of two
trials of one three-arm design; netmeta's ``netsplit(net)``, method "Back-calculation",
``tol.direct`` 0.0005; random effects with the DerSimonian-Laird tau2). The grid's size is
guarded in ``tests/models/test_gaps_grid.py``.

netmeta's direct estimate pools each pair's within-trial contrasts with their own variances
(``v + tau2``); its indirect estimate is back-calculated from the network estimate, also where
the indirect evidence runs through the other contrasts of a multi-arm trial (stowe2010
COMTI:Placebo: -1.5046265, SE 0.6039231, through LARGO). Every value is a closed form:
tolerance ``CLOSED_FORM``. Second route: the inverse-variance combination of direct and
indirect recovers the network estimate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _helpers import fixture_json
from _metafor import assert_close
from tolerances import CLOSED_FORM, SECOND_ROUTE

from acu_meta.results.network import network, network_contrasts

NS = fixture_json("netmeta_netsplit.json")
NETS = NS["networks"]
CASES = [(name, model) for name in NETS for model in ("common", "random")]
METHOD = {"common": "FE", "random": "DL"}


def _senn_table(c) -> pd.DataFrame:
    """Senn2013's contrasts in acu_meta's contrast-level form: a multi-arm trial's pairwise
    variances give its arms' variances (v_ab = v_a + v_b), hence contrasts against one baseline
    arm with covariance v_baseline."""
    df = pd.DataFrame({"study": c["studlab"], "treat1": c["treat1"], "treat2": c["treat2"],
                       "yi": c["TE"], "vi": np.square(c["seTE"])})
    rows = []
    for s, g in df.groupby("study", sort=False):
        if len(g) == 1:
            rows.append(g.iloc[0].to_dict())
            continue
        trts = list(dict.fromkeys([*g.treat1, *g.treat2]))
        v = {frozenset((r.treat1, r.treat2)): r.vi for r in g.itertuples()}
        y = {(r.treat1, r.treat2): r.yi for r in g.itertuples()}
        y.update({(b, a): -e for (a, b), e in list(y.items())})
        base, others = trts[-1], trts[:-1]
        x, z = others[0], others[1]
        v_base = (v[frozenset((x, base))] + v[frozenset((z, base))] - v[frozenset((x, z))]) / 2
        for t in others:
            rows.append({"study": s, "treat1": t, "treat2": base, "yi": y[(t, base)],
                         "vi": v[frozenset((t, base))], "cov": v_base})
    return pd.DataFrame(rows)


def _fit(name, model):
    v = NETS[name]
    if v["arms"] is None:
        return network_contrasts(_senn_table(v["contrasts"]), measure=v["sm"],
                                 method=METHOD[model], reference=v["reference"])
    arms = pd.DataFrame(v["arms"]).rename(columns={"studlab": "study", "event": "events"})
    arms["study"] = arms["study"].astype(str)
    return network(arms, measure=v["sm"], method=METHOD[model], reference=v["reference"])


def _splits(net):
    from acu_meta.models import network as engine

    out = {}
    for s in engine.netsplit(net.contrasts, net.treatments, net.estimate, net.cov, net.tau2):
        out[(s.treat1, s.treat2)] = (s, 1.0)
        out[(s.treat2, s.treat1)] = (s, -1.0)
    return out


@pytest.mark.parametrize("name,model", CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_netsplit_against_netmeta(name, model):
    v, ns = NETS[name], NETS[name]["netsplit"]
    net = _fit(name, model)
    assert_close(net.tau2, v["network"]["tau2"] if model == "random" else 0.0, CLOSED_FORM,
                 "tau2")
    splits = _splits(net)
    ref = ns[model]
    n_indirect = 0
    for i, (t1, t2) in enumerate(zip(ns["treat1"], ns["treat2"], strict=True)):
        what = f"{t1}:{t2}"
        cmp_ = net.compare(t1, t2)
        d, se = cmp_.estimate, cmp_.se
        assert_close(d, ref["network"]["TE"][i], CLOSED_FORM, f"{what} network TE")
        assert_close(se, ref["network"]["seTE"][i], CLOSED_FORM, f"{what} network seTE")
        if ns["k"][i] == 0:  # no direct evidence: netmeta's indirect is the network estimate
            assert (t1, t2) not in splits
            continue
        s, sign = splits[(t1, t2)]
        assert s.k_direct == ns["k"][i]
        assert_close(s.direct_share, ns[f"prop_{model}"][i], CLOSED_FORM, f"{what} prop")
        for key, got in (("TE", sign * s.direct), ("seTE", s.direct_se)):
            assert_close(got, ref["direct"][key][i], CLOSED_FORM, f"{what} direct {key}")
        want = ref["indirect"]["TE"][i]
        if want is None:
            assert math.isnan(s.indirect) and math.isnan(s.p), what
            continue
        n_indirect += 1
        for key, got in (("TE", sign * s.indirect), ("seTE", s.indirect_se)):
            assert_close(got, ref["indirect"][key][i], CLOSED_FORM, f"{what} indirect {key}")
        for key, got in (("TE", sign * s.difference), ("statistic", sign * s.z), ("p", s.p)):
            assert_close(got, ref["compare"][key][i], CLOSED_FORM, f"{what} compare {key}")
        # second route: direct and indirect combine (inverse variance) to the network estimate
        w_d, w_i = 1 / s.direct_se**2, 1 / s.indirect_se**2
        back = (w_d * s.direct + w_i * s.indirect) / (w_d + w_i)
        assert back == pytest.approx(s.network, rel=SECOND_ROUTE, abs=SECOND_ROUTE)
    assert n_indirect == sum(t is not None and k > 0 for t, k in
                             zip(ref["indirect"]["TE"], ns["k"], strict=True))


def test_stowe2010_comti_placebo_has_the_indirect_estimate_through_largo():
    net = _fit("stowe2010", "common")
    s, sign = _splits(net)[("COMTI", "Placebo")]
    assert sign * s.indirect == pytest.approx(-1.5046265, abs=5e-8)
    assert s.indirect_se == pytest.approx(0.6039231, abs=5e-8)
    frame = net.netsplit().set_index("comparison")
    assert np.isfinite(frame.indirect).sum() == 3


@pytest.mark.parametrize("name,model", CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_p_scores_against_netrank(name, model):
    ranks = NETS[name]["pscores"]
    net = _fit(name, model)
    for which, larger in (("desirable", False), ("undesirable", True)):
        r = ranks[which]
        got = type(net)(**{**net.__dict__, "larger_is_better": larger}).p_scores()
        for t, want in zip(r["treatments"], r[model], strict=True):
            assert_close(got[t], want, CLOSED_FORM, f"{which} {t}")
