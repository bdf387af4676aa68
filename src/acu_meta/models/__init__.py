"""Pooling engines: fixed and random effects with every tau2 estimator, Mantel-Haenszel, Peto,
meta-regression. Numbers only; the public results objects are in :mod:`acu_meta.results`."""

from ._core import TAU2_METHODS, Fit, ModelError, estimate_tau2, fit, q_profile_ci, typical_variance
from ._mh import FixedFit, mantel_haenszel, peto
from .batch import BatchFit, fit_many

__all__ = [
    "BatchFit",
    "fit_many",
    "TAU2_METHODS",
    "Fit",
    "FixedFit",
    "ModelError",
    "estimate_tau2",
    "fit",
    "mantel_haenszel",
    "peto",
    "q_profile_ci",
    "typical_variance",
]
