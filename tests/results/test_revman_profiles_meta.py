"""``pool(..., profile="revman5")`` and ``profile="revman_web"`` against R's meta 8.3 with its
RevMan 5 settings (issue #15, item 6), on the fits of ``tests/fixtures/meta_revman5.json``
(``validation/meta/revman5_reference.R``; the grid is guarded in
``tests/models/test_gaps_grid.py``).

What is checked, at ``CLOSED_FORM`` (closed forms) or ``ITERATIVE`` (REML), against meta:

* revman5, method MH and PETO: the common-effect estimate, SE, CI, z and k of every MH and
  Peto fit, zero cells and double zeros included (meta's MH.exact = FALSE increments, GR-1985
  RD variance, raw RD effects: ``models._mh.mantel_haenszel_revman5``).
* revman5, default method (DL with Q around the MH estimate, I2 from Q, double-zero studies
  dropped for OR and RR): the random-effects estimate, SE, CI, tau2, Q, I2 and k of the MH fits
  (zero cells included; for RD the raw per-study difference with the variance of the corrected
  cells, ``Profile.rd_raw_yi``), and of the MD and SMD fits (Hedges' g with the approximate J).
* the CLI, ``pool FILE --profile revman5 --json``, on bcg OR (DL and MH) and on mh_zero RD (zero
  cells), against the same meta numbers.
* revman_web (REML, HKSJ, I2 from tau2): random-effects estimate, SE, CI and tau2 of the MH fits
  without zero cells and of the MD fits; the Q-profile CI of tau2 against meta's tightly
  recomputed interval (``tight_ci``).

Known divergences, not checked here (see ``validation/meta/README.md``): for meta's
method = "Inverse" fits RevMan 5 centres Q at the inverse-variance estimate, while the
profile always centres it at the MH estimate for 2x2 counts; meta's RevMan Web prediction
interval uses the classic SE, not the HKSJ one; the revman_web profile keeps the exact J
for the SMD where meta's RevMan 5 base settings use the approximate one.
"""

from __future__ import annotations

import warnings

import pytest
from _helpers import fixture_json
from _metafor import assert_close
from tolerances import CLOSED_FORM, ITERATIVE, Q_PROFILE

from acu_meta import pool

RM = fixture_json("meta_revman5.json")
FITS = RM["fits"]


def _data(f):
    d = RM["datasets"][f["dataset"]]
    if d["kind"] == "binary":
        return dict(ai=d["event_e"], n1i=d["n_e"], ci=d["event_c"], n2i=d["n_c"],
                    study=d["study"])
    return dict(m1i=d["mean_e"], sd1i=d["sd_e"], n1i=d["n_e"], m2i=d["mean_c"],
                sd2i=d["sd_c"], n2i=d["n_c"], study=d["study"])


