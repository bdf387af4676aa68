"""Results objects: frozen dataclasses with summary(), to_frame(), conf_int(), _repr_html_.

:func:`pool` (one meta-analysis), :func:`subgroups` (test of subgroup difference) and
:func:`metareg` (meta-regression), :func:`bayes` (Bayesian random effects) and
:func:`bayes_network`, :func:`network` (frequentist network meta-analysis; the module stays
importable as ``acu_meta.results.network`` through ``sys.modules``/``importlib``, while the
attribute ``acu_meta.results.network`` is the function) build them from the engines in
:mod:`acu_meta.models`.
Everything that pools studies has one drawable shape (:class:`PooledResult`, see
:mod:`acu_meta.results._shape`); :func:`rows` makes that shape from effect sizes without
fitting anything. Results never fit a model inside their methods.
"""

from ._shape import PooledResult, PooledRow, StudyRows, SubgroupedResult, UnpooledRows, rows
from .batch import BatchResult, GoshResult, gosh, pool_many
from .bayes import BayesNetworkResult, BayesResult, bayes, bayes_network
from .meta import PROFILES, Homogeneity, MetaResult, Profile, methods, pool
from .method_table import MethodRow, MethodTable
from .moderators import MetaRegressionResult, SubgroupResult, metareg, subgroups
from .network import Comparison, NetworkResult, network, network_contrasts
from .regression import (
    LikelihoodRatioTest,
    PermutationTest,
    Prediction,
    WaldTest,
    anova,
    permutest,
    predict,
)
from .sensitivity import (
    BIAS_KEYS,
    BaujatResult,
    BiasSummary,
    CumulativeResult,
    FsnResult,
    InfluenceResult,
    LeaveOneOutResult,
    PetPeeseResult,
    RanktestResult,
    RegtestResult,
    TrimfillResult,
    baujat,
    bias_summary,
    cumulative,
    fsn,
    influence,
    leave_one_out,
    leave_one_out_records,
    pet_peese,
    ranktest,
    regtest,
    small_study_effects,
    trimfill,
)

__all__ = [
    "Comparison",
    "NetworkResult",
    "network",
    "network_contrasts",
    "LikelihoodRatioTest",
    "PermutationTest",
    "Prediction",
    "WaldTest",
    "anova",
    "permutest",
    "predict",
    "BayesNetworkResult",
    "BayesResult",
    "MethodRow",
    "MethodTable",
    "bayes",
    "bayes_network",
    "BatchResult",
    "GoshResult",
    "gosh",
    "pool_many",
    "PooledResult",
    "PooledRow",
    "StudyRows",
    "SubgroupedResult",
    "UnpooledRows",
    "rows",
    "BIAS_KEYS",
    "BaujatResult",
    "BiasSummary",
    "CumulativeResult",
    "FsnResult",
    "InfluenceResult",
    "LeaveOneOutResult",
    "PetPeeseResult",
    "RanktestResult",
    "RegtestResult",
    "TrimfillResult",
    "baujat",
    "bias_summary",
    "cumulative",
    "fsn",
    "influence",
    "leave_one_out",
    "leave_one_out_records",
    "pet_peese",
    "ranktest",
    "regtest",
    "small_study_effects",
    "trimfill",
    "METHODS",
    "methods",
    "PROFILES",
    "Homogeneity",
    "MetaRegressionResult",
    "MetaResult",
    "Profile",
    "SubgroupResult",
    "metareg",
    "pool",
    "subgroups",
]


def __getattr__(name: str):
    # ``from acu_meta.results import METHODS``: computed from the registry when asked
    if name == "METHODS":
        return methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
