"""acu_meta's forest plots of the four review cases of ``forest_review.R`` (issue #14), for
review beside metafor's forest() in docs/forest_review.md.

Run from the repository root: ``PYTHONPATH=src python validation/metafor/forest_review.py``.
Writes docs/forest_review/acu_meta_*.png (review images; the numbers drawn are validated
against metafor in tests/, the layout in tests/plots/test_editor_fixes.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import acu_meta as am
from acu_meta.plots import forest, save_figure

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "forest_review"
REF = json.loads((ROOT / "tests" / "fixtures" / "metafor_reference.json").read_text())


def cases():
    """name -> Figure, the fits of forest_review.R."""
    bcg = REF["datasets"]["bcg"]
    nd = REF["datasets"]["normand1999"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = am.escalc("RR", ai=bcg["ai"], bi=bcg["bi"], ci=bcg["ci"], di=bcg["di"],
                       study=bcg["study"])
        normand = am.escalc("SMD", study=nd["study"], **{c: nd[c] for c in (
            "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})
        t0 = am.escalc("RR", ai=[10, 12, 15], n1i=[100, 110, 120], ci=[12, 14, 17],
                       n2i=[100, 110, 120], study=["A", "B", "C"])
        return {
            "bcg_rr": forest(am.pool(es), favours=("Favours vaccine", "Favours control"),
                             arm_labels=("Vaccinated", "Control")),
            "normand_smd": forest(am.pool(normand, method="DL", hksj=True), sort="effect"),
            "hksj_k2": forest(am.pool(yi=[0.1, 0.5], vi=[0.0004, 0.0009], hksj=True,
                                      study=["Big 2010", "Big 2012"])),
            "tau2_zero": forest(am.pool(t0)),
        }


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fig in cases().items():
        print(save_figure(fig, OUT / f"acu_meta_{name}.png", dpi=110))
