"""Low-level numerics shared by every layer: one home for each small formula.

Every layer (``data``, ``effects``, ``models``, results, ``plots``, ``analyses``) may import this
module; it imports nothing from acu_meta and needs only numpy and scipy. A formula written here
must not be written out again anywhere else in the package (``tests/test_numeric.py`` checks
the values; a grep test checks that the I2-from-Q formula and the literal normal quantile appear
only here).

Contents
--------
critical values and p-values
    :func:`z_crit`, :func:`t_crit`, :func:`crit`, :func:`p_two_sided`, :data:`Z975`.
heterogeneity statistics
    :func:`i2_from_q`, :func:`h2_from_q` (Higgins & Thompson 2002), :func:`i2_from_tau2`,
    :func:`h2_from_tau2` (metafor's tau2-based forms with the typical within-study variance).
binomial intervals
    :func:`clopper_pearson`, :func:`wilson` (with Newcombe's continuity correction), :func:`wald`.
effect-size helpers
    :func:`hedges_j` (exact gamma-function form and Hedges' 1981 approximation),
    :func:`se_from_ci`.
inverse-variance pooling of flat values
    :func:`pool_iv` (estimate, SE, Q around it).
the natural scale of a ratio
    :func:`exp_or_inf` (``exp`` that gives ``inf`` rather than an overflow).
JSON numbers
    :func:`json_number` (``None`` for NaN and infinities, plain Python types otherwise).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = [
    "Z975",
    "IVPooled",
    "clopper_pearson",
    "crit",
    "h2_from_q",
    "h2_from_tau2",
    "hedges_j",
    "i2_from_q",
    "i2_from_tau2",
    "json_number",
    "level_fraction",
    "p_two_sided",
    "pool_iv",
    "se_from_ci",
    "t_crit",
    "wald",
    "wilson",
    "z_crit",
]


def _fraction(level: float) -> float:
    """A confidence level given in percent (95) or as a fraction (0.95), as a fraction."""
    level = float(level)
    return level / 100 if level > 1 else level


def level_fraction(level) -> float:
    """The project's one ``level`` convention: a confidence level in percent (``95``) or as a
    fraction (``0.95``), returned as a fraction in (0, 1).

    A value above 1 is read as percent. Anything that is not a number strictly between 0 and
    100 (after that reading: between 0 and 1) raises :class:`acu_meta.errors.InputError`
    (``level=1`` would be a 100% interval and ``level=0`` an empty one; ``True`` is refused).
    Checked in ``tests/results/test_api_conventions.py``.
    """
    from .errors import InputError  # errors is layer 0 too; imported here to keep it light

    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise InputError(f"level must be a number (95 or 0.95), not {level!r}")
    out = _fraction(level)
    if not (math.isfinite(out) and 0 < out < 1):
        raise InputError(f"level must be between 0 and 100 (percent) or 0 and 1 (fraction), "
                         f"not {level!r}")
    return out


# ---------------------------------------------------------------------- critical values


def z_crit(level: float = 0.95) -> float:
    """Two-sided normal critical value: the ``0.5 + level / 2`` quantile of N(0, 1).

    ``level`` may be a fraction (0.95) or a percentage (95). ``z_crit(0.95)`` is
    1.959963984540054, R's ``qnorm(0.975)`` to the last bit.
    """
    return float(special.ndtri(0.5 + _fraction(level) / 2))  # = norm_ppf, defined below


#: ``z_crit(0.95)``: the normal quantile behind every printed 95% interval.
Z975 = z_crit(0.95)


def t_crit(level: float, df: float) -> float:
    """Two-sided t critical value with ``df`` degrees of freedom (normal for ``df = inf``)."""
    if math.isinf(df):
        return z_crit(level)
    return t_ppf(0.5 + _fraction(level) / 2, df)


def crit(level: float, df: float = math.inf) -> float:
    """The critical value of a z test (``df = inf``) or a t test (finite ``df``)."""
    return t_crit(level, df)


def _out(x):
    """A float for a 0-d result, else the array."""
    return float(x) if np.ndim(x) == 0 else x


def p_two_sided(statistic, df=math.inf):
    """Two-sided p-value of a z statistic (``df = inf``) or a t statistic; vectorized over
    both (an array *df* may mix inf, for z, with finite degrees of freedom).

    Through scipy's special functions (``ndtr``, ``stdtr``), which is what ``stats.norm.sf``
    and ``stats.t.sf`` compute, without their per-call overhead (bit-identical:
    ``tests/test_numeric.py``)."""
    a = np.abs(np.asarray(statistic, dtype=float))
    d = np.asarray(df, dtype=float)
    if d.ndim == 0 and math.isinf(float(d)):
        p = 2 * special.ndtr(-a)
    elif d.ndim == 0:
        p = 2 * special.stdtr(float(d), -a)
    else:
        z = np.isinf(d)
        p = 2 * np.where(z, special.ndtr(-a), special.stdtr(np.where(z, 1.0, d), -a))
    return _out(p)


# ---------------------------------------------------------------------- distributions
# The normal, t, chi-squared and F functions the package needs, through the special functions
# that scipy.stats' distributions call (scipy 1.17: norm -> ndtr/ndtri, t -> stdtr/stdtrit,
# chi2 -> chdtr/chdtrc/gammaincinv, f -> fdtrc), so the values are bit-identical to
# ``stats.norm.ppf`` etc. (``tests/test_numeric.py``, edges of the support and of the degrees
# of freedom included) without importing scipy.stats (about 0.8 s of start-up, paid by every
# CLI process). The package's modules call these, not scipy.stats; scipy.stats is imported
# only where a test statistic needs it (Fisher's exact test, Kendall's tau past
# KENDALL_PAIRS_MAX). The CLI's pool, forest, bayes and check-data commands do not import it
# (``tests/cli/test_lazy_imports.py``). Each returns a float for scalar input and an array
# otherwise.


_SQRT_2PI = math.sqrt(2 * math.pi)
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)  # log sqrt(2 pi), the normal constant


def norm_pdf(x, loc=0.0, scale=1.0):
    """``stats.norm.pdf(x, loc, scale)``, the same operations in the same order (scipy's
    ``_norm_pdf`` of the standardised argument, divided by *scale*); *scale* > 0."""
    z = (np.asarray(x, dtype=float) - loc) / scale
    return _out(np.exp(-z ** 2 / 2.0) / _SQRT_2PI / scale)


def norm_logpdf(x, loc=0.0, scale=1.0):
    """``stats.norm.logpdf(x, loc, scale)``, the same operations in the same order; *scale*
    > 0."""
    z = (np.asarray(x, dtype=float) - loc) / scale
    return _out((-z ** 2 / 2.0 - LOG_SQRT_2PI) - np.log(scale))


def norm_cdf(x):
    """``stats.norm.cdf``."""
    return _out(special.ndtr(np.asarray(x, dtype=float)))


def norm_sf(x):
    """``stats.norm.sf``: ``ndtr(-x)``, accurate in the upper tail."""
    return _out(special.ndtr(-np.asarray(x, dtype=float)))


def norm_ppf(p):
    """``stats.norm.ppf``."""
    return _out(special.ndtri(np.asarray(p, dtype=float)) + 0.0)


def norm_isf(p):
    """``stats.norm.isf``: ``-ndtri(p)``, accurate for small *p*; ``+ 0.0`` as scipy's
    ``x * scale + loc`` does, so the median is +0.0, not -0.0."""
    return _out(-special.ndtri(np.asarray(p, dtype=float)) + 0.0)


def _df_ok(*dfs):
    """True where every degrees-of-freedom argument is positive (scipy.stats' support: it
    returns nan for ``df <= 0``, where the special functions return a number)."""
    ok = True
    for df in dfs:
        ok = ok & (df > 0)
    return ok


def t_ppf(p, df):
    """``stats.t.ppf`` (finite *df*); ``-inf`` at ``p = 0``, where ``stdtrit`` gives ``inf``."""
    p, df = np.asarray(p, dtype=float), np.asarray(df, dtype=float)
    q = special.stdtrit(df, p)
    return _out(np.where(_df_ok(df), np.where(p == 0, -np.inf, q), np.nan) + 0.0)


def chi2_sf(q, df):
    """Upper tail of the chi-squared distribution (``stats.chi2.sf``; vectorized; 1 below
    the support, nan for ``df <= 0``, as scipy.stats)."""
    q, df = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
    out = np.where(q < 0, 1.0, special.chdtrc(df, np.maximum(q, 0.0)))
    return _out(np.where(_df_ok(df) & ~np.isnan(q), out, np.nan))


def chi2_cdf(q, df):
    """``stats.chi2.cdf`` (0 below the support, nan for ``df <= 0``)."""
    q, df = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
    out = np.where(q < 0, 0.0, special.chdtr(df, np.maximum(q, 0.0)))
    return _out(np.where(_df_ok(df) & ~np.isnan(q), out, np.nan))


def chi2_ppf(p, df):
    """``stats.chi2.ppf``: ``2 gammaincinv(df / 2, p)`` (nan for ``df <= 0`` and for *p*
    outside [0, 1], where ``gammaincinv`` of a tiny df returns 0)."""
    p, df = np.asarray(p, dtype=float), np.asarray(df, dtype=float)
    ok = _df_ok(df) & (p >= 0) & (p <= 1)
    return _out(np.where(ok, 2 * special.gammaincinv(df / 2, p), np.nan) + 0.0)


def f_sf(x, dfn, dfd):
    """``stats.f.sf``: the complemented F distribution ``fdtrc`` (not ``1 - fdtr``); 1 at and
    below 0, nan for non-positive degrees of freedom, as scipy.stats."""
    x = np.asarray(x, dtype=float)
    dfn, dfd = np.asarray(dfn, dtype=float), np.asarray(dfd, dtype=float)
    out = np.where(x <= 0, 1.0, special.fdtrc(dfn, dfd, np.maximum(x, 0.0)))
    return _out(np.where(_df_ok(dfn, dfd) & ~np.isnan(x), out, np.nan))


# ---------------------------------------------------------------------- heterogeneity


def i2_from_q(Q, df):
    """I2 in percent from Cochran's Q: ``100 max(0, (Q - df) / Q)`` (Higgins & Thompson 2002).

    0 where Q <= 0 or df <= 0 (no heterogeneity can be shown); vectorized over Q and df.
    """
    Q = np.asarray(Q, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((df > 0) & (Q > 0), np.maximum(0.0, 100 * (1 - df / Q)), 0.0)  # Q inf: 100
    return float(out) if out.ndim == 0 else out


def h2_from_q(Q, df):
    """H2 from Cochran's Q: ``Q / df`` (NaN where df <= 0); vectorized."""
    Q = np.asarray(Q, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(df > 0, Q / df, np.nan)
    return float(out) if out.ndim == 0 else out


def i2_from_tau2(tau2, vt):
    """I2 in percent from tau2: ``100 tau2 / (vt + tau2)``, vt the typical within-study variance
    (metafor's s2 = (k - p) / tr(P0)); vectorized."""
    tau2 = np.asarray(tau2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100 * (tau2 / (vt + tau2))  # no overflow of 100 tau2 for a tau2 near 1e308
    return float(out) if np.ndim(out) == 0 else out


def h2_from_tau2(tau2, vt):
    """H2 from tau2: ``1 + tau2 / vt`` (metafor); vectorized. Above the largest double (tau2
    1e308 over vt 1e-308) it is inf, its value, without a warning."""
    tau2 = np.asarray(tau2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = tau2 / vt + 1
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------------- binomial intervals


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a binomial proportion x/n, as a fraction.

    Beta-quantile form; agrees with R's ``binom.test(x, n)$conf.int``. The quantiles are
    ``special.betaincinv``, equal to ``stats.beta.ppf`` bit for bit
    (``tests/test_numeric.py::test_clopper_pearson_quantiles_are_scipy_beta_ppf``).
    """
    a = 1.0 - _fraction(level)
    lo = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, a / 2))
    hi = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - a / 2))
    return lo, hi


def wilson(x: int, n: int, level: float = 0.95, cc: bool = False) -> tuple[float, float]:
    """Wilson score interval for x/n, as a fraction (R's ``prop.test(x, n, correct=FALSE)``).

    ``cc=True``: Newcombe (1998) method 4, the continuity-corrected Wilson interval
    (``prop.test(x, n, correct=TRUE)``), clipped to [0, 1].
    """
    z = z_crit(level)
    p = x / n
    if not cc:
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return float(centre - half), float(centre + half)
    q = 1 - p
    lo = 0.0 if x == 0 else (2 * n * p + z * z - 1 - z * math.sqrt(
        z * z - 2 - 1 / n + 4 * p * (n * q + 1))) / (2 * (n + z * z))
    hi = 1.0 if x == n else (2 * n * p + z * z + 1 + z * math.sqrt(
        z * z + 2 - 1 / n + 4 * p * (n * q - 1))) / (2 * (n + z * z))
    return max(0.0, lo), min(1.0, hi)


def wald(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wald interval ``p +/- z sqrt(p (1 - p) / n)`` for x/n, as a fraction (not clipped)."""
    p = x / n
    h = z_crit(level) * math.sqrt(p * (1 - p) / n)
    return p - h, p + h


# ---------------------------------------------------------------------- effect-size helpers


def hedges_j(m, exact: bool = True):
    """Small-sample correction factor J for Hedges' g, m = n1 + n2 - 2 degrees of freedom.

    exact: ``exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))`` (metafor's ``.cmicalc``;
    NaN for m <= 1). approximate: ``1 - 3/(4m - 1)`` (Hedges 1981; RevMan 5 and meta write it as
    ``1 - 3/(4N - 9)`` with N = n1 + n2, the same number). Vectorized; returns an array.
    """
    m = np.asarray(m, dtype=float)
    if exact:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                m <= 1,
                np.nan,
                np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2))
                       - special.gammaln((m - 1) / 2)),
            )
    return 1 - 3 / (4 * m - 1)


