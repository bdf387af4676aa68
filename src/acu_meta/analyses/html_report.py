"""The one-page HTML report of ``acu-meta reproduce``: ``reports/index.html``.

One self-contained page (no CDN, no external script or style; the figures are linked from
``figures/`` next to ``reports/``), with

* the answer: ``reports/answer.md`` if present, else the README's section "The answer, so
  far" (a small Markdown subset is rendered: paragraphs, lists, ``code``, **bold**, *italic*
  and links; everything else is escaped text);
* the reproduction table (every target of ``reports/reproduction.csv``), filterable by status
  and study and searchable by text, by about 50 lines of inline JavaScript (a filtered view
  is a link: ``index.html#status=discrepancy&study=haake2007``);
* every PNG figure (``<img>`` with its name as caption, linked to the SVG when there is one);
* links to the executed notebooks (``reports/notebooks/*.html``) and the other reports.

The page checks itself: after the load event an inline script writes into
``<div id="selfcheck">`` how many images loaded (``data-images-ok`` of ``data-images``) and
every script error or ``console.error`` call (``data-errors``), so a headless browser's
``--dump-dom`` shows whether it rendered cleanly. Output is byte-identical for identical
input (no dates).

Tested by ``tests/cli/test_html_report.py`` (structure and filter script without a browser;
rendering in headless Chromium, with a screenshot, where a ``chromium`` binary exists).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

ANSWER_HEADING = "### The answer, so far"
STATUSES = ("exact", "consistent", "discrepancy")
COLUMNS = ("target_id", "study", "quantity", "published", "reproduced", "status", "note")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:0 1.5em 3em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-top:1em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border-bottom:1px solid #e3e3e3;padding:.3em .4em;text-align:left;vertical-align:top}
th{background:#f7f7f7;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.exact td.status{color:#11661f}tr.consistent td.status{color:#7a5a00}
tr.discrepancy td.status{color:#b00020;font-weight:600}
tr.not-comparable td.status{color:#555;font-style:italic}
.filters{display:flex;gap:1em;flex-wrap:wrap;margin:.6em 0;align-items:center}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1em}
figure{margin:0;border:1px solid #e3e3e3;padding:.5em}
figure img{width:100%;height:auto}figcaption{font-size:.8em;color:#444;word-break:break-all}
.tablebox{max-height:70vh;overflow:auto;border:1px solid #e3e3e3}
nav a{margin-right:1em}
"""

_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });
  var origError = console.error;
  console.error = function () {
    errors.push(Array.prototype.join.call(arguments, " "));
    return origError.apply(console, arguments);
  };
  function filter() {
    var status = document.getElementById("status").value;
    var study = document.getElementById("study").value;
    var text = document.getElementById("search").value.toLowerCase();
    var rows = document.querySelectorAll("#reproduction tbody tr");
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!status || r.getAttribute("data-status") === status) &&
               (!study || r.getAttribute("data-study") === study) &&
               (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.style.display = ok ? "" : "none";
      if (ok) { shown++; }
    }
    document.getElementById("shown").textContent = shown + " of " + rows.length + " targets";
  }
  window.acuFilter = filter;
  function fromHash() {  // #status=discrepancy&study=haake2007: a filtered view as a link
    var parts = window.location.hash.replace(/^#/, "").split("&");
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split("=");
      var el = document.getElementById(kv[0]);
      if (kv.length === 2 && el && ["status", "study", "search"].indexOf(kv[0]) >= 0) {
        el.value = decodeURIComponent(kv[1]);
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    ["status", "study", "search"].forEach(function (id) {
      document.getElementById(id).addEventListener("input", filter);
    });
    fromHash();
    filter();
  });
  window.addEventListener("hashchange", function () { fromHash(); filter(); });
  window.addEventListener("load", function () {
    var imgs = document.images, ok = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
    }
    var box = document.getElementById("selfcheck");
    box.setAttribute("data-images", String(imgs.length));
    box.setAttribute("data-images-ok", String(ok));
    box.setAttribute("data-errors", JSON.stringify(errors));
    box.setAttribute("data-done", "1");
  });
})();
"""


def _inline(text: str) -> str:
    """Escape *text* and render inline Markdown: ``code``, **bold**, *italic*, [t](url)."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                   lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def markdown_to_html(text: str) -> str:
    """A small Markdown subset as HTML: headings (#..####), paragraphs, ``-``/``*`` lists and
    inline markup (:func:`_inline`); everything else is escaped text."""
    blocks, para, items = [], [], []

    def flush():
        if para:
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        s = line.strip()
        heading = re.match(r"(#{1,4})\s+(.*)", s)
        if not s:
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + 1, 6)  # the page's h1 is the title
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif re.match(r"[-*]\s+", s):
            if para:
                flush()
            items.append(re.sub(r"^[-*]\s+", "", s))
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + s
        else:
            if items:
                flush()
            para.append(s)
    flush()
    return "\n".join(blocks)


