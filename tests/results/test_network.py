"""Network meta-analysis against metafor rma.mv, and by second routes (pairwise, Bucher).

Fixture: tests/fixtures/metafor_network.json from validation/metafor/network_reference.R, which
builds the contrasts and their multi-arm covariance in R independently of acu_meta.
Tolerances (``tests/tolerances.py``): contrast data and common-effect fits are closed forms
(``CLOSED_FORM``); REML rests on metafor's optimizer (optim BFGS, reltol 1e-14), matched to
``NETWORK_REML`` as the issue asks; the design-by-treatment Q_between is a difference of two
metafor Q statistics (``Q_DIFFERENCE``). Against acu_meta's own pairwise engine: ``ITERATIVE``
for REML, ``CLOSED_FORM`` otherwise; contrast-level against arm-level input: ``SAME_ENGINE``.
The command line: ``tests/cli/test_cli_network.py``; the plots:
``tests/plots/test_network_plots.py``; the acupuncture network:
``tests/analyses/test_three_arm.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _helpers import FIXTURES, fixture_json
from tolerances import (
    CLOSED_FORM,
    ITERATIVE,
    NETWORK_REML,
    Q_DIFFERENCE,
    SAME_ARITHMETIC,
    SAME_ENGINE,
    SECOND_ROUTE,
    ZERO,
)

from acu_meta import escalc, pool
from acu_meta.models.network import NetworkError
from acu_meta.numeric import z_crit
from acu_meta.results.network import network

FIX = fixture_json("metafor_network.json")
REF = fixture_json("metafor_reference.json")
ARMS_DIR = FIXTURES / "network_arms"


def _arm_data(case):
    path = ARMS_DIR / f"{case['id']}.csv"
    return pd.read_csv(path)


@pytest.mark.parametrize("case", FIX["networks"], ids=[c["id"] for c in FIX["networks"]])
def test_contrast_data_equal_r(case):
    from acu_meta.models.network import contrasts_from_arms

    d = _arm_data(case)
    kw = {c: d[c].to_numpy(float) for c in ("events", "n", "mean", "sd") if c in d}
    c, order = contrasts_from_arms(case["measure"], d.study.astype(str), d.treatment,
                                   reference=case["reference"], **kw)
    assert order == case["treatments"]
    assert list(c.treat1) == case["treat1"] and list(c.treat2) == case["treat2"]
    np.testing.assert_allclose(c.yi, case["yi"], rtol=CLOSED_FORM, atol=SAME_ARITHMETIC)
    V = np.zeros_like(c.V)
    V[np.array(case["V_row"], int), np.array(case["V_col"], int)] = case["V_value"]
    np.testing.assert_allclose(c.V, V, rtol=CLOSED_FORM, atol=SAME_ARITHMETIC)


@pytest.mark.parametrize("case", FIX["networks"], ids=[c["id"] for c in FIX["networks"]])
def test_network_equals_metafor_rma_mv(case):
    d = _arm_data(case)
    d["study"] = d.study.astype(str)
    fe = network(d, measure=case["measure"], method="FE", reference=case["reference"])
    np.testing.assert_allclose(fe.estimate[1:], case["fe"]["beta"], rtol=CLOSED_FORM, atol=ZERO)
    np.testing.assert_allclose(fe.se[1:], case["fe"]["se"], rtol=CLOSED_FORM)
    assert fe.Q == pytest.approx(case["fe"]["QE"], rel=CLOSED_FORM)
    assert fe.Q_df == case["fe"]["QEdf"]
    # design-by-treatment interaction: Q within designs = QE of the inconsistency model
    assert fe.Q_within == pytest.approx(case["inconsistency"]["QE"], rel=CLOSED_FORM)
    assert fe.Q_within_df == case["inconsistency"]["QEdf"]
    assert fe.Q_between == pytest.approx(case["fe"]["QE"] - case["inconsistency"]["QE"],
                                         rel=Q_DIFFERENCE)
    re = network(d, measure=case["measure"], method="REML", reference=case["reference"])
    assert re.tau2 == pytest.approx(case["reml"]["tau2"], rel=NETWORK_REML)
    np.testing.assert_allclose(re.estimate[1:], case["reml"]["beta"], rtol=NETWORK_REML,
                               atol=NETWORK_REML)
    np.testing.assert_allclose(re.se[1:], case["reml"]["se"], rtol=NETWORK_REML)


@pytest.mark.parametrize("method", ["FE", "REML", "DL"])
def test_two_treatment_network_equals_pairwise(method):
    d = REF["datasets"]["bcg"]
    rows = []
    for s, a, n1, c, n2 in zip(d["study"], d["ai"], d["n1i"], d["ci"], d["n2i"], strict=True):
        rows += [{"study": s, "treatment": "control", "events": c, "n": n2},
                 {"study": s, "treatment": "vaccine", "events": a, "n": n1}]
    net = network(pd.DataFrame(rows), measure="OR", method=method, reference="control")
    pw = pool(escalc("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"]), method=method)
    tol = ITERATIVE if method == "REML" else CLOSED_FORM
    assert net.estimate[1] == pytest.approx(pw.estimate, rel=tol)
    assert net.se[1] == pytest.approx(pw.se, rel=tol)
    assert net.tau2 == pytest.approx(pw.tau2, rel=tol, abs=ZERO)
    assert net.Q == pytest.approx(pw.Q, rel=CLOSED_FORM)


def _two_arm(study, t1, m1, t2, m2, sd=1.0, n=50):
    return [{"study": study, "treatment": t1, "mean": m1, "sd": sd, "n": n},
            {"study": study, "treatment": t2, "mean": m2, "sd": sd, "n": n}]


def test_bucher_indirect_comparison():
    # A-C and B-C trials only: the network's A vs B is Bucher's d_AC - d_BC
    rows = _two_arm("s1", "C", 0.0, "A", 0.5) + _two_arm("s2", "C", 0.0, "B", 0.2, sd=1.3)
    net = network(pd.DataFrame(rows), measure="MD", method="FE", reference="C")
    cmp = net.compare("A", "B")
    d, se = cmp.estimate, cmp.se
    half = z_crit(0.95) * se
    assert (cmp.ci_low, cmp.ci_high) == pytest.approx((d - half, d + half), rel=SECOND_ROUTE)
    v_ac, v_bc = 2 / 50, 2 * 1.3**2 / 50
    assert d == pytest.approx(0.3, rel=SECOND_ROUTE)
    assert se == pytest.approx(np.sqrt(v_ac + v_bc), rel=SECOND_ROUTE)
    # with an A-B trial too, back-calculation recovers Bucher's indirect estimate exactly
    rows += _two_arm("s3", "B", 0.0, "A", 0.05, sd=0.9)
    net = network(pd.DataFrame(rows), measure="MD", method="FE", reference="C")
    split = net.netsplit().set_index("comparison")
    row = split.loc["B vs A"]  # later treatment first
    assert row.indirect == pytest.approx(-0.3, rel=SAME_ENGINE)
    assert row.indirect_se == pytest.approx(np.sqrt(v_ac + v_bc), rel=SAME_ENGINE)
    assert row.direct == pytest.approx(-0.05, rel=SECOND_ROUTE)


def test_p_scores_average_one_half():
    d = _arm_data(FIX["networks"][0])
    net = network(d.astype({"study": str}), measure="OR", method="REML",
                  reference="no_contact")
    ps = net.p_scores()
    assert np.mean(list(ps.values())) == pytest.approx(0.5, abs=ZERO)
    assert max(ps, key=ps.get) == "grp_counseling"


def test_league_table_is_antisymmetric():
    d = _arm_data(FIX["networks"][1])
    net = network(d.astype({"study": str}), measure="MD", method="REML", reference="placebo")
    lg = net.league().set_index(["treatment1", "treatment2"])
    for (a, b), r in lg.iterrows():
        assert lg.loc[(b, a), "estimate"] == pytest.approx(-r.estimate, abs=ZERO)


def test_bad_networks():
    with pytest.raises(NetworkError, match="one arm"):
        network(pd.DataFrame([{"study": "s", "treatment": "A", "mean": 1, "sd": 1, "n": 9}]
                             + _two_arm("t", "A", 0, "B", 1)), measure="MD")
    with pytest.raises(NetworkError, match=r"disconnected: \{A, B\} \| \{C, D\}"):
        network(pd.DataFrame(_two_arm("s", "A", 0, "B", 1) + _two_arm("t", "C", 0, "D", 1)),
                measure="MD")
    with pytest.raises(NetworkError, match="blank"):
        network(pd.DataFrame(_two_arm("s", "A", 0, " ", 1)), measure="MD")


@pytest.mark.parametrize("case", FIX["networks"], ids=[c["id"] for c in FIX["networks"]])
def test_contrast_level_input_equals_arm_level(case):
    """Contrast-level rows (yi, vi and the multi-arm covariance) give the arm-level fit."""
    from acu_meta.models.network import contrasts_from_arms
    from acu_meta.results.network import network_contrasts

    d = _arm_data(case).astype({"study": str})
    kw = {c: d[c].to_numpy(float) for c in ("events", "n", "mean", "sd") if c in d}
    c, _ = contrasts_from_arms(case["measure"], d.study, d.treatment,
                               reference=case["reference"], **kw)
    cov = []
    for i, s in enumerate(c.study):
        same = [j for j, t in enumerate(c.study) if t == s and j != i]
        cov.append(c.V[i, same[0]] if same else np.nan)  # multi-arm: shared baseline variance
    table = pd.DataFrame({"study": c.study, "treat1": c.treat1, "treat2": c.treat2, "yi": c.yi,
                          "vi": np.diag(c.V), "cov": cov})
    for method in ("FE", "REML"):
        a = network(d, measure=case["measure"], method=method, reference=case["reference"])
        b = network_contrasts(table, measure=case["measure"], method=method,
                              reference=case["reference"])
        np.testing.assert_allclose(b.estimate, a.estimate, rtol=SAME_ENGINE, atol=ZERO)
        np.testing.assert_allclose(b.se, a.se, rtol=SAME_ENGINE, atol=ZERO)
        assert b.Q == pytest.approx(a.Q, rel=SECOND_ROUTE)
        assert b.Q_within == pytest.approx(a.Q_within, rel=SAME_ENGINE)


def test_contrast_level_multi_arm_needs_cov():
    from acu_meta.results.network import network_contrasts

    t = pd.DataFrame({"study": ["s", "s", "t"], "treat1": ["B", "C", "C"],
                      "treat2": ["A", "A", "B"], "yi": [0.1, 0.2, 0.1], "vi": [0.1, 0.1, 0.2]})
    with pytest.raises(NetworkError, match="covariance"):
        network_contrasts(t)
    t["cov"] = [0.05, 0.05, np.nan]
    assert network_contrasts(t).treatments == ("A", "B", "C")
