"""Row-wise batch computations on Dask: chunk by chunk, on a ``dask.distributed`` cluster or
Dask's local scheduler.

A simulation study or the GOSH analysis of a large k outgrows one machine long before anything
else here. The batch engines (:func:`acu_meta.results.batch.pool_many`,
:func:`acu_meta.models.bayes_batch.bayes_many`) fit each row of ``(B, k)`` arrays
independently, so they distribute without a scheduler of our own: :func:`map_rows` splits the
rows into blocks with ``dask.array.map_blocks`` and runs the in-process engine on each block, on
whatever workers the Dask client has.

Why Dask: it is the maintained, widely deployed engine for exactly this (numpy blocks,
``LocalCluster`` for tests, the same code on a cluster of many machines via
``dask.distributed.Client(address)``, dask-jobqueue or Kubernetes); the blocks are plain numpy,
so the results equal the in-process run bit for bit. It is an optional dependency (extra
``distributed``); it is imported only when a Dask array or a client is passed.

Validated in ``tests/results/test_distributed.py``: on a ``LocalCluster`` with two workers,
``pool_many`` and ``gosh`` equal the in-process run exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InputError

#: Rows per Dask block when the input is a numpy array: large enough that scheduling overhead
#: (about 1 ms per task on a LocalCluster) is small beside the fits (about 6 us each at k = 10).
DEFAULT_BLOCK_ROWS = 1 << 16


def is_dask(x) -> bool:
    """True for a Dask collection (duck-typed: no Dask import)."""
    return hasattr(x, "__dask_graph__")


def _dask_array():
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - the dev extra installs dask
        raise InputError("a Dask array or client needs dask: pip install 'acu_meta[distributed]'"
                         ) from exc
    return da


def as_row_blocks(arrays: Sequence, block_rows: int | None = None) -> list:
    """The ``(B, k)`` inputs as Dask arrays with the same row blocks and one column block."""
    da = _dask_array()
    first = arrays[0]
    if first.ndim != 2:
        raise InputError(f"expected (B, k) arrays, got shape {tuple(first.shape)}")
    k = first.shape[1]
    if is_dask(first):
        rows = first.chunks[0] if block_rows is None else block_rows
    else:
        rows = block_rows or DEFAULT_BLOCK_ROWS
    out = []
    for a in arrays:
        if tuple(a.shape) != tuple(first.shape):
            raise InputError(f"shapes differ: {tuple(first.shape)} and {tuple(a.shape)}")
        a = a if is_dask(a) else da.from_array(np.asarray(a, dtype=float), chunks=(rows, k))
        out.append(a.astype(float).rechunk((rows, k)))
    return out


def map_rows(fn: Callable[..., dict], arrays: Sequence, names: Sequence[str], client=None,
             block_rows: int | None = None) -> dict[str, np.ndarray]:
    """Apply a row-wise batch function block by block with Dask and gather its arrays.

    Parameters
    ----------
    fn
        ``fn(*blocks) -> mapping`` of per-row 1-D arrays (numbers or booleans) for the *names*;
        a module-level function or a ``functools.partial`` of one (it is pickled to the
        workers).
    arrays
        ``(B, k)`` numpy or Dask arrays, all the same shape.
    names
        The arrays of *fn*'s result to gather.
    client
        A ``dask.distributed.Client``; None uses Dask's current scheduler (a client made
        earlier in the session, else the local threaded scheduler).
    block_rows
        Rows per block (default: the Dask input's row chunks, else :data:`DEFAULT_BLOCK_ROWS`).

    Returns
    -------
    dict
        One length-``B`` float array per name, in row order.
    """
    da = _dask_array()
    blocks = as_row_blocks(arrays, block_rows)
    names = tuple(names)

    def block(*bs):
        res = fn(*bs)
        return np.column_stack([np.asarray(res[n], dtype=float) for n in names])

    stacked = da.map_blocks(block, *blocks, dtype=float,
                            chunks=(blocks[0].chunks[0], (len(names),)))
    values = client.compute(stacked).result() if client is not None else stacked.compute()
    return {n: np.ascontiguousarray(values[:, j]) for j, n in enumerate(names)}
