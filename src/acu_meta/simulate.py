"""Monte Carlo coverage study of interval methods for meta-analyses of few studies.

Data like the back-pain comparisons: ``k`` two-arm trials, each arm with 40 to 400 patients
(uniform integers), a continuous outcome summarised as Hedges' g (standardized mean
difference, metafor's exact bias correction) with metafor's large-sample variance
``vi = 1/n1 + 1/n2 + g^2 / (2 N)``. The true effect of trial i is ``theta_i ~ N(mu, tau2)``; the
observed g comes from the trial's sampling distribution (a normal mean difference over a
chi-square pooled SD), so ``vi`` is estimated, and correlated with ``yi``, as in real data.

Intervals
---------
CI
    Covers when it contains ``mu``. Frequentist methods: ``"DL"``, ``"REML"``, ``"PM"`` (Wald,
    normal quantile), ``"REML+HKSJ"`` (t with k - 1 df); any
    :func:`~acu_meta.results.batch.pool_many` method, with ``+HKSJ`` appended for the HKSJ
    version, can be asked for. Bayesian methods (the normal-normal hierarchical model with a
    flat prior on mu, the central credible interval;
    :func:`acu_meta.models.bayes_batch.bayes_many`): the labels of :data:`BAYES_METHODS` or
    ``"Bayes:SPEC"`` with any tau-prior SPEC of ``acu-meta bayes`` (``"Bayes:half-cauchy:0.5"``).
PI
    metafor's prediction interval (estimate +/- crit sqrt(se^2 + tau2)); for a Bayesian method
    the credible interval of the effect ``theta_new`` of a new trial. Its coverage is the
    probability that the true effect of a new trial, ``N(mu, tau2)``, falls inside; it is
    computed exactly given the interval (an indicator when tau2 = 0), which removes one layer
    of Monte Carlo noise.

The Bayesian priors for tau (:data:`BAYES_METHODS`): half-normal with scale 0.5 and 1 (0.5 is the
scale Röver 2020, Sec. 2.2, discusses, ``roever2020-half-normal-0.5`` in
``data/heterogeneity_priors.csv``; 1 a wider one), and Rhodes et al. (2015)
``rhodes-general-physical-health-nonpharm``: log(tau^2) ~ -3.02 + 2.27 t_5, Rhodes' predictive
distribution for SMDs of the outcome group "general physical health and adverse event and pain
and quality of life / functioning" in a comparison of non-pharmacological interventions, the
group of the back-pain outcomes (pain, function) of acupuncture against sham or usual care
(prior median of tau 0.22).

Every cell (mu, tau2, k) draws from its own numpy Generator seeded with ``(seed, k, tau2,
mu)``, so a cell's numbers do not depend on which other cells are run, nor on which methods
are computed.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
import pandas as pd

from . import numeric
from .models import _bayes_priors as priors
from .models.bayes_batch import bayes_many
from .numeric import hedges_j
from .results import _distributed
from .results.batch import pool_many

FREQUENTIST = ("DL", "REML", "REML+HKSJ", "PM")
#: The Bayesian methods of the study: label -> tau prior (a spec of ``acu-meta bayes``).
BAYES_METHODS = {
    "Bayes HN(0.5)": "half-normal:0.5",
    "Bayes HN(1)": "half-normal:1",
    "Bayes Rhodes": "rhodes-general-physical-health-nonpharm",
}
METHODS = FREQUENTIST + tuple(BAYES_METHODS)
K_VALUES = tuple(range(2, 11))
TAU2_VALUES = (0.0, 0.02, 0.05, 0.1)
MU_VALUES = (0.2, 0.5)


def simulate_smd(k: int, reps: int, mu: float, tau2: float, rng: np.random.Generator,
                 n_range: tuple[int, int] = (40, 400)) -> tuple[np.ndarray, np.ndarray]:
    """Draw *reps* meta-analyses of *k* two-arm trials; returns yi, vi of shape (reps, k).

    Per trial: ``n1, n2`` uniform integers in *n_range* (inclusive), true effect
    ``theta ~ N(mu, tau2)``, mean difference ``~ N(theta, 1/n1 + 1/n2)`` (unit SD), pooled
    variance ``~ chi2(N - 2) / (N - 2)``, ``yi = J(N - 2) d`` (Hedges' g) and
    ``vi = 1/n1 + 1/n2 + yi^2 / (2N)`` (metafor's ``escalc("SMD")``).

    Notes
    -----
    Validated in ``tests/test_simulate.py``: the mean of g is mu and the mean of
    ``(g - theta)^2`` is ``vi`` within Monte Carlo error.
    """
    lo, hi = n_range
    n1 = rng.integers(lo, hi + 1, size=(reps, k)).astype(float)
    n2 = rng.integers(lo, hi + 1, size=(reps, k)).astype(float)
    N = n1 + n2
    theta = mu + np.sqrt(tau2) * rng.standard_normal((reps, k))
    md = theta + np.sqrt(1 / n1 + 1 / n2) * rng.standard_normal((reps, k))
    s2 = rng.chisquare(N - 2) / (N - 2)
    g = hedges_j(N - 2) * md / np.sqrt(s2)
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * N)


def _parse(method: str) -> tuple[str, bool]:
    name = method.upper()
    if name.endswith("+HKSJ"):
        return name[: -len("+HKSJ")], True
    return name, False


def bayes_prior(method: str):
    """The tau prior of a Bayesian method label (:data:`BAYES_METHODS` or ``"Bayes:SPEC"``),
    or None for a frequentist method."""
    if method in BAYES_METHODS:
        return priors.parse_tau_prior(BAYES_METHODS[method])
    head, sep, spec = method.partition(":")
    if sep and head.strip().lower() == "bayes":
        return priors.parse_tau_prior(spec)
    return None


def _progress(iterable, enabled: bool, total: int):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("progress bar needs tqdm (pip install tqdm); running without it",
                      stacklevel=3)
        return iterable
    return tqdm(iterable, total=total, desc="coverage (k)")


def coverage_study(
    k_values=K_VALUES,
    tau2_values=TAU2_VALUES,
    mu_values=MU_VALUES,
    methods=METHODS,
    reps: int = 400,
    level: float = 0.95,
    n_range: tuple[int, int] = (40, 400),
    seed: int = 20261127,
    progress: bool | None = None,
    client=None,
) -> pd.DataFrame:
    """Coverage and width of CIs and prediction intervals, by method, k and tau2.

    Parameters
    ----------
    k_values, tau2_values, mu_values
        Grid of the study: numbers of trials, true heterogeneity, true mean SMD.
    methods
        Interval methods (default :data:`METHODS`: the four of :data:`FREQUENTIST` and the
        three of :data:`BAYES_METHODS`): ``"DL"``, ``"REML"``, ``"PM"``, ``"REML+HKSJ"``, any
        other :func:`pool_many` method with optional ``+HKSJ``, a label of
        :data:`BAYES_METHODS` or ``"Bayes:SPEC"`` (module docstring).
    reps
        Simulated meta-analyses per cell (Monte Carlo SE of a 95% coverage: about
        ``0.22 / sqrt(reps)``; 400 gives about 0.011, 10,000 about 0.002).
    level
        Nominal level of every interval.
    seed
        Seed; each cell uses ``numpy.random.default_rng([seed, k, tau2 * 1e6, mu * 1e6])``.
    progress
        Show a tqdm progress bar over k (needs tqdm; None: only when the run is long,
        more than 200,000 fits, and tqdm is installed).
    client
        A ``dask.distributed.Client``: the fits of each k (all cells, every method) run block
        by block on its workers through :func:`pool_many` and ``bayes_many``
        (:mod:`acu_meta.results._distributed`); the draws stay here, so the table is the
        same as the in-process run (``tests/results/test_distributed.py``).

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per method, interval ("CI" or "PI"), mu, k and tau2 with ``level``,
        ``reps``, ``coverage``, ``mc_se`` (Monte Carlo SE of the coverage), ``mean_width`` and
        ``width_mc_se``. Fits that did not converge would be left out (``reps`` counts the
        ones used; none fails).

    Notes
    -----
    Uses :func:`acu_meta.results.batch.pool_many`, validated against metafor 3.8.1, and
    :func:`acu_meta.models.bayes_batch.bayes_many`, validated against the exact engine
    :func:`acu_meta.models.bayes.bayes_meta` (``tests/models/test_bayes_batch.py``); no
    Python loop over replicates. The simulation itself is validated in
    ``tests/test_simulate.py`` (exact 95% coverage of the fixed-effect CI at tau2 = 0 within
    Monte Carlo error, coverage in [0, 1], the Bayesian columns equal to a loop over
    ``bayes_meta`` on the same draws, the frequentist columns unchanged by the Bayesian
    ones).
    """
    level = level / 100 if level > 1 else float(level)
    specs = [(m, bayes_prior(m), *_parse(m)) for m in methods]
    k_values = [int(k) for k in k_values]
    n_fits = len(k_values) * len(tau2_values) * len(mu_values) * reps * len(methods)
    if progress is None:
        progress = n_fits > 200_000 and _has_tqdm()
    rows = []
    for k in _progress(k_values, bool(progress), len(k_values)):
        cells, Y, V = _draw_cells(k, tau2_values, mu_values, reps, seed, n_range)
        mus = np.repeat([mu for _, mu in cells], reps)
        taus = np.repeat([np.sqrt(t) for t, _ in cells], reps)
        for label, prior, method, hksj in specs:
            if prior is None:
                r = pool_many(Y, V, method=method, hksj=hksj, level=level, client=client)
                ends = (r.ci_low, r.ci_high, r.pi_low, r.pi_high, r.converged)
            elif client is None:
                b = bayes_many(Y, V, prior, level=level)
                ends = (b.mu_low, b.mu_high, b.pred_low, b.pred_high, b.converged)
            else:
                b = _distributed.map_rows(partial(_bayes_block, prior=prior, level=level),
                                          (Y, V), _BAYES_ENDS, client=client)
                ends = tuple(b[n] for n in _BAYES_ENDS[:4]) + (b["converged"].astype(bool),)
            rows += _coverage_rows(*ends, label, k, cells, mus, taus, reps, level)
    return pd.DataFrame(rows)


_BAYES_ENDS = ("mu_low", "mu_high", "pred_low", "pred_high", "converged")


def _bayes_block(y, v, prior, level: float) -> dict:
    """bayes_many on one Dask block (runs on a worker)."""
    b = bayes_many(y, v, prior, level=level)
    return {n: getattr(b, n) for n in _BAYES_ENDS}


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _draw_cells(k, tau2_values, mu_values, reps, seed, n_range):
    """The simulated data of every (tau2, mu) cell for one k, stacked: cells, Y, V."""
    cells, ys, vs = [], [], []
    for tau2 in tau2_values:
        for mu in mu_values:
            rng = np.random.default_rng([seed, k, round(tau2 * 1e6), round(mu * 1e6)])
            y, v = simulate_smd(k, reps, mu, tau2, rng, n_range)
            cells.append((tau2, mu))
            ys.append(y)
            vs.append(v)
    return cells, np.concatenate(ys), np.concatenate(vs)


def _coverage_rows(ci_low, ci_high, pi_low, pi_high, converged, label, k, cells, mus, taus,
                   reps, level) -> list[dict]:
    """CI and PI coverage and width of one method's intervals, one row per cell and interval."""
    ci_cov = ((ci_low <= mus) & (mus <= ci_high)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pi_cov = np.where(
            taus > 0,
            numeric.norm_cdf((pi_high - mus) / taus) - numeric.norm_cdf((pi_low - mus) / taus),
            ((pi_low <= mus) & (mus <= pi_high)).astype(float),
        )
    rows = []
    for c, (tau2, mu) in enumerate(cells):
        sl = slice(c * reps, (c + 1) * reps)
        ok = converged[sl]
        for interval, cov, width in (
            ("CI", ci_cov[sl], (ci_high - ci_low)[sl]),
            ("PI", pi_cov[sl], (pi_high - pi_low)[sl]),
        ):
            cov, width = cov[ok], width[ok]
            n = len(cov)
            rows.append({
                "method": label, "interval": interval, "mu": mu, "k": k,
                "tau2": tau2, "level": level, "reps": n, "coverage": cov.mean(),
                "mc_se": cov.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
                "mean_width": width.mean(),
                "width_mc_se": width.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
            })
    return rows


def coverage_table(df: pd.DataFrame, interval: str = "CI", k_max: int | None = None,
                   by_tau2: bool = True) -> pd.DataFrame:
    """Coverage averaged over mu, as a table: rows (tau2, k), one column per method.

    Parameters
    ----------
    df
        Output of :func:`coverage_study`.
    interval
        "CI" or "PI".
    k_max
        Keep k <= k_max only.
    by_tau2
        False: also average over tau2 (rows: k).
    """
    d = df[df["interval"] == interval]
    if k_max is not None:
        d = d[d["k"] <= k_max]
    keys = ["tau2", "k"] if by_tau2 else ["k"]
    table = d.pivot_table(index=keys, columns="method", values="coverage", aggfunc="mean")
    order = [m for m in dict.fromkeys(d["method"]) if m in table.columns]
    return table[order]
