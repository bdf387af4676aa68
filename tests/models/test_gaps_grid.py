"""The fixture grids of issue #15 never shrink (regenerate, never prune): every family of
``tests/fixtures/metafor_gaps.json`` (``validation/metafor/gaps_reference.R``),
``tests/fixtures/meta_revman5.json`` (``validation/meta/revman5_reference.R``) and
``tests/fixtures/netmeta_netsplit.json`` (``validation/netmeta/netsplit_reference.R``).

Each check counts the cases themselves (not only the ``grid`` summary the R script writes) and
the combinations the tests rely on, so a regenerated fixture that silently lost cases fails
here. The tests that read the families: ``tests/models/test_tau2_se.py``,
``tests/results/test_metareg_gaps.py``, ``tests/effects/test_escalc_gaps.py``,
``tests/models/test_mh_gaps.py``, ``tests/results/test_netsplit_netmeta.py`` and
``tests/results/test_netheat_rankogram.py``.
"""

from __future__ import annotations

from collections import Counter

from _helpers import fixture_json

GAPS = fixture_json("metafor_gaps.json")
REVMAN = fixture_json("meta_revman5.json")
NETSPLIT = fixture_json("netmeta_netsplit.json")

METHODS_RE = ("DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")


def test_metafor_gaps_grid_is_complete():
    assert GAPS["metafor_version"] == "3.8.1"
    g = GAPS["grid"]
    # the summary agrees with the cases, and neither shrinks
    assert len(GAPS["se_tau2"]) == g["se_tau2"] >= 280
    assert sum(bool(c["mods"]) for c in GAPS["se_tau2"]) == g["se_tau2_with_mods"] >= 160
    assert Counter(c["method"] for c in GAPS["se_tau2"]) == g["se_tau2_by_method"]
    assert all(n >= 35 for n in g["se_tau2_by_method"].values())
    assert set(g["se_tau2_by_method"]) == set(METHODS_RE)
    assert len(GAPS["metareg"]) == g["metareg"] >= 360
    assert Counter(c["method"] for c in GAPS["metareg"]) == g["metareg_by_method"]
    assert set(g["metareg_by_method"]) == {"FE", *METHODS_RE}
    assert g["metareg_confint"] >= 320
    assert len(GAPS["escalc"]) == g["escalc"] >= 46
    by_measure = Counter(c["measure"] for c in GAPS["escalc"])
    assert by_measure == g["escalc_by_measure"]
    assert set(by_measure) >= {"COR", "UCOR", "ZCOR", "SMCC", "SMCR", "MC", "PR", "PLO", "PAS",
                               "PFT", "IRR", "IRD"}
    assert len(GAPS["escalc_rma"]) == g["escalc_rma"] >= 92
    assert len(GAPS["mh"]) == g["mh"] >= 52
    assert Counter(c["measure"] for c in GAPS["mh"]) == g["mh_by_measure"]
    variants = {(c["dataset"], c["measure"], c["variant"]) for c in GAPS["mh"]}
    for ds in ("bcg", "collins1985a_b", "collins1985a_d", "mh_zero"):
        for v in ("default", "nocorrect", "mhadd", "keep00"):
            assert (ds, "OR", v) in variants
        for m in ("RR", "RD"):
            for v in ("default", "mhadd", "keep00"):
                assert (ds, m, v) in variants
    for ds in ("hart1999", "nielweise2008", "rate_zero"):
        for m in ("IRR", "IRD"):
            assert {(ds, m, "default"), (ds, m, "nocorrect")} <= variants
    # the CMH / Breslow-Day / Tarone values are present where metafor reports them
    assert sum(c["BD"] is not None for c in GAPS["mh"]) >= 16
    assert sum(c["MH"] is not None for c in GAPS["mh"]) >= 22
    assert len(GAPS["peto"]) == g["peto"] >= 12


def test_meta_revman5_grid_is_complete():
    g = REVMAN["grid"]
    assert REVMAN["meta_version"].startswith("8.3")
    fits = REVMAN["fits"]
    assert len(fits) == g["fits"] >= 110
    assert Counter(f["profile"] for f in fits) == g["by_profile"]
    assert g["by_profile"]["revman5"] >= 46 and g["by_profile"]["revman_web"] >= 46
    assert g["fits_with_zero_cells"] >= 68 and g["fits_with_double_zeros"] >= 40
    assert sum(len(f["study"]["TE"]) for f in fits) == g["study_rows"] >= 1688
    combos = {(f["dataset"], f["sm"], f["method"], f["profile"]) for f in fits}
    for ds in ("bcg", "fleiss1993bin", "collins1985a_b", "collins1985a_d", "yusuf1985_t6",
               "mh_zero"):
        for prof in ("revman5", "revman_web"):
            for sm in ("OR", "RR", "RD"):
                for method in ("MH", "Inverse"):
                    assert (ds, sm, method, prof) in combos
            assert (ds, "OR", "Peto", prof) in combos
    for ds in ("normand1999", "fleiss1993cont"):
        for prof in ("revman5", "revman_web"):
            for sm in ("MD", "SMD"):
                assert (ds, sm, "Inverse", prof) in combos


def test_netmeta_netsplit_grid_is_complete():
    g = NETSPLIT["grid"]
    nets = NETSPLIT["networks"]
    assert NETSPLIT["netmeta_version"].startswith("3.3")
    assert len(nets) == g["networks"] >= 5
    assert set(nets) >= {"stowe2010", "senn2013", "woods2010", "hasselblad1998", "same_design"}
    counts = {n: len(v["netsplit"]["comparison"]) for n, v in nets.items()}
    assert counts == g["comparisons_by_network"] and sum(counts.values()) == g["comparisons"]
    assert g["comparisons"] >= 66
    both = sum(k > 0 and t is not None for v in nets.values()
               for k, t in zip(v["netsplit"]["k"], v["netsplit"]["common"]["indirect"]["TE"],
                               strict=True))
    assert both == g["comparisons_direct_and_indirect"] >= 26
    heat = sum(v["netheat"][m]["available"] for v in nets.values() for m in ("common", "random"))
    assert heat == g["netheat_available"] >= 6
    assert g["pscore_sets"] >= 20
    for v in nets.values():  # every network has both P-score directions for both models
        for which in ("desirable", "undesirable"):
            assert len(v["pscores"][which]["common"]) == len(v["pscores"][which]["random"]) > 0
    # the multi-arm case the issue names is in the grid
    st = nets["stowe2010"]["netsplit"]
    i = st["comparison"].index("COMTI:Placebo")
    assert st["common"]["indirect"]["TE"][i] is not None
