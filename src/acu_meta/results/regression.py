"""metafor's inference on fitted models: ``predict``, ``anova`` (Wald test of coefficients, or
likelihood-ratio test of two nested fits) and ``permutest`` (permutation test of moderators).

Each returns a frozen result object with ``summary()``, ``to_frame()`` and ``_repr_html_``.
The numbers come from :mod:`acu_meta.models.metareg`; this module only selects and packages
them.

Validated against metafor 3.8.1 on dat.bcg with ``mods = ~ ablat + factor(alloc)``
(``predict(newmods, transf = exp)``, ``anova(res, btt)``, ``anova(full, reduced)`` for ML and
REML, exact ``permutest`` on six studies; random permutations within Monte Carlo error of the
exact p-value) in ``tests/results/test_api_metafor.py``.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import numeric
from ..errors import InputError
from ..models import metareg as core
from ._format import fmt, fmt_p, html_table


def _page(title: str, text: str, frame: pd.DataFrame | None = None) -> str:
    body = f"<p><b>{html.escape(title)}</b></p><pre>{html.escape(text)}</pre>"
    return body + (html_table(frame) if frame is not None else "")


@dataclass(frozen=True)
class Prediction:
    """Predicted (pooled) effects with CI and prediction interval, as metafor's ``predict()``.

    With ``transf`` the estimate and both intervals are transformed and ``se`` is NaN (as
    metafor, which drops the SE of a transformed prediction)."""

    pred: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    level: float
    transformed: bool = False

    @classmethod
    def build(cls, pred, se, ci_low, ci_high, pi_low, pi_high, level, transf=None):
        arrays = [np.asarray(a, dtype=float) for a in (pred, se, ci_low, ci_high, pi_low,
                                                       pi_high)]
        if transf is not None:
            if not callable(transf):
                raise TypeError(f"transf must be a function (e.g. np.exp), not "
                                f"{type(transf).__name__}")
            with np.errstate(over="ignore", invalid="ignore"):
                arrays = [np.asarray(transf(a), dtype=float) if i != 1 else
                          np.full_like(a, np.nan) for i, a in enumerate(arrays)]
        return cls(*arrays, level=float(level), transformed=transf is not None)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"pred": self.pred, "se": self.se, "ci_low": self.ci_low,
                             "ci_high": self.ci_high, "pi_low": self.pi_low,
                             "pi_high": self.pi_high})

    def summary(self, digits: int = 4) -> str:
        return self.to_frame().to_string(float_format=lambda x: fmt(x, digits))

    def __str__(self) -> str:
        return self.summary()

    def __len__(self) -> int:
        return len(self.pred)

    def _repr_html_(self) -> str:
        return _page(f"Predicted values ({self.level * 100:g}% intervals)", "", self.to_frame())


@dataclass(frozen=True)
class WaldTest:
    """Omnibus Wald test of a set of coefficients (metafor's ``anova(res, btt = ...)``): QM on
    m df (chi2), or its F form on (m, k - p) df under Hartung-Knapp."""

    terms: tuple[str, ...]
    QM: float
    df: int
    df2: float  # inf for the chi2 test
    p_value: float
    test: str  # "chi2" or "F"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"terms": ", ".join(self.terms), "QM": self.QM, "df": self.df,
                              "df2": self.df2, "p_value": self.p_value, "test": self.test}])

    def summary(self, digits: int = 4) -> str:
        head = f"Test of Moderators (coefficient(s) {', '.join(self.terms)}):"
        if self.test == "F":
            return (f"{head}\nF(df1 = {self.df}, df2 = {self.df2:g}) = {fmt(self.QM, digits)}, "
                    f"p-val = {fmt_p(self.p_value, digits)}")
        return (f"{head}\nQM(df = {self.df}) = {fmt(self.QM, digits)}, p-val = "
                f"{fmt_p(self.p_value, digits)}")

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _page("Wald test", self.summary())


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Likelihood-ratio test of two nested fits (metafor's ``anova(full, reduced)``)."""

    method: str
    parms_full: int
    parms_reduced: int
    ll_full: float
    ll_reduced: float
    AIC_full: float
    AIC_reduced: float
    BIC_full: float
    BIC_reduced: float
    LRT: float
    df: int
    p_value: float
    QE_full: float
    QE_reduced: float
    tau2_full: float
    tau2_reduced: float
    R2: float  # percent: pseudo-R2 of the reduction in tau2 (NaN for FE)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"df": [self.parms_full, self.parms_reduced], "AIC": [self.AIC_full,
                                                               self.AIC_reduced],
             "BIC": [self.BIC_full, self.BIC_reduced], "logLik": [self.ll_full, self.ll_reduced],
             "LRT": [math.nan, self.LRT], "p_value": [math.nan, self.p_value],
             "QE": [self.QE_full, self.QE_reduced], "tau2": [self.tau2_full, self.tau2_reduced],
             "R2": [math.nan, self.R2]}, index=["Full", "Reduced"])

    def summary(self, digits: int = 4) -> str:
        return (f"Likelihood-ratio test ({self.method}): LRT = {fmt(self.LRT, digits)} on "
                f"{self.df} df, p-val = {fmt_p(self.p_value, digits)}\n\n"
                + self.to_frame().to_string(float_format=lambda x: fmt(x, digits),
                                            na_rep=""))

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _page("Likelihood-ratio test", self.summary().split("\n")[0], self.to_frame())


