"""Tau and mu priors (acu_meta.models._bayes_priors) and the literature priors in
data/heterogeneity_priors.csv."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from acu_meta.errors import InputError
from acu_meta.models import _bayes_priors as P

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bayesmeta_reference.json"

TAU = np.array([0.0, 0.01, 0.1, 0.5, 1.0, 3.0])


def test_families_against_closed_forms():
    """Each family's density at a few points against its textbook formula."""
    s = 0.5
    assert np.allclose(P.half_normal(s).pdf(TAU),
                       2 / (s * math.sqrt(2 * math.pi)) * np.exp(-0.5 * (TAU / s) ** 2))
    assert np.allclose(P.half_cauchy(s).pdf(TAU), 2 / (math.pi * s * (1 + (TAU / s) ** 2)))
    nu = 3.0
    c = 2 * math.gamma((nu + 1) / 2) / (math.gamma(nu / 2) * math.sqrt(nu * math.pi) * s)
    assert np.allclose(P.half_t(s, nu).pdf(TAU), c * (1 + (TAU / s) ** 2 / nu) ** (-(nu + 1) / 2))
    assert np.allclose(P.exponential(2.0).pdf(TAU), 2 * np.exp(-2 * TAU))
    assert np.allclose(P.uniform(2.0).pdf(TAU), np.where(TAU <= 2, 0.5, 0.0))
    # log-normal on tau^2: tau = exp(X / 2), X ~ N(m, sd^2) -> log tau ~ N(m/2, sd/2)
    m, sd = -2.56, 1.74
    t = TAU[1:]
    ref = stats.norm.pdf(np.log(t), m / 2, sd / 2) / t
    assert np.allclose(P.log_normal_tau2(m, sd).pdf(t), ref)
    # log-t on tau^2
    loc, sc, df = -3.44, 2.59, 5
    ref = stats.t.pdf((np.log(t) - loc / 2) / (sc / 2), df) / (sc / 2) / t
    assert np.allclose(P.log_t_tau2(loc, sc, df).pdf(t), ref)
    assert P.log_t_tau2(loc, sc, df).pdf(0.0) == 0.0
    assert P.half_normal(s).pdf(-1.0) == 0.0


@pytest.mark.parametrize("prior", [P.half_normal(0.5), P.half_cauchy(0.5), P.half_t(0.5, 4),
                                   P.exponential(1.5), P.uniform(2.0),
                                   P.log_normal_tau2(-2.56, 1.74),
                                   P.log_t_tau2(-3.44, 2.59, 5)])
def test_proper_priors_integrate_to_one(prior):
    # on log tau, where every family here is smooth
    up = math.log(prior.upper) if math.isfinite(prior.upper) else 200.0
    total = integrate.quad(lambda t: float(prior.pdf(math.exp(t))) * math.exp(t), -200.0, up,
                           epsabs=0, epsrel=1e-12, limit=400)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    assert prior.proper


def test_jeffreys_is_bayesmeta_form():
    s = np.array([0.2, 0.5, 1.0])
    p = P.jeffreys()
    for t in (0.1, 0.7, 2.0):
        assert p.pdf(t, s) == pytest.approx(math.sqrt(np.sum((t / (s**2 + t**2)) ** 2)))
    assert not p.proper
    with pytest.raises(InputError):
        p.pdf(0.5)  # needs the standard errors


@pytest.mark.parametrize("spec, family, params", [
    ("half-normal:0.5", "half-normal", {"scale": 0.5}),
    ("half-cauchy:1", "half-cauchy", {"scale": 1.0}),
    ("half-t:0.5,3", "half-t", {"scale": 0.5, "df": 3.0}),
    ("exponential:2", "exponential", {"rate": 2.0}),
    ("uniform:0,2", "uniform", {"lower": 0.0, "upper": 2.0}),
    ("log-normal:-2.56,1.74", "log-normal", {"mu": -2.56, "sigma": 1.74}),
    ("log-t:-3.44,2.59,5", "log-t", {"location": -3.44, "scale": 2.59, "df": 5.0}),
    ("jeffreys", "jeffreys", {}),
    ("uniform", "improper-uniform", {}),
    (" Half-Normal: 0.25 ", "half-normal", {"scale": 0.25}),
])
def test_parse_tau_prior(spec, family, params):
    p = P.parse_tau_prior(spec)
    assert p.family == family
    assert p.params == params


@pytest.mark.parametrize("spec", ["", "half-normal", "half-normal:", "half-normal:-1",
                                  "half-normal:0.5,2", "half-t:0.5", "uniform:1,2",
                                  "log-t:1,2", "exponential:0", "gamma:1,2", "jeffreys:1",
                                  "no-such-literature-prior", "log-normal:a,b"])
def test_bad_spec_is_one_clear_line(spec):
    with pytest.raises(InputError) as err:
        P.parse_tau_prior(spec)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("bad tau prior")


_EDGES = np.concatenate([np.linspace(-3.0, 8.0, 1001),
                         [0.0, 2.5, 5.0, 1e-300, 5.0000001, np.inf, -np.inf, np.nan]])


