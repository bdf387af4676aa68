"""Execute the narrated notebooks and render them to HTML (``make reproduce``, the tests).

Needs the ``notebooks`` extra (nbclient, nbformat, nbconvert, ipykernel).

The kernel talks to this process over IPC sockets (Unix domain sockets in a private temporary
folder), not TCP: ipykernel warns on stderr, "Kernel is running over TCP without encryption",
for every TCP kernel, and local sockets are the transport it recommends. Where IPC is not
available (Windows) the default TCP transport is used. :func:`render_all` reports each notebook
as it finishes (``progress``), so ``make reproduce`` prints a line per notebook, not all six at
the end. Tested by ``tests/cli/test_notebooks_progress.py``.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path


def _kernel_config(folder: str):
    """traitlets configuration for the kernel manager that :class:`nbclient.NotebookClient`
    creates (and so shuts down itself): IPC transport with the sockets in *folder*. Empty
    where Unix domain sockets do not exist (the default, TCP)."""
    from traitlets.config import Config

    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(folder, "kernel")
    return config


def parameter_names(cells, where: str) -> set[str]:
    """The names the one code cell tagged ``parameters`` in *cells* (nbformat cells or the raw
    JSON dicts) assigns; *where* names the notebook in the error when there is not exactly
    one such cell."""
    import ast

    tagged = [c for c in cells if c["cell_type"] == "code"
              and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{where}: {len(tagged)} cells are tagged 'parameters', need one")
    source = tagged[0]["source"]
    tree = ast.parse(source if isinstance(source, str) else "".join(source))
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _inject_parameters(nb, parameters: Mapping[str, object], path: Path) -> None:
    """Insert a cell that overrides *parameters* right after the cell tagged ``parameters``
    (papermill's convention: the injected cell is tagged ``injected-parameters``). Each value
    is written as its ``repr``; a name the parameters cell does not assign, or a notebook
    without such a cell, is an error (a typo would otherwise run the defaults silently)."""
    import nbformat

    unknown = sorted(set(parameters) - parameter_names(nb.cells, path.name))
    if unknown:
        raise ValueError(f"{path.name}: the parameters cell does not assign {', '.join(unknown)}")
    where = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "# injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(where + 1, injected)


def execute(path: Path, timeout: int = 600, parameters: Mapping[str, object] | None = None):
    """Run every cell of notebook *path* in a fresh kernel (working directory: its folder;
    IPC transport, see the module docstring); return the executed notebook. Raises on the
    first failing cell. The kernel is shut down afterwards (the client owns its manager).

    *parameters* (name -> value) overrides assignments of the notebook's cell tagged
    ``parameters``, as papermill does: a cell is injected after it. The test suite runs
    notebook 06 with fewer replicates this way (``tests/test_notebooks.py``); ``reproduce``
    runs every notebook as committed. Tested by
    ``tests/test_notebooks.py::test_parameters_are_injected_after_the_parameters_cell``.

    The kernel process's own stderr (not a cell's output, which goes into the notebook) is
    kept in a file beside the sockets: ipykernel can log a ZMQ traceback there while it shuts
    down under load ("Socket operation on non-socket"), which is noise once every cell has
    run. When execution fails, that text is attached to the error as a note, so a kernel that
    died still says why. Tested by
    ``tests/cli/test_notebooks_progress.py::test_kernel_stderr_is_kept_out_of_ours``."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if parameters:
        _inject_parameters(nb, parameters, path)
    # ignore_cleanup_errors: on Windows a process the kernel started may still hold the log
    # open when the folder is removed; that must not replace the notebook's own error
    with tempfile.TemporaryDirectory(prefix="acu-meta-kernel-",
                                     ignore_cleanup_errors=True) as sockets, \
            open(os.path.join(sockets, "kernel-stderr.log"), "w+b") as log:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                config=_kernel_config(sockets),
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute(stderr=log)
        except Exception as err:
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").strip().splitlines()
            if lines:
                tail = lines[-_KERNEL_LOG_LINES:]
                cut = (f" (its last {len(tail)} of {len(lines)} lines)"
                       if len(lines) > len(tail) else "")
                err.add_note(f"{path.name}: the kernel process wrote to stderr{cut}:\n"
                             + "\n".join(tail))
            raise
    return nb


#: How much of a failed kernel's own stderr rides on the error (its end says why it died).
_KERNEL_LOG_LINES = 40


def _close_thread_loop() -> None:
    """Close the asyncio event loop nbclient made for this worker thread (it runs each
    notebook with ``run_until_complete`` on a per-thread loop and leaves it open: an
    "unclosed event loop" ResourceWarning otherwise)."""
    import asyncio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:  # no loop in this thread
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


def _jobs(n: int, jobs: int | None) -> int:
    """Notebooks run at once: *jobs*, else ``ACU_META_NOTEBOOK_JOBS``, else the CPU count."""
    if jobs is None:
        env = os.environ.get("ACU_META_NOTEBOOK_JOBS", "")
        jobs = int(env) if env.strip().isdigit() else (os.cpu_count() or 1)
    return max(1, min(n, jobs))


def render_all(folder: Path, out: Path,
               progress: Callable[[int, int, Path, float], None] | None = None,
               jobs: int | None = None) -> list[Path]:
    """Execute every ``*.ipynb`` in *folder* and write ``<name>.html`` into *out*.

    The notebooks run *jobs* at a time (default: one per CPU; each has its own kernel
    process, so threads here only wait on them). *progress*, if given, is called as
    ``progress(i, n, html_path, seconds)`` as soon as the i-th of n notebooks is written (in
    the order they finish). Returns the HTML paths in notebook order. The first failing
    notebook's error is raised after the running ones finish."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    paths = sorted(folder.glob("*.ipynb"))

    def one(path: Path) -> tuple[Path, float]:
        start = time.perf_counter()
        try:
            nb = execute(path)
        finally:
            if threading.current_thread() is not threading.main_thread():
                _close_thread_loop()
        body, _ = HTMLExporter().from_notebook_node(nb)
        target = out / f"{path.stem}.html"
        target.write_text(body, encoding="utf-8")
        return target, time.perf_counter() - start

    n_jobs = _jobs(len(paths), jobs)
    if n_jobs == 1:  # in this thread, in order: no worker threads, no extra event loops
        for i, path in enumerate(paths, start=1):
            target, seconds = one(path)
            if progress is not None:
                progress(i, len(paths), target, seconds)
        return [out / f"{path.stem}.html" for path in paths]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        futures = {pool.submit(one, path): path for path in paths}
        for i, fut in enumerate(as_completed(futures), start=1):
            target, seconds = fut.result()
            if progress is not None:
                progress(i, len(paths), target, seconds)
    return [out / f"{path.stem}.html" for path in paths]
