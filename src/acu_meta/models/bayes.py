"""Exact Bayesian random-effects meta-analysis (the normal-normal hierarchical model), as R's
bayesmeta 3.4 (Röver 2020, J Stat Softw 93(6)), by one-dimensional quadrature over tau.

Model. ``y_i ~ N(theta_i, s_i^2)`` with ``s_i`` known, ``theta_i ~ N(mu, tau^2)``; priors
``p(mu, tau) = p(mu) p(tau)`` with ``p(mu)`` flat or normal(m, s) and ``p(tau)`` any
:class:`~acu_meta.models._bayes_priors.TauPrior`.

Computation (Röver 2020, Sec. 2.4-2.8).

1. ``mu`` is integrated out analytically: the marginal likelihood ``p(y | tau)`` is eq. 13
   (flat mu prior) or eq. 15 (normal mu prior); given tau, ``mu | tau, y`` is normal with the
   moments of eq. 12 / 14.
2. ``p(tau | y) ∝ p(tau) p(y | tau)`` is integrated by adaptive Gauss-Legendre panels on the
   log-tau axis (:mod:`acu_meta.models._bayes_quad`), to a stated error bound (default relative
   1e-11 on every monitored integral). bayesmeta uses R's ``integrate()`` on the tau axis and
   the DIRECT grid (Röver & Friede 2017) with Kullback-Leibler divergence delta = 1% per mixture
   component; its quoted accuracy is about 1e-4. This engine has no such grid: mixtures use
   every quadrature node.
3. ``mu``, each shrunken ``theta_i`` and the predictive ``theta_new`` are normal mixtures over
   ``p(tau | y)`` (Sec. 2.6-2.8): densities and CDFs are weighted sums over the nodes,
   quantiles invert the CDF with Brent's method (to ~1e-14 relative), modes maximize the
   density, shortest intervals solve density(lower) = density(upper).
4. Proper priors for both: marginal likelihood ``p(y) = ∫ p(tau) p(y | tau) dtau``; Bayes
   factors (bayesmeta's ``$bayesfactor["actual", ]``) ``BF(tau = 0) = p(y | tau = 0) / p(y)``
   and ``BF(mu = 0) = p(y | mu = 0) / p(y)``, the latter by the Savage-Dickey identity
   ``p(mu = 0 | y) / p(mu = 0)`` (exact here since the priors are independent).

A point-mass tau prior (``point_mass(tau0)``) reduces everything to the normal conditional at
tau0, i.e. the frequentist fit with ``tau2 = tau0^2`` (checked against
:func:`acu_meta.models.fit`).

Validated against brute-force two-dimensional scipy quadrature (1e-6 on quantiles, means and
sds), against bayesmeta 3.4 (``tests/fixtures/bayesmeta_reference.json``), against the Crins
et al. (2014) example printed in Röver 2020, Sec. 3.3, p. 21-22 and 25, and by property tests:
``tests/models/test_bayes.py``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .. import numeric
from ..errors import InputError, ModelError
from . import _bayes_priors as priors
from ._bayes_priors import MuPrior, TauPrior
from ._bayes_quad import DEFAULT_TOL, NormalMixture, TauRule, build_rule, shortest_interval

__all__ = ["BayesMeta", "PosteriorSummary", "bayes_meta", "priors"]

_LOG2PI = math.log(2 * math.pi)
PARAMS = ("tau", "mu", "theta_new", "theta")


# ---------------------------------------------------------------------- conditional formulas


def _cond_mu(tau, y, s2, mu_prior: MuPrior):
    """mu | tau, y: mean and sd (Röver 2020 eq. 12 / 14); tau an array of any shape."""
    tau = np.asarray(tau, dtype=float)
    w = 1.0 / (s2 + tau[..., None] ** 2)
    sw = w.sum(axis=-1)  # the method: np.sum's wrapper costs more than the sum here
    swy = (w * y).sum(axis=-1)
    if mu_prior.proper:
        wp = 1.0 / mu_prior.sd**2
        sw = sw + wp
        swy = swy + wp * mu_prior.mean
    return swy / sw, 1.0 / np.sqrt(sw)


def _log_marglik(tau, y, s2, mu_prior: MuPrior):
    """log p(y | tau) with mu integrated out: Röver 2020 eq. 13 (flat) or eq. 15 (normal)."""
    tau = np.asarray(tau, dtype=float)
    v = s2 + tau[..., None] ** 2
    w = 1.0 / v
    m, sdm = _cond_mu(tau, y, s2, mu_prior)
    k = y.shape[-1]
    r = (np.log(v) + (y - m[..., None]) ** 2 * w).sum(axis=-1)
    if mu_prior.proper:
        sp2 = mu_prior.sd**2
        return -0.5 * (k * _LOG2PI + math.log(sp2) + r + (mu_prior.mean - m) ** 2 / sp2
                       - 2 * np.log(sdm))
    return -0.5 * ((k - 1) * _LOG2PI + r - 2 * np.log(sdm))


def _cond_theta(tau, y, s2, mu_prior, i=None):
    """theta_i | tau, y: mean and sd (Röver 2020 Sec. 2.8), shrinkage B = s_i^2/(s_i^2+tau^2).

    Returns arrays (n, k) (or (n,) for one study ``i``)."""
    tau = np.asarray(tau, dtype=float)
    m, sdm = _cond_mu(tau, y, s2, mu_prior)
    B = s2 / (s2 + tau[..., None] ** 2)
    mean = (1 - B) * y + B * m[..., None]
    var = s2 * (1 - B) + (B * sdm[..., None]) ** 2
    if i is not None:
        return mean[..., i], np.sqrt(var[..., i])
    return mean, np.sqrt(var)


# ---------------------------------------------------------------------- results


_SUMMARY_FIELDS = ("mode", "median", "mean", "sd", "central", "shortest")


def _lazy_field(name: str):
    def get(self):
        return self._make[name]()
    get.__name__ = name
    get.__doc__ = f"The posterior {name} (computed on first access)."
    return functools.cached_property(get)


class PosteriorSummary:
    """Mode, median, mean, sd and 95% central / shortest intervals of one marginal posterior
    (bayesmeta's ``$summary`` column). ``mean``/``sd`` are ``inf`` where they do not exist.

    Immutable. Each value is computed on first access and then kept
    (``functools.cached_property``): a mode or a shortest interval costs many quantiles, and
    most callers want two or three of the six. A value is the same number whether it is
    read first, last or never before (every one is a pure function of the fitted rule).

    Parameters
    ----------
    mode, median, mean, sd, central, shortest
        Values, or zero-argument callables that compute them (lazy).
    level : float
    """

    def __init__(self, mode, median, mean, sd, central, shortest, level: float = 0.95):
        make = {}
        for name, v in zip(_SUMMARY_FIELDS, (mode, median, mean, sd, central, shortest),
                           strict=True):
            if callable(v):
                make[name] = v
            else:
                self.__dict__[name] = v
        self.__dict__["_make"] = make
        self.__dict__["level"] = level

    mode = _lazy_field("mode")
    median = _lazy_field("median")
    mean = _lazy_field("mean")
    sd = _lazy_field("sd")
    central = _lazy_field("central")
    shortest = _lazy_field("shortest")

    def __setattr__(self, name, value):
        raise AttributeError(f"PosteriorSummary is immutable (cannot set {name!r})")

    def __delattr__(self, name):
        raise AttributeError("PosteriorSummary is immutable")

    def _values(self) -> tuple:
        return tuple(getattr(self, n) for n in _SUMMARY_FIELDS) + (self.level,)

    def __eq__(self, other):
        if not isinstance(other, PosteriorSummary):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None

    def __repr__(self) -> str:
        vals = ", ".join(f"{n}={getattr(self, n)!r}" for n in _SUMMARY_FIELDS)
        return f"PosteriorSummary({vals}, level={self.level!r})"


class _LazyMapping(Mapping):
    """A read-only mapping computed on first access (``make()`` returns the dict)."""

    def __init__(self, make):
        self._make = make
        self._data = None

    def _get(self) -> dict:
        if self._data is None:
            self._data = self._make()
            self._make = None
        return self._data

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


@dataclass(frozen=True)
class BayesMeta:
    """The exact posterior of the normal-normal hierarchical model (numbers only).

    Attributes
    ----------
    y, sigma : ndarray
        Estimates and their standard errors.
    labels : tuple of str
    tau_prior, mu_prior
        The priors.
    tau, mu, theta_new : PosteriorSummary
        Marginal posterior summaries (95%); each value is computed on first access.
    theta : mapping of ndarray
        Shrinkage estimates per study: ``median, mean, sd, central_low, central_high``
        (computed on first access).
    marginal_likelihood, bayes_factor_tau0, bayes_factor_mu0 : float or None
        ``None`` unless both priors are proper.
    ml, map : dict
        ``{"joint": (tau, mu), "marginal": (tau, mu)}`` maximum-likelihood and MAP estimates as
        bayesmeta's ``$ML`` / ``$MAP`` rows: joint ML maximizes p(y | mu, tau); marginal ML
        maximizes p(y | tau) (mu integrated over its prior) and p(y | mu) (tau over its
        prior); joint MAP maximizes the joint posterior; marginal MAP are the marginal
        posterior modes. Both computed on first access.
    quad_error : float
        The stated relative error bound of the tau quadrature.
    n_nodes : int
        Quadrature nodes used for the mixtures.
    """

    y: np.ndarray
    sigma: np.ndarray
    labels: tuple[str, ...]
    tau_prior: TauPrior
    mu_prior: MuPrior
    tau: PosteriorSummary
    mu: PosteriorSummary
    theta_new: PosteriorSummary
    theta: dict
    marginal_likelihood: float | None
    bayes_factor_tau0: float | None
    bayes_factor_mu0: float | None
    ml: dict
    map: dict
    quad_error: float
    n_nodes: int
    _rule: TauRule = field(repr=False, compare=False)

    @property
    def k(self) -> int:
        return len(self.y)

    @property
    def proper(self) -> bool:
        return self.tau_prior.proper and self.mu_prior.proper

    # ------------------------------------------------------------------ mixtures

    def _s2(self):
        return self.sigma**2

    def cond_moments(self, tau, param: str = "mu", individual: int | None = None):
        """Conditional posterior mean and sd of ``mu``, ``theta_new`` or ``theta`` (study
        ``individual``) given tau (vectorized): Röver 2020 eq. 12/14, Sec. 2.7, 2.8."""
        tau = np.asarray(tau, dtype=float)
        if param == "mu":
            return _cond_mu(tau, self.y, self._s2(), self.mu_prior)
        if param == "theta_new":
            m, s = _cond_mu(tau, self.y, self._s2(), self.mu_prior)
            return m, np.sqrt(s**2 + tau**2)
        if param == "theta":
            return _cond_theta(tau, self.y, self._s2(), self.mu_prior, self._index(individual))
        raise InputError(f"unknown parameter {param!r}; use mu, theta_new or theta")

    def _index(self, individual) -> int:
        if individual is None:
            raise InputError("theta needs individual= (a study index or label)")
        if isinstance(individual, str):
            if individual not in self.labels:
                raise InputError(f"no study labelled {individual!r}")
            return self.labels.index(individual)
        i = int(individual)
        if not 0 <= i < self.k:
            raise InputError(f"study index {i} out of range 0..{self.k - 1}")
        return i

    def mixture(self, param: str, individual=None) -> NormalMixture:
        """The normal mixture (over the tau quadrature nodes) of ``mu``, ``theta_new`` or
        ``theta``."""
        r = self._rule
        m, s = self.cond_moments(r.tau, param, individual)
        return NormalMixture(r.weight, np.asarray(m), np.asarray(s))

    # ------------------------------------------------------------------ bayesmeta-like API

    def dposterior(self, param: str, x, individual=None):
        """Marginal posterior density of ``tau``, ``mu``, ``theta_new`` or ``theta`` at x."""
        if param == "tau":
            return self._rule.density(x)
        return self.mixture(param, individual).pdf(x)

    def pposterior(self, param: str, x, individual=None):
        """Marginal posterior CDF at x."""
        if param == "tau":
            return self._rule.cdf(x)
        return self.mixture(param, individual).cdf(x)

    def qposterior(self, param: str, p, individual=None):
        """Marginal posterior quantile function at p."""
        if param == "tau":
            return self._rule.quantile(p)
        return self.mixture(param, individual).ppf(p)

    def dposterior_joint(self, tau, mu):
        """Joint posterior density p(tau, mu | y) (vectorized, broadcasting)."""
        tau = np.asarray(tau, dtype=float)
        m, s = _cond_mu(tau, self.y, self._s2(), self.mu_prior)
        return self._rule.density(tau) * numeric.norm_pdf(mu, m, s)

    def dprior(self, tau):
        """Prior density of tau (for the Jeffreys prior: up to its arbitrary constant)."""
        if self.tau_prior.family == "point-mass":
            raise InputError("a point-mass prior has no density")
        return self.tau_prior.pdf(tau, self.sigma)

    def post_interval(self, param: str, level: float = 0.95, kind: str = "shortest",
                      individual=None) -> tuple[float, float]:
        """Central (equal-tailed) or shortest credible interval of any level."""
        if not 0 < level < 1:
            raise InputError(f"level must be in (0, 1), got {level!r}")
        if kind not in ("central", "shortest"):
            raise InputError("interval kind must be 'central' or 'shortest'")
        if param == "tau":
            r = self._rule
            if r.point_mass is not None:
                return r.point_mass, r.point_mass
            if kind == "central":
                a = (1 - level) / 2
                return r.quantile(a), r.quantile(1 - a)
            return shortest_interval(r.quantile, r.density, level, lower_bound=0.0)
        mix = self.mixture(param, individual)
        return mix.central(level) if kind == "central" else mix.shortest(level)

    def likelihood(self, tau, mu=None):
        """``p(y | tau)`` (mu integrated over its prior; up to a constant for the flat prior)
        or, with mu, ``p(y | mu, tau)`` (eq. 9)."""
        tau = np.asarray(tau, dtype=float)
        if mu is None:
            return np.exp(_log_marglik(tau, self.y, self._s2(), self.mu_prior))
        v = self._s2() + tau[..., None] ** 2
        mu = np.asarray(mu, dtype=float)
        ll = -0.5 * np.sum(_LOG2PI + np.log(v) + (self.y - mu[..., None]) ** 2 / v, axis=-1)
        return np.exp(ll)


# ---------------------------------------------------------------------- fit


def _summary_mixture(mix: NormalMixture, level: float = 0.95, sd_finite: bool = True
                     ) -> PosteriorSummary:
    return PosteriorSummary(mix.mode, lambda: mix.ppf(0.5), lambda: mix.mean,
                            (lambda: mix.sd) if sd_finite else math.inf,
                            lambda: mix.central(level), lambda: mix.shortest(level), level)


def _tau_var_finite(rule: TauRule, upper: float) -> bool:
    """E[tau^2 | y] < inf (then so are Var(mu | y) under a flat prior and Var(theta_new | y))."""
    if rule.point_mass is not None or math.isfinite(upper):
        return True
    from ._bayes_quad import _tail_exponent
    sc = math.exp(rule.t0)
    return _tail_exponent(rule.log_q, sc * 1e10, sc * 1e12) > 3 + 1e-6


def _tau_mode(rule: TauRule, upper: float) -> float:
    """Marginal posterior mode of tau. A log-t prior has a pole at tau = 0 (the t density of
    log tau decays polynomially); the density is then unbounded there and the mode reported
    is the highest interior local maximum, as bayesmeta's (bounded optimizer) reports."""
    if rule.point_mass is not None:
        return rule.point_mass
    nodes = np.sort(rule.tau)
    grid = np.concatenate([[0.0], nodes[(nodes > 0) & (nodes < upper)],
                           [upper] if math.isfinite(upper) else []])
    ld = rule.log_density(grid)
    ld = np.where(np.isnan(ld), -np.inf, ld)
    inner = [j for j in range(2, len(grid) - 1) if ld[j] >= ld[j - 1] and ld[j] >= ld[j + 1]
             and np.isfinite(ld[j])]
    i = int(np.argmax(ld))
    pole = bool(np.isinf(ld[0]) and ld[0] < 0 and ld[1] > ld[min(2, len(ld) - 1)])
    if pole or (i <= 1 and ld[1] > ld[0] and inner):
        # density rising towards tau = 0 without bound: take the best interior local maximum
        interior = [j for j in inner if grid[j] > 1e-100 * math.exp(rule.t0)]
        if not interior:
            return 0.0
        i = max(interior, key=lambda j: ld[j])
    if i == 0:
        return 0.0
    a = grid[i - 1]
    b = grid[i + 1] if i + 1 < len(grid) else grid[i]
    r = optimize.minimize_scalar(lambda t: -float(rule.log_density(np.array(t))),
                                 bounds=(a, b), method="bounded",
                                 options={"xatol": 1e-13 * max(b, 1e-300)})
    x = float(r.x)
    if float(rule.log_density(np.array(0.0))) >= float(rule.log_density(np.array(x))):
        return 0.0
    if math.isfinite(upper) and (float(rule.log_density(np.array(upper)))
                                 >= float(rule.log_density(np.array(x)))):
        return float(upper)
    return x


def _tau_summary(rule: TauRule, upper: float, level: float = 0.95) -> PosteriorSummary:
    if rule.point_mass is not None:
        t = rule.point_mass
        return PosteriorSummary(t, t, t, 0.0, (t, t), (t, t), level)
    right_ok = math.isfinite(upper)
    if not right_ok:
        from ._bayes_quad import _tail_exponent
        sc = math.exp(rule.t0)
        a = _tail_exponent(rule.log_q, sc * 1e10, sc * 1e12)
        mean_ok, var_ok = a > 2 + 1e-6, a > 3 + 1e-6
    else:
        mean_ok = var_ok = True
    mean = rule.expect(lambda t: t) if mean_ok else math.inf
    sd = (math.sqrt(max(0.0, rule.expect(lambda t: t * t) - mean * mean)) if var_ok
          else math.inf)
    a = (1 - level) / 2
    return PosteriorSummary(lambda: _tau_mode(rule, upper), lambda: rule.quantile(0.5), mean, sd,
                            lambda: (rule.quantile(a), rule.quantile(1 - a)),
                            lambda: shortest_interval(rule.quantile, rule.density, level, 0.0),
                            level)


def _profile_max(fun, scale, upper=math.inf):
    """Maximize a function of tau in [0, upper] (grid on log scale, then bounded Brent; the
    ends are candidates too)."""
    grid = np.concatenate([[0.0], scale * np.geomspace(1e-6, 1e4, 400)])
    if math.isfinite(upper):
        grid = np.concatenate([grid[grid < upper], [upper]])
    vals = np.array([fun(t) for t in grid])
    vals = np.where(np.isnan(vals), -np.inf, vals)
    i = int(np.argmax(vals))
    if i == 0:
        return 0.0
    a, b = grid[i - 1], grid[min(i + 1, len(grid) - 1)]
    r = optimize.minimize_scalar(lambda t: -fun(t), bounds=(a, b), method="bounded",
                                 options={"xatol": 1e-12 * b})
    cands = [float(r.x), 0.0] + ([float(upper)] if math.isfinite(upper) else [])
    return max(cands, key=fun)


def _estimates(y, s2, tau_prior, mu_prior, sigma, rule, mu_mode, scale):
    flat = priors.flat_mu()

    def lik_joint(t):  # log p(y | mu_hat(t), t), mu_hat the flat-prior maximizer
        m, _ = _cond_mu(np.array(t), y, s2, flat)
        v = s2 + t * t
        return float(-0.5 * np.sum(_LOG2PI + np.log(v) + (y - m) ** 2 / v))

    t_ml = _profile_max(lik_joint, scale)
    ml_joint = (t_ml, float(_cond_mu(np.array(t_ml), y, s2, flat)[0]))
    # marginal ML of tau: maximize p(y | tau) (mu integrated over its prior)
    t_mlm = _profile_max(lambda t: float(_log_marglik(np.array(t), y, s2, mu_prior)), scale)
    out_ml = {"joint": ml_joint, "marginal": (t_mlm, math.nan)}
    out_map = {"joint": (math.nan, math.nan), "marginal": (math.nan, mu_mode)}
    if tau_prior.family != "point-mass":
        def post_joint(t):
            m, _ = _cond_mu(np.array(t), y, s2, mu_prior)
            v = s2 + t * t
            ll = -0.5 * np.sum(_LOG2PI + np.log(v) + (y - m) ** 2 / v)
            with np.errstate(divide="ignore"):
                lp = float(tau_prior.logpdf(np.array(t), sigma))
            return float(ll + mu_prior.logpdf(m) + lp)

        t_map = _profile_max(post_joint, scale, tau_prior.upper)
        out_map["joint"] = (t_map, float(_cond_mu(np.array(t_map), y, s2, mu_prior)[0]))
    return out_ml, out_map


def _exp(x: float) -> float:
    """exp(x), inf beyond the largest double instead of OverflowError."""
    return math.exp(x) if x < 709.78 else math.inf


def bayes_meta(y, sigma, tau_prior: TauPrior | str = "uniform",
               mu_prior: MuPrior | str | None = None, labels=None, *,
               tol: float = DEFAULT_TOL, level: float = 0.95) -> BayesMeta:
    """Fit the Bayesian normal-normal hierarchical model exactly (see the module docstring).

    Parameters
    ----------
    y, sigma : array_like
        Estimates and their standard errors (not variances).
    tau_prior : TauPrior or str
        A prior object or a CLI spec (``"half-normal:0.5"``, ``"jeffreys"``, a literature
        prior's name, ...). Default: the improper uniform (bayesmeta's default).
    mu_prior : MuPrior, str or None
        ``None``/``"flat"`` or ``"normal:M,S"`` or a :class:`MuPrior`.
    labels : sequence of str, optional
    tol : float
        Relative error bound of the tau quadrature (default 1e-11).

    Returns
    -------
    BayesMeta

    Raises
    ------
    InputError
        Bad data or a bad prior spec.
    ModelError
        An improper posterior, or a quadrature that does not converge.
    """
    y = np.asarray(y, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float).ravel()
    if y.size == 0:
        raise InputError("no studies to pool")
    if y.shape != sigma.shape:
        raise InputError(f"y and sigma differ in length ({y.size} vs {sigma.size})")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(sigma))):
        raise InputError("y and sigma must be finite")
    if np.any(sigma <= 0):
        raise InputError("standard errors must be positive")
    if isinstance(tau_prior, str):
        tau_prior = priors.parse_tau_prior(tau_prior)
    if mu_prior is None or isinstance(mu_prior, str):
        mu_prior = priors.parse_mu_prior(mu_prior)
    k = len(y)
    labels = tuple(str(x) for x in labels) if labels is not None else tuple(
        f"study {i + 1}" for i in range(k))
    if len(labels) != k:
        raise InputError(f"{len(labels)} labels for {k} studies")
    s2 = sigma**2
    scale = float(np.median(sigma))

    def log_q(tau):
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return tau_prior.logpdf(tau, sigma) + _log_marglik(tau, y, s2, mu_prior)

    def monitors(tau):
        m, s = _cond_mu(tau, y, s2, mu_prior)
        tm, ts = _cond_theta(tau, y, s2, mu_prior)
        return np.column_stack([m, m * m + s * s, tm, tm * tm + ts * ts])

    pm = tau_prior.tau0 if tau_prior.family == "point-mass" else None
    if pm is None and k == 1 and not tau_prior.proper and not mu_prior.proper:
        raise ModelError("one study with an improper tau prior and a flat mu prior gives an "
                         "improper posterior")
    rule = build_rule(log_q if pm is None else (lambda t: _log_marglik(
        np.asarray(t, dtype=float), y, s2, mu_prior)), monitors, scale=scale,
        proper_prior=tau_prior.proper, upper=tau_prior.upper, point_mass=pm, tol=tol)

    fit0 = BayesMeta(y, sigma, labels, tau_prior, mu_prior, None, None, None, {}, None, None,
                     None, {}, {}, rule.error, len(rule.tau), rule)
    mu_mix = fit0.mixture("mu")
    var_ok = _tau_var_finite(rule, tau_prior.upper)
    mu_s = _summary_mixture(mu_mix, level, var_ok or mu_prior.proper)
    pred_s = _summary_mixture(fit0.mixture("theta_new"), level, var_ok)
    tau_s = _tau_summary(rule, tau_prior.upper, level)
    th = _LazyMapping(lambda: _theta_summaries(fit0, level))
    # marginal likelihood and Bayes factors
    ml = bf_tau = bf_mu = None
    if tau_prior.proper and mu_prior.proper:
        # beyond the doubles: inf (null in JSON); a mu prior with no density at 0 (its pdf
        # underflows, e.g. normal:1,0.01): the Bayes factor 0/0 is NaN (issue #17's fuzz test)
        ml = _exp(rule.log_norm)
        bf_tau = _exp(float(_log_marglik(np.array(0.0), y, s2, mu_prior)) - rule.log_norm)
        prior0 = float(mu_prior.pdf(0.0))
        bf_mu = float(mu_mix.pdf(0.0)) / prior0 if prior0 > 0 else math.nan

    @functools.cache
    def estimates():
        return _all_estimates(y, s2, tau_prior, mu_prior, sigma, rule, mu_mix, mu_s, tau_s,
                              scale)

    est_ml = _LazyMapping(lambda: estimates()[0])
    est_map = _LazyMapping(lambda: estimates()[1])
    return BayesMeta(y, sigma, labels, tau_prior, mu_prior, tau_s, mu_s, pred_s, th, ml,
                     bf_tau, bf_mu, est_ml, est_map, rule.error, len(rule.tau), rule)


