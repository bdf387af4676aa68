"""Bayesian random-effects meta-analysis results: :func:`bayes` (pairwise) and
:func:`bayes_network` (network with a common tau), packaging the exact engines of
:mod:`acu_meta.models.bayes` and :mod:`acu_meta.models.bayes_network`.

:class:`BayesResult` has the drawable shape of :mod:`acu_meta.results._shape`: its pooled row
is the posterior median of mu with its credible interval (``interval="95% CrI"``,
``model="bayesian"``), its prediction row the posterior predictive interval of theta_new, its
study rows carry each study's shrunken theta_i (median and interval) beside the observed
``yi``, and its footer says the posterior of tau and the priors. ``forest`` draws it without
knowing about Bayes; :mod:`acu_meta.plots.bayes` adds the posterior of tau with its prior and
the joint posterior of (mu, tau).

Every number is the engine's (posterior quantiles, intervals, moments, Bayes factors); this
module only selects, names and formats them, and never changes one. Intervals of other levels
come from the engine's posterior quantile and interval functions (:meth:`BayesResult.conf_int`,
:meth:`BayesResult.post_interval`).

Checked in ``tests/results/test_bayes_result.py`` (every number against
:func:`acu_meta.models.bayes.bayes_meta` called directly, the usable-study rule of ``pool``, the
shape, the network wrapper against :func:`acu_meta.models.bayes_network.bayes_network`) and
``tests/cli/test_cli_bayes.py`` (the JSON of ``acu-meta bayes``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import numeric
from ..effects.escalc import MEASURE_LABELS, EffectSizes
from ..errors import InputError
from ..models import _bayes_priors as priors
from ..models.bayes import BayesMeta, PosteriorSummary, bayes_meta
from ..models.bayes_network import BayesNetwork
from ..models.bayes_network import bayes_network as _bayes_network_engine
from ..models.network import NetworkError, contrasts_from_arms
from ._api import check_kwargs
from ._format import fmt, html_table, league_square, table
from ._shape import PooledRow, StudyRows, is_ratio
from .meta import _DATA_ARGS, _effect_sizes, _usable_studies

__all__ = ["BayesNetworkResult", "BayesResult", "bayes", "bayes_network"]

INTERVALS = ("central", "shortest")


def _fraction(level: float) -> float:
    """A level given in percent (95) or as a fraction (0.95), as a fraction (the project's one
    convention, :func:`acu_meta.numeric.level_fraction`)."""
    return numeric.level_fraction(level)


def _kind(interval: str) -> str:
    if interval not in INTERVALS:
        raise InputError(f"interval must be 'central' or 'shortest', not {interval!r}")
    return interval


def _pick(s: PosteriorSummary, kind: str) -> tuple[float, float]:
    return s.central if kind == "central" else s.shortest


def _prior_text(prior) -> str:
    return f"{prior.name} ({'proper' if prior.proper else 'improper'})"


@dataclass(frozen=True, eq=False)
class BayesResult:
    """A Bayesian random-effects meta-analysis (analysis scale: log for ratio measures).

    Attributes
    ----------
    measure, level, interval_kind
        The effect measure, the level of every interval (fraction) and its kind
        ("central": equal tails; "shortest": highest posterior density for a unimodal
        posterior).
    k, studies, yi, vi
        The usable studies (``pool``'s rule: finite yi, vi > 0) and their data.
    tau_prior, mu_prior
        The priors (:class:`~acu_meta.models._bayes_priors.TauPrior`, ``MuPrior``).
    tau, mu, theta_new
        Marginal posterior summaries (mode, median, mean, sd, central and shortest intervals
        at ``level``) of the heterogeneity, the overall effect and the effect in a new study.
    theta_mode, theta_median, theta_mean, theta_sd, theta_low, theta_high
        Each study's shrunken effect theta_i: its posterior mode, median, mean, sd and
        interval (of ``interval_kind``).
    marginal_likelihood, bayes_factor_tau0, bayes_factor_mu0
        ``p(y)`` and the Bayes factors for tau = 0 and mu = 0 against the model; None unless
        both priors are proper.
    ml, map
        Maximum-likelihood and maximum-a-posteriori estimates (``{"joint": (tau, mu),
        "marginal": (tau, mu)}``, bayesmeta's ``$ML`` and ``$MAP``).
    quad_error, n_nodes
        Stated relative error bound of the tau quadrature, and its number of nodes.
    excluded, notes
        Studies left out (``(study, reason)``), and notes on the data.
    arms
        Arm-level data of the usable studies (for the forest plot), or None.
    fit
        The engine's :class:`~acu_meta.models.bayes.BayesMeta` (posterior functions).
    data
        With a DataFrame input (``bayes(df, yi="yi", vi="vi")`` or ``escalc(..., data=df)``):
        the rows of the studies used, with every other column.
    """

    measure: str
    level: float
    interval_kind: str
    k: int
    studies: tuple[str, ...]
    yi: np.ndarray
    vi: np.ndarray
    tau_prior: priors.TauPrior
    mu_prior: priors.MuPrior
    tau: PosteriorSummary
    mu: PosteriorSummary
    theta_new: PosteriorSummary
    theta_mode: np.ndarray
    theta_median: np.ndarray
    theta_mean: np.ndarray
    theta_sd: np.ndarray
    theta_low: np.ndarray
    theta_high: np.ndarray
    marginal_likelihood: float | None
    bayes_factor_tau0: float | None
    bayes_factor_mu0: float | None
    ml: dict
    map: dict
    quad_error: float
    n_nodes: int
    excluded: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    arms: pd.DataFrame | None = field(default=None, repr=False)
    fit: BayesMeta | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # rows used

    # ------------------------------------------------------------------ derived views
    @property
    def ratio(self) -> bool:
        """True when the analysis scale is the log of a ratio."""
        return is_ratio(self.measure)

    @property
    def proper(self) -> bool:
        """True when both priors are proper (marginal likelihood and Bayes factors exist)."""
        return self.tau_prior.proper and self.mu_prior.proper

    @property
    def estimate(self) -> float:
        """Posterior median of mu."""
        return self.mu.median

    @property
    def ci_low(self) -> float:
        return _pick(self.mu, self.interval_kind)[0]

    @property
    def ci_high(self) -> float:
        return _pick(self.mu, self.interval_kind)[1]

    @property
    def pi_low(self) -> float:
        return _pick(self.theta_new, self.interval_kind)[0]

    @property
    def pi_high(self) -> float:
        return _pick(self.theta_new, self.interval_kind)[1]

    @property
    def tau_low(self) -> float:
        return _pick(self.tau, self.interval_kind)[0]

    @property
    def tau_high(self) -> float:
        return _pick(self.tau, self.interval_kind)[1]

    def _level_text(self, level: float | None = None) -> str:
        return f"{(self.level if level is None else level) * 100:g}% CrI"

    # ------------------------------------------------------------------ posterior functions
    def dposterior(self, param: str, x, individual=None):
        """Marginal posterior density of ``"tau"``, ``"mu"``, ``"theta_new"`` or ``"theta"``
        (study ``individual``: index or label) at x (the engine's, vectorized)."""
        return self.fit.dposterior(param, x, individual)

    def pposterior(self, param: str, x, individual=None):
        """Marginal posterior CDF at x."""
        return self.fit.pposterior(param, x, individual)

    def qposterior(self, param: str, p, individual=None):
        """Marginal posterior quantile function at p."""
        return self.fit.qposterior(param, p, individual)

    def dposterior_joint(self, tau, mu):
        """Joint posterior density p(tau, mu | y) (broadcasting)."""
        return self.fit.dposterior_joint(tau, mu)

    def dprior(self, tau):
        """Prior density of tau (the Jeffreys prior up to its arbitrary constant)."""
        return self.fit.dprior(tau)

    def cond_moments(self, tau, param: str = "mu", individual=None):
        """Mean and sd of mu (or theta_new, theta_i) given tau."""
        return self.fit.cond_moments(tau, param, individual)

    def post_interval(self, param: str, level: float | None = None, kind: str | None = None,
                      individual=None) -> tuple[float, float]:
        """Credible interval of any parameter, any level (percent or fraction; default: the
        result's) and kind (default: the result's)."""
        lv = self.level if level is None else _fraction(level)
        return self.fit.post_interval(param, lv, _kind(kind or self.interval_kind), individual)

    def conf_int(self, level: float | None = None, *, kind: str | None = None,
                 exp: bool = False) -> tuple[float, float]:
        """Credible interval of mu (any level, via the posterior quantiles; default: the
        result's level and kind); ``exp=True`` exponentiates it (ratio measures)."""
        lo, hi = self.post_interval("mu", level, kind)
        return (math.exp(lo), math.exp(hi)) if exp else (lo, hi)

    def prediction_interval(self, level: float | None = None, kind: str | None = None
                            ) -> tuple[float, float]:
        """Posterior predictive interval of the effect in a new study (theta_new)."""
        return self.post_interval("theta_new", level, kind)

    # ------------------------------------------------------------------ drawable shape
    @property
    def study_rows(self) -> StudyRows:
        """Observed yi, vi and each study's shrunken theta_i (median and interval); no weights
        (NaN): a Bayesian fit has no inverse-variance weights."""
        return StudyRows(labels=self.studies, yi=self.yi, vi=self.vi,
                         weight=np.full(self.k, np.nan), arms=self.arms,
                         theta=self.theta_median, theta_low=self.theta_low,
                         theta_high=self.theta_high)

    @property
    def description(self) -> str:
        """The model in words, naming both priors."""
        return (f"Bayesian random effects (tau ~ {self.tau_prior.name}; "
                f"mu ~ {self.mu_prior.name})")

    @property
    def pooled_rows(self) -> tuple[PooledRow, ...]:
        """The posterior median of mu with its credible interval, and the posterior predictive
        interval of theta_new."""
        crI = self._level_text()
        how = (f"posterior median, {self.interval_kind} interval; tau ~ {self.tau_prior.name}, "
               f"mu ~ {self.mu_prior.name}")
        return (PooledRow("pooled", "Posterior median", self.mu.median, self.ci_low,
                          self.ci_high, interval=crI, model="bayesian", description=how),
                PooledRow("prediction", f"Prediction ({crI})", self.theta_new.median,
                          self.pi_low, self.pi_high, interval=crI, model="bayesian",
                          description=f"posterior predictive, {self.interval_kind} interval"))

    @property
    def footer(self) -> tuple[tuple[str, str], ...]:
        """Two lines under a forest plot: the posterior of tau, and the priors."""
        return (("heterogeneity", f"Heterogeneity: tau = {self.tau.median:.2f} "
                                  f"({self._level_text()} {self.tau_low:.2f} to "
                                  f"{self.tau_high:.2f}; posterior median)"),
                ("priors", f"Priors: tau ~ {self.tau_prior.name}; mu ~ {self.mu_prior.name}"))

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One row per parameter (tau, mu, theta_new) and per study (its theta_i, with yi
        and vi): mode, median, mean, sd and the interval (of the result's level and kind)."""
        recs = []
        for name, s in (("tau", self.tau), ("mu", self.mu), ("theta_new", self.theta_new)):
            lo, hi = _pick(s, self.interval_kind)
            recs.append({"row": "parameter", "name": name, "yi": math.nan, "vi": math.nan,
                         "mode": s.mode, "median": s.median, "mean": s.mean, "sd": s.sd,
                         "ci_low": lo, "ci_high": hi})
        for i, st in enumerate(self.studies):
            recs.append({"row": "study", "name": st, "yi": float(self.yi[i]),
                         "vi": float(self.vi[i]), "mode": float(self.theta_mode[i]),
                         "median": float(self.theta_median[i]),
                         "mean": float(self.theta_mean[i]), "sd": float(self.theta_sd[i]),
                         "ci_low": float(self.theta_low[i]),
                         "ci_high": float(self.theta_high[i])})
        out = pd.DataFrame(recs)
        if self.ratio:
            effect = out["name"] != "tau"
            for c in ("median", "ci_low", "ci_high"):
                out[f"exp_{c}"] = np.where(effect, np.exp(out[c].where(effect, 0.0)), np.nan)
        return out

    def to_dict(self) -> dict:
        """The numbers of ``acu-meta bayes --json`` (analysis scale, intervals of the result's
        level and kind; infinite or undefined numbers are None)."""
        num = numeric.json_number
        return {
            "measure": self.measure,
            "level": self.level,
            "interval": self.interval_kind,
            "k": self.k,
            "tau_prior": self.tau_prior.name,
            "tau_prior_proper": self.tau_prior.proper,
            "mu_prior": self.mu_prior.name,
            "mu_prior_proper": self.mu_prior.proper,
            "mu_median": num(self.mu.median),
            "mu_mean": num(self.mu.mean),
            "mu_sd": num(self.mu.sd),
            "mu_mode": num(self.mu.mode),
            "mu_ci_low": num(self.ci_low),
            "mu_ci_high": num(self.ci_high),
            "tau_median": num(self.tau.median),
            "tau_mean": num(self.tau.mean),
            "tau_sd": num(self.tau.sd),
            "tau_mode": num(self.tau.mode),
            "tau_ci_low": num(self.tau_low),
            "tau_ci_high": num(self.tau_high),
            "pred_median": num(self.theta_new.median),
            "pred_mean": num(self.theta_new.mean),
            "pred_sd": num(self.theta_new.sd),
            "pred_ci_low": num(self.pi_low),
            "pred_ci_high": num(self.pi_high),
            "marginal_likelihood": num(self.marginal_likelihood),
            "bayes_factor_tau0": num(self.bayes_factor_tau0),
            "bayes_factor_mu0": num(self.bayes_factor_mu0),
            "quad_error": num(self.quad_error),
            "excluded": [{"study": s, "reason": r} for s, r in self.excluded],
            "notes": list(self.notes),
            "studies": [
                {"study": s, "yi": num(float(self.yi[i])), "vi": num(float(self.vi[i])),
                 "theta_median": num(float(self.theta_median[i])),
                 "theta_mean": num(float(self.theta_mean[i])),
                 "theta_sd": num(float(self.theta_sd[i])),
                 "theta_ci_low": num(float(self.theta_low[i])),
                 "theta_ci_high": num(float(self.theta_high[i]))}
                for i, s in enumerate(self.studies)
            ],
        }

    # ------------------------------------------------------------------ printing
    def summary(self, digits: int = 4) -> str:
        """Text laid out like bayesmeta's print and summary: priors, ML and MAP estimates, the
        marginal posterior summary of tau, mu and theta_new, the Bayes factors and marginal
        likelihood (proper priors), and each study's shrinkage estimate. Formatting only."""
        d = digits
        label = MEASURE_LABELS.get(self.measure, self.measure)
        lvl = f"{self.level * 100:g}%"
        # the stated quadrature error, rounded up to a power of ten (at least 1e-14)
        bound = 10.0 ** math.ceil(math.log10(max(self.quad_error, 1e-14)))
        lines = [f"Bayesian random-effects meta-analysis (k = {self.k}; {label})",
                 "normal-normal hierarchical model, exact by quadrature over tau "
                 f"(relative error < {bound:.0e})", "",
                 f"tau prior: {_prior_text(self.tau_prior)}",
                 f"mu prior:  {_prior_text(self.mu_prior)}", "", "ML and MAP estimates:"]
        est = [[name, fmt(t, d), fmt(m, d)] for name, (t, m) in
               (("ML joint", self.ml["joint"]), ("ML marginal", self.ml["marginal"]),
                ("MAP joint", self.map["joint"]), ("MAP marginal", self.map["marginal"]))]
        lines += [table(["", "tau", "mu"], est), "", "Marginal posterior summary:"]
        par = (self.tau, self.mu, self.theta_new)
        rows = [["mode", *(fmt(s.mode, d) for s in par)],
                ["median", *(fmt(s.median, d) for s in par)],
                ["mean", *(fmt(s.mean, d) for s in par)],
                ["sd", *(fmt(s.sd, d) for s in par)],
                [f"{lvl} lower", *(fmt(_pick(s, self.interval_kind)[0], d) for s in par)],
                [f"{lvl} upper", *(fmt(_pick(s, self.interval_kind)[1], d) for s in par)]]
        lines += [table(["", "tau", "mu", "theta_new"], rows),
                  f"(quoted intervals: {self.interval_kind} credible intervals)", ""]
        if self.proper:
            lines += ["Bayes factors:", table(["", "tau=0", "mu=0"], [
                ["actual", f"{self.bayes_factor_tau0:.{d}g}", f"{self.bayes_factor_mu0:.{d}g}"]]),
                f"marginal likelihood: {self.marginal_likelihood:.{d}g}"]
        else:
            lines.append("Bayes factors and marginal likelihood: not defined (improper prior)")
        lines += ["", f"Shrinkage estimates (posterior of each study's theta_i, {lvl} "
                      f"{self.interval_kind}):"]
        srows = [[s, fmt(float(self.yi[i]), d), fmt(math.sqrt(self.vi[i]), d),
                  fmt(float(self.theta_mode[i]), d), fmt(float(self.theta_median[i]), d),
                  fmt(float(self.theta_mean[i]), d), fmt(float(self.theta_sd[i]), d),
                  fmt(float(self.theta_low[i]), d), fmt(float(self.theta_high[i]), d)]
                 for i, s in enumerate(self.studies)]
        lines.append(table(["study", "y", "sigma", "mode", "median", "mean", "sd", "lower",
                            "upper"], srows))
        if self.ratio:
            lo, hi = self.conf_int(exp=True)
            plo, phi = math.exp(self.pi_low), math.exp(self.pi_high)
            lines += ["", f"Exponentiated: mu {fmt(math.exp(self.mu.median), d)} ({fmt(lo, d)} "
                          f"to {fmt(hi, d)}); prediction {fmt(plo, d)} to {fmt(phi, d)}"]
        for s, r in self.excluded:
            lines.append(f"Excluded: {s}: {r}")
        for n in self.notes:
            lines.append(f"Note: {n}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return (f"<pre>{html.escape(self.summary())}</pre>" + html_table(self.to_frame()))


def _theta_rows(f: BayesMeta, level: float, kind: str) -> dict[str, np.ndarray]:
    """Each study's theta_i: mode, median, mean, sd (engine) and the interval of *kind*."""
    lows, highs, modes = [], [], []
    for i in range(f.k):
        mix = f.mixture("theta", i)
        modes.append(mix.mode())
        if kind == "central":
            lo, hi = f.theta["central_low"][i], f.theta["central_high"][i]
        else:
            lo, hi = f.post_interval("theta", level, "shortest", i)
        lows.append(lo)
        highs.append(hi)
    return {"mode": np.array(modes), "median": np.asarray(f.theta["median"]),
            "mean": np.asarray(f.theta["mean"]), "sd": np.asarray(f.theta["sd"]),
            "low": np.array(lows), "high": np.array(highs)}


def bayes(
    es: EffectSizes | None = None,
    *,
    tau_prior: priors.TauPrior | str,
    mu_prior: priors.MuPrior | str | None = None,
    level: float = 95,
    interval: str = "central",
    measure: str | None = None,
    study: Sequence | None = None,
    exact: bool = True,
    **data,
) -> BayesResult:
    """Bayesian random-effects meta-analysis, exact by quadrature over tau (bayesmeta's model).

    Parameters
    ----------
    es
        Effect sizes from :func:`acu_meta.effects.escalc`; or leave it out and pass the data as
        keyword arguments, as for :func:`acu_meta.results.pool` (``yi`` with ``vi`` or
        ``sei``; ``m1i, sd1i, n1i, m2i, sd2i, n2i``; ``ai, n1i, ci, n2i``) with ``measure``.
    tau_prior
        A :class:`~acu_meta.models._bayes_priors.TauPrior` or a spec: ``half-normal:S``,
        ``half-cauchy:S``, ``half-t:S,DF``, ``exponential:RATE``, ``uniform:0,B``,
        ``log-normal:M,S`` (on tau^2, Turner's form), ``log-t:L,S,DF`` (on tau^2, Rhodes'
        form), ``jeffreys``, ``uniform`` (improper) or a literature prior's name
        (``data/heterogeneity_priors.csv``, :func:`acu_meta.models.literature_priors`).
    mu_prior
        None or ``"flat"`` (improper uniform), ``"normal:M,S"`` or a ``MuPrior``.
    level
        Level of every credible interval, in percent (or as a fraction).
    interval
        "central" (equal tails, default) or "shortest".
    measure, study, exact
        As for ``pool`` (``exact``: Hedges' J of the SMD in its exact gamma form).

    Returns
    -------
    BayesResult
        Studies without a usable effect size (non-finite, or vi <= 0) are left out, listed in
        ``excluded`` and warned about, as in ``pool``.

    Notes
    -----
    The engine (:func:`acu_meta.models.bayes.bayes_meta`) is validated against bayesmeta 3.4,
    brute-force quadrature and Röver 2020's Crins et al. example
    (``tests/models/test_bayes.py``); this function is checked number by number against it in
    ``tests/results/test_bayes_result.py``.
    """
    check_kwargs("bayes", data, _DATA_ARGS)
    kind = _kind(interval)
    lv = _fraction(level)
    if not isinstance(tau_prior, priors.TauPrior):
        tau_prior = priors.parse_tau_prior(tau_prior)
    if not isinstance(mu_prior, priors.MuPrior):
        mu_prior = priors.parse_mu_prior(mu_prior)
    es = _effect_sizes(es, measure, exact, study, dict(data))
    st = _usable_studies(es)
    f = bayes_meta(st.y, np.sqrt(st.v), tau_prior, mu_prior, labels=st.studies, level=lv)
    th = _theta_rows(f, lv, kind)
    return BayesResult(
        measure=es.measure, level=lv, interval_kind=kind, k=f.k, studies=st.studies, yi=st.y,
        vi=st.v, tau_prior=f.tau_prior, mu_prior=f.mu_prior, tau=f.tau, mu=f.mu,
        theta_new=f.theta_new, theta_mode=th["mode"], theta_median=th["median"],
        theta_mean=th["mean"], theta_sd=th["sd"], theta_low=th["low"], theta_high=th["high"],
        marginal_likelihood=f.marginal_likelihood, bayes_factor_tau0=f.bayes_factor_tau0,
        bayes_factor_mu0=f.bayes_factor_mu0, ml=dict(f.ml), map=dict(f.map),
        quad_error=f.quad_error, n_nodes=f.n_nodes, excluded=st.excluded, notes=st.notes,
        arms=st.arms, fit=f, data=st.data)


# ---------------------------------------------------------------------------------- network


@dataclass(frozen=True, eq=False)
class BayesNetworkResult:
    """A Bayesian network meta-analysis with one common tau (analysis scale).

    Attributes
    ----------
    measure, reference, treatments, level
        Treatments in order, reference first; level of the (central) credible intervals.
    tau_prior, tau
        The prior and the marginal posterior summary of the common tau.
    basic
        ``{treatment: PosteriorSummary}`` of each treatment vs the reference.
    larger_is_better, n_draws, seed
        Direction of benefit of the ranks, and the Monte Carlo settings of the rank
        probabilities given tau (see :mod:`acu_meta.models.bayes_network`).
    n_studies
        Number of studies.
    fit
        The engine's :class:`~acu_meta.models.bayes_network.BayesNetwork`.
    """

    measure: str
    reference: str
    treatments: tuple[str, ...]
    level: float
    tau_prior: priors.TauPrior
    tau: PosteriorSummary
    basic: dict
    larger_is_better: bool
    n_draws: int
    seed: int
    n_studies: int
    fit: BayesNetwork = field(repr=False)

    @property
    def ratio(self) -> bool:
        return is_ratio(self.measure)

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Central credible interval of every treatment vs the reference (any level)."""
        lv = self.level if level is None else _fraction(level)
        rows = {t: self.fit.contrast_mixture(t, self.reference).central(lv)
                for t in self.treatments[1:]}
        return pd.DataFrame(rows, index=["ci_low", "ci_high"]).T

    def league(self) -> pd.DataFrame:
        """All ordered pairs: row treatment minus column treatment, posterior median, mean,
        sd and central credible interval."""
        lg, rows = self.fit.league, []
        for i, a in enumerate(self.treatments):
            for j, b in enumerate(self.treatments):
                if i != j:
                    rows.append({"treatment1": a, "treatment2": b,
                                 "median": lg["median"][i, j], "mean": lg["mean"][i, j],
                                 "sd": lg["sd"][i, j], "ci_low": lg["low"][i, j],
                                 "ci_high": lg["high"][i, j]})
        return pd.DataFrame(rows)

    def league_table(self, digits: int = 2, exp: bool | None = None) -> pd.DataFrame:
        """Square league table: cell (row a, column b) = a vs b, median (CrI), as text."""
        exp = self.ratio if exp is None else exp
        return league_square(self.treatments, self.league(), "median", digits, exp)

    def rank_probabilities(self) -> pd.DataFrame:
        """P(treatment has rank r), r = 1 (best) .. T, one row per treatment."""
        T = len(self.treatments)
        return pd.DataFrame(self.fit.rank_probs, index=list(self.treatments),
                            columns=[f"rank {r}" for r in range(1, T + 1)])

    def ranking(self) -> pd.DataFrame:
        """Probability of being best and SUCRA per treatment."""
        return pd.DataFrame({"p_best": self.fit.p_best, "sucra": self.fit.sucra},
                            index=list(self.treatments))

    def to_frame(self) -> pd.DataFrame:
        """Every treatment vs the reference (posterior summary), with P(best) and SUCRA."""
        rows = []
        for i, t in enumerate(self.treatments):
            s = self.basic.get(t)
            rows.append({"treatment": t,
                         "median": s.median if s else 0.0, "mean": s.mean if s else 0.0,
                         "sd": s.sd if s else 0.0,
                         "ci_low": s.central[0] if s else 0.0,
                         "ci_high": s.central[1] if s else 0.0,
                         "p_best": float(self.fit.p_best[i]), "sucra": float(self.fit.sucra[i])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """The numbers as JSON-ready records (analysis scale)."""
        num = numeric.json_number
        return {"measure": self.measure, "reference": self.reference, "level": self.level,
                "tau_prior": self.tau_prior.name, "tau_median": num(self.tau.median),
                "tau_ci_low": num(self.tau.central[0]), "tau_ci_high": num(self.tau.central[1]),
                "effects": [{k: (num(v) if not isinstance(v, str) else v) for k, v in r.items()}
                            for r in self.to_frame().to_dict(orient="records")],
                "league": [{k: (num(v) if not isinstance(v, str) else v) for k, v in r.items()}
                           for r in self.league().to_dict(orient="records")]}

    def summary(self, digits: int = 4) -> str:
        d = digits
        lvl = f"{self.level * 100:g}%"
        lines = [f"Bayesian network meta-analysis, common tau (k = {self.n_studies} studies, "
                 f"{len(self.treatments)} treatments; {self.measure}; reference: "
                 f"{self.reference})",
                 f"tau prior: {_prior_text(self.tau_prior)}; flat priors on the basic "
                 "parameters", "",
                 f"tau: median {fmt(self.tau.median, d)}, {lvl} central CrI "
                 f"{fmt(self.tau.central[0], d)} to {fmt(self.tau.central[1], d)}", ""]
        fr = self.to_frame()
        head = ["treatment", "median", "mean", "sd", f"{lvl} lower", f"{lvl} upper", "P(best)",
                "SUCRA"]
        rows = [[r.treatment, fmt(r["median"], d), fmt(r["mean"], d), fmt(r.sd, d),
                 fmt(r.ci_low, d), fmt(r.ci_high, d), f"{r.p_best:.3f}", f"{r.sucra:.3f}"]
                for _, r in fr.iterrows()]
        lines.append(table(head, rows))
        lines.append(f"(ranks: {'larger' if self.larger_is_better else 'smaller'} is better; "
                     f"{self.n_draws} Monte Carlo draws per tau node, seed {self.seed})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return (f"<pre>{html.escape(self.summary())}</pre>"
                + html_table(self.league_table().reset_index())
                + html_table(self.rank_probabilities().reset_index()))


def bayes_network(
    data: pd.DataFrame,
    *,
    measure: str,
    tau_prior: priors.TauPrior | str,
    reference: str | None = None,
    level: float = 95,
    larger_is_better: bool = True,
    n_draws: int = 20000,
    seed: int = 1,
    study: str = "study",
    treatment: str = "treatment",
) -> BayesNetworkResult:
    """Bayesian network meta-analysis with a common tau from arm-level rows (as
    :func:`acu_meta.results.network`: columns ``study``, ``treatment`` and ``events, n`` or
    ``mean, sd, n``), exact over tau (:func:`acu_meta.models.bayes_network.bayes_network`).

    Validated through the engine's reductions (a two-treatment network equals the pairwise
    model; at a point-mass tau it equals the frequentist network):
    ``tests/models/test_bayes_network.py``; this wrapper against the engine in
    ``tests/results/test_bayes_result.py``.
    """
    lv = _fraction(level)
    df = data.reset_index(drop=True)
    for col in (study, treatment):
        if col not in df.columns:
            raise NetworkError(f"column {col!r} is missing")
    kw = {c: df[c].to_numpy(float) for c in ("events", "n", "mean", "sd") if c in df.columns}
    c, order = contrasts_from_arms(measure, df[study], df[treatment], reference=reference, **kw)
    f = _bayes_network_engine(c, order, tau_prior, larger_is_better=larger_is_better,
                              n_draws=n_draws, seed=seed, level=lv)
    return BayesNetworkResult(measure=c.measure, reference=order[0], treatments=tuple(order),
                              level=lv, tau_prior=f.tau_prior, tau=f.tau, basic=dict(f.basic),
                              larger_is_better=larger_is_better, n_draws=n_draws, seed=seed,
                              n_studies=len(set(c.study)), fit=f)
