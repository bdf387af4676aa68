"""One module per reproduced publication: plain functions returning results objects and
figures, called by the notebooks and by ``acu-meta reproduce``.

Modules: :mod:`gerac2007`, :mod:`cherkin2009`, :mod:`vickers`, :mod:`three_arm`,
:mod:`article_claims`; :mod:`reproduction` holds the target bookkeeping.
"""

from . import article_claims, cherkin2009, gerac2007, lee2004, reproduction, three_arm, vickers

MODULES = (gerac2007, cherkin2009, vickers, three_arm)

__all__ = ["MODULES", "all_approximations", "all_targets", "article_claims", "cherkin2009",
           "gerac2007", "lee2004", "reproduction", "three_arm", "vickers", "write_figures"]


def all_targets(where=None) -> list:
    """Every reproduction target of every module, in module order."""
    out = []
    for m in MODULES:
        out.extend(m.targets(where))
    return out


def all_approximations(where=None) -> list:
    """Approximate-reproduction targets (not the authors' computation), kept apart."""
    return vickers.approximations(where)


def figures(where=None) -> dict:
    figs = {}
    for m in MODULES:
        figs.update(m.figures(where))
    figs.update(lee2004.figures(where))
    return figs


def write_figures(folder, where=None) -> list:
    """Write every reproduced figure (PNG and SVG) into *folder*; return the paths."""
    from pathlib import Path

    from ..plots import save_figure

    folder = Path(folder)
    paths = []
    for name, fig in figures(where).items():
        for ext in (".png", ".svg"):
            paths.append(save_figure(fig, folder / f"{name}{ext}"))
    return paths
