"""The compiled batch kernel (numba) equals the numpy batch path (issue #16).

Tolerance ``SAME_ENGINE`` (tests/tolerances.py): two implementations of the same definitions
that differ only in summation order and where inside the root's tolerance they stop.
"""

from __future__ import annotations

import numpy as np
import pytest
from tolerances import SAME_ENGINE

from acu_meta.errors import ModelError
from acu_meta.models import _kernel, fit
from acu_meta.models.batch import _FIELDS, fit_many
from acu_meta.simulate import simulate_smd

pytestmark = pytest.mark.skipif(not _kernel.available(), reason="numba not installed")

# two local maxima of the restricted likelihood (tests/results/test_batch.py::MULTIMODAL)
MULTIMODAL = [
    ([5.44, -0.14, -0.74, -0.12, -0.01], [1.1594, 0.0025, 0.205, 0.0054, 0.0168]),
    ([-6.85, -3.66, 0.27, -3.51], [0.9358, 0.0031, 8.5469, 0.0117]),
]


def _data():
    rng = np.random.default_rng(20261202)
    y, v = simulate_smd(9, 600, mu=0.3, tau2=0.08, rng=rng)
    y[::4, 6:] = np.nan  # ragged rows
    v[::4, 6:] = np.nan
    y[1, 1:] = np.nan  # k = 1
    y[2, 2:] = np.nan  # k = 2
    y[3, :] = np.nan  # k = 0
    y[5] = 0.2  # all equal: tau2 = 0
    for i, (yy, vv) in enumerate(MULTIMODAL):
        y[10 + i] = np.nan
        v[10 + i] = np.nan
        y[10 + i, : len(yy)] = yy
        v[10 + i, : len(vv)] = vv
    return y, v


def _assert_same(a, b):
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=name)
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=SAME_ENGINE, atol=SAME_ENGINE,
                                   err_msg=name)
    np.testing.assert_array_equal(a.k, b.k)
    np.testing.assert_array_equal(a.converged, b.converged)


@pytest.mark.parametrize("hksj", [False, True])
@pytest.mark.parametrize("method", _kernel.METHODS)
def test_kernel_equals_numpy_path(method, hksj):
    y, v = _data()
    numpy_fit = fit_many(y, v, method=method, hksj=hksj, engine="numpy")
    kernel_fit = fit_many(y, v, method=method, hksj=hksj, engine="numba")
    _assert_same(numpy_fit, kernel_fit)
    assert kernel_fit.tau2[5] == 0.0 and np.isnan(kernel_fit.tau2[3])
    assert not kernel_fit.converged[3] and kernel_fit.k[1] == 1


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_multimodal_rows_take_the_full_search_and_give_the_global_maximum(method):
    y, v = _data()
    _, _, hard = _kernel.ml_tau2(y, v, reml=method == "REML")
    assert hard[10] and hard[11]  # several sign changes on the screening grid
    res = fit_many(y, v, method=method, engine="numba")
    for i, (yy, vv) in enumerate(MULTIMODAL):
        single = fit(yy, vv, method=method)
        np.testing.assert_allclose(res.tau2[10 + i], single.tau2, rtol=SAME_ENGINE)


def test_engine_choice(monkeypatch):
    y, v = _data()
    with pytest.raises(ModelError, match="engine must be"):
        fit_many(y, v, engine="fortran")
    monkeypatch.setenv("ACU_META_KERNEL", "numpy")
    assert not _kernel.available()
    with pytest.raises(ModelError, match="needs numba"):
        fit_many(y, v, engine="numba")
    _assert_same(fit_many(y, v, engine="numpy"), fit_many(y, v))  # auto falls back to numpy