def _pool(f, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # double-zero / zero-cell warnings
        return pool(measure=f["sm"], profile=f["profile"], **_data(f), **kw)


def _check(res, block, tol, what):
    for key, got in (("TE", res.estimate), ("seTE", res.se), ("lower", res.ci_low),
                     ("upper", res.ci_high)):
        assert_close(got, block[key], tol, f"{what} {key}")


MH5 = [f for f in FITS if f["method"] in ("MH", "Peto") and f["profile"] == "revman5"]


@pytest.mark.parametrize("f", MH5, ids=[f["id"] for f in MH5])
def test_revman5_mh_and_peto_common_effect(f):
    if f["method"] == "Peto":
        res = _pool({**f, "sm": "PETO"}, method="PETO")
    else:
        res = _pool(f, method="MH")
    _check(res, f["common"], CLOSED_FORM, "common")
    assert_close(res.statistic, f["common"]["statistic"], CLOSED_FORM, "z")
    assert res.k == f["k"]  # double-zero studies leave k for OR and RR, as meta


RANDOM5 = [f for f in FITS if f["profile"] == "revman5" and (
    f["method"] == "MH" or f["fn"] == "metacont")]


@pytest.mark.parametrize("f", RANDOM5, ids=[f["id"] for f in RANDOM5])
def test_revman5_random_effects(f):
    res = _pool(f)
    het = f["heterogeneity"]
    assert res.method == "DL" and res.k == f["k"]
    _check(res, f["random"], CLOSED_FORM, "random")
    assert_close(res.tau2, het["tau2"], CLOSED_FORM, "tau2")
    assert_close(res.Q, het["Q"], CLOSED_FORM, "Q")
    assert_close(res.I2 / 100, het["I2"], CLOSED_FORM, "I2")
    assert res.options.q_around_mh == (f["fn"] == "metabin")


WEB = [f for f in FITS if f["profile"] == "revman_web" and (
    (f["method"] == "MH" and not f["sparse"]) or (f["fn"] == "metacont" and f["sm"] == "MD"))]


@pytest.mark.parametrize("f", WEB, ids=[f["id"] for f in WEB])
def test_revman_web_random_effects(f):
    res = _pool(f)
    het = f["heterogeneity"]
    assert res.method == "REML" and res.hksj and res.k == f["k"]
    _check(res, f["random"], ITERATIVE, "random (HKSJ)")
    assert res.df == f["random"]["df"]
    assert_close(res.tau2, het["tau2"], ITERATIVE, "tau2")
    assert_close(res.I2 / 100, het["I2"], ITERATIVE, "I2 (from tau2)")
    tight = het["tight_ci"]
    assert_close(res.tau2_ci[0], tight["lower_tau2"], Q_PROFILE, "tau2 CI lower")
    assert_close(res.tau2_ci[1], tight["upper_tau2"], Q_PROFILE, "tau2 CI upper")


def test_the_checked_subsets_are_not_empty():
    assert len(MH5) >= 24 and len(RANDOM5) >= 10 and len(WEB) >= 8


def _cli_json(tmp_path, capsys, f, *args):
    """``acu-meta pool FILE --measure SM --profile revman5 --json [args]`` on the fit's data
    (the CLI's ``main``, in process)."""
    import json

    from acu_meta.cli import main

    d = _data(f)
    rows = ["study,treat_events,treat_n,control_events,control_n"]
    for cells in zip(d["study"], d["ai"], d["n1i"], d["ci"], d["n2i"], strict=True):
        rows.append(",".join(f'"{x}"' if isinstance(x, str) else str(x) for x in cells))
    path = tmp_path / f"{f['dataset']}.csv"
    path.write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-cell warnings
        rc = main(["pool", str(path), "--measure", f["sm"], "--profile", "revman5", "--json",
                   *args])
    out = capsys.readouterr()
    assert rc in (0, None), out.err
    return json.loads(out.out)


def test_cli_pool_profile_revman5_json_equals_meta(tmp_path, capsys):
    f = next(f for f in FITS if f["id"] == "bcg-OR-MH-revman5")
    out = {None: _cli_json(tmp_path, capsys, f),
           "MH": _cli_json(tmp_path, capsys, f, "--method", "MH")}
    assert_close(out[None]["estimate"], f["random"]["TE"], CLOSED_FORM, "random TE")
    assert_close(out[None]["se"], f["random"]["seTE"], CLOSED_FORM, "random seTE")
    assert_close(out[None]["tau2"], f["heterogeneity"]["tau2"], CLOSED_FORM, "tau2")
    assert_close(out[None]["I2"] / 100, f["heterogeneity"]["I2"], CLOSED_FORM, "I2")
    assert_close(out["MH"]["estimate"], f["common"]["TE"], CLOSED_FORM, "MH TE")
    assert_close(out["MH"]["se"], f["common"]["seTE"], CLOSED_FORM, "MH seTE")


def test_cli_pool_rd_zero_cells_revman5_json_equals_meta(tmp_path, capsys):
    # mh_zero: RD with zero-cell studies; meta keeps the raw RD with an incremented SE
    f = next(f for f in FITS if f["id"] == "mh_zero-RD-MH-revman5")
    d = _data(f)
    assert any(0 in cells for cells in zip(d["ai"], d["ci"], strict=True))  # zero cells present
    out = _cli_json(tmp_path, capsys, f)
    het = f["heterogeneity"]
    assert out["k"] == f["k"]
    for key, ref in (("estimate", "TE"), ("se", "seTE"), ("ci_low", "lower"),
                     ("ci_high", "upper")):
        assert_close(out[key], f["random"][ref], CLOSED_FORM, f"random {ref}")
    assert_close(out["tau2"], het["tau2"], CLOSED_FORM, "tau2")
    assert_close(out["Q"], het["Q"], CLOSED_FORM, "Q")
    assert_close(out["I2"] / 100, het["I2"], CLOSED_FORM, "I2")
    # second route: the per-study yi are the raw differences of the counts (not corrected)
    raw = [a / n1 - c / n2 for a, n1, c, n2 in zip(d["ai"], d["n1i"], d["ci"], d["n2i"],
                                                   strict=True)]
    res = _pool(f)
    for got, want in zip(res.yi, raw, strict=True):
        assert_close(float(got), want, CLOSED_FORM, "raw RD yi")
    metafor_like = _pool({**f, "profile": "metafor"}, method="DL")
    assert not all(abs(x - y) < 1e-12 for x, y in zip(metafor_like.yi, raw, strict=True))
