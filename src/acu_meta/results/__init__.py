"""Results objects: frozen dataclasses with summary(), to_frame(), conf_int(), _repr_html_.

:func:`pool` (one meta-analysis), :func:`subgroups` (test of subgroup difference) and
:func:`metareg` (meta-regression) build them from the engines in :mod:`acu_meta.models`.
"""

from .meta import METHODS, PROFILES, Homogeneity, MetaResult, pool
from .moderators import MetaRegressionResult, SubgroupResult, metareg, subgroups

__all__ = [
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
