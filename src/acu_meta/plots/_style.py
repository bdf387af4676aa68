"""The one house style of every acu_meta figure, and deterministic saving.

Fonts: DejaVu Sans (ships with matplotlib, so every machine renders the same glyphs). Colours
read in greyscale: study squares black, pooled diamonds dark grey / black, prediction bars
mid grey, contour shading in three greys.

Any Unicode label (issue #17)
-----------------------------
A text with a character DejaVu Sans lacks (Chinese, Devanagari, ...) gets matplotlib's font
fallback list (a list as its font family, matplotlib >= 3.6): DejaVu Sans first, then the
installed families of :data:`FALLBACK_FAMILIES` and the other installed "Noto Sans <script>"
families that hold its missing characters (Debian ``fonts-noto-cjk`` and ``fonts-noto-core``,
installed by ``.ci/run``; ``fonts-droid-fallback`` also serves). A character no installed font
has is drawn as :data:`MARKER`, with one warning per run instead of matplotlib's warning per
glyph. ASCII text is never touched, so it renders exactly as before. :func:`fit_fonts` does
this for a figure; :func:`save_figure` and :func:`acu_meta.plots.forest` call it. Checked in
``tests/plots/test_unicode_labels.py``.
"""

from __future__ import annotations

import os
import unicodedata
import warnings
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from ..errors import InputError  # noqa: E402

BASE_FAMILY = "DejaVu Sans"
#: Families tried first, in this order, for a character DejaVu Sans lacks (then every other
#: installed "Noto Sans ..." family, alphabetically).
FALLBACK_FAMILIES = ("Noto Sans CJK JP", "Droid Sans Fallback", "Noto Sans")
#: Drawn for a character that no installed font has (U+25A1 WHITE SQUARE, in DejaVu Sans).
MARKER = "\u25a1"

STYLE = {
    "font.family": BASE_FAMILY,
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
    """Save *fig* to PNG (300 dpi), SVG (text as text) or PDF, byte-identical across runs;
    any Unicode text is drawn (:func:`fit_fonts`)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _METADATA:
        raise InputError(f"{path}: output must end in .png, .svg or .pdf")
    fit_fonts(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context(STYLE):
        fig.savefig(path, dpi=dpi, metadata=_METADATA[ext])
    return path


# ------------------------------------------------------------------------------ Unicode text

_warned: set[str] = set()


@cache
def _charmap(path: str, index: int) -> frozenset[int]:
    """The code points a font file's face holds."""
    return frozenset(FT2Font(path, face_index=index).get_charmap())


def _coverage(family: str) -> frozenset[int] | None:
    """Code points of *family*'s regular face, or None when it is not installed."""
    if family not in _installed():
        return None
    try:
        fp = font_manager.findfont(font_manager.FontProperties(family=family),
                                   fallback_to_default=False)
    except ValueError:
        return None
    return _charmap(str(fp), int(getattr(fp, "face_index", 0)))  # FontPath: matplotlib 3.11


def _installed() -> set[str]:
    return {f.name for f in font_manager.fontManager.ttflist}


def _candidates() -> list[str]:
    """The installed fallback families, in the order they are tried."""
    names = _installed()
    rest = sorted(n for n in names if n.startswith("Noto Sans ") and "Mono" not in n
                  and "CJK" not in n and n not in FALLBACK_FAMILIES)
    return [f for f in FALLBACK_FAMILIES if f in names] + rest


@cache
def _rescanned() -> bool:
    """Add the system's Noto and Droid regular faces that matplotlib's font cache lacks (a
    font package installed after the cache was written); once per run."""
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        name = os.path.basename(path)
        if name.startswith(("Noto", "Droid")) and "Regular" in name and path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable file: skip it
                continue
    return True


def _drawable(ch: str) -> bool:
    """Control characters (line breaks, tabs) are laid out by matplotlib and need no glyph."""
    return unicodedata.category(ch) != "Cc"


def _plan(s: str) -> tuple[list[str], str, set[str]]:
    """The family list for *s*, *s* with undrawable characters replaced by MARKER, and those
    characters."""
    base = _coverage(BASE_FAMILY) or frozenset()
    missing = [ch for ch in dict.fromkeys(s) if _drawable(ch) and ord(ch) not in base]
    if not missing:
        return [BASE_FAMILY], s, set()
    used, lost = [], set()
    for attempt in (0, 1):
        used, lost = [], set()
        cands = [(f, _coverage(f)) for f in _candidates()]
        for ch in missing:
            fam = next((f for f, cov in cands if cov and ord(ch) in cov), None)
            if fam is None:
                lost.add(ch)
            elif fam not in used:
                used.append(fam)
        if not lost or attempt or not _rescanned():
            break
    text = "".join(MARKER if ch in lost else ch for ch in s)
    return [BASE_FAMILY, *used], text, lost


def fit_fonts(fig) -> None:
    """Make every text of *fig* drawable: a font fallback list for characters DejaVu Sans
    lacks, :data:`MARKER` for characters no installed font has (one warning per run naming
    them all: every label of the first figure that lacks a glyph, not only the first label).
    ASCII texts are left exactly as they are."""
    lost_here: set[str] = set()
    for t in fig.findobj(Text):
        s = t.get_text()
        if s.isascii():
            continue
        families, text, lost = _plan(s)
        if len(families) > 1:
            t.set_fontfamily(families)
        if lost:
            t.set_text(text)
            lost_here |= lost
    if lost_here and not _warned:
        warnings.warn(
            "no installed font has the character(s) "
            + ", ".join(f"U+{ord(c):04X}" for c in sorted(lost_here))
            + f" of a label; drawn as {MARKER} (install the Debian packages "
            "fonts-noto-core and fonts-noto-cjk for wide coverage)", stacklevel=2)
    _warned.update(lost_here)
