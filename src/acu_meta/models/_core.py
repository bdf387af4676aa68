"""The numeric engine of the (mixed-effects) meta-analysis model, as metafor's ``rma.uni``.

Model: ``y_i = x_i' beta + u_i + e_i``, ``u_i ~ N(0, tau2)``, ``e_i ~ N(0, v_i)``, with ``v_i``
known. The fit runs in metafor's order, as small steps: weights -> heterogeneity (tau2) ->
fit, tests and intervals -> heterogeneity test -> fit statistics.

The tau2 estimators (``method``: FE, DL, HE, HS, SJ, PM, EB, ML, REML) are defined in
:mod:`acu_meta.models._tau2` and looked up by name in :mod:`acu_meta.models.registry`; all
estimates are truncated at 0, as in metafor.

How convergence is guaranteed
-----------------------------
metafor solves ML/REML/EB by Fisher scoring from a starting value and can fail to converge (about
1 random k = 10 data set in 200 with its defaults). Here every iterative estimator is a root of a
continuous function of the single unknown tau2 >= 0, found by bracketing and Brent's method
(:mod:`acu_meta.models._roots`): for ML/REML every + to - sign change of the score on a grid is
a local maximum, and the one with the largest log-likelihood (or tau2 = 0 when the score is
negative there and that is larger) is returned, so a multimodal likelihood gives the global
maximum rather than whichever local one Fisher scoring would reach. PM's and the Q-profile's
functions are monotone, so they have a single root.

Cost (issue #16)
----------------
No k x k matrix is formed: every quantity (Q, tr(P0) of the typical variance and of DL, the
REML score and tr(P P) of the SE of tau2, HE's leverages) has the O(k p^2) form derived in
:mod:`acu_meta.models._linalg`, with the weights divided by their maximum in every sum (no
overflow for finite positive variances, issue #17). One fit is linear in k: k = 100,000 takes
tens of milliseconds for any method (``tests/results/test_pool_large_k.py`` checks the numbers
against the batch engine and the peak memory; the forms against exact arithmetic in
``tests/models/test_linalg_forms.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import numeric
from ..errors import ModelError
from ..numeric import h2_from_q, h2_from_tau2, i2_from_q, i2_from_tau2
from . import registry
from ._linalg import trace_p, weighted_fits, wls
from ._roots import decreasing_root, scale_of
from ._tau2 import loglik as _loglik  # noqa: F401  (kept importable for the property tests)
from ._tau2 import qgen
from ._tau2 import score as _score  # noqa: F401

#: The built-in tau2 methods, in registration order (``registry.names()`` is the live list).
TAU2_METHODS = registry.BUILTIN


@dataclass(frozen=True)
class Fit:
    """Raw numbers of one fitted model (see :mod:`acu_meta.results` for the public objects)."""

    beta: np.ndarray  # (p,)
    vb: np.ndarray  # (p, p) variance-covariance of beta (HKSJ-scaled when hksj)
    tau2: float
    se_tau2: float
    k: int
    p: int
    method: str
    hksj: bool
    df: float  # residual df for t tests (k - p) or inf for z tests
    QE: float
    QE_df: int
    QE_p: float
    I2: float
    H2: float
    vt: float  # "typical" within-study variance (metafor's s^2)
    weights: np.ndarray  # 1 / (v_i + tau2)
    s2_hksj: float  # Knapp-Hartung scale factor (1 when not used)
    iterations: int  # evaluations of the tau2 estimating function (0: closed form, fixed tau2)


def estimate_tau2(method: str, y, v, X) -> tuple[float, int]:
    """tau2 by *method* (any registered name); returns (tau2, evaluations of its estimating
    function, 0 for closed forms). tau2 = 0 when there are no residual df (k <= p)."""
    est = registry.get(method)
    k, p = X.shape
    if k <= p:
        return 0.0, 0
    tau2, evals = est.estimate(y, v, X)
    if not math.isfinite(tau2):
        raise ModelError(f"tau2 ({est.name}) is above the largest double (1.8e308): the "
                         "effects differ by more than about 1e154")
    return float(tau2), int(evals)


def q_profile_ci(y, v, X, level: float) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's confint()."""
    k, p = X.shape
    if k - p < 1:
        return (np.nan, np.nan)
    alpha = 1 - level
    scale = scale_of(y, v)
    out = []
    for crit in (numeric.chi2_ppf(1 - alpha / 2, k - p), numeric.chi2_ppf(alpha / 2, k - p)):
        def f(t, crit=crit):
            return qgen(t, y, v, X) - crit
        out.append(decreasing_root(f, scale)[0])
    return out[0], out[1]


