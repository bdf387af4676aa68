"""pool_many and gosh on Dask (issue #16): a LocalCluster with two workers gives exactly the
in-process result."""

import numpy as np
import pytest

from acu_meta.results.batch import _ARRAYS, gosh, pool_many
from acu_meta.simulate import simulate_smd

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(20261202)
    y, v = simulate_smd(8, 3000, mu=0.3, tau2=0.05, rng=rng)
    y[::7, 5:] = np.nan  # ragged rows
    v[::7, 5:] = np.nan
    return y, v


def _same(a, b):
    for name in _ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.method, a.hksj, a.level) == (b.method, b.hksj, b.level)


@pytest.mark.parametrize("method,hksj", [("REML", False), ("DL", True), ("FE", False)])
def test_pool_many_on_local_cluster_equals_in_process(client, data, method, hksj):
    y, v = data
    local = pool_many(y, v, method=method, hksj=hksj)
    remote = pool_many(y, v, method=method, hksj=hksj, client=client, chunk_rows=700)
    _same(local, remote)
    # the work really ran on both workers
    assert len(client.scheduler_info()["workers"]) == 2


def test_pool_many_accepts_dask_arrays(client, data):
    y, v = data
    Y, V = da.from_array(y, chunks=(500, 8)), da.from_array(v, chunks=(500, 8))
    _same(pool_many(y, v), pool_many(Y, V))
    _same(pool_many(y, v), pool_many(Y, V, client=client))


def test_gosh_on_local_cluster_equals_in_process(client):
    rng = np.random.default_rng(7)
    y = rng.normal(0.3, 0.3, 11)
    v = rng.uniform(0.01, 0.1, 11)
    local = gosh(y, v, method="REML")
    remote = gosh(y, v, method="REML", client=client, chunk=300)
    np.testing.assert_array_equal(local.subsets, remote.subsets)
    for c in ("estimate", "se", "tau2", "I2", "H2", "Q"):
        np.testing.assert_array_equal(getattr(local, c), getattr(remote, c), err_msg=c)
    # random subsets: the same seed draws the same subsets on both routes
    a = gosh(y, v, max_subsets=500, seed=3)
    b = gosh(y, v, max_subsets=500, seed=3, client=client, chunk=128)
    np.testing.assert_array_equal(a.estimate, b.estimate)


def test_mismatched_shapes_refused(data):
    from acu_meta.errors import InputError

    y, v = data
    with pytest.raises(InputError, match="shapes differ"):
        pool_many(da.from_array(y), v[:, :4])
