"""Every numerical tolerance of the test suite, named by the kind of quantity it compares.

A test never writes a tolerance as a literal: it imports the name that says why the two numbers
may differ at all. Relative tolerances are used as ``abs(a - b) <= tol + tol * abs(b)`` (an
absolute floor equal to the relative tolerance, for values near zero) unless a test says
otherwise. Change a value here only with a reason written beside it; never loosen one to make
a failing test pass (find out why it fails).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- against metafor/R

#: Closed forms against metafor 3.8.1 or R (escalc; FE, DL, HE, HS, SJ tau2; Mantel-Haenszel,
#: Peto; the lm regressions of the classical Egger test and PET-PEESE; the rank test; fail-safe
#: N; trim-and-fill with FE/DL; every quantity computed from them), and closed forms reached by
#: a round trip through an inverse special function (p -> z -> se). Both sides evaluate the same
#: formula in double precision; 1e-10 (relative) leaves room for summation order and matrix
#: inversion, while a wrong formula is off by far more.
CLOSED_FORM = 1e-10

#: Quantities resting on an iterative root (ML, REML, PM, EB tau2 and everything computed from
#: it), against metafor or against a second implementation with its own root finder. The
#: fixtures were written with metafor's threshold 1e-13 and acu_meta's Brent refinement stops at
#: 1e-15 * scale; amplification through the estimate keeps the difference below 1e-9, so 1e-8
#: (relative) is the named bar. Also the residual of a root's defining equation (|score| at
#: the REML root, the score statistic at a Miettinen-Nurminen limit against +-z).
ITERATIVE = 1e-8

#: Q-profile confidence bounds for tau2 (and the I2, H2 bounds computed from them) against
#: metafor's confint(): each bound is a root of the generalized Q statistic, found by uniroot
#: in metafor (tolerance set tight by validation/metafor/reference.R) and by bracketing in
#: acu_meta: the same bar as other roots, 1e-8.
Q_PROFILE = 1e-8

#: Network meta-analysis by REML against metafor's rma.mv: metafor maximizes the restricted
#: likelihood with optim(BFGS, reltol 1e-14) rather than solving for a root, and BFGS stops
#: where the likelihood is flat to reltol, which leaves tau2 and the estimates agreeing to about
#: sqrt(1e-14) ~ 1e-7; matched to 1e-6 (relative), as issue #6 asks.
NETWORK_REML = 1e-6

#: metafor's baujat() coordinates for a REML fit: the y coordinate is the squared change of the
#: pooled estimate when a study is left out, a difference of two iterative estimates, so
#: relative error grows where the change is small: one decade above ITERATIVE, 1e-7.
BAUJAT_REML = 1e-7

#: A statistic of the network design-by-treatment decomposition formed as the difference of two
#: metafor Q statistics (QE of the consistency model minus QE of the inconsistency model): the
#: subtraction cancels leading digits of two closed forms, so 1e-8 (relative) instead of
#: CLOSED_FORM.
Q_DIFFERENCE = 1e-8

#: Closed-form tau2 (DL, HS) of a meta-regression whose design is ill-conditioned (a publication
#: year beside the intercept, cond(X'WX) > 1e9), against metafor: there metafor's own value is
#: off the value computed in 60-digit decimal arithmetic by up to 1.8e-10 relative in tau2,
#: 4e-10 in the extrapolated intercept and 1.7e-9 in R2 (a difference of two tau2), while
#: acu_meta matches that value to SECOND_ROUTE; tests/results/test_metareg_gaps.py shows both
#: for every case it uses this for. 1e-8 (relative), the bar of ITERATIVE.
METAFOR_ROUNDING = 1e-8

# --------------------------------------------------------------------------- within acu_meta

#: The same formula written out again in the test, or computed twice by the package through
#: the same special function (beta quantiles of Clopper-Pearson): only a few units in the last
#: place separate them, 1e-14 (relative).
SAME_ARITHMETIC = 1e-14

#: A closed form computed in the test by a second route (by hand from the defining formula,
#: through another identity, or R's quantile functions printed with %.17g): only floating-point
#: rounding separates them, 1e-12.
SECOND_ROUTE = 1e-12

#: Two acu_meta engines evaluating the same definitions through different code paths (the batch
#: engine pool_many against the single fit pool; contrast-level against arm-level network
#: input; back-calculated against directly computed indirect estimates): they differ by
#: summation order, linear algebra and where inside the root's tolerance (1e-15 * scale) the
#: iterations stop; 1e-10 (relative, absolute floor 1e-10).
SAME_ENGINE = 1e-10

#: Absolute floor for quantities that are exactly zero (or exactly equal) in exact arithmetic:
#: a tau2 truncated at 0, a pooled estimate of 0, a mean of P-scores of exactly 1/2, the gap
#: between a prediction and a confidence limit when tau2 = 0.
ZERO = 1e-12

#: Two fits of equivalent data through the same root finder (studies permuted, arms swapped, a
#: leave-one-out row against a direct refit without that study, the last cumulative step
#: against the full fit). The estimate is a weighted mean at a tau2 root: 1e-9. Where the
#: (restricted) likelihood is nearly flat in tau2, a permutation of the summands moves the
#: root's location, and so tau2 and the SE, far more than the estimate: 1e-7.
REFIT = {"estimate": {"rel": 1e-9, "abs": ZERO},
         "tau2": {"rel": 1e-7, "abs": ZERO},
         "se": {"rel": 1e-7}}

#: As REFIT, for the arm-swap and cumulative comparisons, whose tau2 root is found from the same
#: summands in the same order (only the sign of y changes): 1e-9 for every field.
REFIT_SAME_ORDER = {"rel": 1e-9, "abs": ZERO}

#: A leave-one-out row against a direct refit without that study (the same root finder on a
#: separately assembled array): REFIT's 1e-9 for the estimate and its CI limit, with an
#: absolute floor of 1e-9 for values near 0 (the hypothesis effects lie in [-3, 3], so the
#: floor is still 1e-9 relative to their scale).
LEAVE_ONE_OUT = {"rel": 1e-9, "abs": 1e-9}

#: Location-scale equivariance (y -> a + b y, v -> b^2 v): the transformed data are themselves
#: rounded (a + b y in floating point) and the root is refined on the rescaled tau2 scale, so
#: the estimate agrees to 1e-7 and tau2 and I2 (which rest on the root directly) to 1e-6; the
#: absolute floors follow the scale of each quantity (I2 in percent).
EQUIVARIANT = {"estimate": {"rel": 1e-7, "abs": 1e-9},
               "tau2": {"rel": 1e-6, "abs": 1e-10},
               "I2": {"rel": 1e-6, "abs": 1e-8}}

#: Log-likelihoods of O(10) compared across a grid (is the REML estimate the global maximum?):
#: the sum of k terms loses about 1e-13 relative; 1e-9 absolute slack.
LOGLIK = 1e-9

# --------------------------------------------------------------------------- other libraries

#: Least squares solved by another library (statsmodels WLS, a QR/pinv decomposition) against
#: acu_meta's normal equations, on hypothesis data whose variances may be nearly equal (an
#: ill-conditioned design): 1e-8 relative, 1e-10 absolute.
OTHER_SOLVER = {"rel": 1e-8, "abs": 1e-10}

#: An exact null distribution summed by another implementation (scipy's exact Kendall tau
#: p-value against acu_meta's recursion): the probabilities are sums of up to n! / 2 terms
#: rescaled differently, 1e-9 relative; tau itself is a ratio of integers (ZERO).
EXACT_DISTRIBUTION = {"rel": 1e-9, "abs": ZERO}

#: A maximum located by a numerical optimizer (scipy's bounded Brent, xatol 1e-12) against a
#: closed-form maximizer: Brent stops within xatol + sqrt(machine eps) * |x| ~ 1.5e-8 |x| of
#: the maximum, so 1e-7 absolute for probabilities.
OPTIMIZER = 1e-7

# --------------------------------------------------------------------------- printed values


def half_unit(text: str) -> float:
    """Half a unit of the last printed digit of *text* ("2.94" -> 0.005, ".39" -> 0.005,
    "387" -> 0.5)."""
    t = text.strip().lstrip("<>=").strip()
    decimals = len(t.split(".")[1]) if "." in t else 0
    return 0.5 * 10.0 ** -decimals


#: Binary representation slack of a decimal text ("0.05" is not exact in binary), added to
#: half_unit so that a value exactly on the rounding boundary counts as printed.
REPRESENTATION = 1e-12


def printed(value: float, text: str) -> bool:
    """True when *value* rounds to the printed *text*: a published number is matched at its
    printed decimals, within half a unit of its last digit."""
    return abs(value - float(text)) <= half_unit(text) + REPRESENTATION


# --------------------------------------------------------------------------- snapshots, images

#: Regression snapshot of every reproduced number (tests/fixtures/reproduction_snapshot.json,
#: written with %.17g): any change beyond 1e-10 (relative, floor 1e-10 absolute) is a change of
#: data or method, never rounding, because the computation is deterministic and closed form or
#: root-refined to 1e-15.
SNAPSHOT = 1e-10

#: Image comparison (matplotlib.testing.compare_images): RMS difference of 2 (of 255) per pixel
#: absorbs anti-aliasing and font-hinting noise between FreeType builds; a moved row, a missing
#: element or changed text gives far more.
IMAGE_RMS = 2.0

#: SVG coordinates in points: matplotlib writes path vertices with a short decimal
#: representation, and the axes transform runs in double precision; 0.01 pt (1/7200 inch) is
#: far below one pixel, far above that rounding.
SVG_POINTS = 0.01

# --------------------------------------------------------------------------- Monte Carlo

#: Monte Carlo results (seeded) are compared with their expectation within k = 4 Monte Carlo
#: standard errors: a correct simulation fails a two-sided 4 SE bar with probability 6e-5, so a
#: failure means a biased generator or estimator, not bad luck.
MC_SE = 4.0

#: Text widths, inches: the forest layout measures each text with the Agg renderer at 100 dpi
#: (the house figure dpi) and the test reads the drawn text's window extent at the same dpi;
#: they differ by the snapping of text positions to whole pixels (up to 1 px, 0.01 in) and
#: by the pixel rounding of the axes edge. 0.03 in leaves room for both, far below a column
#: gap (0.12 in) and the empty gap of the old layout beside short labels (0.51 in).
TEXT_WIDTH_IN = 0.03

#: The exact Bayesian engine against brute-force integration of the joint posterior
#: (tests/_brute.py): posterior means and sds (absolute), and a quantile q checked through the
#: brute-force CDF, |F(q) - p| / density(q), its distance to the brute-force quantile to first
#: order. The engine's tau rule is built to 1e-11 (relative) and the brute force agrees with
#: nested adaptive quadrature to 1e-14; 1e-6 leaves room for the engine's mixture quantiles
#: (Brent, tolerance 1e-15 times the bulk's scale) and catches a wrong formula by far.
BRUTE_FORCE = 1e-6
