"""Effect sizes from arm-level numbers, with metafor's measure codes and defaults.

This layer turns raw arm data into study-level estimates ``yi`` with sampling variances ``vi``
and knows nothing about pooling (as metafor's ``escalc`` knows nothing about ``rma``).

Measures
--------
========  ==========================================  =============================================
code      effect                                      inputs
========  ==========================================  =============================================
MD        mean difference                             m1i, sd1i, n1i, m2i, sd2i, n2i
SMD       standardized mean difference (Hedges' g)    m1i, sd1i, n1i, m2i, sd2i, n2i
ROM       log ratio of means                          m1i, sd1i, n1i, m2i, sd2i, n2i
RR        log risk ratio                              ai, n1i, ci, n2i (or ai, bi, ci, di)
OR        log odds ratio                              ai, n1i, ci, n2i (or ai, bi, ci, di)
RD        risk difference                             ai, n1i, ci, n2i (or ai, bi, ci, di)
PETO      log odds ratio, Peto's one-step method      ai, n1i, ci, n2i (or ai, bi, ci, di)
GEN       generic: given yi with vi or sei            yi, vi | sei
COR       correlation (vtype LS, AV)                  ri, ni
UCOR      unbiased correlation (LS, UB, AV)           ri, ni
ZCOR      Fisher's z of a correlation                 ri, ni
SMCC      standardized mean change, change-score SD   m1i, m2i, sd1i, sd2i, ni, ri
SMCR      standardized mean change, raw-score SD      m1i, m2i, sd1i, ni, ri
MC        mean change                                 m1i, m2i, sd1i, sd2i, ni, ri
PR        proportion (vtype LS, UB, AV)               xi, ni (or mi)
PLO       log odds of a proportion (LS, AV)           xi, ni (or mi)
PAS       arcsine square-root proportion              xi, ni (or mi)
PFT       Freeman-Tukey double arcsine proportion     xi, ni (or mi)
IRR       log incidence rate ratio                    x1i, t1i, x2i, t2i
IRD       incidence rate difference                   x1i, t1i, x2i, t2i
========  ==========================================  =============================================

Each measure's variance types are in :data:`acu_meta.effects.escalc.VTYPES`; the formulas and
what they were validated against are in :func:`acu_meta.effects.escalc.escalc`
(``tests/effects/test_escalc_gaps.py`` for the measures from COR down).
"""

from .conversions import (
    combine_arms,
    from_ci,
    from_p,
    from_t,
    mean_sd_from_median,
    se_from_ci,
    smd_from_log_or,
)
from .escalc import MEASURES, RATIO_MEASURES, EffectSizeError, EffectSizes, escalc

__all__ = [
    "combine_arms",
    "MEASURES",
    "RATIO_MEASURES",
    "EffectSizeError",
    "EffectSizes",
    "escalc",
    "from_ci",
    "from_p",
    "from_t",
    "mean_sd_from_median",
    "se_from_ci",
    "smd_from_log_or",
]
