"""The generated answer (``acu_meta.analyses.answer``): every number of the three sensitivity
tables (primary outcome: GERAC HFAQ at 6 weeks, Haake 2007 Table 6, with Cherkin RMDQ at 8
weeks, Cherkin 2009 Table 2 as recorded by the DataEx fixtures) by a second route, the logit
conversion against Chinn 2000, the README section against the generated text.

Second routes:

* per-trial rows: Hedges' g written out (exact J, metafor's large-sample variance) and
  Cherkin's combined verum arm by the Cochrane Handbook 6.5.2.10 formula;
* fixed effect, REML Wald, REML HKSJ and the Knapp-Hartung ad hoc row (q >= 1): the hand
  formulas, with tau2 from a direct maximization of the restricted likelihood
  (scipy.optimize, not the package's root finder);
* Bayesian rows: the joint posterior p(mu, tau | y) ~ p(tau) prod N(y_i | mu, v_i + tau^2)
  integrated on a Gauss-Legendre grid over (log tau, mu) that checks itself against a coarser
  rule (``tests/_brute.py``); a quantile q of the table is checked through the brute-force
  CDF, |F(q) - p| / f(q) (the distance to the brute-force quantile to first order) below
  ``BRUTE_FORCE`` (tests/tolerances.py);
* network rows: GLS written out with tau2 from a direct REML maximization; the Bayesian
  network by quadrature over tau of the conditional normal posterior of the basic parameters
  (an independent implementation of the common-tau model, correlation 1/2);
* Chinn 2000 (Stat Med 19:3127-3131, Summary: "a ln(odds ratio) can be converted to effect
  size by dividing by 1.81"): the constant pi / sqrt(3) against the printed 1.81, and the
  identity behind it, two logistic distributions of unit SD shifted by d give ln(OR) =
  d pi / sqrt(3) at every cut-point (scipy.stats.logistic).
* the HKSJ and ad hoc rows against metafor's rma(test="knha" / "adhoc") on the same trial data
  (tests/fixtures/metafor_adhoc.json; the full grid in tests/results/test_adhoc_metafor.py).

Chinn's paper itself has no worked example reachable here; worked examples with numbers (R
package esc's convert_or2d/convert_d2or; Borenstein et al. 2009 ch. 7 as reproduced in meta's
help pages) and the meta/metafor references of the conversion are checked in
tests/effects/test_conversions.py.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from _brute import JointPosterior
from _helpers import fixture_json
from scipy import integrate, optimize, special, stats
from tolerances import BRUTE_FORCE, CLOSED_FORM, ITERATIVE, SAME_ENGINE, SECOND_ROUTE, half_unit

from acu_meta import data
from acu_meta.analyses import answer, three_arm
from acu_meta.effects import smd_from_log_or
from acu_meta.models import _bayes_priors as P
from acu_meta.results import MethodTable

REPO = Path(__file__).resolve().parents[2]

#: Brute-force quantiles (tolerances.BRUTE_FORCE): the first-order distance |F(q) - p| / f(q)
#: stays below 1e-7 for a correct quantile, while a wrong prior scale or likelihood moves a 95%
#: limit by more than 1e-3.
BRUTE_FORCE_QUANTILE = BRUTE_FORCE


@pytest.fixture(scope="module")
def tables():
    return {c: answer.sensitivity_table(c) for c in three_arm.COMPARISONS}


def _trials(comp):
    t = three_arm.trial_contrasts(comp)
    return t.smd.to_numpy(float), t.vi.to_numpy(float)


# ----------------------------------------------------------------------------- per trial

def _hedges(m1, s1, n1, m2, s2, n2):
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    m = n1 + n2 - 2
    j = math.exp(special.gammaln(m / 2) - 0.5 * math.log(m / 2) - special.gammaln((m - 1) / 2))
    g = j * (m1 - m2) / sp
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


def test_trial_rows_by_hand(tables):
    """GERAC Table 6 HFAQ 6 wk (higher = better) and Cherkin Table 2 RMDQ 8 wk (lower =
    better, verum = individualized + standardized, randomized n of Table 1)."""
    ao = data.load("arm_outcomes")
    g = ao[(ao.study_id == "haake2007") & (ao.outcome == "hfaq") & (ao.timepoint == "6wk")
           & (ao.location == "Table 6")].set_index("arm")
    c = ao[(ao.study_id == "cherkin2009") & (ao.outcome == "rmdq") & (ao.timepoint == "8wk")
           & (ao.source_id == "dataex")].set_index("arm")
    n = data.load("arms").query("study_id == 'cherkin2009'").set_index("arm").n_randomized
    n1, n2 = float(n["individualized"]), float(n["standardized"])
    m1, m2 = c.loc["individualized", "mean"], c.loc["standardized", "mean"]
    s1, s2 = c.loc["individualized", "sd"], c.loc["standardized", "sd"]
    nv, mv = n1 + n2, (n1 * m1 + n2 * m2) / (n1 + n2)
    sv = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * n2 / (n1 + n2)
                    * (m1 - m2) ** 2) / (n1 + n2 - 1))
    arm = {"GERAC 2007": {r: (g.loc[a, "mean"], g.loc[a, "sd"], float(g.loc[a, "n"]))
                          for r, a in (("verum", "verum"), ("sham", "sham"),
                                       ("usual care", "conventional"))},
           "Cherkin 2009": {"verum": (-mv, sv, nv),
                            "sham": (-c.loc["simulated", "mean"], c.loc["simulated", "sd"],
                                     float(n["simulated"])),
                            "usual care": (-c.loc["usual_care", "mean"],
                                           c.loc["usual_care", "sd"], float(n["usual_care"]))}}
    z = stats.norm.ppf(0.975)
    for comp, t in tables.items():
        a, b = comp.split(" vs ")
        for study, arms in arm.items():
            y, v = _hedges(*arms[a], *arms[b])
            row = next(r for r in t.rows if r.method.startswith(study))
            assert row.estimate == pytest.approx(y, rel=CLOSED_FORM)
            assert row.ci_low == pytest.approx(y - z * math.sqrt(v), rel=CLOSED_FORM)
            assert row.ci_high == pytest.approx(y + z * math.sqrt(v), rel=CLOSED_FORM)


# ----------------------------------------------------------------------------- frequentist

def _reml_tau2(y, v):
    """tau2 maximizing the restricted log-likelihood of the intercept-only model (bounded
    Brent, independent of the package's root finder)."""
    def nll(t2):
        w = 1 / (v + t2)
        mu = np.sum(w * y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v + t2)) + math.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))

    r = optimize.minimize_scalar(nll, bounds=(0.0, 50.0), method="bounded",
                                 options={"xatol": 1e-14})
    return r.x if nll(r.x) < nll(0.0) else 0.0


