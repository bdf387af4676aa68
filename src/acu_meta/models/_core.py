"""The numeric engine of the (mixed-effects) meta-analysis model, as metafor's ``rma.uni``.

Model: ``y_i = x_i' beta + u_i + e_i``, ``u_i ~ N(0, tau2)``, ``e_i ~ N(0, v_i)``, with ``v_i``
known. The fit runs in metafor's order, as small steps: weights -> heterogeneity (tau2) ->
fit, tests and intervals -> heterogeneity test -> fit statistics.

tau2 estimators (``method``)
---------------------------
FE
    tau2 = 0 (fixed / common effect, inverse-variance weights).
DL
    DerSimonian-Laird: ``(Q - (k - p)) / tr(P0)``, P0 the FE residual-maker.
HE
    Hedges (unweighted method of moments): ``(RSS_ols - tr(R V)) / (k - p)``.
HS
    Hunter-Schmidt: ``(Q - k) / sum(w)``.
SJ
    Sidik-Jonkman: ``tau0 * y'P(tau0)y / (k - p)`` from the initial value
    ``tau0 = mean((y - mean(y))^2)`` (metafor's choice, also with moderators).
PM
    Paule-Mandel: the root of ``y'P(tau2)y = k - p``.
EB
    Empirical Bayes (Morris 1983; Berkey et al. 1995), in metafor's form: the root of
    ``sum w_i (k/(k-p) r_i^2 - v_i) / sum w_i = tau2``, which is algebraically the PM equation
    (so EB equals PM, as metafor's documentation notes).
ML, REML
    Maximum / restricted maximum likelihood: the maximizer of the (restricted) log-likelihood.

All estimates are truncated at 0, as in metafor.

How convergence is guaranteed
-----------------------------
metafor solves ML/REML/EB by Fisher scoring from a starting value and can fail to converge (about
1 random k = 10 data set in 200 with its defaults). Here every iterative estimator is a root of a
continuous function of the single unknown tau2 >= 0, so it is found by *bracketing*: the function
is evaluated on a grid over [0, hi], where ``hi`` is doubled until the function's sign at ``hi`` is
the one it must have for large tau2; each sign change is then refined by Brent's method
(``scipy.optimize.brentq``, guaranteed to converge on a bracket, to ``xtol = 1e-15 * scale``).
For ML/REML every sign change of the score from + to - is a local maximum; the one with the
largest log-likelihood (or tau2 = 0 when the score is negative there and that is larger) is
returned, so a multimodal likelihood gives the global maximum rather than whichever local one
Fisher scoring would reach. PM's and the Q-profile's functions are monotone, so they have a
single root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

TAU2_METHODS = ("FE", "DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")
_GRID = 64


class ModelError(ValueError):
    """Input a model cannot be fitted to (the message says why)."""


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
    iterations: int


# ------------------------------------------------------------------------------ linear algebra


def _wls(y: np.ndarray, w: np.ndarray, X: np.ndarray):
    """Weighted least squares: beta, (X'WX)^-1, residuals, weighted RSS."""
    XtW = X.T * w
    A = XtW @ X
    try:
        Ainv = np.linalg.inv(A)
    except np.linalg.LinAlgError as err:
        raise ModelError("model matrix is not of full rank") from err
    beta = Ainv @ (XtW @ y)
    resid = y - X @ beta
    return beta, Ainv, resid, float(np.sum(w * resid**2))


def _pmat(w: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> np.ndarray:
    """P = W - W X (X'WX)^-1 X' W."""
    WX = X * w[:, None]
    return np.diag(w) - WX @ Ainv @ WX.T


def _qgen(tau2: float, y, v, X) -> float:
    """Generalized Q: y' P(tau2) y (weighted RSS around the tau2-weighted fit)."""
    return _wls(y, 1.0 / (v + tau2), X)[3]


# ------------------------------------------------------------------------------ root finding


def _scale(y, v) -> float:
    s = max(float(np.var(y)), float(np.mean(v)), 1e-12)
    return s


def _upper(func, sign_large: float, scale: float) -> float:
    """Smallest doubling of scale at which func has the sign it must have for large tau2."""
    hi = scale
    for _ in range(2000):
        if np.sign(func(hi)) == sign_large or func(hi) == 0:
            return hi
        hi *= 2.0
    raise ModelError("could not bracket tau2 (the estimating function never changes sign)")


def _roots(func, hi: float, scale: float) -> list[float]:
    """All sign changes of func on [0, hi], each refined by Brent's method."""
    grid = np.concatenate(
        [[0.0], np.geomspace(hi * 1e-10, hi, _GRID)]
    )
    vals = np.array([func(t) for t in grid])
    roots = []
    for i in range(len(grid) - 1):
        a, b = grid[i], grid[i + 1]
        fa, fb = vals[i], vals[i + 1]
        if fa == 0:
            roots.append(a)
        elif fa * fb < 0:
            roots.append(optimize.brentq(func, a, b, xtol=1e-15 * scale,
                                         rtol=4 * np.finfo(float).eps, maxiter=500))
    if vals[-1] == 0:
        roots.append(grid[-1])
    return roots


def _root_decreasing(func, target_positive_at_zero: bool, scale: float) -> float:
    """Root of a function that is positive at 0 and negative for large tau2; 0 otherwise."""
    if not target_positive_at_zero:
        return 0.0
    hi = _upper(func, -1.0, scale)
    return optimize.brentq(func, 0.0, hi, xtol=1e-15 * scale, rtol=4 * np.finfo(float).eps,
                           maxiter=1000)


# ------------------------------------------------------------------------------ likelihoods


def _loglik(tau2: float, y, v, X, reml: bool) -> float:
    w = 1.0 / (v + tau2)
    beta, Ainv, resid, rss = _wls(y, w, X)
    k, p = X.shape
    ll = -0.5 * (np.sum(np.log(v + tau2)) + rss)
    if reml:
        sign, logdet = np.linalg.slogdet(np.linalg.inv(Ainv))
        ll -= 0.5 * logdet
        ll -= 0.5 * (k - p) * np.log(2 * np.pi)
    else:
        ll -= 0.5 * k * np.log(2 * np.pi)
    return float(ll)


def _score(tau2: float, y, v, X, reml: bool) -> float:
    w = 1.0 / (v + tau2)
    _, Ainv, _, _ = _wls(y, w, X)
    P = _pmat(w, X, Ainv)
    Py = P @ y
    tr = np.trace(P) if reml else np.sum(w)
    return float(Py @ Py - tr)


# ------------------------------------------------------------------------------ estimators


def _tau2_closed(method: str, y, v, X) -> float:
    k, p = X.shape
    w = 1.0 / v
    if method == "DL":
        _, Ainv, _, Q = _wls(y, w, X)
        trP = np.trace(_pmat(w, X, Ainv))
        return max(0.0, (Q - (k - p)) / trP)
    if method == "HE":
        H = X @ np.linalg.inv(X.T @ X) @ X.T
        R = np.eye(k) - H
        rss = float(y @ R @ y)
        return max(0.0, (rss - float(np.sum(np.diag(R) * v))) / (k - p))
    if method == "HS":
        _, _, _, Q = _wls(y, w, X)
        return max(0.0, (Q - k) / np.sum(w))
    if method == "SJ":
        # metafor 3.8: the initial value is the mean square around the unweighted mean,
        # also in meta-regression
        tau0 = float(np.mean((y - y.mean()) ** 2))
        if tau0 <= 0:
            return 0.0
        Q = _qgen(tau0, y, v, X)
        return max(0.0, tau0 * Q / (k - p))
    raise ModelError(f"unknown method {method!r}")


def estimate_tau2(method: str, y, v, X) -> tuple[float, int]:
    """tau2 by *method*; returns (tau2, number of function evaluations or 0 if closed form)."""
    k, p = X.shape
    if method == "FE" or k <= p:
        return 0.0, 0
    if method in ("DL", "HE", "HS", "SJ"):
        return _tau2_closed(method, y, v, X), 0
    scale = _scale(y, v)
    if method == "PM":
        def f(t):
            return _qgen(t, y, v, X) - (k - p)
        return _root_decreasing(f, f(0.0) > 0, scale), 1
    if method == "EB":
        def f(t):
            w = 1.0 / (v + t)
            _, _, resid, _ = _wls(y, w, X)
            return float(np.sum(w * (k / (k - p) * resid**2 - v)) / np.sum(w)) - t
        return _root_decreasing(f, f(0.0) > 0, scale), 1
    if method in ("ML", "REML"):
        reml = method == "REML"

        def sc(t):
            return _score(t, y, v, X, reml)

        hi = _upper(sc, -1.0, scale)
        cands = [r for r in _roots(sc, hi, scale)]
        # keep only local maxima (score + to -) and the boundary when the score is <= 0 there
        maxima = []
        for r in cands:
            eps = max(r * 1e-7, 1e-14 * scale)
            if r == 0.0 or sc(max(r - eps, 0.0)) >= 0 >= sc(r + eps):
                maxima.append(r)
        if sc(0.0) <= 0:
            maxima.append(0.0)
        if not maxima:  # pragma: no cover - cannot happen: sc(0) > 0 and sc(hi) < 0
            raise ModelError("no maximum of the likelihood was bracketed")
        best = max(set(maxima), key=lambda t: _loglik(t, y, v, X, reml))
        return float(best), len(cands)
    raise ModelError(f"unknown method {method!r}; use one of {', '.join(TAU2_METHODS)}")


def q_profile_ci(y, v, X, level: float) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's confint()."""
    k, p = X.shape
    if k - p < 1:
        return (np.nan, np.nan)
    alpha = 1 - level
    scale = _scale(y, v)
    q0 = _qgen(0.0, y, v, X)
    out = []
    for crit in (stats.chi2.ppf(1 - alpha / 2, k - p), stats.chi2.ppf(alpha / 2, k - p)):
        def f(t, crit=crit):
            return _qgen(t, y, v, X) - crit
        out.append(_root_decreasing(f, q0 > crit, scale))
    return out[0], out[1]


def typical_variance(v, X) -> float:
    """metafor's s^2 = (k - p) / tr(P0), the 'typical' within-study variance used for I2."""
    k, p = X.shape
    w = 1.0 / v
    Ainv = np.linalg.inv((X.T * w) @ X)
    return float((k - p) / np.trace(_pmat(w, X, Ainv)))


def fit(y, v, X=None, method: str = "REML", hksj: bool = False, tau2: float | None = None) -> Fit:
    """Fit the model; see the module docstring. ``tau2`` fixes tau2 instead of estimating it.

    Validated against metafor 3.8.1 ``rma.uni`` (``tests/models/test_metafor_reference.py``).
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    k = len(y)
    if X is None:
        X = np.ones((k, 1))
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    p = X.shape[1]
    method = method.upper()
    if method not in TAU2_METHODS:
        raise ModelError(f"unknown method {method!r}; use one of {', '.join(TAU2_METHODS)}")
    if k == 0:
        raise ModelError("no studies to pool")
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(v)):
        raise ModelError("yi and vi must be finite")
    if np.any(v <= 0):
        raise ModelError("sampling variances must be positive")
    if k < p:
        raise ModelError(f"{k} studies cannot estimate {p} coefficients")
    # heterogeneity
    if tau2 is None:
        t2, iters = estimate_tau2(method, y, v, X)
    else:
        t2, iters = float(tau2), 0
    # fit
    w = 1.0 / (v + t2)
    beta, Ainv, resid, rss = _wls(y, w, X)
    vb = Ainv
    s2 = 1.0
    df = np.inf
    if hksj:
        df = float(k - p)
        if k - p > 0:
            s2 = rss / (k - p)
            vb = s2 * Ainv
    # heterogeneity test (always with FE weights)
    w0 = 1.0 / v
    QE = _wls(y, w0, X)[3]
    QE_df = k - p
    QE_p = float(stats.chi2.sf(QE, QE_df)) if QE_df > 0 else np.nan
    # I2, H2
    vt = typical_variance(v, X) if QE_df > 0 else np.nan
    if method == "FE":
        I2 = max(0.0, 100 * (QE - QE_df) / QE) if QE_df > 0 and QE > 0 else 0.0
        H2 = QE / QE_df if QE_df > 0 else np.nan
    else:
        I2 = 100 * t2 / (vt + t2) if QE_df > 0 else np.nan
        H2 = t2 / vt + 1 if QE_df > 0 else np.nan
    # standard error of tau2 (information-based, ML / REML only)
    se_t2 = np.nan
    if method in ("ML", "REML") and k > p:
        P = _pmat(w, X, Ainv)
        info = np.trace(P @ P) if method == "REML" else np.sum(w**2)
        se_t2 = float(np.sqrt(2 / info))
    return Fit(
        beta=beta, vb=vb, tau2=float(t2), se_tau2=se_t2, k=k, p=p, method=method, hksj=hksj,
        df=df, QE=float(QE), QE_df=int(QE_df), QE_p=QE_p, I2=float(I2), H2=float(H2),
        vt=vt, weights=w, s2_hksj=float(s2), iterations=iters,
    )
