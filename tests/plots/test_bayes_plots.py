"""What the Bayesian figures draw (acu_meta.plots.bayes, and forest of a BayesResult).

Second routes: the posterior density of tau is computed here from its definition,
p(tau | y) ∝ p(tau) p(y | tau) with mu integrated out under the flat prior (Röver 2020 eq. 13),
normalized by scipy quadrature; the prior against scipy.stats; the mass enclosed by each
contour of the joint posterior by a one-dimensional integral over tau of the normal mass of
the region {mu : p(tau, mu | y) >= c} (an interval around the conditional mean), by scipy
quadrature; the conditional mean of mu given tau from the inverse-variance formula.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy import integrate, stats
from tolerances import SECOND_ROUTE

from acu_meta.errors import InputError
from acu_meta.models import _bayes_priors as P
from acu_meta.plots import forest, joint_posterior_plot, save_figure, tau_posterior_plot
from acu_meta.plots.bayes import hpd_levels
from acu_meta.results import bayes

Y = np.array([-0.2, 0.4, 0.1, 0.35, -0.05])
S = np.array([0.25, 0.3, 0.15, 0.2, 0.35])
SVG = "{http://www.w3.org/2000/svg}"

#: The posterior density of tau by a second route (quad-normalized eq. 13) against the
#: engine's (adaptive Gauss-Legendre, error bound 1e-11): both normalizations are
#: integrals at relative tolerance ~1e-11, so 1e-8 (relative) is a wide bar that a wrong
#: density or a wrongly drawn curve misses by orders of magnitude.
DENSITY = 1e-8

#: Contours of the joint posterior are highest-density regions found on the plot's 201 x 201
#: grid (each cell's probability exact in tau, the normal conditional in mu): the mass each
#: encloses matches its nominal value to the grid's resolution, measured at <= 1.2e-3 on
#: these data under half-normal, Jeffreys, log-t and half-Cauchy priors (the 50% region,
#: which spans the fewest cells, is the worst); 3e-3 leaves room, while a wrong threshold
#: (e.g. the 90% contour labelled 95%) misses by 0.05.
CONTOUR_MASS = 3e-3


def _res(prior="half-normal:0.5", **kw):
    return bayes(yi=Y, sei=S, tau_prior=prior, study=[f"Trial {c}" for c in "ABCDE"], **kw)


def _by_gid(ax, gid):
    found = [a for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid() == gid]
    assert found, gid
    return found[0]


def _density_by_definition(prior_pdf):
    """p(tau | y) from Röver 2020 eq. 13 (flat mu prior), normalized by quad."""

    def q(t):
        v = S**2 + t * t
        w = 1 / v
        m = np.sum(w * Y) / np.sum(w)
        return prior_pdf(t) * np.exp(-0.5 * (np.sum(np.log(v)) + np.log(np.sum(w))
                                             + np.sum(w * (Y - m) ** 2)))

    z = integrate.quad(q, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
    return lambda t: q(t) / z


def test_tau_plot_draws_the_posterior_and_the_prior():
    res = _res()
    fig = tau_posterior_plot(res)
    ax = fig.axes[0]
    post = _by_gid(ax, "tau-posterior")
    x, y = post.get_xdata(), post.get_ydata()
    assert x[0] == 0 and x[-1] == pytest.approx(1.15 * res.qposterior("tau", 0.995))
    exact = _density_by_definition(lambda t: stats.halfnorm.pdf(t, scale=0.5))
    for i in (0, 40, 100, 200, 300, 400):
        assert y[i] == pytest.approx(exact(x[i]), rel=DENSITY), i
    prior = _by_gid(ax, "tau-prior")
    np.testing.assert_allclose(prior.get_ydata(), stats.halfnorm.pdf(prior.get_xdata(),
                                                                     scale=0.5),
                               rtol=SECOND_ROUTE)
    med = _by_gid(ax, "tau-median")
    assert list(med.get_xdata()) == [res.tau.median] * 2
    assert med.get_ydata()[1] == pytest.approx(exact(res.tau.median), rel=DENSITY)
    band = _by_gid(ax, "tau-interval").get_paths()[0].vertices
    assert band[:, 0].min() == pytest.approx(res.tau.central[0], abs=1e-15)
    assert band[:, 0].max() == pytest.approx(res.tau.central[1], abs=1e-15)
    # the band lies under the curve: its top edge is the density
    top = band[band[:, 1] > 0]
    assert np.all(top[:, 1] <= 1.0000001 * np.array([exact(t) for t in top[:, 0]]))
    assert ax.get_ylim()[1] == pytest.approx(1.08 * max(np.nanmax(y),
                                                        np.nanmax(prior.get_ydata())))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["posterior", "95% CrI (central)", f"median {res.tau.median:.3g}",
                      "prior: half-normal(0.5)"]


def test_tau_plot_marks_the_shortest_interval_and_skips_an_improper_prior():
    res = _res("jeffreys", interval="shortest")
    ax = tau_posterior_plot(res).axes[0]
    band = _by_gid(ax, "tau-interval").get_paths()[0].vertices
    assert band[:, 0].min() == pytest.approx(res.tau.shortest[0], abs=1e-15)
    assert band[:, 0].max() == pytest.approx(res.tau.shortest[1], abs=1e-15)
    assert not [a for a in ax.lines if a.get_gid() == "tau-prior"]
    assert "jeffreys is improper" in _by_gid(ax, "tau-prior-note").get_text()
    post = _by_gid(ax, "tau-posterior")
    # the Jeffreys prior by its definition (Röver 2020 eq. 7), up to its constant
    exact = _density_by_definition(
        lambda t: math.sqrt(np.sum((t / (S**2 + t * t)) ** 2)))
    x, y = post.get_xdata(), post.get_ydata()
    for i in (10, 200, 390):
        assert y[i] == pytest.approx(exact(x[i]), rel=DENSITY)


def test_tau_plot_beside_a_pole_at_zero_keeps_a_readable_range():
    res = _res(P.log_t_tau2(-3.44, 2.59, 5))
    ax = tau_posterior_plot(res, n=201).axes[0]
    x, y = (_by_gid(ax, "tau-posterior").get_xdata(), _by_gid(ax, "tau-posterior").get_ydata())
    assert math.isnan(y[0])  # the density is infinite at 0: not drawn
    keep = x >= res.qposterior("tau", 0.01)
    prior = _by_gid(ax, "tau-prior").get_ydata()
    assert ax.get_ylim()[1] == pytest.approx(1.08 * max(np.nanmax(y[keep]),
                                                        np.nanmax(prior[keep])))


def test_point_mass_prior_has_no_density_to_draw():
    res = _res(P.point_mass(0.2))
    for plot in (tau_posterior_plot, joint_posterior_plot):
        with pytest.raises(InputError, match="point mass"):
            plot(res)


def _enclosed_mass(res, c):
    """Mass of {(tau, mu): p(tau, mu | y) >= c}: for each tau an interval of mu around the
    conditional mean m with half-width s sqrt(2 log(p(tau) / (c s sqrt(2 pi))))."""

    def inner(t):
        pt = float(res.dposterior("tau", t))
        m, s = res.cond_moments(np.array(t), "mu")
        arg = pt / (c * float(s) * math.sqrt(2 * math.pi))
        if arg <= 1:
            return 0.0
        r = math.sqrt(2 * math.log(arg))
        return pt * (2 * stats.norm.cdf(r) - 1)

    hi = float(res.qposterior("tau", 1 - 1e-9))
    pts = res.qposterior("tau", np.array([1e-6, 0.01, 0.5, 0.99]))
    return integrate.quad(inner, 0, hi, points=pts, limit=400, epsabs=1e-9, epsrel=1e-9)[0]


@pytest.mark.parametrize("prior", ["half-normal:0.5", P.log_t_tau2(-3.44, 2.59, 5)],
                         ids=["half-normal", "log-t-pole"])
def test_joint_plot_contours_enclose_their_mass(prior):
    res = _res(prior)
    fig = joint_posterior_plot(res)
    ax = fig.axes[0]
    cset = _by_gid(ax, "joint-contours")
    levels = np.asarray(cset.levels)
    assert len(levels) == 4 and np.all(np.diff(levels) > 0)  # 99%, 95%, 90%, 50%
    for lv, mass in zip(levels, (0.99, 0.95, 0.90, 0.50), strict=True):
        assert _enclosed_mass(res, lv) == pytest.approx(mass, abs=CONTOUR_MASS)
    labels = sorted(t.get_text() for t in ax.texts if t.get_text().endswith("%"))
    assert set(labels) == {"50%", "90%", "95%", "99%"}
    # the conditional mean of mu given tau: inverse-variance weights 1 / (s^2 + tau^2)
    cm = _by_gid(ax, "conditional-mean")
    tau, mu = cm.get_ydata(), cm.get_xdata()
    for i in (0, 100, 200):
        w = 1 / (S**2 + tau[i] ** 2)
        assert mu[i] == pytest.approx(np.sum(w * Y) / np.sum(w), rel=SECOND_ROUTE)
    ci = _by_gid(ax, "conditional-interval")
    half = 1.959963984540054 / math.sqrt(np.sum(1 / (S**2 + tau[0] ** 2)))
    assert ci.get_xdata()[0] == pytest.approx(mu[0] - half, rel=SECOND_ROUTE)
    mode = _by_gid(ax, "joint-mode")
    assert (mode.get_ydata()[0], mode.get_xdata()[0]) == res.map["joint"]
    assert ax.get_ylim() == (0.0, pytest.approx(1.15 * res.qposterior("tau", 0.995)))


def test_hpd_levels_of_a_known_density():
    # a standard bivariate normal: the region of mass m has density threshold
    # phi2(0) exp(-chi2_2(m) / 2) = (1 - m) / (2 pi)
    g = np.linspace(-7, 7, 1401)
    d = g[1] - g[0]
    z = np.exp(-0.5 * (g[:, None] ** 2 + g[None, :] ** 2)) / (2 * math.pi)
    got = hpd_levels(z, d * d * z, (0.5, 0.9, 0.95))
    np.testing.assert_allclose(got, [(1 - m) / (2 * math.pi) for m in (0.5, 0.9, 0.95)],
                               rtol=2e-3)
    with pytest.raises(InputError):
        hpd_levels(z, d * d * z, (1.0,))


# ------------------------------------------------------------------------------- forest

FIT_NAMES = ("fit", "fit_many", "pool", "pool_many", "mantel_haenszel", "peto", "q_profile_ci",
             "estimate_tau2", "bayes_meta", "bayes", "build_rule")


def _no_fitting(monkeypatch):
    """Make every fitting function of acu_meta raise, wherever it was imported."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was fitted")

    for name, mod in list(sys.modules.items()):
        if name.startswith("acu_meta"):
            for attr in FIT_NAMES:
                if callable(getattr(mod, attr, None)):
                    monkeypatch.setattr(mod, attr, refuse)


