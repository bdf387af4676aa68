"""escalc against metafor 3.8.1 ``escalc()``, case by case, on the committed fixture grid.

Fixture: ``tests/fixtures/metafor_reference.json`` (``validation/metafor/reference.R``; the
grid's size is guarded in ``tests/models/test_metafor_reference.py``). Effect sizes and their
variances are closed forms: ``CLOSED_FORM`` (``tests/tolerances.py``).
"""

from __future__ import annotations

import math

import pytest
from _metafor import REF, assert_close, escalc_case
from tolerances import CLOSED_FORM


@pytest.mark.parametrize("case", REF["escalc"], ids=[e["id"] for e in REF["escalc"]])
def test_escalc(case):
    es = escalc_case(case)
    for i, (y, v) in enumerate(zip(case["yi"], case["vi"], strict=True)):
        if y is None or isinstance(y, str):
            # metafor gives NA or +-Inf: acu_meta gives NaN and lists the study as excluded
            assert math.isnan(es.yi[i])
            assert es.study[i] in {s for s, _ in es.excluded}
            continue
        assert_close(es.yi[i], y, CLOSED_FORM, f"yi[{i}]")
        assert_close(es.vi[i], v, CLOSED_FORM, f"vi[{i}]")