def _hand(y, v, tau2, kind):
    k = len(y)
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    if kind == "wald":
        h = stats.norm.ppf(0.975) * math.sqrt(1 / np.sum(w))
        return mu, mu - h, mu + h
    q = np.sum(w * (y - mu) ** 2) / (k - 1)
    if kind == "adhoc":
        q = max(1.0, q)
    h = stats.t.ppf(0.975, k - 1) * math.sqrt(q / np.sum(w))
    return mu, mu - h, mu + h


@pytest.mark.parametrize("comp", three_arm.COMPARISONS)
def test_frequentist_rows_by_hand_formula(tables, comp):
    """Fixed effect, REML Wald, HKSJ and HKSJ with the q >= 1 modification (Knapp & Hartung
    2003; Roever, Knapp & Friede 2015; Jackson et al. 2017) written out."""
    y, v = _trials(comp)
    t = tables[comp]
    t2 = _reml_tau2(y, v)
    for method, tau2, kind in (("Fixed effect", 0.0, "wald"), ("REML, Wald", t2, "wald"),
                               ("REML, HKSJ", t2, "hksj"),
                               ("REML, HKSJ ad hoc (q >= 1)", t2, "adhoc")):
        want = _hand(y, v, tau2, kind)
        r = t.row(method)
        got = (r.estimate, r.ci_low, r.ci_high)
        assert got == pytest.approx(want, rel=ITERATIVE, abs=ITERATIVE), (comp, method)


