"""One module per reproduced publication: plain functions returning results objects and
figures, called by the notebooks and by ``acu-meta reproduce``."""

from . import cherkin2009, three_arm

__all__ = ["cherkin2009", "three_arm", "write_figures"]


def write_figures(folder) -> list:
    """Write every reproduced figure (PNG and SVG) into *folder*; return the paths."""
    from pathlib import Path

    from ..plots import save_figure

    folder = Path(folder)
    paths = []
    for name, fig in (*cherkin2009.figures().items(), *three_arm.figures().items()):
        for ext in (".png", ".svg"):
            paths.append(save_figure(fig, folder / f"{name}{ext}"))
    return paths