def typical_variance(v, X) -> float:
    """metafor's s^2 = (k - p) / tr(P0), the 'typical' within-study variance used for I2.

    ``tr(P0) = sum w_i (1 - h_i)``, ``w = 1 / v`` (O(k p^2),
    :func:`acu_meta.models._linalg.trace_p`), computed as ``c tr(P0 / c)`` with ``c = max(w)``:
    ``s^2 = ((k - p) / tr(P0 / c)) / c``.
    """
    return _typical_variance(weighted_fits(None, X, 1.0 / v), X)


def _typical_variance(F0, X) -> float:
    k, p = X.shape
    return float((k - p) / float(trace_p(F0, X)[0]) / float(F0.scale[0]))


def _inputs(y, v, X):
    """Arrays y, v and the (k, p) model matrix X (intercept only when None), checked."""
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    X = np.ones((k, 1)) if X is None else np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if k == 0:
        raise ModelError("no studies to pool")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)):
        raise ModelError("yi and vi must be finite")
    if np.any(v <= 0):
        raise ModelError("sampling variances must be positive")
    if k < X.shape[1]:
        raise ModelError(f"{k} studies cannot estimate {X.shape[1]} coefficients")
    return y, v, X


def _heterogeneity(est: registry.Tau2Estimator, t2: float, y, v, X):
    """The Q test (FE weights) and I2, H2: Q-based for a fixed-effect method, tau2-based
    (with metafor's typical variance) otherwise. Returns QE, QE_df, QE_p, vt, I2, H2."""
    k, p = X.shape
    F0 = weighted_fits(y, X, 1.0 / v)
    QE = float(F0.rss[0])
    QE_df = k - p
    QE_p = float(numeric.chi2_sf(QE, QE_df)) if QE_df > 0 else np.nan
    vt = _typical_variance(F0, X) if QE_df > 0 else np.nan
    if est.kind == "fixed":
        I2, H2 = i2_from_q(QE, QE_df), h2_from_q(QE, QE_df)
    else:
        I2, H2 = i2_from_tau2(t2, vt), h2_from_tau2(t2, vt)
    return QE, QE_df, QE_p, vt, I2, H2


def fit(y, v, X=None, method: str = "REML", hksj: bool = False, tau2: float | None = None,
        hksj_adhoc: bool = False) -> Fit:
    """Fit the model; see the module docstring. ``tau2`` fixes tau2 instead of estimating it.

    ``hksj_adhoc`` (with ``hksj``): the Knapp-Hartung ad hoc modification (Knapp & Hartung
    2003; Roever, Knapp & Friede 2015; Jackson et al. 2017): the scale factor is
    ``max(1, s2)``, so the HKSJ variance is never smaller than the Wald one. Checked against the
    hand formula in ``tests/analyses/test_answer.py`` and against metafor 3.8.1
    ``rma(test="adhoc")`` in ``tests/results/test_adhoc_metafor.py``.

    Validated against metafor 3.8.1 ``rma.uni`` (``tests/models/test_metafor_reference.py``,
    with ``tests/fixtures/metafor_reference.json``; properties in
    ``tests/models/test_models_properties.py``).
    """
    est = registry.get(method)
    y, v, X = _inputs(y, v, X)
    k, p = X.shape
    if tau2 is None:
        t2, iters = estimate_tau2(est.name, y, v, X)
    else:
        t2, iters = float(tau2), 0
    w = 1.0 / (v + t2)
    f = wls(y, X, w)
    vb, s2, df = f.Ainv, 1.0, np.inf
    if hksj:
        df = float(k - p)
        if k - p > 0:
            s2 = f.rss / (k - p)
            if not math.isfinite(s2):  # issue #17's fuzz test: FE, --hksj, yi of 1e154
                raise ModelError("the Knapp-Hartung scale (HKSJ) is above the largest double "
                                 "(1.8e308): the effects differ by more than about 1e154")
            vb = (f.rss / f.scale / (k - p)) * f.Ainv_s  # s2 (X'WX)^-1 with W / max(W)
            if hksj_adhoc and s2 < 1:
                s2, vb = 1.0, f.Ainv
    QE, QE_df, QE_p, vt, I2, H2 = _heterogeneity(est, t2, y, v, X)
    se_t2 = est.se_tau2(t2, y, v, X) if k > p else np.nan
    return Fit(
        beta=f.beta, vb=vb, tau2=float(t2), se_tau2=se_t2, k=k, p=p, method=est.name,
        hksj=hksj, df=df, QE=float(QE), QE_df=int(QE_df), QE_p=QE_p, I2=float(I2),
        H2=float(H2), vt=vt, weights=w, s2_hksj=float(s2), iterations=iters,
    )