def test_adhoc_differs_from_hksj_only_where_q_is_below_one(tables):
    """The modification binds exactly when the HKSJ scale factor is below 1: verum vs usual
    care (the two trials agree, Q = 0.44 < 1) widens; the others keep the HKSJ interval."""
    for comp, t in tables.items():
        y, v = _trials(comp)
        w = 1 / (v + _reml_tau2(y, v))
        q = np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)
        hk, ah = t.row("REML, HKSJ"), t.row("REML, HKSJ ad hoc (q >= 1)")
        if q < 1:
            assert ah.width > hk.width * 1.01
        else:
            assert ah.width == pytest.approx(hk.width, rel=SECOND_ROUTE)


@pytest.mark.parametrize("comp", three_arm.COMPARISONS)
def test_hksj_rows_against_metafor_adhoc_fixture(tables, comp):
    """The table's "REML, HKSJ ad hoc (q >= 1)" and "REML, HKSJ" rows against metafor 3.8.1
    ``rma(yi, vi, method="REML", test="adhoc")`` and ``test="knha"`` on the same trial data
    (``tests/fixtures/metafor_adhoc.json``, case ``trial_*-REML-95``, written by
    ``validation/metafor/adhoc_reference.R``; the whole grid is checked in
    ``tests/results/test_adhoc_metafor.py``)."""
    ref = fixture_json("metafor_adhoc.json")
    name = next(n for n, c in ref["trial_comparison"].items() if c == comp)
    case = next(c for c in ref["cases"] if c["id"] == f"{name}-REML-95")
    t = tables[comp]
    for method, test in (("REML, HKSJ ad hoc (q >= 1)", "adhoc"), ("REML, HKSJ", "knha")):
        r, want = t.row(method), case[test]
        got = (r.estimate, r.ci_low, r.ci_high)
        assert got == pytest.approx((want["estimate"], want["ci_lb"], want["ci_ub"]),
                                    rel=ITERATIVE, abs=ITERATIVE), (comp, method)


# ----------------------------------------------------------------------------- Bayesian

@pytest.mark.parametrize("comp", three_arm.COMPARISONS)
def test_bayesian_rows_by_brute_force_quadrature(tables, comp):
    """Posterior median and central 95% limits of mu under each prior of the table."""
    y, v = _trials(comp)
    t = tables[comp]
    for label, spec, _ in answer.BAYES_PRIORS:
        prior = P.parse_tau_prior(spec)
        b = JointPosterior(y, np.sqrt(v), prior)  # flat mu prior
        r = t.row(label)
        for q, p in ((r.ci_low, 0.025), (r.estimate, 0.5), (r.ci_high, 0.975)):
            dist = abs(b.cdf_mu(q) - p) / b.pdf_mu(q)
            assert dist < BRUTE_FORCE_QUANTILE, (comp, label, p, dist)


# ----------------------------------------------------------------------------- network

def _network_parts(outcome="function_eot"):
    tab = three_arm.network_contrast_table(outcome=outcome)
    basic = ["verum", "sham"]
    X = np.array([[1.0 if t == b else 0.0 for b in basic] for t in tab.treat1])
    y = tab.yi.to_numpy(float)
    V = np.diag(tab.vi.to_numpy(float))
    R = np.eye(len(y))
    for i in range(len(y)):
        for j in range(len(y)):
            if i != j and tab.study[i] == tab.study[j]:
                V[i, j] = tab["cov"][i]
                R[i, j] = 0.5
    return y, X, V, R


def _gls(y, X, S):
    Si = np.linalg.inv(S)
    C = np.linalg.inv(X.T @ Si @ X)
    b = C @ X.T @ Si @ y
    return b, C, Si


def _net_reml_tau2(y, X, V, R):
    def nll(t2):
        S = V + t2 * R
        b, C, Si = _gls(y, X, S)
        r = y - X @ b
        return 0.5 * (np.linalg.slogdet(S)[1] - np.linalg.slogdet(C)[1] + r @ Si @ r)

    r = optimize.minimize_scalar(nll, bounds=(0.0, 20.0), method="bounded",
                                 options={"xatol": 1e-14})
    return r.x if nll(r.x) < nll(0.0) else 0.0


