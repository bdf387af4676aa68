"""Recover effect sizes, standard errors, means and SDs from what papers print.

Every function states its assumption. Formulas:

* CI -> SE: ``se = (upper - lower) / (2 z)``, z the normal quantile of the level; ratio
  measures on the log scale (metafor's ``conv.wald`` uses the same construction).
* P -> SE: ``se = |estimate| / z_{1 - p/2}`` (two-sided P of a Wald z test).
* t -> SMD: ``d = t sqrt(1/n1 + 1/n2)`` (two-sample t with pooled SD, as escalc's ``ti``
  argument), then Hedges' correction.
* median / quartiles / range -> mean and SD (Wan et al. 2014, BMC Med Res Methodol 14:135;
  Luo et al. 2018, Stat Methods Med Res 27:1785): scenarios S1 {min, median, max},
  S2 {q1, median, q3}, S3 {min, q1, median, q3, max}, with
  ``xi(n) = 2 Phi^-1((n - 0.375)/(n + 0.25))`` and
  ``eta(n) = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25))``:

  ======  ==========================================  ======================================
  case    mean (Luo 2018, default)                     SD (Wan 2014)
  ======  ==========================================  ======================================
  S1      w (a+b)/2 + (1-w) m, w = 4/(4 + n^0.75)        (b - a)/xi
  S2      w (q1+q3)/2 + (1-w) m, w = 0.7 + 0.39/n        (q3 - q1)/eta
  S3      w1 (a+b)/2 + w2 (q1+q3)/2 + (1-w1-w2) m,       (b - a)/(2 xi) + (q3 - q1)/(2 eta)
          w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55
  ======  ==========================================  ======================================

  ``mean_method="wan"`` gives Wan's means: (a + 2m + b)/4, (q1 + m + q3)/3,
  (a + 2 q1 + 2 m + 2 q3 + b)/8.

Validated in ``tests/effects/test_conversions.py`` by a second route: for exact normal quantiles the
estimators return the normal mean and (as n grows) SD; the Luo weights sum to one; the formulas
equal the worked values printed in the papers' notation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numeric
from ..numeric import hedges_j
from .escalc import EffectSizeError


def se_from_ci(lower, upper, level: float = 0.95, log: bool = False) -> np.ndarray:
    """Standard error from a symmetric (Wald) CI; ``log=True`` for ratio measures."""
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    if log:
        if np.any(lo <= 0) or np.any(hi <= 0):
            raise EffectSizeError("ratio CI limits must be positive to take logs")
        lo, hi = np.log(lo), np.log(hi)
    if np.any(hi < lo):
        raise EffectSizeError("CI upper limit is below the lower limit")
    return numeric.se_from_ci(lo, hi, level)


def from_ci(estimate, lower, upper, level: float = 0.95, log: bool = False):
    """``(yi, vi)`` from an estimate and its CI (log scale when ``log=True``)."""
    est = np.asarray(estimate, float)
    if log:
        if np.any(est <= 0):
            raise EffectSizeError("ratio estimates must be positive to take logs")
        est = np.log(est)
    se = se_from_ci(lower, upper, level, log)
    return est, se**2


def from_p(estimate, p, log: bool = False):
    """``(yi, vi)`` from an estimate and its two-sided P value (Wald z test assumed)."""
    est = np.asarray(estimate, float)
    p = np.asarray(p, float)
    if np.any((p <= 0) | (p >= 1)):
        raise EffectSizeError("P values must lie strictly between 0 and 1")
    if log:
        est = np.log(est)
    se = np.abs(est) / numeric.norm_isf(p / 2)
    return est, se**2


def from_t(t, n1, n2, exact: bool = True):
    """``(yi, vi)`` as Hedges' g from a two-sample t statistic (escalc SMD with ``ti``)."""
    t, n1, n2 = (np.asarray(x, float) for x in (t, n1, n2))
    d = t * np.sqrt(1 / n1 + 1 / n2)
    g = hedges_j(n1 + n2 - 2, exact) * d
    return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))


@dataclass(frozen=True)
class MeanSD:
    """Estimated mean and SD with the scenario and methods used."""

    mean: float
    sd: float
    scenario: str
    mean_method: str
    sd_method: str


def _xi(n):
    return 2 * numeric.norm_ppf((n - 0.375) / (n + 0.25))


def _eta(n):
    return 2 * numeric.norm_ppf((0.75 * n - 0.125) / (n + 0.25))


def _s1(n, median, a, b, luo: bool) -> tuple[float, float]:
    """Scenario S1 {min, median, max}: mean (Luo or Wan) and Wan's SD."""
    if luo:
        w = 4 / (4 + n**0.75)
        mean = w * (a + b) / 2 + (1 - w) * median
    else:
        mean = (a + 2 * median + b) / 4
    return mean, (b - a) / _xi(n)


def _s2(n, median, q1, q3, luo: bool) -> tuple[float, float]:
    """Scenario S2 {q1, median, q3}: mean (Luo or Wan) and Wan's SD."""
    if luo:
        w = 0.7 + 0.39 / n
        mean = w * (q1 + q3) / 2 + (1 - w) * median
    else:
        mean = (q1 + median + q3) / 3
    return mean, (q3 - q1) / _eta(n)