@dataclass(frozen=True)
class PermutationTest:
    """Permutation test of the moderators (metafor's ``permutest``): p-values of the omnibus
    test and of each coefficient from refits with the rows of the model matrix permuted.

    ``mc_se`` is the Monte Carlo SE of the omnibus p-value (0 for an exact test)."""

    names: tuple[str, ...]
    QM: float
    QM_p: float
    p_value: np.ndarray  # per coefficient (two-sided, |z| or |t|)
    n_permutations: int
    exact: bool
    seed: int | None
    QM_perm: np.ndarray

    @property
    def mc_se(self) -> float:
        p = self.QM_p
        return 0.0 if self.exact else math.sqrt(p * (1 - p) / self.n_permutations)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"term": list(self.names), "p_value_perm": self.p_value})

    def summary(self, digits: int = 4) -> str:
        kind = "exact" if self.exact else f"{self.n_permutations} random"
        return (f"Permutation test ({kind} permutations)\nQM = {fmt(self.QM, digits)}, "
                f"permutation p-val = {fmt_p(self.QM_p, digits)}"
                + ("" if self.exact else f" (Monte Carlo SE {fmt(self.mc_se, 2)})") + "\n\n"
                + self.to_frame().to_string(index=False))

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return _page("Permutation test", self.summary().split("\n\n")[0], self.to_frame())


# ------------------------------------------------------------------------------ functions


def _regression(obj, func: str):
    from .moderators import MetaRegressionResult

    if not isinstance(obj, MetaRegressionResult):
        raise TypeError(f"{func}() needs a MetaRegressionResult (from metareg), not "
                        f"{type(obj).__name__}")
    return obj


def coefficient_positions(res, btt) -> np.ndarray:
    """Positions of the coefficients *btt*: Python positions (0 is the first coefficient,
    usually the intercept), exact names, or a string matched as a substring of the names (as
    metafor's ``btt = "alloc"``)."""
    names = list(res.names)
    if btt is None:
        return core.default_btt(res.X)
    items = [btt] if isinstance(btt, (str, int, np.integer)) else list(btt)
    out: list[int] = []
    for b in items:
        if isinstance(b, str):
            hits = [names.index(b)] if b in names else [i for i, n in enumerate(names) if b in n]
            if not hits:
                raise InputError(f"btt={b!r} matches no coefficient; they are {', '.join(names)}")
            out += hits
        else:
            i = int(b)
            if not 0 <= i < len(names):
                raise InputError(f"btt={i} is not a coefficient position (0 to {len(names) - 1}: "
                                 f"{', '.join(names)})")
            out.append(i)
    return np.array(sorted(set(out)), dtype=int)


def wald_test(res, btt=None) -> WaldTest:
    """Wald test of the coefficients *btt* of a meta-regression (default: all but the
    intercept); see :func:`coefficient_positions` for how *btt* is read."""
    res = _regression(res, "anova")
    pos = coefficient_positions(res, btt)
    if len(pos) == 0:
        raise InputError("no coefficient to test (an intercept-only model)")
    q = core.wald(res._regfit, pos)
    m = len(pos)
    if res.test == "t":
        q = q / m
        df2 = float(res.k - len(res.names))
        p = float(numeric.f_sf(q, m, df2))
        kind = "F"
    else:
        df2, p, kind = math.inf, float(numeric.chi2_sf(q, m)), "chi2"
    return WaldTest(tuple(res.names[i] for i in pos), float(q), m, df2, p, kind)


