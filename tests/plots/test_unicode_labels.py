"""Any Unicode study label is drawn (issue #17 item 6): characters DejaVu Sans lacks get
matplotlib's font fallback list (a CJK or other Noto family when one is installed), characters
no installed font has become a marker with one warning per run, and ASCII text is left exactly
as it was (its baseline images are ``tests/plots/test_plots.py``'s)."""

from __future__ import annotations

import warnings

import pytest
from matplotlib.figure import Figure

from acu_meta.plots import _style, forest, save_figure
from acu_meta.results import rows


def _figure(*labels):
    with _style.house_style():
        fig = Figure()
        ax = fig.add_subplot()
        texts = [ax.text(0.1, 0.1 * i, s) for i, s in enumerate(labels)]
    return fig, texts


def _has(family: str, ch: str) -> bool:
    cov = _style._coverage(family)
    return cov is not None and ord(ch) in cov


def test_ascii_text_is_left_as_it_is():
    fig, (t,) = _figure("Study 2001, et al.")
    before = (t.get_text(), t.get_fontfamily())
    _style.fit_fonts(fig)
    assert (t.get_text(), t.get_fontfamily()) == before == ("Study 2001, et al.",
                                                            [_style.BASE_FAMILY])


def test_latin_text_dejavu_holds_keeps_its_font():
    fig, (t,) = _figure("M\u00fcller \u00e9t\u00e9 \u0141\u00f3d\u017a")
    _style.fit_fonts(fig)
    assert t.get_fontfamily() == [_style.BASE_FAMILY]


def test_cjk_labels_get_a_fallback_font_and_draw_without_warnings(tmp_path):
    cjk = [f for f in _style._candidates() if _has(f, "\u674e")]
    if not cjk and _style._rescanned():  # fonts installed after matplotlib's cache was built
        cjk = [f for f in _style._candidates() if _has(f, "\u674e")]
    if not cjk:
        pytest.skip("no installed font has CJK glyphs (.ci/run installs fonts-noto-cjk)")
    fig, (t,) = _figure("\u674e 2001")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _style.fit_fonts(fig)
        save_figure(fig, tmp_path / "cjk.png")
    assert t.get_fontfamily() == [_style.BASE_FAMILY, cjk[0]]
    assert t.get_text() == "\u674e 2001"


def test_characters_no_font_has_become_a_marker_with_one_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(_style, "_warned", set())
    private = "\ue000"  # private use: in no font
    assert not any(_has(f, private) for f in [_style.BASE_FAMILY, *_style._candidates()])
    fig, (a, b) = _figure(f"A{private} 2001", "B\ue001")
    with pytest.warns(UserWarning, match=r"U\+E000.*drawn as \u25a1") as caught:
        _style.fit_fonts(fig)
    assert len(caught) == 1  # one warning for the run, not one per glyph or label
    assert "U+E001" in str(caught[0].message)  # naming the second label's character too
    assert a.get_text() == f"A{_style.MARKER} 2001" and b.get_text() == f"B{_style.MARKER}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_figure(fig, tmp_path / "marker.png")
        _style.fit_fonts(fig)  # nothing left to replace: silent


def test_a_forest_plot_of_unicode_labels_is_drawn_quietly(monkeypatch, tmp_path):
    monkeypatch.setattr(_style, "_warned", {"\ue000"})  # a warning was given earlier this run
    res = rows(yi=[0.1, 0.2], vi=[0.01, 0.02], study=["\u738b 2003 \ue000", "Line\nbreak"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = forest(res)
        save_figure(fig, tmp_path / "f.svg")
    labels = [t.get_text() for t in fig.findobj(lambda a: getattr(a, "get_gid", None)
                                                and str(a.get_gid()).startswith("label-"))]
    assert labels[0].endswith(_style.MARKER) and "\ue000" not in labels[0]
    assert labels[1] == "Line\nbreak"  # control characters need no glyph
