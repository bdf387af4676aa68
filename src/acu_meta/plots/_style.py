"""The one house style of every acu_meta figure, and deterministic saving.

Fonts: DejaVu Sans (ships with matplotlib, so every machine renders the same glyphs). Colours
read in greyscale: study squares black, pooled diamonds dark grey / black, prediction bars
mid grey, contour shading in three greys.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

from ..errors import InputError

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.linewidth": 0.7,
    "axes.edgecolor": "black",
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "lines.linewidth": 0.9,
    "svg.fonttype": "none",  # text stays text in SVG
    "svg.hashsalt": "acu_meta",  # deterministic element ids
    "pdf.fonttype": 42,
    "figure.dpi": 100,
    "savefig.dpi": 300,
}

COLORS = {
    "study": "#000000",
    "whisker": "#000000",
    "diamond_random": "#000000",
    "diamond_fixed": "#7f7f7f",
    "prediction": "#7f7f7f",
    "null": "#000000",
    "grid": "#bfbfbf",
    "contours": ("#ffffff", "#d9d9d9", "#a6a6a6", "#737373"),
    "subtle": "#555555",
}

# metadata that would make two runs differ (dates, tool versions) is removed
_METADATA = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


@contextmanager
def house_style():
    """Context in which figures get the house style."""
    with plt.rc_context(STYLE):
        yield


def save_figure(fig, path: str | Path, dpi: int = 300) -> Path:
    """Save *fig* to PNG (300 dpi), SVG (text as text) or PDF, byte-identical across runs."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _METADATA:
        raise InputError(f"{path}: output must end in .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STYLE):
        fig.savefig(path, dpi=dpi, metadata=_METADATA[ext])
    return path
