# Reference values from R/metafor for the Knapp-Hartung ad hoc modification (scale factor
# max(1, q)): rma(yi, vi, method = M, test = "adhoc") beside test = "knha", the targets of
# acu_meta's pool(yi, vi, method = M, hksj = True, hksj_adhoc = True) and pool(..., hksj = True).
#
# Run from the repository root:
#     Rscript validation/metafor/adhoc_reference.R
# Writes tests/fixtures/metafor_adhoc.json (deterministic). Numbers printed with sprintf("%.17g").
# Every rma() fit uses control = list(threshold = 1e-13, maxiter = 10000, tol = 1e-13), as
# api_reference.R (see README.md in this folder).
#
# Grid: every data set below x method (REML, DL, PM, FE) x level (95, 90); each case stores the
# "adhoc" and the "knha" fit. The made-up sets cover k = 2, 3, 5, 10 with the HKSJ scale factor
# q = s2w below 1 ("low": homogeneous, tau2 = 0; "mid": tau2 > 0 under REML and DL and still
# q < 1) and above 1 ("high": heterogeneous; there PM has q = 1 by construction, and for k = 2
# every tau2 estimator gives q = 1 when tau2 > 0).

suppressPackageStartupMessages(library(metafor))
source(file.path("validation", "metafor", "json.R"))
out_path <- file.path("tests", "fixtures", "metafor_adhoc.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
CTRL <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)

sets <- list(
  k2_low = list(yi = c(0.21, 0.26), vi = c(0.020, 0.035)),
  k2_high = list(yi = c(0.05, 0.62), vi = c(0.015, 0.030)),
  # the pair of the former hand-typed docstring test (tests/analyses/test_answer.py)
  k2_pair = list(yi = c(0.1, 0.12), vi = c(0.01, 0.02)),
  k3_low = list(yi = c(0.40, 0.33, 0.47), vi = c(0.030, 0.045, 0.060)),
  k3_mid = list(yi = c(0.10, 0.45, 0.30), vi = c(0.010, 0.080, 0.020)),
  k3_high = list(yi = c(-0.10, 0.35, 0.80), vi = c(0.020, 0.025, 0.040)),
  k5_low = list(yi = c(0.12, 0.18, 0.05, 0.22, 0.15), vi = c(0.040, 0.025, 0.060, 0.050, 0.030)),
  k5_mid = list(yi = c(0.00, 0.30, 0.25, 0.65, 0.10), vi = c(0.005, 0.100, 0.050, 0.200, 0.010)),
  k5_high = list(yi = c(0.10, 0.55, -0.20, 0.85, 0.30), vi = c(0.020, 0.030, 0.025, 0.045, 0.015)),
  k10_low = list(yi = c(0.31, 0.25, 0.40, 0.28, 0.36, 0.22, 0.33, 0.45, 0.30, 0.27),
                 vi = c(0.05, 0.04, 0.07, 0.03, 0.06, 0.045, 0.08, 0.09, 0.035, 0.055)),
  k10_high = list(yi = c(0.10, 0.60, -0.15, 0.45, 0.90, 0.20, -0.30, 0.70, 0.35, 0.05),
                  vi = c(0.02, 0.03, 0.025, 0.015, 0.04, 0.02, 0.035, 0.03, 0.01, 0.05)),
  # The trial data of the answer (GERAC 2007, Cherkin 2009; primary outcome set): DERIVED
  # values, not printed in any paper. Hedges' g (benefit-positive) and its variance per trial as
  # computed by acu_meta.analyses.three_arm.trial_contrasts(comparison)$smd / $vi (acu_meta at
  # the commit that added this script), written here with repr() (17 significant digits).
  trial_verum_vs_sham = list(yi = c(0.1287510414597579, -0.1788878332285253),
                             vi = c(0.005380494759085458, 0.009380986555909342)),
  trial_sham_vs_usual_care = list(yi = c(0.2401388931320467, 0.6376606400999907),
                                  vi = c(0.005475925508286565, 0.013013448565276827)),
  trial_verum_vs_usual_care = list(yi = c(0.3671216263437385, 0.44897506874751697),
                                   vi = c(0.005564973417048904, 0.009597525538697405))
)
trial_comparison <- c(trial_verum_vs_sham = "verum vs sham",
                      trial_sham_vs_usual_care = "sham vs usual care",
                      trial_verum_vs_usual_care = "verum vs usual care")
methods <- c("REML", "DL", "PM", "FE")
levels <- c(95, 90)

fitted <- function(r) list(estimate = num(r$beta), se = num(r$se), ci_lb = num(r$ci.lb),
                           ci_ub = num(r$ci.ub), tau2 = num(r$tau2), pval = num(r$pval),
                           zval = num(r$zval), s2w = num(r$s2w), ddf = int(r$ddf),
                           QE = num(r$QE))

cases <- list()
for (nm in names(sets)) for (m in methods) for (lev in levels) {
  s <- sets[[nm]]
  # FE with test = "knha"/"adhoc" warns ("not meant to be used ... FE models"); the values are
  # still the defined ones (q = Q / (k - 1)), which is what acu_meta's FE + hksj computes.
  ad <- suppressWarnings(rma(s$yi, s$vi, method = m, test = "adhoc", level = lev, control = CTRL))
  kh <- suppressWarnings(rma(s$yi, s$vi, method = m, test = "knha", level = lev, control = CTRL))
  cases[[length(cases) + 1L]] <- list(
    id = sprintf("%s-%s-%d", nm, m, lev), data = nm, method = m, level = num(lev),
    k = int(length(s$yi)),
    call = sprintf("rma(yi, vi, method = '%s', test = 'adhoc' | 'knha', level = %d)", m, lev),
    adhoc = fitted(ad), knha = fitted(kh))
}

out <- list(
  R = R.version.string, metafor = as.character(packageVersion("metafor")),
  control = list(threshold = num(CTRL$threshold), maxiter = int(CTRL$maxiter),
                 tol = num(CTRL$tol)),
  methods = strs(methods), levels = nums(levels),
  datasets = lapply(sets, function(s) list(yi = nums(s$yi), vi = nums(s$vi))),
  trial_comparison = as.list(trial_comparison),
  n_cases = int(length(cases)),
  cases = cases)

writeLines(to_json(out), out_path)
cat("wrote", out_path, "with", length(cases), "cases\n")