@pytest.mark.parametrize("lower, upper", [(0.0, 5.0), (0.0, 2.5), (0.1, 0.7), (0.0, 1e-3),
                                          (0.0, 1.05), (0.0, 0.3), (0.2, 3.7)])
def test_uniform_prior_is_scipy_uniform_bit_for_bit(lower, upper):
    """The closed form replaces ``stats.uniform(a, b - a).logpdf`` (scipy.stats is not
    imported by the engine): closed interval, nan in, nan out."""
    tau = _EDGES[_EDGES >= 0]
    np.testing.assert_array_equal(P.uniform(upper, lower).logpdf(tau),
                                  stats.uniform(lower, upper - lower).logpdf(tau))
    np.testing.assert_array_equal(P._uniform_logpdf(lower, upper)(_EDGES),
                                  stats.uniform(lower, upper - lower).logpdf(_EDGES))


@pytest.mark.parametrize("mean, sd", [(0.0, 1.0), (0.3, 2.5), (-1.0, 1e-3), (0.0, 1e4)])
def test_normal_mu_prior_is_scipy_norm_bit_for_bit(mean, sd):
    prior = P.parse_mu_prior(f"normal:{mean!r},{sd!r}")
    np.testing.assert_array_equal(prior.logpdf(_EDGES), stats.norm.logpdf(_EDGES, mean, sd))
    assert prior.logpdf(0.2) == stats.norm.logpdf(0.2, mean, sd)


def test_parse_mu_prior():
    assert not P.parse_mu_prior(None).proper
    assert not P.parse_mu_prior("flat").proper
    m = P.parse_mu_prior("normal:0,4")
    assert (m.mean, m.sd, m.proper) == (0.0, 4.0, True)
    for bad in ("normal:0", "normal:0,-1", "cauchy:0,1"):
        with pytest.raises(InputError):
            P.parse_mu_prior(bad)


def test_point_mass():
    p = P.point_mass(0.3)
    assert p.tau0 == 0.3 and p.proper
    with pytest.raises(InputError):
        P.point_mass(-1)


# ---------------------------------------------------------------------- literature priors


def test_literature_table_and_selection_by_name():
    t = P.literature_priors()
    assert t.prior_id.is_unique
    assert len(t[t.kind == "turner"]) == 16 * 5 + 1
    assert len(t[t.kind == "rhodes"]) == 8 * 3 * 3 + 1
    assert set(t.label) <= {"reported", "secondary"}
    assert set(t.source_id) <= {"bayesmeta34", "roever2020"}
    # every secondary row names the primary table it copies
    sec = t[t.label == "secondary"]
    assert sec.location.str.contains("Turner 2015|Rhodes 2015").all()
    p = P.parse_tau_prior("rhodes-general")
    assert p.family == "log-t" and p.params == {"location": -3.44, "scale": 2.59, "df": 5.0}


def test_turner_prior_of_the_crins_example():
    """Röver 2020 p. 31: TurnerEtAlPrior("surgical", "pharmacological", "placebo / control")
    has tau quantiles 0.06233896, 0.34300852, 1.88734045 (2.5%, 50%, 97.5%), i.e. the
    log-normal(-1.07, 0.87) of Figure 1 (p. 13)."""
    p = P.literature_prior("turner-surgical-pharm-vs-placebo")
    assert p.params == {"mu": -2.14, "sigma": 1.74}
    # quantiles of tau from the prior density (numerical CDF on log tau, then root)
    from scipy import optimize

    def cdf(x):
        return integrate.quad(lambda t: float(p.pdf(math.exp(t))) * math.exp(t), -60,
                              math.log(x), epsabs=0, epsrel=1e-12)[0]

    for prob, printed in ((0.025, 0.06233896), (0.5, 0.34300852), (0.975, 1.88734045)):
        q = optimize.brentq(lambda x, prob=prob: cdf(x) - prob, 1e-3, 10, xtol=1e-12)
        assert q == pytest.approx(printed, abs=1e-8)


def test_literature_densities_against_bayesmeta_fixture():
    if not FIXTURE.exists():
        pytest.skip("bayesmeta fixture not present")
    fx = json.loads(FIXTURE.read_text())
    lit = fx.get("literature_priors", [])
    assert lit, "fixture has no literature_priors"
    table = P.literature_priors()
    n = 0
    for entry in lit:
        kind = entry["kind"]
        rows = table[(table.kind == kind) & (table.outcome == entry["outcome"])
                     & (table.comparison == entry["comparison"])]
        if "area" in entry and kind == "rhodes":
            rows = rows[rows.area == entry["area"]]
        assert len(rows) == 1, entry
        prior = P.literature_prior(rows.prior_id.iloc[0])
        x = np.asarray(entry["x_tau"], float)
        assert np.allclose(prior.pdf(x), np.asarray(entry["density_tau"], float), rtol=1e-10,
                           atol=1e-300), rows.prior_id.iloc[0]
        n += 1
    assert n >= 2
