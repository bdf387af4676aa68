"""Results objects: frozen dataclasses with summary(), to_frame(), conf_int(), _repr_html_.

:func:`pool` (one meta-analysis), :func:`subgroups` (test of subgroup difference) and
:func:`metareg` (meta-regression) build them from the engines in :mod:`acu_meta.models`.
"""

from .batch import BatchResult, GoshResult, gosh, pool_many
from .meta import METHODS, PROFILES, Homogeneity, MetaResult, pool
from .moderators import MetaRegressionResult, SubgroupResult, metareg, subgroups
from .sensitivity import (
    BIAS_KEYS,
    CumulativeResult,
    FsnResult,
    InfluenceResult,
    LeaveOneOutResult,
    PetPeeseResult,
    RanktestResult,
    RegtestResult,
    TrimfillResult,
    bias_summary,
    cumulative,
    fsn,
    influence,
    leave_one_out,
    leave_one_out_records,
    pet_peese,
    ranktest,
    regtest,
    trimfill,
)

__all__ = [
    "BatchResult",
    "GoshResult",
    "gosh",
    "pool_many",
    "BIAS_KEYS",
    "CumulativeResult",
    "FsnResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "PetPeeseResult",
    "RanktestResult",
    "RegtestResult",
    "TrimfillResult",
    "bias_summary",
    "cumulative",
    "fsn",
    "influence",
    "leave_one_out",
    "leave_one_out_records",
    "pet_peese",
    "ranktest",
    "regtest",
    "trimfill",
    "METHODS",
    "PROFILES",
    "Homogeneity",
    "MetaRegressionResult",
    "MetaResult",
    "SubgroupResult",
    "metareg",
    "pool",
    "subgroups",
]
