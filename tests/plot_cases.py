"""The figures of the image regression tests, made from the metafor fixture data.

``python tests/plot_cases.py DIR`` (``make baselines``) writes them to DIR as PNG.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import acu_meta as am
from acu_meta.plots import baujat, forest, funnel, labbe, radial, save_figure

REF = json.loads((Path(__file__).parent / "fixtures" / "metafor_reference.json").read_text())
DPI = 80  # small files; regressions show at any resolution


def _bcg(measure="RR"):
    d = REF["datasets"]["bcg"]
    return am.escalc(measure, ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], study=d["study"])


def _normand():
    d = REF["datasets"]["normand1999"]
    return am.escalc("SMD", study=d["study"],
                     **{c: d[c] for c in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")})


def cases():
    """name -> zero-argument function returning a Figure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bcg = am.pool(_bcg())
        sub = am.subgroups(_bcg(), REF["datasets"]["bcg"]["group"])
        normand = am.pool(_normand(), method="DL", hksj=True)
    return {
        "forest_bcg_rr": lambda: forest(bcg, favours=("Favours vaccine", "Favours control"),
                                        arm_labels=("Vaccinated", "Not vaccinated")),
        "forest_bcg_subgroups": lambda: forest(sub),
        "forest_normand_smd": lambda: forest(normand, sort="effect"),
        "funnel_bcg": lambda: funnel(bcg),
        "labbe_bcg": lambda: labbe(bcg),
        "baujat_bcg": lambda: baujat(bcg),
        "radial_bcg": lambda: radial(bcg),
    }


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [save_figure(make(), folder / f"{name}.png", dpi=DPI) for name, make in cases().items()]


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/baseline_images")):
        print(p)