def se_from_ci(low, high, level: float = 0.95):
    """SE behind a symmetric interval: ``(high - low) / (2 z)``; vectorized."""
    return (np.asarray(high, dtype=float) - np.asarray(low, dtype=float)) / (2 * z_crit(level))


# ---------------------------------------------------------------------- flat IV pooling


class IVPooled(NamedTuple):
    """Fixed-effect inverse-variance pooling of flat values."""

    estimate: float
    se: float
    Q: float
    df: int


def pool_iv(y, v) -> IVPooled:
    """Inverse-variance (fixed-effect) pooling of effects ``y`` with variances ``v``.

    ``estimate = sum(w y) / sum(w)``, ``se = 1 / sqrt(sum(w))``, ``Q = sum(w (y - est)^2)``,
    ``w = 1 / v``. For the full model (moderators, tau2, tests) use :func:`acu_meta.models.fit`.
    """
    y = np.asarray(y, dtype=float)
    w = 1.0 / np.asarray(v, dtype=float)
    c = float(np.max(w))  # the sums are formed with w / max(w): no overflow (issue #17)
    ws = w / c
    sw = float(np.sum(ws))
    est = float(np.sum(ws * y) / sw)
    return IVPooled(est, 1.0 / math.sqrt(sw) / math.sqrt(c),
                    c * float(np.sum(ws * (y - est) ** 2)), len(y) - 1)


def exp_or_inf(x):
    """``exp(x)`` without an overflow warning or error: ``inf`` beyond the largest double (a
    ratio measure's limit on its natural scale); vectorized."""
    a = np.asarray(x, dtype=float)
    out = np.where(a > _LOG_MAX, np.inf, np.exp(np.minimum(a, _LOG_MAX)))
    return float(out) if out.ndim == 0 else out


_LOG_MAX = math.log(np.finfo(float).max)


# ---------------------------------------------------------------------- JSON


def json_number(x):
    """A JSON-safe number: ``None`` for None, NaN and infinities; bool, int or float otherwise."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None