def _svg(fig, tmp_path):
    root = ET.parse(save_figure(fig, tmp_path / "f.svg")).getroot()
    return {g.get("id"): ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
            for g in root.iter(f"{SVG}g") if g.get("id")}


def test_forest_draws_a_bayesian_result_through_the_shape(monkeypatch, tmp_path):
    res = _res()
    _no_fitting(monkeypatch)
    fig = forest(res)
    t = _svg(fig, tmp_path)
    ax = fig.axes[0]
    # rows in order: the five studies, then the posterior and the predictive rows
    ys = {}
    for a in ax.texts:
        if a.get_gid() and a.get_gid().startswith("label-"):
            ys[a.get_text()] = a.get_position()[1]
    assert sorted(ys, key=ys.get) == [f"Trial {c}" for c in "ABCDE"]
    texts = {a.get_text(): a.get_position()[1] for a in ax.texts}
    assert texts["Total (95% CrI)"] > ys["Trial E"]
    assert texts["Prediction (95% CrI)"] > texts["Total (95% CrI)"]
    # the observed interval of each study, and its shrunken theta_i just below it
    z = 1.959963984540054
    for i in range(5):
        assert t[f"effect-{i}"] == [f"{Y[i]:.2f} [{Y[i] - z * S[i]:.2f}, {Y[i] + z * S[i]:.2f}]"]
        dot = _by_gid(ax, f"shrunken-{i}")
        assert dot.get_xdata()[0] == res.theta_median[i]
        assert dot.get_ydata()[0] == pytest.approx(ys[f"Trial {'ABCDE'[i]}"] + 0.28)
        bar = _by_gid(ax, f"shrunken-ci-{i}")
        assert list(bar.get_xdata()) == [res.theta_low[i], res.theta_high[i]]
    # the diamond: posterior median with the credible interval
    diamond = next(p for p in ax.patches if p.get_gid() == "diamond-bayesian")
    xs = diamond.get_xy()[:, 0]
    assert (xs.min(), xs.max()) == (res.mu.central[0], res.mu.central[1])
    assert res.mu.median in xs
    assert t["effect-diamond-bayesian"] == [f"{res.mu.median:.2f} [{res.mu.central[0]:.2f}, "
                                            f"{res.mu.central[1]:.2f}]"]
    pred = next(p for p in ax.patches if p.get_gid() == "prediction-interval")
    px = pred.get_xy()[:, 0]
    assert (px.min(), px.max()) == res.theta_new.central
    assert t["effect-prediction"] == [f"[{res.theta_new.central[0]:.2f}, "
                                      f"{res.theta_new.central[1]:.2f}]"]
    assert t["footer-heterogeneity"] == [dict(res.footer)["heterogeneity"]]
    assert t["footer-priors"] == ["Priors: tau ~ half-normal(0.5); mu ~ flat"]
    assert t["header-model"] == [res.description]
    assert not any(k.startswith("weight-") for k in t)  # no inverse-variance weights


def test_forest_of_a_ratio_measure_is_drawn_in_natural_units(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bayes(measure="OR", ai=[14, 16, 3, 9, 4, 0], n1i=[61, 28, 18, 54, 36, 50],
                    ci=[15, 19, 8, 29, 11, 3], n2i=[20, 28, 12, 54, 36, 34],
                    tau_prior="half-normal:0.5", interval="shortest")
    fig = forest(res)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    dot = _by_gid(ax, "shrunken-0")
    assert dot.get_xdata()[0] == pytest.approx(math.exp(res.theta_median[0]),
                                               rel=SECOND_ROUTE)
    t = _svg(fig, tmp_path)
    lo, hi = res.mu.shortest
    assert t["effect-diamond-bayesian"] == [f"{math.exp(res.mu.median):.2f} "
                                            f"[{math.exp(lo):.2f}, {math.exp(hi):.2f}]"]
    assert dataclasses.is_dataclass(res)
