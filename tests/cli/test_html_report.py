"""``reports/index.html``, the one-page report of ``acu-meta reproduce`` (issue #14, build item
8; acceptance: "The HTML report renders in headless Chromium in CI, or the test is skipped
with a stated reason where no browser can be installed").

Without a browser: the page of the session's ``reproduce`` run (``reproduced_dir``) has the
answer, one row per target of ``reports/reproduction.csv`` with its status and study, every PNG
figure (each file exists), no external resource, and is byte-identical when rebuilt. With
Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it): the page renders
with no script error and every figure loaded (the page's self-check, read by ``--dump-dom``,
and chromium's console log); the filter, driven by the URL hash, shows exactly the rows the
CSV says; a broken copy (a missing figure, a throwing script) is reported as broken, so the
check can fail; a screenshot is saved into the test's tmp folder for review.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from acu_meta.analyses.html_report import (
    answer_markdown,
    markdown_to_html,
    write_html_report,
)

REPO = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _page(reproduced_dir) -> str:
    return (reproduced_dir / "reports" / "index.html").read_text(encoding="utf-8")


def test_reproduce_writes_the_report(reproduced_dir):
    stdout = (reproduced_dir / "reproduce-stdout.txt").read_text(encoding="utf-8")
    assert f"HTML report -> {reproduced_dir / 'reports' / 'index.html'}" in stdout
    page = _page(reproduced_dir)
    frame = pd.read_csv(reproduced_dir / "reports" / "reproduction.csv")
    rows = re.findall(r'<tr class="([\w-]+)" data-status="([^"]+)" data-study="([^"]*)">', page)
    assert len(rows) == len(frame) > 50
    assert [r[1] for r in rows] == list(frame.status)
    assert [html.unescape(r[2]) for r in rows] == list(frame.study)
    for target in frame.target_id:
        assert f"<td>{html.escape(target)}</td>" in page


def test_figures_and_links_resolve(reproduced_dir):
    page = _page(reproduced_dir)
    reports = reproduced_dir / "reports"
    imgs = re.findall(r'<img src="([^"]+)"', page)
    pngs = sorted((reproduced_dir / "figures").glob("*.png"))
    assert len(imgs) == len(pngs) > 5
    for src in imgs + re.findall(r'<a href="([^"#]+)"', page):
        if "://" in src:
            continue
        assert (reports / html.unescape(src)).resolve().is_file(), src


def test_no_external_resources(reproduced_dir):
    page = _page(reproduced_dir)
    assert "<script src" not in page and "<link" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page.split("<h2 id=\"answer\">")[0])


def test_answer_from_readme_or_answer_md(tmp_path, reproduced_dir):
    md, source = answer_markdown(tmp_path, REPO / "README.md")
    assert source.startswith("README.md") and "verum vs usual care 0.47" in " ".join(md.split())
    assert "### " not in md and "Regression guard" not in md  # the section only
    assert markdown_to_html("### The answer, so far") not in _page(reproduced_dir)
    assert html.escape("0.47 (0.26 to 0.69)") in _page(reproduced_dir)
    (tmp_path / "answer.md").write_text("# Answer\n\nSham is **as good** as `verum`.\n",
                                        encoding="utf-8")
    assert answer_markdown(tmp_path, REPO / "README.md") == (
        "# Answer\n\nSham is **as good** as `verum`.\n", "reports/answer.md")


def test_markdown_subset_is_escaped():
    out = markdown_to_html("A <b> & *it* **bold** [x](y.html)\n\n- one\n- two `<t>`")
    assert out == ('<p>A &lt;b&gt; &amp; <em>it</em> <strong>bold</strong> '
                   '<a href="y.html">x</a></p>\n<ul><li>one</li><li>two <code>&lt;t&gt;</code>'
                   '</li></ul>')


def test_rebuilt_page_is_identical(reproduced_dir, tmp_path):
    shutil.copytree(reproduced_dir / "figures", tmp_path / "figures")
    shutil.copytree(reproduced_dir / "reports", tmp_path / "reports")
    frame = pd.read_csv(tmp_path / "reports" / "reproduction.csv")
    readme = REPO / "README.md"
    first = write_html_report(tmp_path, frame, readme=readme).read_bytes()
    assert write_html_report(tmp_path, frame, readme=readme).read_bytes() == first


# ------------------------------------------------------------------------ headless chromium


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium binary on PATH (Debian: apt-get install -y chromium; .ci/run "
                "installs it where apt is available): the HTML report is not rendered here")


def _chromium(url: str, *extra: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="acu-chromium-") as profile:
        done = subprocess.run(
            [_browser(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *extra, url],
            capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def _selfcheck(dom: str) -> dict[str, str]:
    tag = re.search(r'<div id="selfcheck"[^>]*>', dom)
    assert tag, "the page's self-check never ran"
    return {k: html.unescape(v) for k, v in re.findall(r'data-([\w-]+)="([^"]*)"', tag.group())}


def _console_errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln
            and ("error" in ln.lower() or "uncaught" in ln.lower())]


@pytest.fixture(scope="module")
def rendered(reproduced_dir):
    url = (reproduced_dir / "reports" / "index.html").as_uri()
    return _chromium(url, "--dump-dom")


def test_renders_in_headless_chromium(rendered, reproduced_dir):
    dom, stderr = rendered
    check = _selfcheck(dom)
    n_png = len(list((reproduced_dir / "figures").glob("*.png")))
    assert check["done"] == "1"
    assert check["errors"] == "[]", check["errors"]
    assert check["images"] == check["images-ok"] == str(n_png)
    assert _console_errors(stderr) == []
    assert re.search(r'<span id="shown">81 of 81 targets|<span id="shown">(\d+) of \1 targets',
                     dom)


def test_filter_in_chromium_shows_the_rows_of_the_csv(reproduced_dir):
    frame = pd.read_csv(reproduced_dir / "reports" / "reproduction.csv")
    study = frame.study.value_counts().index[0]
    want = frame[(frame.status == "exact") & (frame.study == study)]
    url = (reproduced_dir / "reports" / "index.html").as_uri() + f"#status=exact&study={study}"
    dom, _ = _chromium(url, "--dump-dom")
    assert f'<span id="shown">{len(want)} of {len(frame)} targets' in dom
    rows = re.findall(r'<tr class="[\w-]+" data-status="([^"]+)" '
                      r'data-study="([^"]*)"( style="[^"]*")?', dom)
    shown = [(s, st) for s, st, style in rows if "none" not in style]
    assert shown == [("exact", study)] * len(want)


def test_a_broken_page_is_reported_broken(reproduced_dir, tmp_path):
    shutil.copytree(reproduced_dir / "figures", tmp_path / "figures")
    shutil.copytree(reproduced_dir / "reports", tmp_path / "reports")
    next((tmp_path / "figures").glob("*.png")).unlink()
    page = tmp_path / "reports" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", "<script>undefinedFunction();</script></body>"), encoding="utf-8")
    check = _selfcheck(_chromium(page.as_uri(), "--dump-dom")[0])
    assert int(check["images-ok"]) == int(check["images"]) - 1
    assert "undefinedFunction" in check["errors"]


def test_screenshot_for_review(reproduced_dir, tmp_path):
    shot = tmp_path / "index.png"
    _chromium((reproduced_dir / "reports" / "index.html").as_uri(), f"--screenshot={shot}",
              "--window-size=1280,2400", "--hide-scrollbars")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot of reports/index.html: {shot}")
