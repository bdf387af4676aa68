"""Lee & Done 2004 (via R's metadat ``dat.lee2004``): acupoint P6 stimulation vs sham for
postoperative nausea, 16 trials. Not part of the back-pain evidence: it is the acupuncture data
set with enough trials for a GOSH plot (all 2^16 - 1 = 65,535 subsets, via ``pool_many``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..effects import escalc
from ..plots.batch import gosh_plot
from ..results import gosh

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lee2004.csv"


def effect_sizes(path: Path = EXAMPLE):
    d = pd.read_csv(path)
    return escalc("RR", ai=d.treat_events, n1i=d.treat_n, ci=d.control_events,
                  n2i=d.control_n, study=list(d.study))


def gosh_result(method: str = "FE"):
    es = effect_sizes()
    return gosh(es.yi, es.vi, method=method)


def figures(where=None) -> dict:
    return {"lee2004_gosh": gosh_plot(gosh_result())}


def targets(where=None) -> list:
    return []
