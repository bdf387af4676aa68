"""Prior distributions for the Bayesian random-effects engine (:mod:`acu_meta.models.bayes`).

Heterogeneity (tau) priors are :class:`TauPrior` objects: a name, a vectorized log density on
tau >= 0 equal to the ``scipy.stats`` distribution named below (closed-form log densities, so
scipy.stats is not imported; checked against it in ``tests/models/test_bayes_priors.py``), and
a ``proper`` flag. Families:

===================  =======================================  ==================================
CLI spec             density of tau                            scipy.stats
===================  =======================================  ==================================
``half-normal:S``    2 N(tau; 0, S^2)                          ``halfnorm(scale=S)``
``half-cauchy:S``    2 Cauchy(tau; 0, S)                       ``halfcauchy(scale=S)``
``half-t:S,DF``      2 t_DF(tau / S) / S                       ``t(DF, scale=S)`` + log 2
``exponential:R``    R exp(-R tau)                             ``expon(scale=1/R)``
``uniform:0,B``      1 / B on [0, B]                           ``uniform(0, B)``
``log-normal:M,S``   log(tau^2) ~ N(M, S^2) (Turner 2015)      ``lognorm(S/2, scale=exp(M/2))``
``log-t:L,S,DF``     log(tau^2) ~ L + S t_DF (Rhodes 2015)     ``t(DF, L/2, S/2)`` on log tau
``jeffreys``         sqrt(sum (tau/(s_i^2+tau^2))^2), improper  (bayesmeta's "Jeffreys", Röver
                                                                2020 eq. 7; needs the s_i)
``uniform``          1 (improper)
===================  =======================================  ==================================

plus :func:`custom` (any callable density, proper or not) and :func:`point_mass` (tau fixed at
``tau0``, used to check the engine against the frequentist fixed-tau fit). A literature prior is
selected by its ``prior_id`` in ``data/heterogeneity_priors.csv`` (:func:`literature_prior`).

The effect prior is a :class:`MuPrior`: flat (improper) or normal(mean, sd).

Validated: densities against bayesmeta 3.4's ``dhalfnormal``/``dhalfcauchy``/``dhalft``,
``TurnerEtAlPrior``/``RhodesEtAlPrior`` through the fixture
``tests/fixtures/bayesmeta_reference.json`` (``tests/models/test_bayes_priors.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .. import numeric
from ..errors import InputError

__all__ = [
    "MuPrior",
    "TauPrior",
    "custom",
    "exponential",
    "flat_mu",
    "half_cauchy",
    "half_normal",
    "half_t",
    "improper_uniform",
    "jeffreys",
    "literature_prior",
    "literature_priors",
    "log_normal_tau2",
    "log_t_tau2",
    "normal_mu",
    "parse_mu_prior",
    "parse_tau_prior",
    "point_mass",
    "uniform",
]

_LOG2 = math.log(2.0)


def _positive(value: float, what: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{what} must be a positive number, not {value!r}")
    return v


@dataclass(frozen=True)
class TauPrior:
    """A prior for the heterogeneity tau (>= 0).

    Attributes
    ----------
    name : str
        Human-readable label, e.g. ``"half-normal(0.5)"``.
    proper : bool
        True when the density integrates to 1.
    family : str
        ``half-normal``, ``half-cauchy``, ``half-t``, ``exponential``, ``uniform``,
        ``log-normal``, ``log-t``, ``jeffreys``, ``improper-uniform``, ``custom`` or
        ``point-mass``.
    params : dict
        The family's parameters (as in the fixture schema).
    upper : float
        Right end of the support (``inf`` except for ``uniform``).
    tau0 : float or None
        The atom of a ``point-mass`` prior.
    """

    name: str
    proper: bool
    family: str
    params: dict = field(default_factory=dict)
    upper: float = math.inf
    tau0: float | None = None
    _logpdf: Callable | None = field(default=None, repr=False, compare=False)
    _needs_sigma: bool = field(default=False, repr=False)

    def logpdf(self, tau, sigma=None):
        """Log density at ``tau`` (vectorized; ``-inf`` outside the support).

        ``sigma`` (the studies' standard errors) is needed by the data-dependent Jeffreys prior
        only.
        """
        if self.family == "point-mass":
            raise InputError("a point-mass prior has no density")
        tau = np.asarray(tau, dtype=float)
        if self._needs_sigma:
            if sigma is None:
                raise InputError(f"the {self.name} prior needs the studies' standard errors")
            out = self._logpdf(tau, np.asarray(sigma, dtype=float))
        else:
            out = self._logpdf(tau)
        out = np.where(tau >= 0, out, -np.inf)
        return float(out) if out.ndim == 0 else out

    def pdf(self, tau, sigma=None):
        """Density at ``tau`` (vectorized)."""
        return np.exp(self.logpdf(tau, sigma))


# Closed-form log densities. The tau quadrature's CDF and quantiles call the prior thousands of
# times on a few nodes each, where a frozen scipy.stats distribution's per-call overhead
# (argument checks, ~0.5 ms) dominates; these are the same formulas as scipy's ``_logpdf``
# (equal to it to rounding, checked in tests/models/test_bayes_priors.py).
_LOG_SQRT_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)
_LOG_2_OVER_PI = math.log(2.0 / math.pi)
_LOG_SQRT_2PI = numeric.LOG_SQRT_2PI


def _uniform_logpdf(a: float, b: float):
    """``stats.uniform(a, b - a).logpdf``: ``-log(b - a)`` on the closed interval (tested on
    the standardised argument, as scipy does), ``-inf`` outside."""
    scale = b - a
    log_scale = float(np.log(scale))  # np.log, as scipy (libm's log can differ by an ulp)

    def f(tau):
        x = (np.asarray(tau, dtype=float) - a) / scale
        return np.where((x >= 0) & (x <= 1), 0.0 - log_scale,
                        np.where(np.isnan(x), np.nan, -np.inf))
    return f


def _t_log_const(df: float) -> float:
    return float(special.gammaln((df + 1) / 2) - special.gammaln(df / 2)
                 - 0.5 * math.log(df * math.pi))


def _half_normal_logpdf(s: float):
    c = _LOG_SQRT_2_OVER_PI - math.log(s)

    def f(tau):
        x = np.asarray(tau, dtype=float) / s
        with np.errstate(over="ignore"):
            return c - 0.5 * x * x
    return f


def _half_cauchy_logpdf(s: float):
    c = _LOG_2_OVER_PI - math.log(s)

    def f(tau):
        x = np.asarray(tau, dtype=float) / s
        with np.errstate(over="ignore"):
            return c - np.log1p(x * x)
    return f


def _t_logpdf(df: float, loc: float, scale: float, shift: float = 0.0):
    c = _t_log_const(df) - math.log(scale) + shift

    def f(x):
        z = (np.asarray(x, dtype=float) - loc) / scale
        with np.errstate(over="ignore"):
            return c - (df + 1) / 2 * np.log1p(z * z / df)
    return f


def _exponential_logpdf(rate: float):
    c = math.log(rate)

    def f(tau):
        return c - rate * np.asarray(tau, dtype=float)
    return f


def _log_normal_logpdf(logmean: float, logsd: float):
    c = -math.log(logsd) - _LOG_SQRT_2PI

    def f(tau):
        t = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = np.log(t)
            out = c - lt - 0.5 * ((lt - logmean) / logsd) ** 2
        return np.where(t > 0, out, -np.inf)
    return f


def half_normal(scale: float) -> TauPrior:
    """Half-normal prior with scale ``scale`` (the sd of the underlying normal)."""
    s = _positive(scale, "half-normal scale")
    return TauPrior(f"half-normal({s:g})", True, "half-normal", {"scale": s},
                    _logpdf=_half_normal_logpdf(s))


def half_cauchy(scale: float) -> TauPrior:
    """Half-Cauchy prior with scale ``scale``."""
    s = _positive(scale, "half-Cauchy scale")
    return TauPrior(f"half-cauchy({s:g})", True, "half-cauchy", {"scale": s},
                    _logpdf=_half_cauchy_logpdf(s))


def half_t(scale: float, df: float) -> TauPrior:
    """Half-Student-t prior: the t distribution with ``df`` degrees of freedom, folded at 0."""
    s = _positive(scale, "half-t scale")
    d = _positive(df, "half-t degrees of freedom")
    return TauPrior(f"half-t({s:g}, df={d:g})", True, "half-t", {"scale": s, "df": d},
                    _logpdf=_t_logpdf(d, 0.0, s, _LOG2))


def exponential(rate: float) -> TauPrior:
    """Exponential prior with rate ``rate`` (mean ``1 / rate``)."""
    r = _positive(rate, "exponential rate")
    return TauPrior(f"exponential({r:g})", True, "exponential", {"rate": r},
                    _logpdf=_exponential_logpdf(r))


def uniform(upper: float, lower: float = 0.0) -> TauPrior:
    """Uniform prior on ``[lower, upper]`` (the CLI allows lower = 0 only)."""
    b = _positive(upper, "uniform upper bound")
    a = float(lower)
    if not (0 <= a < b):
        raise InputError(f"uniform prior needs 0 <= lower < upper, got {a:g}, {b:g}")
    return TauPrior(f"uniform({a:g}, {b:g})", True, "uniform", {"lower": a, "upper": b},
                    upper=b, _logpdf=_uniform_logpdf(a, b))


def log_normal_tau2(mu: float, sigma: float, name: str | None = None) -> TauPrior:
    """Turner et al. (2015) form: ``log(tau^2) ~ N(mu, sigma^2)``, i.e. tau log-normal with
    log-mean ``mu / 2`` and log-sd ``sigma / 2``."""
    m = float(mu)
    s = _positive(sigma, "log-normal sigma")
    if not math.isfinite(m):
        raise InputError(f"log-normal mu must be finite, not {mu!r}")
    return TauPrior(name or f"log-normal(tau^2; {m:g}, {s:g})", True, "log-normal",
                    {"mu": m, "sigma": s}, _logpdf=_log_normal_logpdf(m / 2.0, s / 2.0))


def log_t_tau2(location: float, scale: float, df: float, name: str | None = None) -> TauPrior:
    """Rhodes et al. (2015) form: ``log(tau^2) ~ location + scale * t_df``; the density of tau is
    the t density of ``log tau`` (location/2, scale/2) divided by tau."""
    loc = float(location)
    s = _positive(scale, "log-t scale")
    d = _positive(df, "log-t degrees of freedom")
    if not math.isfinite(loc):
        raise InputError(f"log-t location must be finite, not {location!r}")
    t_logpdf = _t_logpdf(d, loc / 2.0, s / 2.0)

    def f(tau):
        with np.errstate(divide="ignore", invalid="ignore"):
            lt = np.log(tau)
            out = t_logpdf(lt) - lt
        return np.where(tau > 0, out, -np.inf)

    return TauPrior(name or f"log-t(tau^2; {loc:g}, {s:g}, df={d:g})", True, "log-t",
                    {"location": loc, "scale": s, "df": d}, _logpdf=f)


def jeffreys() -> TauPrior:
    """bayesmeta's "Jeffreys" prior (Tibshirani 1989; Röver 2020, eq. 7), improper:
    ``p(tau) ∝ sqrt(sum_i (tau / (s_i^2 + tau^2))^2)``. Depends on the standard errors."""

    def f(tau, sigma):
        t = np.asarray(tau, dtype=float)
        s2 = sigma**2
        r = t[..., None] / (s2 + t[..., None] ** 2)
        with np.errstate(divide="ignore"):
            return 0.5 * np.log(np.sum(r**2, axis=-1))

    return TauPrior("jeffreys", False, "jeffreys", {}, _logpdf=f, _needs_sigma=True)


def improper_uniform() -> TauPrior:
    """The improper uniform prior ``p(tau) ∝ 1`` on [0, inf) (bayesmeta's default)."""
    return TauPrior("uniform (improper)", False, "improper-uniform", {},
                    _logpdf=lambda tau: np.zeros_like(np.asarray(tau, dtype=float)))


def custom(pdf: Callable, proper: bool, name: str = "custom", upper: float = math.inf
           ) -> TauPrior:
    """Any user density ``pdf(tau)`` (vectorized or not); ``proper`` says whether it integrates
    to 1 (the marginal likelihood and Bayes factors need it to). ``upper`` may bound the
    support, so that the quadrature puts a panel edge there."""
    if not callable(pdf):
        raise InputError("a custom tau prior needs a callable density")

    def f(tau):
        t = np.asarray(tau, dtype=float)
        try:
            d = np.asarray(pdf(t), dtype=float)
        except (TypeError, ValueError):
            d = np.array([float(pdf(float(x))) for x in t.ravel()]).reshape(t.shape)
        d = np.broadcast_to(d, t.shape)
        with np.errstate(divide="ignore"):
            return np.log(np.maximum(d, 0.0))

    return TauPrior(name, bool(proper), "custom", {}, upper=float(upper), _logpdf=f)


def point_mass(tau0: float) -> TauPrior:
    """All prior mass at ``tau = tau0`` (>= 0): the posterior of mu is then exactly normal,
    the frequentist fit with ``tau2 = tau0**2``."""
    t = float(tau0)
    if not (math.isfinite(t) and t >= 0):
        raise InputError(f"point-mass tau0 must be a number >= 0, not {tau0!r}")
    return TauPrior(f"point-mass({t:g})", True, "point-mass", {"tau0": t}, tau0=t)


# ---------------------------------------------------------------------- mu prior


@dataclass(frozen=True)
class MuPrior:
    """Prior of the overall effect mu: flat (``sd = inf``, improper) or normal(mean, sd)."""

    mean: float = 0.0
    sd: float = math.inf

    @property
    def proper(self) -> bool:
        return math.isfinite(self.sd)

    @property
    def name(self) -> str:
        return f"normal({self.mean:g}, {self.sd:g})" if self.proper else "flat"

    def logpdf(self, mu):
        if not self.proper:
            return np.zeros_like(np.asarray(mu, dtype=float))
        return numeric.norm_logpdf(mu, self.mean, self.sd)

    def pdf(self, mu):
        return np.exp(self.logpdf(mu))


def flat_mu() -> MuPrior:
    """The improper uniform prior for mu."""
    return MuPrior()


def normal_mu(mean: float, sd: float) -> MuPrior:
    """A normal prior for mu."""
    m = float(mean)
    if not math.isfinite(m):
        raise InputError(f"mu prior mean must be finite, not {mean!r}")
    return MuPrior(m, _positive(sd, "mu prior sd"))


# ---------------------------------------------------------------------- CLI strings

_SPEC_HELP = ("half-normal:S, half-cauchy:S, half-t:S,DF, exponential:RATE, uniform:0,B, "
              "log-normal:M,S, log-t:L,S,DF, jeffreys, uniform, or a literature prior's name")


def _numbers(spec: str, body: str, n: int) -> list[float]:
    parts = [p.strip() for p in body.split(",")] if body.strip() else []
    if len(parts) != n:
        raise InputError(f"bad tau prior {spec!r}: expected {n} number(s) after ':'")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise InputError(f"bad tau prior {spec!r}: {body!r} is not a list of numbers") from None


def parse_tau_prior(spec: str) -> TauPrior:
    """Parse a CLI tau-prior string (see the module docstring); raises
    :class:`~acu_meta.errors.InputError` with one line on a bad SPEC."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"bad tau prior {spec!r}: use one of {_SPEC_HELP}")
    s = spec.strip()
    family, _, body = s.partition(":")
    family = family.strip().lower()
    try:
        if family == "half-normal":
            return half_normal(*_numbers(s, body, 1))
        if family == "half-cauchy":
            return half_cauchy(*_numbers(s, body, 1))
        if family == "half-t":
            return half_t(*_numbers(s, body, 2))
        if family == "exponential":
            return exponential(*_numbers(s, body, 1))
        if family == "uniform" and body.strip():
            a, b = _numbers(s, body, 2)
            if a != 0:
                raise InputError(f"bad tau prior {s!r}: the uniform prior must start at 0")
            return uniform(b)
        if family == "uniform":
            return improper_uniform()
        if family == "log-normal":
            return log_normal_tau2(*_numbers(s, body, 2))
        if family == "log-t":
            return log_t_tau2(*_numbers(s, body, 3))
        if family == "jeffreys" and not body.strip():
            return jeffreys()
    except InputError as err:
        msg = str(err)
        raise InputError(msg if msg.startswith("bad tau prior") else
                         f"bad tau prior {s!r}: {msg}") from None
    if not body:
        try:
            return literature_prior(s)
        except KeyError:
            pass
    raise InputError(f"bad tau prior {s!r}: use one of {_SPEC_HELP}")


def parse_mu_prior(spec: str | None) -> MuPrior:
    """Parse ``normal:M,S`` (or ``flat`` / None) into a :class:`MuPrior`."""
    if spec is None or spec.strip().lower() in ("", "flat", "uniform"):
        return flat_mu()
    family, _, body = spec.strip().partition(":")
    if family.strip().lower() != "normal":
        raise InputError(f"bad mu prior {spec!r}: use normal:M,S or flat")
    try:
        m, sd = _numbers(spec, body, 2)
        return normal_mu(m, sd)
    except InputError as err:
        raise InputError(f"bad mu prior {spec!r}: {err}".replace("bad tau prior", "")) from None


# ---------------------------------------------------------------------- literature priors


def literature_priors():
    """The table ``data/heterogeneity_priors.csv`` (pandas DataFrame), validated by the data
    package loader."""
    from .. import data  # models may import data (layering data -> effects -> models)

    return data.load("heterogeneity_priors")


def literature_prior(prior_id: str) -> TauPrior:
    """The literature prior named ``prior_id`` in ``data/heterogeneity_priors.csv`` (case
    insensitive). Raises KeyError for an unknown name."""
    table = literature_priors()
    key = prior_id.strip().lower()
    rows = table[table.prior_id.str.lower() == key]
    if rows.empty:
        raise KeyError(prior_id)
    r = rows.iloc[0]
    fam = r["family"]
    name = str(r["prior_id"])
    if fam == "log-normal":
        p = log_normal_tau2(r["mu"], r["sigma"], name=name)
    elif fam == "log-t":
        p = log_t_tau2(r["mu"], r["sigma"], r["df"], name=name)  # mu = location of log tau^2
    elif fam == "half-normal":
        p = half_normal(r["sigma"])
        p = TauPrior(name, True, p.family, p.params, _logpdf=p._logpdf)
    else:  # pragma: no cover - the data dictionary restricts the family
        raise KeyError(prior_id)
    return p