def _s3(n, median, q1, q3, a, b, luo: bool) -> tuple[float, float]:
    """Scenario S3 {min, q1, median, q3, max}: mean (Luo or Wan) and Wan's SD."""
    sd = (b - a) / (2 * _xi(n)) + (q3 - q1) / (2 * _eta(n))
    if luo:
        w1 = 2.2 / (2.2 + n**0.75)
        w2 = 0.7 - 0.72 / n**0.55
        return w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * median, sd
    return (a + 2 * q1 + 2 * median + 2 * q3 + b) / 8, sd


def mean_sd_from_median(
    n: int,
    median: float,
    *,
    q1: float | None = None,
    q3: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    mean_method: str = "luo",
) -> MeanSD:
    """Mean and SD from a median with quartiles and/or range (assumes normal data).

    Parameters
    ----------
    n
        Sample size.
    median
        Sample median.
    q1, q3
        Quartiles (scenario S2, or S3 with the range).
    minimum, maximum
        Range (scenario S1, or S3 with the quartiles).
    mean_method
        "luo" (Luo et al. 2018, default) or "wan" (Wan et al. 2014).
    """
    if n < 2:
        raise EffectSizeError("n must be at least 2")
    has_iqr = q1 is not None and q3 is not None
    has_range = minimum is not None and maximum is not None
    if not (has_iqr or has_range):
        raise EffectSizeError("give q1 and q3, or minimum and maximum, or all four")
    if has_iqr and not q1 <= median <= q3:
        raise EffectSizeError("quartiles must satisfy q1 <= median <= q3")
    if has_range and not minimum <= median <= maximum:
        raise EffectSizeError("range must satisfy minimum <= median <= maximum")
    mm = mean_method.lower()
    if mm not in ("luo", "wan"):
        raise EffectSizeError("mean_method must be 'luo' or 'wan'")
    if has_iqr and has_range:
        scen, (mean, sd) = "S3", _s3(n, median, q1, q3, minimum, maximum, mm == "luo")
    elif has_range:
        scen, (mean, sd) = "S1", _s1(n, median, minimum, maximum, mm == "luo")
    else:
        scen, (mean, sd) = "S2", _s2(n, median, q1, q3, mm == "luo")
    return MeanSD(float(mean), float(sd), scen, mm, "wan")


def combine_arms(n1: float, m1: float, sd1: float, n2: float, m2: float, sd2: float
                 ) -> tuple[float, float, float]:
    """Combine two arms into one group: (n, mean, SD) of the union.

    Cochrane Handbook (version 6, section 6.5.2.10, Table 6.5.a):
    ``n = n1 + n2``, ``mean = (n1 m1 + n2 m2) / n``,
    ``SD = sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2 + n1 n2 / n (m1 - m2)^2) / (n - 1))``,
    which is the exact SD of the pooled sample. Used for Cherkin 2009's two verum arms.
    """
    n = n1 + n2
    mean = (n1 * m1 + n2 * m2) / n
    sd = float(np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2 + n1 * n2 / n * (m1 - m2) ** 2)
                       / (n - 1)))
    return float(n), float(mean), sd


def smd_from_log_or(log_or, var_log_or):
    """Log odds ratio -> SMD by the logit method (Chinn 2000, Stat Med 19:3127-3131):
    ``d = ln(OR) sqrt(3) / pi`` (ln(OR) divided by about 1.81), ``var(d) = var(ln OR) 3 / pi^2``.

    Assumption: the dichotomy cuts an underlying continuous outcome with logistic distributions
    of equal scale in both arms, so that the log odds ratio is the difference in means divided
    by the logistic scale (SD = scale pi / sqrt(3)). Returns ``(d, var_d)`` as arrays.

    Validated in ``tests/analyses/test_answer.py``: the constant against Chinn's printed 1.81
    (``test_chinn_constant_is_the_printed_1_81``) and the exact identity for two shifted
    logistic distributions at any cut-point (``test_chinn_identity_for_shifted_logistic_outcomes``,
    scipy). In ``tests/effects/test_conversions.py``, against two worked examples at their
    printed 4 decimals, both directions (the inverse is the same linear map undone): R package
    esc's ``convert_or2d(3.56, se = 0.91)`` and ``convert_d2or(0.7, se = 0.5)``
    (``test_esc_convert_or2d_worked_example``, ``test_esc_convert_d2or_worked_example_inverse``)
    and Borenstein et al. (2009) ch. 7, ln OR 0.9069 (variance 0.0676) <-> d 0.5000 (0.0205), as
    reproduced in meta's or2smd/smd2or help pages, book text not verified
    (``test_borenstein_ch7_worked_example``, ``test_borenstein_ch7_worked_example_inverse``);
    and to 1e-10 against meta 8.3-0 ``or2smd``/``smd2or`` (``method = "HH"``) and metafor 3.8.1
    ``escalc("OR2DL")`` (``tests/fixtures/meta_or2smd.json``, written by
    ``validation/meta/or2smd_reference.R``: ``test_smd_from_log_or_against_meta_or2smd``,
    ``test_inverse_against_meta_smd2or``,
    ``test_escalc_or_then_smd_from_log_or_against_metafor_or2dl``,
    ``test_gerac_responder_contrasts_against_meta_or2smd``).
    """
    k = np.sqrt(3.0) / np.pi
    lo = np.asarray(log_or, dtype=float)
    vl = np.asarray(var_log_or, dtype=float)
    return lo * k, vl * k**2
