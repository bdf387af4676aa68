"""Conversions to an effect size and its variance (``acu_meta.effects.conversions``), each
validated by a second route: a Wald CI built from (y, se) gives se back, its P gives se back, a
t statistic carries the same SMD as the means, and the median-to-mean/SD estimators (Luo 2018,
Wan 2014) return mu and sigma from the expected order statistics of a normal sample. The
log OR -> SMD conversion (``smd_from_log_or``) against two worked examples at their printed
rounding (``printed``/``half_unit``) and against R's meta/metafor (``CLOSED_FORM``); see its
section below.

Tolerances (``tests/tolerances.py``): ``SECOND_ROUTE`` for closed-form round trips,
``CLOSED_FORM`` for the round trip through the inverse normal quantile (p -> z -> se),
``SAME_ARITHMETIC`` for the Luo/Wan formulas written out again.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import fixture_json
from scipy import stats
from tolerances import (
    CLOSED_FORM,
    REPRESENTATION,
    SAME_ARITHMETIC,
    SECOND_ROUTE,
    half_unit,
    printed,
)

from acu_meta.analyses import three_arm
from acu_meta.analyses.gerac2007 import responder_counts
from acu_meta.effects import (
    EffectSizeError,
    escalc,
    from_ci,
    from_p,
    from_t,
    mean_sd_from_median,
    se_from_ci,
    smd_from_log_or,
)


def test_ci_and_p_conversions_second_route():
    # a Wald CI built from (y, se) gives se back; its P gives se back
    y, se = 0.4, 0.15
    z = stats.norm.ppf(0.975)
    assert se_from_ci(y - z * se, y + z * se) == pytest.approx(se, rel=SECOND_ROUTE)
    est, var = from_ci(math.exp(y), math.exp(y - z * se), math.exp(y + z * se), log=True)
    assert est == pytest.approx(y) and var == pytest.approx(se**2, rel=SECOND_ROUTE)
    p = 2 * stats.norm.sf(y / se)
    assert from_p(y, p)[1] == pytest.approx(se**2, rel=CLOSED_FORM)
    with pytest.raises(EffectSizeError):
        from_p(y, 1.5)


def test_smd_from_t_equals_smd_from_means():
    # t of a pooled-variance two-sample test carries the same d
    m1, m2, s, n1, n2 = 5.0, 4.2, 1.7, 30, 28
    t = (m1 - m2) / (s * math.sqrt(1 / n1 + 1 / n2))
    g, v = from_t(t, n1, n2)
    es = escalc("SMD", m1i=[m1], sd1i=[s], n1i=[n1], m2i=[m2], sd2i=[s], n2i=[n2])
    assert g == pytest.approx(es.yi[0], rel=SECOND_ROUTE)
    assert v == pytest.approx(es.vi[0], rel=SECOND_ROUTE)


@pytest.mark.parametrize("n", [20, 100, 10_000])
def test_median_conversions_recover_normal_parameters(n):
    # expected order statistics of N(mu, sigma): the estimators are built to return mu, sigma
    mu, sigma = 50.0, 10.0
    xi = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
    eta = 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    a, b = mu - sigma * xi / 2, mu + sigma * xi / 2
    q1, q3 = mu - sigma * eta / 2, mu + sigma * eta / 2
    for kw in (dict(minimum=a, maximum=b), dict(q1=q1, q3=q3),
               dict(minimum=a, maximum=b, q1=q1, q3=q3)):
        for method in ("luo", "wan"):
            r = mean_sd_from_median(n, mu, mean_method=method, **kw)
            assert r.mean == pytest.approx(mu, rel=SECOND_ROUTE)
            assert r.sd == pytest.approx(sigma, rel=SECOND_ROUTE)


def test_median_conversion_skewed_by_hand():
    # Luo (2018) S2 with n = 40: w = 0.7 + 0.39/40; Wan (2014) SD = IQR / eta(40)
    r = mean_sd_from_median(40, 10.0, q1=8.0, q3=14.0)
    w = 0.7 + 0.39 / 40
    assert r.mean == pytest.approx(w * 11.0 + (1 - w) * 10.0, rel=SAME_ARITHMETIC)
    eta = 2 * stats.norm.ppf((30 - 0.125) / 40.25)
    assert r.sd == pytest.approx(6.0 / eta, rel=SAME_ARITHMETIC)
    assert r.scenario == "S2"
    with pytest.raises(EffectSizeError):
        mean_sd_from_median(40, 20.0, q1=8.0, q3=14.0)


# ----------------------------------------------------------------------------- log OR -> SMD
# smd_from_log_or (the logit method: d = ln(OR) sqrt(3) / pi, var(d) = var(ln OR) 3 / pi^2;
# Hasselblad & Hedges 1995, Chinn 2000) against two worked examples at their printed rounding
# and against R's meta and metafor (tests/fixtures/meta_or2smd.json, written by
# validation/meta/or2smd_reference.R) to CLOSED_FORM.
#
# Worked examples:
# * ESC: Luedecke, R package esc, reference page of convert_or2d / convert_d2or, section
#   Examples (GitHub strengejacke/esc, docs/reference/convert_or2d.html at commit
#   32caff95484a6c34d914e9a639ec281c5a48a3cb; https://strengejacke.github.io/esc/reference/
#   convert_or2d.html): convert_or2d(3.56, se = 0.91) prints Effect Size 0.7001, Standard Error
#   0.5017, Variance 0.2517; convert_d2or(0.7, se = 0.5) prints Effect Size 3.5596 (an OR),
#   Standard Error 0.9069, Variance 0.8225 (SE and variance of ln OR). Printed by a software
#   package, not a journal or book.
# * BORENSTEIN: Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis,
#   ch. 7 "Converting among effect sizes" (p. 47 per the kim package's documentation): ln OR
#   0.9069 with variance 0.0676 <-> d 0.5000 with variance 0.0205. SECONDARY: the example as
#   reproduced in meta's help pages (guido-s/meta man/or2smd.Rd and man/smd2or.Rd at commit
#   157fb97614292b644f0f788c04c2a9ca958fc2e1, "# Example from Borenstein et al. (2010), Chapter
#   7": or2smd(0.9069, sqrt(0.0676)) and smd2or(0.5, sqrt(0.0205))); book text not verified.

OR2SMD = fixture_json("meta_or2smd.json")

#: The grid or2smd_reference.R writes (or2smd rows, smd2or rows, 2x2 tables).
N_OR2SMD, N_SMD2OR, N_ESCALC = 12, 7, 5


def _log_or_from_smd(d, var_d):
    """The inverse of smd_from_log_or (a linear map): divide by its image of ln OR = 1,
    var = 1."""
    unit_d, unit_v = smd_from_log_or([1.0], [1.0])
    return np.asarray(d, float) / unit_d[0], np.asarray(var_d, float) / unit_v[0]


def test_esc_convert_or2d_worked_example():
    """ESC convert_or2d(3.56, se = 0.91): d 0.7001, SE 0.5017, variance 0.2517."""
    d, vd = smd_from_log_or([math.log(3.56)], [0.91**2])
    assert printed(d[0], "0.7001")
    assert printed(math.sqrt(vd[0]), "0.5017")
    assert printed(vd[0], "0.2517")


def test_esc_convert_d2or_worked_example_inverse():
    """ESC convert_d2or(0.7, se = 0.5), the d -> ln OR direction through the inverse of
    smd_from_log_or: OR 3.5596, SE of ln OR 0.9069, variance 0.8225."""
    lo, vl = _log_or_from_smd([0.7], [0.5**2])
    assert printed(math.exp(lo[0]), "3.5596")
    assert printed(math.sqrt(vl[0]), "0.9069")
    assert printed(vl[0], "0.8225")


def test_borenstein_ch7_worked_example():
    """BORENSTEIN (secondary, see above): ln OR 0.9069, variance 0.0676 -> d 0.5000,
    variance 0.0205."""
    d, vd = smd_from_log_or([0.9069], [0.0676])
    assert printed(d[0], "0.5000")
    assert printed(vd[0], "0.0205")


def test_borenstein_ch7_worked_example_inverse():
    """BORENSTEIN read backwards, d 0.5000 (variance 0.0205) -> ln OR 0.9069 (variance
    0.0676). The printed d values are themselves rounded, so the printed ln OR values must lie
    within the inverse image of their rounding interval, widened by the ln OR values' own half
    unit. (Inverting the rounded 0.0205 alone gives 0.06744, which prints as 0.0674, not
    0.0676: the book's 0.0205 is 0.020548 rounded; smd2or(0.5, sqrt(0.0205)) in the fixture
    shows the same.)"""
    lo, vl = _log_or_from_smd([0.5], [0.0205])
    unit_d, unit_v = smd_from_log_or([1.0], [1.0])
    for got, out_text, in_text, slope in ((lo[0], "0.5000", "0.9069", 1 / unit_d[0]),
                                          (vl[0], "0.0205", "0.0676", 1 / unit_v[0])):
        bound = half_unit(out_text) * slope + half_unit(in_text) + REPRESENTATION
        assert abs(got - float(in_text)) <= bound, (out_text, in_text)
    assert not printed(vl[0], "0.0676")  # the rounding of 0.0205 shows (see the docstring)


def test_or2smd_fixture_grid_size():
    """The fixture holds the whole grid written by or2smd_reference.R (fails if it shrinks)."""
    o, s, e = OR2SMD["or2smd"], OR2SMD["smd2or"], OR2SMD["escalc"]
    assert (OR2SMD["n_or2smd"], OR2SMD["n_smd2or"], OR2SMD["n_escalc"]) == (
        N_OR2SMD, N_SMD2OR, N_ESCALC)
    assert all(len(o[c]) == N_OR2SMD for c in ("label", "lnOR", "selnOR", "TE", "seTE"))
    assert all(len(s[c]) == N_SMD2OR for c in ("label", "smd", "seSMD", "TE", "seTE"))
    assert all(len(e[c]) == N_ESCALC for c in ("label", "ai", "bi", "ci", "di", "OR_yi",
                                               "OR_vi", "OR2DL_yi", "OR2DL_vi"))
    assert min(o["lnOR"]) < 0 < max(o["lnOR"])  # ORs below and above 1


def test_smd_from_log_or_against_meta_or2smd():
    """meta 8.3-0 or2smd(lnOR, selnOR, method = "HH") on the grid."""
    o = OR2SMD["or2smd"]
    d, vd = smd_from_log_or(o["lnOR"], np.square(o["selnOR"]))
    assert list(d) == pytest.approx(o["TE"], rel=CLOSED_FORM, abs=CLOSED_FORM)
    assert list(vd) == pytest.approx(np.square(o["seTE"]), rel=CLOSED_FORM)


def test_inverse_against_meta_smd2or():
    """meta 8.3-0 smd2or(smd, seSMD, method = "HH", backtransf = FALSE), the d -> ln OR
    direction, against the inverse of smd_from_log_or."""
    s = OR2SMD["smd2or"]
    lo, vl = _log_or_from_smd(s["smd"], np.square(s["seSMD"]))
    assert list(lo) == pytest.approx(s["TE"], rel=CLOSED_FORM, abs=CLOSED_FORM)
    assert list(vl) == pytest.approx(np.square(s["seTE"]), rel=CLOSED_FORM)


def test_escalc_or_then_smd_from_log_or_against_metafor_or2dl():
    """metafor 3.8.1 escalc("OR2DL", ai, bi, ci, di) (Chinn's logit transform) against
    acu_meta's escalc("OR") followed by smd_from_log_or, on the fixture's 2x2 tables (one
    with a zero cell, where both add 1/2 to every cell)."""
    e = OR2SMD["escalc"]
    es = escalc("OR", ai=e["ai"], bi=e["bi"], ci=e["ci"], di=e["di"])
    assert list(es.yi) == pytest.approx(e["OR_yi"], rel=CLOSED_FORM)
    assert list(es.vi) == pytest.approx(e["OR_vi"], rel=CLOSED_FORM)
    d, vd = smd_from_log_or(es.yi, es.vi)
    assert list(d) == pytest.approx(e["OR2DL_yi"], rel=CLOSED_FORM)
    assert list(vd) == pytest.approx(e["OR2DL_vi"], rel=CLOSED_FORM)


@pytest.mark.parametrize("comp", three_arm.COMPARISONS)
def test_gerac_responder_contrasts_against_meta_or2smd(comp):
    """The GERAC responder rows of the answer's responder_6mo outcome set (derived counts
    184, 171, 106 of 387, as written into or2smd_reference.R) against meta's or2smd on the
    log OR from metafor's escalc."""
    label = "gerac_" + comp.replace(" ", "_")
    o, e = OR2SMD["or2smd"], OR2SMD["escalc"]
    i, j = o["label"].index(label), e["label"].index(label)
    c = responder_counts().query("timepoint == '6mo'").set_index("arm")
    arm = {"verum": "verum", "sham": "sham", "usual care": "conventional"}
    a, b = (arm[x] for x in comp.split(" vs "))
    assert (e["ai"][j], e["ai"][j] + e["bi"][j]) == (c.loc[a, "events"], c.loc[a, "n"])
    assert (e["ci"][j], e["ci"][j] + e["di"][j]) == (c.loc[b, "events"], c.loc[b, "n"])
    t = three_arm.trial_contrasts(comp, outcome="responder_6mo").set_index("study")
    assert t.loc["GERAC 2007", "smd"] == pytest.approx(o["TE"][i], rel=CLOSED_FORM)
    assert t.loc["GERAC 2007", "vi"] == pytest.approx(o["seTE"][i] ** 2, rel=CLOSED_FORM)