_CVEC = {"verum vs sham": np.array([1.0, -1.0]), "sham vs usual care": np.array([0.0, 1.0]),
         "verum vs usual care": np.array([1.0, 0.0])}


def test_network_reml_rows_by_gls(tables):
    y, X, V, R = _network_parts()
    t2 = _net_reml_tau2(y, X, V, R)
    b, C, _ = _gls(y, X, V + t2 * R)
    z = stats.norm.ppf(0.975)
    for comp, t in tables.items():
        c = _CVEC[comp]
        est, se = c @ b, math.sqrt(c @ C @ c)
        r = t.row("Network, REML")
        assert (r.estimate, r.ci_low, r.ci_high) == pytest.approx(
            (est, est - z * se, est + z * se), rel=ITERATIVE, abs=ITERATIVE), comp


def test_network_bayes_rows_by_quadrature_over_tau(tables):
    """p(tau | y) ~ p(tau) |S|^-1/2 |X'S^-1 X|^-1/2 exp(-r'S^-1 r / 2), S = V + tau^2 R (flat
    prior on the basic parameters); the contrast is normal given tau. Quantiles through the
    CDF as in the pairwise check."""
    y, X, V, R = _network_parts()
    prior = P.parse_tau_prior(answer.NETWORK_PRIOR)

    def parts(tau):
        b, C, Si = _gls(y, X, V + tau * tau * R)
        r = y - X @ b
        S = V + tau * tau * R
        lw = (float(prior.logpdf(np.array(tau), np.sqrt(np.diag(V))))
              - 0.5 * (np.linalg.slogdet(S)[1] - np.linalg.slogdet(C)[1] + r @ Si @ r))
        return lw, b, C

    opts = dict(epsabs=0, epsrel=1e-10, limit=400)
    lw0 = parts(0.2)[0]
    Z = integrate.quad(lambda tau: math.exp(parts(tau)[0] - lw0), 0, np.inf, **opts)[0]
    for comp, t in tables.items():
        c = _CVEC[comp]

        def cdf(q, c=c):
            def g(tau):
                lw, b, C = parts(tau)
                return math.exp(lw - lw0) * stats.norm.cdf((q - c @ b) / math.sqrt(c @ C @ c))
            return integrate.quad(g, 0, np.inf, **opts)[0] / Z

        def pdf(q, c=c):
            def g(tau):
                lw, b, C = parts(tau)
                s = math.sqrt(c @ C @ c)
                return math.exp(lw - lw0) * stats.norm.pdf((q - c @ b) / s) / s
            return integrate.quad(g, 0, np.inf, **opts)[0] / Z

        r = t.row("Network, Bayes half-normal(0.5)")
        for q, p in ((r.ci_low, 0.025), (r.estimate, 0.5), (r.ci_high, 0.975)):
            assert abs(cdf(q) - p) / pdf(q) < BRUTE_FORCE_QUANTILE, (comp, p)


# ----------------------------------------------------------------------------- Chinn 2000

def test_chinn_constant_is_the_printed_1_81():
    """Chinn 2000, Summary: ln(OR) / 1.81 = effect size; pi / sqrt(3) = 1.8138 prints as
    1.81, and smd_from_log_or divides by it (variance by its square)."""
    d, vd = smd_from_log_or([1.0], [1.0])
    assert abs(1 / d[0] - 1.81) <= half_unit("1.81")
    assert vd[0] == pytest.approx(d[0] ** 2, rel=SECOND_ROUTE)


