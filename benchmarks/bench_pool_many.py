"""Benchmark: pool_many (vectorized) against a loop of single fits, statsmodels and metafor.

    .venv/bin/python benchmarks/bench_pool_many.py            # B = 20,000, k = 10, REML
    .venv/bin/python benchmarks/bench_pool_many.py --r-n 20000 --no-r

Data: B meta-analyses of k two-arm trials (:func:`acu_meta.simulate.simulate_smd`, mu = 0.3,
tau2 = 0.05, 40-400 patients per arm). Timed, per fit:

* ``pool_many(yi, vi, "REML")`` on all B rows (best of --repeat runs);
* a Python loop of the single-fit engine ``acu_meta.models.fit`` and of ``acu_meta.pool`` (which
  also computes the Q-profile CI of tau2) on the first --loop-n rows;
* statsmodels' ``combine_effects`` on the first --sm-n rows, with ``method_re="iterated"``
  (Paule-Mandel) and ``"chi2"`` (DerSimonian-Laird): its estimators differ from REML, so only
  its speed is compared;
* metafor's ``rma(method = "REML")`` in an R loop on the first --r-n rows
  (``benchmarks/bench_metafor.R``, when Rscript is on PATH), which also returns the REML
  estimates and tau2 of the first --sample fits; they are compared with pool_many's (metafor
  default control; pass at 1e-6, absolute below 1, relative above).

Also timed: ``gosh()`` on k = 16 studies (all 65,535 subsets), FE and REML.

A benchmark, never a timed test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from acu_meta.models import fit
from acu_meta.results import pool
from acu_meta.results.batch import gosh, pool_many
from acu_meta.simulate import simulate_smd

HERE = Path(__file__).resolve().parent


def _time(fn, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _loop(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n


def _metafor(Y, V, n_fits: int, n_sample: int):
    """Run bench_metafor.R on the data; returns (timing dict, sample rows) or None."""
    if shutil.which("Rscript") is None:
        print("Rscript not found: metafor skipped")
        return None
    tmp = Path(tempfile.mkdtemp(prefix="bench_pool_many_"))
    k = Y.shape[1]
    with (tmp / "data.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"y{j + 1}" for j in range(k)] + [f"v{j + 1}" for j in range(k)])
        for y, v in zip(Y[: max(n_fits, n_sample)], V[: max(n_fits, n_sample)], strict=True):
            w.writerow([repr(float(x)) if np.isfinite(x) else "NA" for x in (*y, *v)])
    subprocess.run(["Rscript", str(HERE / "bench_metafor.R"), str(tmp / "data.csv"), str(tmp),
                    str(n_fits), str(n_sample)], check=True)
    with (tmp / "metafor_timing.csv").open() as fh:
        timing = next(csv.DictReader(fh))
    with (tmp / "metafor_sample.csv").open() as fh:
        sample = list(csv.DictReader(fh))
    shutil.rmtree(tmp)
    return timing, sample


def _diff(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float, int, int]:
    """max |a - b|, max |a - b| / |b| (over |b| >= 1e-3: relative differences of values near
    0 say nothing), and how many of how many fits agree at 1e-6 (absolute for |b| <= 1,
    relative above)."""
    ok = np.isfinite(theirs)
    a, b = ours[ok], theirs[ok]
    d = np.abs(a - b)
    nz = np.abs(b) >= 1e-3
    rel = float((d[nz] / np.abs(b[nz])).max()) if nz.any() else 0.0
    within = int(np.sum(d <= 1e-6 * np.maximum(1, np.abs(b))))
    return float(d.max()), rel, within, int(ok.sum())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--B", type=int, default=20_000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--repeat", type=int, default=3, help="runs of pool_many (best is kept)")
    ap.add_argument("--loop-n", type=int, default=400, help="fits in the single-engine loops")
    ap.add_argument("--sm-n", type=int, default=1000, help="fits in the statsmodels loops")
    ap.add_argument("--r-n", type=int, default=2000, help="fits in the metafor loop")
    ap.add_argument("--sample", type=int, default=400, help="fits compared with metafor")
    ap.add_argument("--no-r", action="store_true", help="skip metafor")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    Y, V = simulate_smd(args.k, args.B, 0.3, 0.05, rng)
    print(f"B = {args.B:,} meta-analyses of k = {args.k} (SMD, tau2 = 0.05), REML")

    res = pool_many(Y, V, method="REML")
    t_batch = _time(lambda: pool_many(Y, V, method="REML"), args.repeat) / args.B
    assert res.converged.all()
    rows = [("acu_meta pool_many (vectorized)", t_batch, args.B)]

    n = min(args.loop_n, args.B)
    rows.append(("acu_meta models.fit loop", _loop(lambda i: fit(Y[i], V[i], method="REML"), n),
                 n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows.append(("acu_meta pool() loop (+ Q-profile CI)",
                     _loop(lambda i: pool(yi=Y[i], vi=V[i], method="REML"), n), n))
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:  # pragma: no cover
        print("statsmodels not installed: skipped")
    else:
        m = min(args.sm_n, args.B)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for how in ("iterated", "chi2"):
                t = _loop(lambda i, how=how: combine_effects(Y[i], V[i], method_re=how), m)
                label = "PM" if how == "iterated" else "DL"
                rows.append((f"statsmodels combine_effects({how!r}) loop [{label}]", t, m))
    try:  # optional: PyMARE's batched REML (pip install pymare; not a dependency)
        from pymare.estimators import VarianceBasedLikelihoodEstimator
    except ImportError:
        print("PyMARE not installed: skipped (pip install pymare to include it)")
    else:
        m = min(2000, args.B)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = _time(lambda: VarianceBasedLikelihoodEstimator(method="REML").fit(
                y=Y[:m].T, v=V[:m].T, X=np.ones((args.k, 1))))
        rows.append(("PyMARE batched REML (VarianceBasedLikelihood)", t / m, m))
    check = None
    if not args.no_r:
        out = _metafor(Y, V, min(args.r_n, args.B), min(args.sample, args.B))
        if out is not None:
            timing, sample = out
            rows.append((f"metafor {timing['metafor']} rma() loop (R {timing['r']})",
                         float(timing["per_fit"]), int(timing["n_fits"])))
            idx = np.array([int(r["row"]) for r in sample])

            def col(name):
                return np.array([float(r[name]) if r[name] != "NA" else np.nan for r in sample])

            check = {
                "failed": int(timing["failed"]),
                "n": len(idx),
                "beta": _diff(res.estimate[idx], col("beta")),
                "se": _diff(res.se[idx], col("se")),
                "tau2": _diff(res.tau2[idx], col("tau2")),
                "beta_strict": _diff(res.estimate[idx], col("beta_strict")),
                "tau2_strict": _diff(res.tau2[idx], col("tau2_strict")),
            }

    y16, v16 = simulate_smd(16, 1, 0.3, 0.05, np.random.default_rng(args.seed))
    t_gosh = {m: _time(lambda m=m: gosh(y16[0], v16[0], method=m), args.repeat)
              for m in ("FE", "REML")}

    print()
    print(f"| {'engine':<52} | {'fits':>6} | {'per fit':>11} | {'x pool_many':>11} |")
    print(f"|{'-' * 54}|{'-' * 8}:|{'-' * 12}:|{'-' * 12}:|")
    for name, t, nfits in rows:
        print(f"| {name:<52} | {nfits:>6} | {t * 1e6:>8.1f} us | {t / t_batch:>11.1f} |")
    print()
    print("gosh(), k = 16 (65,535 subsets): " + ", ".join(
        f"{m} {t:.2f} s" for m, t in t_gosh.items()))
    if check:
        print()
        print(f"pool_many vs metafor rma() on the first {check['n']} fits "
              f"({check['failed']} of the timed metafor fits failed to converge):")
        for key in ("beta", "se", "tau2", "beta_strict", "tau2_strict"):
            dmax, rmax, within, total = check[key]
            what = key.replace("_strict", " (metafor threshold 1e-12)")
            if not key.endswith("_strict"):
                what += " (metafor default control)"
            print(f"  {what:<40} max |diff| {dmax:.3g}, max rel {rmax:.3g}; "
                  f"{within}/{total} within 1e-6")
        print("  (metafor's default control stops Fisher scoring when tau2 changes by < 1e-5, "
              "so its\n   tau2 carries errors of that order; with threshold 1e-12 the engines "
              "agree to rounding.)")


if __name__ == "__main__":
    main()
