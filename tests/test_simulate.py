"""The small-k coverage study: data generator, coverage numbers, progress bar, the Bayesian
methods beside the frequentist ones.

The statistical tests are seeded (deterministic) and their tolerances derive from the Monte
Carlo SE: ``MC_SE`` = 4 SE (``tests/tolerances.py``), a bar a correct simulation fails with
probability 6e-5. The coverage figure: ``tests/plots/test_batch_plots.py``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tolerances import MC_SE

from acu_meta.models import _bayes_priors as P
from acu_meta.models.bayes import bayes_meta
from acu_meta.simulate import (
    BAYES_METHODS,
    FREQUENTIST,
    METHODS,
    bayes_prior,
    coverage_study,
    coverage_table,
    simulate_smd,
)

COLUMNS = ["method", "interval", "mu", "k", "tau2", "level", "reps", "coverage", "mc_se",
           "mean_width", "width_mc_se"]


@pytest.fixture(scope="module")
def small():
    return coverage_study(k_values=(2, 3, 5), tau2_values=(0.0, 0.05), mu_values=(0.2,),
                          reps=150, seed=1)


def test_tidy_frame_and_coverage_in_unit_interval(small):
    assert list(small.columns) == COLUMNS
    assert len(small) == 3 * 2 * 1 * len(METHODS) * 2
    assert set(small["method"]) == set(METHODS) and set(small["interval"]) == {"CI", "PI"}
    assert small["coverage"].between(0, 1).all()
    assert (small["mc_se"] >= 0).all() and (small["mean_width"] > 0).all()
    assert (small["reps"] == 150).all()
    table = coverage_table(small, "CI")
    assert list(table.columns) == list(METHODS) and table.shape == (6, len(METHODS))


def test_seeded_and_cells_independent(small):
    again = coverage_study(k_values=(2, 3, 5), tau2_values=(0.0, 0.05), mu_values=(0.2,),
                           reps=150, seed=1)
    assert small.equals(again)
    # a cell's numbers do not depend on which other cells are run
    one = coverage_study(k_values=(3,), tau2_values=(0.05,), mu_values=(0.2,), reps=150, seed=1)
    key = ["method", "interval"]
    a = small[(small.k == 3) & (small.tau2 == 0.05)].set_index(key)["coverage"]
    b = one.set_index(key)["coverage"]
    assert a.sort_index().equals(b.sort_index())
    other = coverage_study(k_values=(3,), tau2_values=(0.05,), mu_values=(0.2,), reps=150,
                           seed=2)
    assert not other["mean_width"].equals(one["mean_width"])


def test_generator_moments():
    """g is unbiased for mu and vi is its variance (tau2 = 0), within 4 Monte Carlo SE."""
    rng = np.random.default_rng(5)
    y, v = simulate_smd(4, 20_000, 0.5, 0.0, rng)
    assert y.shape == v.shape == (20_000, 4)
    se_mean = y.std() / np.sqrt(y.size)
    assert abs(y.mean() - 0.5) < MC_SE * se_mean
    z2 = (y - 0.5) ** 2 / v  # E = 1 when vi is the variance of g
    assert abs(z2.mean() - 1) < MC_SE * z2.std() / np.sqrt(z2.size)
    # vi = 1/n1 + 1/n2 + g^2/(2N) with 40 <= n <= 400 per arm
    assert (v >= 2 / 400).all() and (v <= 2 / 40 + y**2 / 160).all()


def test_coverage_is_nominal_for_homogeneous_data():
    """tau2 = 0 (fixed-effect data), k = 5, 20,000 replicates (Monte Carlo SE about 0.0015).

    The FE Wald CI and the HKSJ CI are exact under these data (up to the estimated vi), so
    their coverage is 0.95 within 4 MC SE. The REML Wald CI is close but conservative: tau2
    is truncated at 0, so the REML variance is never below the FE one, and its coverage lies
    between 0.95 - 4 SE and 0.975 (0.961 here, as in the notebook's larger study).
    """
    df = coverage_study(k_values=(5,), tau2_values=(0.0,), mu_values=(0.2,), reps=20_000,
                        methods=("FE", "REML", "REML+HKSJ"), seed=20261127)
    ci = df[df["interval"] == "CI"].set_index("method")
    for method in ("FE", "REML+HKSJ"):
        cov, se = ci.loc[method, "coverage"], ci.loc[method, "mc_se"]
        assert abs(cov - 0.95) < MC_SE * se, (method, cov, se)
    cov, se = ci.loc["REML", "coverage"], ci.loc["REML", "mc_se"]
    assert 0.95 - MC_SE * se < cov < 0.975, cov
    assert ci.loc["REML", "mean_width"] >= ci.loc["FE", "mean_width"]


def test_wald_undercovers_and_hksj_holds_with_heterogeneity():
    """tau2 = 0.1, k = 3: the known failure of Wald CIs with few studies."""
    df = coverage_study(k_values=(3,), tau2_values=(0.1,), mu_values=(0.5,), reps=4000,
                        seed=3, methods=FREQUENTIST)  # the Bayesian columns: tests below
    ci = df[df["interval"] == "CI"].set_index("method")
    for method in ("DL", "REML", "PM"):
        assert ci.loc[method, "coverage"] < 0.9
    hk = ci.loc["REML+HKSJ"]
    assert abs(hk["coverage"] - 0.95) < MC_SE * hk["mc_se"]


GRID = dict(k_values=(2, 3), tau2_values=(0.0,), mu_values=(0.2,), reps=10, seed=4)


def test_progress_bar_wraps_the_k_loop_and_changes_no_number(monkeypatch):
    import tqdm.auto

    calls = []
    real = tqdm.auto.tqdm

    def recording(iterable, **kwargs):
        calls.append(kwargs)
        return real(iterable, disable=True, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", recording)
    quiet = coverage_study(**GRID, progress=False)
    assert calls == []
    shown = coverage_study(**GRID, progress=True)
    assert calls == [{"total": 2, "desc": "coverage (k)"}]  # one bar over the k values
    pd.testing.assert_frame_equal(shown, quiet)


def test_progress_bar_without_tqdm_warns_and_changes_no_number(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import tqdm.auto -> ImportError
    with pytest.warns(UserWarning, match="progress bar needs tqdm"):
        shown = coverage_study(**GRID, progress=True)
    pd.testing.assert_frame_equal(shown, coverage_study(**GRID, progress=False))


# ---------------------------------------------------------------------- Bayesian methods

#: CI coverage counts (of 150) of the ``small`` study per method, rows (tau2, k) in the order
#: (0, 2), (0, 3), (0, 5), (0.05, 2), (0.05, 3), (0.05, 5), and the PI coverage and mean width
#: at k = 3, tau2 = 0.05: computed by acu_meta at commit e5c2adb, before the Bayesian methods
#: were added. They must not move.
FREQUENTIST_BEFORE = {
    "DL": [147, 147, 144, 115, 128, 134],
    "REML": [147, 147, 144, 115, 128, 134],
    "REML+HKSJ": [141, 144, 140, 137, 140, 147],
    "PM": [147, 147, 144, 115, 128, 133],
}
PI_BEFORE = {  # method: (coverage, mean width)
    "DL": (0.7644932311989455, 0.9021502612462545),
    "REML": (0.7654077017459514, 0.9026937194548058),
    "REML+HKSJ": (0.8794557962863886, 1.946503860053425),
    "PM": (0.7677234893331265, 0.9057829332186005),
}
#: bayes_many and bayes_meta agree to 1e-6 on every interval end (tests/models/
#: test_bayes_batch.py); the widths and the exact PI coverages here inherit that bar.
BAYES_ENGINES = 1e-6


def test_frequentist_numbers_unchanged_by_the_bayesian_methods(small):
    """The same seeds and draws: the frequentist rows equal those of a study without the
    Bayesian methods, and the numbers computed before the Bayesian methods existed."""
    alone = coverage_study(k_values=(2, 3, 5), tau2_values=(0.0, 0.05), mu_values=(0.2,),
                           reps=150, seed=1, methods=FREQUENTIST)
    freq = small[small["method"].isin(FREQUENTIST)].reset_index(drop=True)
    pd.testing.assert_frame_equal(freq, alone)
    ci = small[small.interval == "CI"].sort_values(["tau2", "k"])
    for method, counts in FREQUENTIST_BEFORE.items():
        got = ci[ci.method == method]["coverage"] * 150
        np.testing.assert_allclose(got, counts, rtol=0, atol=1e-9)
    pi = small[(small.interval == "PI") & (small.k == 3) & (small.tau2 == 0.05)]
    pi = pi.set_index("method")
    for method, (cov, width) in PI_BEFORE.items():
        assert pi.loc[method, "coverage"] == pytest.approx(cov, rel=1e-12)
        assert pi.loc[method, "mean_width"] == pytest.approx(width, rel=1e-12)


def test_bayesian_methods_and_their_priors(small):
    assert set(BAYES_METHODS) <= set(small["method"])
    assert bayes_prior("Bayes HN(0.5)").params == {"scale": 0.5}
    assert bayes_prior("Bayes HN(1)").params == {"scale": 1.0}
    rhodes = bayes_prior("Bayes Rhodes")
    assert rhodes.family == "log-t" and rhodes.params == {"location": -3.02, "scale": 2.27,
                                                          "df": 5.0}
    assert bayes_prior("Bayes:half-cauchy:0.5").params == {"scale": 0.5}
    assert bayes_prior("REML+HKSJ") is None
    # at tau2 = 0 the half-normal credible intervals average over tau > 0, so they are wider
    # than the Wald intervals (whose tau2 estimate is often 0), the wider prior the more so
    ci = small[(small.interval == "CI") & (small.k == 5) & (small.tau2 == 0.0)]
    ci = ci.set_index("method")["mean_width"]
    assert ci["Bayes HN(0.5)"] > ci["REML"] and ci["Bayes HN(1)"] > ci["Bayes HN(0.5)"]


@pytest.mark.parametrize("tau2", [0.0, 0.05])
def test_bayesian_coverage_equals_a_loop_over_bayes_meta(tau2):
    """On the same draws (the documented per-cell seed), the half-normal(0.5) coverage and
    width of the study equal those of a loop over the exact engine, replicate by replicate."""
    k, mu, reps, seed = 2, 0.2, 12, 11
    df = coverage_study(k_values=(k,), tau2_values=(tau2,), mu_values=(mu,), reps=reps,
                        seed=seed, methods=("Bayes HN(0.5)",))
    rng = np.random.default_rng([seed, k, round(tau2 * 1e6), round(mu * 1e6)])
    y, v = simulate_smd(k, reps, mu, tau2, rng)
    ci_cov, pi_cov, ci_w, pi_w = [], [], [], []
    for yi, vi in zip(y, v, strict=True):
        f = bayes_meta(yi, np.sqrt(vi), P.half_normal(0.5))
        (lo, hi), (plo, phi) = f.mu.central, f.theta_new.central
        ci_cov.append(float(lo <= mu <= hi))
        ci_w.append(hi - lo)
        pi_w.append(phi - plo)
        if tau2 > 0:
            sd = np.sqrt(tau2)
            pi_cov.append(stats.norm.cdf((phi - mu) / sd) - stats.norm.cdf((plo - mu) / sd))
        else:
            pi_cov.append(float(plo <= mu <= phi))
    got = df.set_index("interval")
    for interval, cov, width in (("CI", ci_cov, ci_w), ("PI", pi_cov, pi_w)):
        row = got.loc[interval]
        assert row["reps"] == reps
        se = max(float(row["mc_se"]), 1 / reps)
        assert abs(row["coverage"] - np.mean(cov)) <= MC_SE * se
        assert row["coverage"] == pytest.approx(np.mean(cov), abs=BAYES_ENGINES)
        assert row["mean_width"] == pytest.approx(np.mean(width), abs=BAYES_ENGINES)