def _theta_summaries(fit0: BayesMeta, level: float) -> dict:
    """Shrinkage estimates: each study's theta_i median, mean, sd and central interval."""
    th = {"median": [], "mean": [], "sd": [], "central_low": [], "central_high": []}
    for i in range(fit0.k):
        mix = fit0.mixture("theta", i)
        lo, hi = mix.central(level)
        th["median"].append(mix.ppf(0.5))
        th["mean"].append(mix.mean)
        th["sd"].append(mix.sd)
        th["central_low"].append(lo)
        th["central_high"].append(hi)
    return {key: np.array(v) for key, v in th.items()}


def _all_estimates(y, s2, tau_prior, mu_prior, sigma, rule, mu_mix, mu_s, tau_s, scale):
    """bayesmeta's ``$ML`` and ``$MAP`` rows (see :class:`BayesMeta`)."""
    est_ml, est_map = _estimates(y, s2, tau_prior, mu_prior, sigma, rule, None, scale)
    # marginal ML of mu: argmax p(y | mu) = argmax p(mu | y) / p(mu) (tau integrated over its
    # prior); for a flat mu prior that is the posterior mode
    if mu_prior.proper:
        lo, hi = mu_mix.ppf(1e-4), mu_mix.ppf(1 - 1e-4)
        grid = np.linspace(lo, hi, 401)
        obj = np.log(mu_mix.pdf(grid)) - mu_prior.logpdf(grid)
        j = int(np.argmax(obj))
        a, b = grid[max(j - 1, 0)], grid[min(j + 1, 400)]
        r = optimize.minimize_scalar(
            lambda m: -(math.log(mu_mix.pdf(m)) - float(mu_prior.logpdf(m))), bounds=(a, b),
            method="bounded", options={"xatol": 1e-12 * max(1.0, hi - lo)})
        mu_ml = float(r.x)
    else:
        mu_ml = mu_s.mode
    est_ml["marginal"] = (est_ml["marginal"][0], mu_ml)
    est_map["marginal"] = (tau_s.mode, mu_s.mode)
    return est_ml, est_map