def likelihood_ratio_test(full, reduced) -> LikelihoodRatioTest:
    """LRT of two nested fits of the same studies (both ML, or both REML; FE allowed)."""
    full, reduced = _regression(full, "anova"), _regression(reduced, "anova")
    if full.method != reduced.method:
        raise InputError(f"the two models use different methods ({full.method}, "
                         f"{reduced.method}); fit both with ML (or both with REML)")
    if (full.k != reduced.k or not np.array_equal(full.yi, reduced.yi)
            or not np.array_equal(full.vi, reduced.vi)):
        raise InputError("the two models are not fitted to the same studies")
    sf, sr = full.fit_stats, reduced.fit_stats
    if sf.parms < sr.parms:
        full, reduced, sf, sr = reduced, full, sr, sf
    if sf.parms == sr.parms:
        raise InputError("the two models have the same number of parameters: not nested")
    if full.method == "REML" and not _same_fixed(full, reduced):
        warnings.warn("REML likelihoods of models with different fixed effects are not "
                      "comparable; refit both with method='ML' for a likelihood-ratio test of "
                      "moderators", stacklevel=3)
    lrt = max(0.0, 2 * (sf.ll - sr.ll))
    df = sf.parms - sr.parms
    fixed = full.method == "FE"
    r2 = (math.nan if fixed else
          (max(0.0, 100 * (reduced.tau2 - full.tau2) / reduced.tau2) if reduced.tau2 > 0
           else 0.0))
    return LikelihoodRatioTest(
        full.method, sf.parms, sr.parms, sf.ll, sr.ll, sf.AIC, sr.AIC, sf.BIC, sr.BIC, lrt, df,
        float(numeric.chi2_sf(lrt, df)), full.QE, reduced.QE, full.tau2, reduced.tau2, r2)


def _same_fixed(a, b) -> bool:
    return a.X.shape == b.X.shape and np.allclose(a.X, b.X)


def anova(res, reduced=None, *, btt=None):
    """metafor's ``anova``: with one model, the Wald test of the coefficients *btt* (default:
    all but the intercept, the omnibus QM); with two, the likelihood-ratio test of the nested
    models (:class:`LikelihoodRatioTest`)."""
    if reduced is not None:
        if btt is not None:
            raise TypeError("give btt= or a reduced model, not both")
        return likelihood_ratio_test(res, reduced)
    return wald_test(res, btt)


def permutest(res, *, iter: int = 1000, exact: bool | None = None, seed: int | None = None,
              btt=None) -> PermutationTest:
    """Permutation test of the moderators of a meta-regression, as metafor's ``permutest``:
    the rows of the model matrix are permuted, the model refitted (same method and test), and
    the p-value is the share of permutations whose statistic is at least the observed one
    (metafor's ``comptol``). All ``k!`` permutations when ``exact=True`` (or ``exact=None``
    and ``k! <= iter``), else ``iter`` random ones (the first the data as observed) from
    ``numpy.random.default_rng(seed)``.

    The refits run through :func:`acu_meta.models.metareg.permutation_tests` (one fit per
    permutation: the vectorized batch engine is for intercept-only models)."""
    res = _regression(res, "permutest")
    pos = coefficient_positions(res, btt)
    if len(pos) == 0:
        raise InputError("permutest needs a model with moderators")
    if "intrcpt" in res.names and list(res.names).index("intrcpt") in pos:
        raise InputError("permutest tests moderators: leave the intercept out of btt")
    perms, is_exact = core.permutation_indices(res.k, int(iter), exact,
                                               np.random.default_rng(seed))
    out = core.permutation_tests(res.yi, res.vi, res.X, res.method, res.test == "t", pos, perms,
                                 is_exact)
    obs = wald_test(res, pos)
    qp = float(core.permutation_p(out.QM[0] if not is_exact else obs.QM, out.QM))
    pv = core.permutation_p(np.abs(res.statistic), np.abs(out.stat))
    return PermutationTest(tuple(res.names), obs.QM, qp, np.minimum(pv, 1.0), len(perms),
                           is_exact, seed, out.QM)


def predict(res, newmods=None, *, transf=None, level=None, intercept: bool = True):
    """``res.predict(...)`` as a function (metafor's ``predict``)."""
    if not hasattr(res, "predict"):
        raise TypeError(f"predict() needs a MetaResult or MetaRegressionResult, not "
                        f"{type(res).__name__}")
    if newmods is None:
        return res.predict(transf=transf, level=level)
    return res.predict(newmods, transf=transf, level=level, intercept=intercept)


__all__ = ["LikelihoodRatioTest", "PermutationTest", "Prediction", "WaldTest", "anova",
           "permutest", "predict"]