@pytest.mark.parametrize("cut", [-1.5, 0.0, 0.7, 2.0])
def test_chinn_identity_for_shifted_logistic_outcomes(cut):
    """Latent outcome logistic with SD 1 in both arms, means differing by d = 0.4: the odds
    ratio of exceeding any cut-point gives back d exactly (the model Chinn's method assumes)."""
    d = 0.4
    scale = math.sqrt(3) / math.pi  # logistic SD = scale pi / sqrt(3) = 1
    p1 = stats.logistic.sf(cut, loc=d, scale=scale)
    p0 = stats.logistic.sf(cut, loc=0.0, scale=scale)
    log_or = math.log(p1 / (1 - p1)) - math.log(p0 / (1 - p0))
    assert smd_from_log_or([log_or], [0.0])[0][0] == pytest.approx(d, rel=SECOND_ROUTE)


def test_gerac_responder_row_by_hand():
    """GERAC response at 6 months (Table 4; derived counts 184, 171, 106 of 387): log OR with
    Woolf variance, times sqrt(3)/pi."""
    t = three_arm.trial_contrasts("verum vs sham", outcome="responder_6mo").set_index("study")
    a, c, n = 184, 171, 387
    lo = math.log(a / (n - a)) - math.log(c / (n - c))
    vl = 1 / a + 1 / (n - a) + 1 / c + 1 / (n - c)
    k = math.sqrt(3) / math.pi
    assert t.loc["GERAC 2007", "smd"] == pytest.approx(lo * k, rel=SECOND_ROUTE)
    assert t.loc["GERAC 2007", "vi"] == pytest.approx(vl * k * k, rel=SECOND_ROUTE)


# ----------------------------------------------------------------------------- structure

def test_like_with_like_outcomes():
    """The primary set pools function with function: HFAQ (GERAC) with RMDQ (Cherkin); pain
    rests on GERAC alone and is not pooled."""
    t = three_arm.trial_contrasts("verum vs sham")
    assert list(t.outcome) == ["HFAQ, 6wk", "RMDQ, 8wk"]
    pain = answer.sensitivity_table("verum vs sham", outcome="pain_eot")
    assert [r.group for r in pain.rows] == ["trial"]
    assert "not pooled" in pain.notes[0] or "Nothing is pooled" in " ".join(pain.notes) \
        or "nothing is pooled" in " ".join(pain.notes)


def test_every_method_row_is_present(tables):
    want = ["Fixed effect", "REML, Wald", "REML, HKSJ", "REML, HKSJ ad hoc (q >= 1)",
            "Bayes, half-normal(0.5)", "Bayes, half-normal(1)", "Bayes, Rhodes 2015 prior",
            "Network, REML", "Network, Bayes half-normal(0.5)"]
    for t in tables.values():
        assert isinstance(t, MethodTable)
        assert [r.method for r in t.rows if r.group != "trial"] == want
        assert len([r for r in t.rows if r.group == "trial"]) == 2
        assert t.to_frame().shape[0] == len(t.rows)
        assert list(t.conf_int().columns) == ["estimate", "ci_low", "ci_high"]
        assert "<table" in t._repr_html_()


def test_split_nodes_each_rest_on_one_trial():
    """In the split network (reference verum, the one node both trials share) every verum
    comparison is the one trial's own SMD (second route: escalc's per-trial contrasts), each
    sham vs control comparison the difference of that trial's two verum contrasts, and tau2 is
    0 (no comparison has two trials); the lumped network uses both trials."""
    nt = answer.node_table().set_index(["nodes", "comparison"])
    assert nt.attrs["tau2"]["split"] == 0.0
    tc = {c: three_arm.trial_contrasts(c).set_index("study").smd for c in three_arm.COMPARISONS}
    for study, sham, control in (("GERAC 2007", "sham_penetrating", "guideline_care"),
                                 ("Cherkin 2009", "sham_non_penetrating", "usual_care")):
        vs_sham, vs_control = tc["verum vs sham"][study], tc["verum vs usual care"][study]
        for comp, want in ((f"verum vs {sham}", vs_sham), (f"verum vs {control}", vs_control),
                           (f"{sham} vs {control}", vs_control - vs_sham)):
            row = nt.loc[("split", comp)]
            assert row.estimate == pytest.approx(want, rel=SAME_ENGINE, abs=SAME_ENGINE), comp
            assert row["rests on"] == f"{study} only"
    assert (nt.loc["lumped"]["rests on"] == "GERAC 2007 and Cherkin 2009").all()


