"""The effects layer's errors are the project's InputError (one line and exit status 2 in the
CLI), and still ValueErrors for user code."""

from __future__ import annotations

import pytest

from acu_meta import errors, models
from acu_meta.effects import EffectSizeError, escalc
from acu_meta.effects.escalc import hedges_j
from acu_meta.models.network import NetworkError
from acu_meta.numeric import hedges_j as numeric_hedges_j


def test_error_classes():
    assert issubclass(EffectSizeError, errors.InputError)
    assert models.ModelError is errors.ModelError
    assert issubclass(NetworkError, errors.ModelError)
    for cls in (EffectSizeError, models.ModelError, NetworkError):
        assert issubclass(cls, errors.AcuMetaError) and issubclass(cls, ValueError)


def test_bad_escalc_input_is_an_input_error():
    with pytest.raises(errors.InputError, match="unknown measure 'XYZ'"):
        escalc("XYZ", yi=[0.1], vi=[0.01])
    with pytest.raises(errors.InputError, match="measure GEN needs 'vi' or 'sei'"):
        escalc("GEN", yi=[0.1])
    with pytest.raises(errors.InputError, match="differ in length"):
        escalc("MD", m1i=[1, 2], sd1i=[1, 1], n1i=[10, 10], m2i=[0], sd2i=[1], n2i=[10])


def test_escalc_hedges_j_is_the_numeric_one():
    assert hedges_j is numeric_hedges_j
