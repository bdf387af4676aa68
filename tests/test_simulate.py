"""The small-k coverage study: data generator, coverage numbers, progress bar.

The statistical tests are seeded (deterministic) and their tolerances derive from the Monte
Carlo SE: ``MC_SE`` = 4 SE (``tests/tolerances.py``), a bar a correct simulation fails with
probability 6e-5. The coverage figure: ``tests/plots/test_batch_plots.py``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from tolerances import MC_SE

from acu_meta.simulate import METHODS, coverage_study, coverage_table, simulate_smd

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
    assert list(table.columns) == list(METHODS) and table.shape == (6, 4)


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
                        seed=3)
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
