"""Lee & Done 2004 (via R's metadat ``dat.lee2004``): acupoint P6 stimulation vs sham for
postoperative nausea, 16 trials. Not part of the back-pain evidence: it is the acupuncture data
set with enough trials for a GOSH plot (all 2^16 - 1 = 65,535 subsets, via ``pool_many``).

The rows are an example CSV (``examples/lee2004.csv``), not a table of the data package: they
carry no provenance of their own and feed no reproduction target. So nothing here reads the
data folder (``where``); every function takes the CSV (or the folder of example CSVs) as an
explicit argument, and ``acu-meta reproduce --data DIR`` draws this figure only when
``--examples`` names the folder (``tests/analyses/test_where.py``).
"""

from __future__ import annotations

from pathlib import Path

from ..data.userfile import read_study_csv
from ..effects import escalc
from ..plots.batch import gosh_plot
from ..results import gosh

#: The repository's folder of example CSVs (``examples/``).
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"
FILE = "lee2004.csv"
EXAMPLE = EXAMPLES_DIR / FILE


def effect_sizes(path: Path | str = EXAMPLE):
    """Log risk ratios of the 16 trials in the CSV *path* (``study,treat_events,treat_n,
    control_events,control_n``), read strictly (:func:`acu_meta.data.userfile.read_study_csv`)."""
    t = read_study_csv(path)
    c = t.columns
    return escalc("RR", ai=c["treat_events"], n1i=c["treat_n"], ci=c["control_events"],
                  n2i=c["control_n"], study=list(t.study))


def gosh_result(method: str = "FE", path: Path | str = EXAMPLE):
    """GOSH: the pooled estimate and I2 of every subset of the trials in *path*."""
    es = effect_sizes(path)
    return gosh(es.yi, es.vi, method=method)


def figures(examples: Path | str = EXAMPLES_DIR) -> dict:
    """The GOSH figure, from ``lee2004.csv`` in the folder *examples*."""
    return {"lee2004_gosh": gosh_plot(gosh_result(path=Path(examples) / FILE))}


def targets(where=None) -> list:
    """No reproduction targets (an example data set, not transcribed evidence)."""
    return []