def test_the_sentence_follows_the_numbers(tables):
    s = tables["verum vs sham"].notes[-1]
    assert "opposite directions" in s and "every interval includes 0" in s
    s = tables["verum vs usual care"].notes[-1]
    assert "both found a benefit" in s


def test_flags_and_no_share_ratio():
    d = three_arm.specific_vs_nonspecific()
    assert not any("share" in k for k in d)
    flags = " ".join(answer.uninformative_summaries())
    assert "share" in flags and "P-scores" in flags and "I2" in flags


def test_published_table_values_come_from_data():
    pt = answer.published_table()
    p = data.load("pooled").set_index("pooled_id")
    v = pt[pt.source == "vickers2012"].iloc[0]
    assert v.estimate == p.loc["vickers2012_backneck_sham", "estimate"]
    facts = data.load("facts").set_index("fact_id").value
    assert f"at most {int(facts['v2012_t1_sham_trials'])} sham-controlled" in v.trials
    linde = pt[pt.source == "linde2010"].iloc[0]
    assert linde.estimate == -p.loc["linde2010_sham_noacu", "estimate"]
    assert f"{int(p.loc['linde2010_sham_noacu', 'k_trials'])} trials" in linde.trials
    assert (pt.differs[pt.source != "acu_meta (this answer)"] != "").all()


# ----------------------------------------------------------------------------- README

def _readme_answer() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"### The answer, so far\n\n(.*?)\n\n### ", text, flags=re.S)
    assert m, "README has no 'The answer, so far' section"
    return m.group(1)


def test_readme_answer_is_the_generated_text():
    """The README's answer section is the generated text; regenerate with ``acu-meta
    reproduce`` and paste ``answer.readme_section()`` after a change of data or method."""
    assert _readme_answer() == answer.readme_section()


def test_committed_answer_md_starts_with_the_readme_section():
    md = (REPO / "reports" / "answer.md").read_text(encoding="utf-8")
    assert answer.readme_section() in md
    assert "## Nodes: lumped and split" in md and "## Beside the published" in md


def test_committed_answer_md_is_current(reproduced_dir):
    """reports/answer.md is what ``acu-meta reproduce`` writes (commit it after a change)."""
    fresh = (reproduced_dir / "reports" / "answer.md").read_text(encoding="utf-8")
    assert (REPO / "reports" / "answer.md").read_text(encoding="utf-8") == fresh


def test_perturbing_one_number_moves_exactly_the_tables_it_feeds(tmp_path):
    """GERAC's sham HFAQ mean at 6 weeks (Table 6, 61.3) set to the verum mean (64.0): the
    verum-vs-sham and sham-vs-usual-care tables move, verum vs usual care does not, and
    GERAC's own verum-vs-sham row becomes 0 (frequentist and network rows; fast). The
    network rows of verum vs usual care move too: the network fits all arms jointly (one
    tau2), which is what it is for."""
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder)
    path = folder / "arm_outcomes.csv"
    text = path.read_text()
    old = "haake2007,sham,hfaq,6wk,value,375,61.3,20.8,"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "haake2007,sham,hfaq,6wk,value,375,64.0,20.8,"))
    moved = set()
    for comp in three_arm.COMPARISONS:
        new = answer.sensitivity_table(comp, folder, bayesian=False).conf_int()
        base = answer.sensitivity_table(comp, bayesian=False).conf_int()
        for method in base.index:
            if not np.allclose(new.loc[method], base.loc[method], rtol=0, atol=1e-12):
                moved.add((comp, method.split(" (")[0]))
    pairwise = ["GERAC 2007", "Fixed effect", "REML, Wald", "REML, HKSJ",
                "REML, HKSJ ad hoc"]
    want = {(c, m) for c in ("verum vs sham", "sham vs usual care") for m in pairwise}
    want |= {(c, "Network, REML") for c in three_arm.COMPARISONS}
    assert moved == want
    row = answer.sensitivity_table("verum vs sham", folder, bayesian=False).rows[0]
    assert row.method.startswith("GERAC") and abs(row.estimate) < 0.01