def answer_markdown(reports: Path, readme: Path | None) -> tuple[str, str]:
    """The answer's Markdown and where it came from: ``reports/answer.md`` if present, else
    the README's section "The answer, so far" (up to the next heading), else a note."""
    answer = reports / "answer.md"
    if answer.is_file():
        return answer.read_text(encoding="utf-8"), "reports/answer.md"
    if readme is not None and readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if ANSWER_HEADING in text:
            body = text.split(ANSWER_HEADING, 1)[1]
            body = re.split(r"\n#{1,3} ", body, maxsplit=1)[0]
            return body.strip(), "README.md, section “The answer, so far”"
    return "No answer text found (neither reports/answer.md nor a README answer section).", "-"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _table(frame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    rows = []
    for rec in frame.to_dict(orient="records"):
        status, study = _cell(rec.get("status")), _cell(rec.get("study"))
        cells = []
        for c in COLUMNS:
            cls = ' class="num"' if c in ("published", "reproduced") else (
                ' class="status"' if c == "status" else "")
            cells.append(f"<td{cls}>{html.escape(_cell(rec.get(c)))}</td>")
        css = re.sub(r"[^a-z0-9]+", "-", status.lower()).strip("-")  # "not comparable"
        rows.append(f'<tr class="{css}" data-status="{html.escape(status)}" '
                    f'data-study="{html.escape(study)}">{"".join(cells)}</tr>')
    return (f'<div class="tablebox"><table id="reproduction"><thead><tr>{head}</tr></thead>'
            "<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>")


def _options(values, everything: str) -> str:
    opts = [f'<option value="">{html.escape(everything)}</option>']
    opts += [f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values]
    return "".join(opts)


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def build_html(frame, answer_md: str, answer_source: str, figures: list[Path],
               notebooks: list[Path], reports: Path, other_reports: list[Path]) -> str:
    """The page (see the module docstring). *frame* is the reproduction table
    (:func:`acu_meta.analyses.reproduction.to_frame`); paths are linked relative to
    *reports*."""
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    studies = sorted({_cell(s) for s in frame["study"]})
    present = [s for s in STATUSES if counts.get(s, 0)]
    pngs = sorted(p for p in figures if p.suffix.lower() == ".png")
    figs = []
    for png in pngs:
        svg = png.with_suffix(".svg")
        src = html.escape(_rel(png, reports))
        link = html.escape(_rel(svg if svg.exists() else png, reports))
        figs.append(f'<figure><a href="{link}"><img src="{src}" alt="{html.escape(png.stem)}" '
                    f'loading="eager"></a><figcaption>{html.escape(png.name)}</figcaption>'
                    "</figure>")
    nbs = "".join(f'<li><a href="{html.escape(_rel(p, reports))}">{html.escape(p.stem)}</a></li>'
                  for p in sorted(notebooks))
    if not nbs:
        nbs = "<li>not executed in this run (<code>acu-meta reproduce --notebooks DIR</code>)</li>"
    others = "".join(f'<li><a href="{html.escape(_rel(p, reports))}">{html.escape(p.name)}</a>'
                     "</li>" for p in sorted(other_reports))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>acu_meta: acupuncture for chronic low back pain, reproduced</title>
<style>{_CSS}</style>
<script>{_SCRIPT}</script>
</head>
<body>
<h1>Acupuncture for chronic low back pain: the evidence, re-derived</h1>
<div id="selfcheck" hidden></div>
<nav><a href="#answer">Answer</a><a href="#reproduction-table">Reproduction table</a>
<a href="#figures">Figures</a><a href="#notebooks">Notebooks</a><a href="#reports">Reports</a></nav>
<h2 id="answer">The answer</h2>
<div class="answer">
{markdown_to_html(answer_md)}
</div>
<p><small>Source: {html.escape(answer_source)}</small></p>
<h2 id="reproduction-table">Reproduction: every published number beside the recomputed one</h2>
<p>{len(frame)} targets: {html.escape(summary)}. <em>exact</em>: rounds to the printed value;
<em>consistent</em>: attainable within the printed precision; <em>discrepancy</em>: with a note.
</p>
<div class="filters">
<label>Status <select id="status">{_options(present, "all statuses")}</select></label>
<label>Study <select id="study">{_options(studies, "all studies")}</select></label>
<label>Search <input id="search" type="search" placeholder="text in any column"></label>
<span id="shown"></span>
</div>
{_table(frame)}
<h2 id="figures">Figures</h2>
<div class="figures">
{"".join(figs)}
</div>
<h2 id="notebooks">Executed notebooks</h2>
<ul>{nbs}</ul>
<h2 id="reports">Other reports</h2>
<ul>{others}</ul>
</body>
</html>
"""


def write_html_report(root: Path, frame, figures: list[Path] | None = None,
                      readme: Path | None = None) -> Path:
    """Write ``ROOT/reports/index.html`` from the reproduction *frame*, the *figures* (default:
    every PNG in ``ROOT/figures``), the executed notebooks in ``ROOT/reports/notebooks`` and the
    answer (:func:`answer_markdown`); return its path."""
    root = Path(root)
    reports = root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    if figures is None:
        figures = sorted((root / "figures").glob("*.png"))
    notebooks = sorted((reports / "notebooks").glob("*.html"))
    others = [p for p in sorted(reports.iterdir())
              if p.is_file() and p.suffix in (".csv", ".md") and p.name != "index.html"]
    md, source = answer_markdown(reports, readme)
    page = build_html(frame, md, source, [Path(f) for f in figures], notebooks, reports, others)
    target = reports / "index.html"
    target.write_text(page, encoding="utf-8")
    return target
