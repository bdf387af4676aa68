"""One module per reproduced publication: plain functions returning results objects and
figures, called by the notebooks and by ``acu-meta reproduce``.

Modules: :mod:`gerac2007`, :mod:`cherkin2009`, :mod:`vickers`, :mod:`three_arm`,
:mod:`article_claims`; :mod:`reproduction` holds the target bookkeeping; :mod:`lee2004` draws a
figure from an example CSV.

Every function that reads data takes ``where``, the data folder (default: the repository's
``data/``, or ``$ACU_META_DATA``), and reads nothing else; a number in a note is formatted from
the data or the computed value (``tests/analyses/test_where.py``).
"""

from . import article_claims, cherkin2009, gerac2007, lee2004, reproduction, three_arm, vickers
from .lee2004 import EXAMPLES_DIR

MODULES = (gerac2007, cherkin2009, vickers, three_arm)

__all__ = ["EXAMPLES_DIR", "MODULES", "all_approximations", "all_targets", "article_claims",
           "cherkin2009", "figures", "gerac2007", "lee2004", "reproduction", "three_arm",
           "vickers", "write_figures"]


def all_targets(where=None) -> list:
    """Every reproduction target of every module, in module order."""
    out = []
    for m in MODULES:
        out.extend(m.targets(where))
    return out


def all_approximations(where=None) -> list:
    """Approximate-reproduction targets (not the authors' computation), kept apart."""
    return vickers.approximations(where)


def figures(where=None, examples=None) -> dict:
    """Every figure, by name: the reproduced ones from the data folder *where*, and, when
    *examples* names the folder of example CSVs (e.g. :data:`EXAMPLES_DIR`), the example
    figures (Lee 2004 GOSH)."""
    figs = {}
    for m in MODULES:
        figs.update(m.figures(where))
    if examples is not None:
        figs.update(lee2004.figures(examples))
    return figs


def write_figures(folder, where=None, examples=None) -> list:
    """Write every figure of :func:`figures` (PNG and SVG) into *folder*; return the paths."""
    from pathlib import Path

    from ..plots import save_figure

    folder = Path(folder)
    paths = []
    for name, fig in figures(where, examples).items():
        for ext in (".png", ".svg"):
            paths.append(save_figure(fig, folder / f"{name}{ext}"))
    return paths
