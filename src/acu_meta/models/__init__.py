"""Pooling engines: fixed and random effects with every tau2 estimator, Mantel-Haenszel, Peto,
meta-regression, many fits at once, network meta-analysis, exact Bayesian random effects
(pairwise: :func:`bayes_meta`; network with a common tau: :func:`bayes_network`). Numbers only;
the public results objects are in :mod:`acu_meta.results`.

The tau2 estimators are registered, one entry each, in :mod:`acu_meta.models.registry`.
"""

from ..errors import ModelError
from . import registry
from ._bayes_priors import MuPrior, TauPrior, literature_priors, parse_mu_prior, parse_tau_prior
from ._core import TAU2_METHODS, Fit, estimate_tau2, fit, q_profile_ci, typical_variance
from ._mh import FixedFit, mantel_haenszel, peto
from ._tau2 import dl_from_q
from .batch import BatchFit, fit_many
from .bayes import BayesMeta, PosteriorSummary, bayes_meta
from .bayes_network import BayesNetwork, bayes_network
from .registry import Tau2Estimator

__all__ = [
    "BatchFit",
    "BayesMeta",
    "BayesNetwork",
    "MuPrior",
    "PosteriorSummary",
    "TauPrior",
    "bayes_meta",
    "bayes_network",
    "literature_priors",
    "parse_mu_prior",
    "parse_tau_prior",
    "fit_many",
    "TAU2_METHODS",
    "Fit",
    "FixedFit",
    "ModelError",
    "Tau2Estimator",
    "dl_from_q",
    "estimate_tau2",
    "fit",
    "mantel_haenszel",
    "peto",
    "q_profile_ci",
    "registry",
    "typical_variance",
]
