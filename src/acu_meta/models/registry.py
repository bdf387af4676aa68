"""The tau2 estimators, one registration each, looked up by name.

Every consumer of a tau2 method (:func:`acu_meta.models.fit` and
:func:`~acu_meta.models.estimate_tau2`, meta-regression through ``fit``,
:func:`acu_meta.models.fit_many` and :func:`acu_meta.results.batch.pool_many`, the network
model :func:`acu_meta.models.network.fit_network`, the command line's ``--method`` choices)
reads this registry; none of them lists method names. Adding an estimator is one
:func:`register` call with a :class:`Tau2Estimator`:

>>> from acu_meta.models import registry
>>> registry.get("reml").kind
'iterative'
>>> "PM" in registry.names(batch=True)
True

An entry holds

``estimate(y, v, X) -> (tau2, evaluations)``
    the single-fit estimator (``k > p``; the caller gives tau2 = 0 otherwise);
``batch(y, v, m, k) -> (tau2, refit)``
    the vectorized estimator of :mod:`acu_meta.models._tau2_batch` for intercept-only data
    sets held as columns, or None: ``fit_many`` / ``pool_many`` then raise
    :class:`~acu_meta.errors.ModelError` naming the method;
``se(tau2, y, v, X) -> float``
    the standard error of tau2 as metafor 3.8.1 reports it, or None (reported as NaN): ML and
    REML in :mod:`acu_meta.models._tau2`, DL, HE, HS, SJ, PM and EB in
    :mod:`acu_meta.models._tau2_se`;
``network(y, V, R, X) -> tau2``
    the estimator for the network model, or None (the network model then refuses the method).

``kind`` is "fixed" (tau2 = 0; I2 and H2 are then the Q-based statistics), "closed" (closed
form) or "iterative" (a root found by :mod:`acu_meta.models._roots`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ModelError
from . import _tau2, _tau2_batch, _tau2_se

KINDS = ("fixed", "closed", "iterative")


@dataclass(frozen=True)
class Tau2Estimator:
    """One tau2 method: its name, what it is, and the functions that compute it."""

    name: str
    description: str
    kind: str
    estimate: Callable
    batch: Callable | None = None
    se: Callable | None = None
    network: Callable | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.name or self.name != self.name.upper():
            raise ValueError(f"an estimator's name is upper case, got {self.name!r}")

    def se_tau2(self, tau2: float, y, v, X) -> float:
        """The standard error of tau2 (NaN when the method has none)."""
        return float("nan") if self.se is None else float(self.se(tau2, y, v, X))

    def require_batch(self) -> Callable:
        """The batch function; :class:`~acu_meta.errors.ModelError` when there is none."""
        if self.batch is None:
            raise ModelError(f"tau2 method {self.name} has no vectorized (batch) estimator; "
                             f"fit_many / pool_many support {', '.join(names(batch=True))}")
        return self.batch


_REGISTRY: dict[str, Tau2Estimator] = {}


def register(estimator: Tau2Estimator, *, replace: bool = False) -> Tau2Estimator:
    """Add *estimator* under its name (``replace=True`` to overwrite an existing one)."""
    if estimator.name in _REGISTRY and not replace:
        raise ValueError(f"tau2 method {estimator.name} is already registered")
    _REGISTRY[estimator.name] = estimator
    return estimator


def unregister(name: str) -> Tau2Estimator:
    """Remove the estimator called *name* and return it."""
    return _REGISTRY.pop(get(name).name)


def get(name: str) -> Tau2Estimator:
    """The estimator called *name* (any case); ModelError naming the choices if there is none."""
    est = _REGISTRY.get(str(name).upper())
    if est is None:
        raise ModelError(f"unknown method {str(name).upper()!r}; use one of {', '.join(names())}")
    return est


def names(*, batch: bool = False, network: bool = False) -> tuple[str, ...]:
    """Registered names, in registration order; ``batch=True``: only those ``fit_many`` can
    use; ``network=True``: only those the network model can use."""
    return tuple(e.name for e in _REGISTRY.values()
                 if (not batch or e.batch is not None) and (not network or e.network is not None))


@contextmanager
def registered(estimator: Tau2Estimator) -> Iterator[Tau2Estimator]:
    """Register *estimator* for the duration of a ``with`` block (tests, experiments)."""
    register(estimator)
    try:
        yield estimator
    finally:
        _REGISTRY.pop(estimator.name, None)


# ------------------------------------------------------------------------------ built-in methods

for _est in (
    Tau2Estimator("FE", "fixed (common) effect: tau2 = 0, inverse-variance weights", "fixed",
                  _tau2.tau2_fe, _tau2_batch.batch_fe, network=_tau2.network_fe),
    Tau2Estimator("DL", "DerSimonian-Laird method of moments, (Q - df) / tr(P0)", "closed",
                  _tau2.tau2_dl, _tau2_batch.batch_dl, se=_tau2_se.se_tau2_dl,
                  network=_tau2.network_dl),
    Tau2Estimator("HE", "Hedges' unweighted method of moments", "closed",
                  _tau2.tau2_he, _tau2_batch.batch_he, se=_tau2_se.se_tau2_he),
    Tau2Estimator("HS", "Hunter-Schmidt, (Q - k) / sum(w)", "closed",
                  _tau2.tau2_hs, _tau2_batch.batch_hs, se=_tau2_se.se_tau2_hs),
    Tau2Estimator("SJ", "Sidik-Jonkman, from the unweighted mean square", "closed",
                  _tau2.tau2_sj, _tau2_batch.batch_sj, se=_tau2_se.se_tau2_sj),
    Tau2Estimator("PM", "Paule-Mandel: generalized Q equal to its df", "iterative",
                  _tau2.tau2_pm, _tau2_batch.batch_pm, se=_tau2_se.se_tau2_pm),
    Tau2Estimator("EB", "empirical Bayes (Morris), metafor's form; equals PM", "iterative",
                  _tau2.tau2_eb, _tau2_batch.batch_pm, se=_tau2_se.se_tau2_eb),
    Tau2Estimator("ML", "maximum likelihood (global maximum)", "iterative",
                  _tau2.tau2_ml, _tau2_batch.batch_ml, se=_tau2.se_tau2_ml),
    Tau2Estimator("REML", "restricted maximum likelihood (global maximum)", "iterative",
                  _tau2.tau2_reml, _tau2_batch.batch_reml, se=_tau2.se_tau2_reml,
                  network=_tau2.network_reml),
):
    register(_est)
del _est

#: The built-in method names (a snapshot; :func:`names` is live).
BUILTIN = names()

__all__ = ["BUILTIN", "KINDS", "Tau2Estimator", "get", "names", "register", "registered",
           "unregister"]
