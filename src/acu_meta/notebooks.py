"""Execute the narrated notebooks and render them to HTML (``make reproduce``, the tests).

Needs the ``notebooks`` extra (nbclient, nbformat, nbconvert, ipykernel).
"""

from __future__ import annotations

from pathlib import Path


def execute(path: Path, timeout: int = 600):
    """Run every cell of notebook *path* in a fresh kernel (working directory: its folder);
    return the executed notebook. Raises on the first failing cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def render_all(folder: Path, out: Path) -> list[Path]:
    """Execute every ``*.ipynb`` in *folder* and write ``<name>.html`` into *out*."""
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    written = []
    exporter = HTMLExporter()
    for path in sorted(folder.glob("*.ipynb")):
        nb = execute(path)
        body, _ = exporter.from_notebook_node(nb)
        target = out / f"{path.stem}.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
    return written
