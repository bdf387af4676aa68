# Reference values from R/metafor for acu_meta's sensitivity and small-study-effect analyses.
#
# Run from the repository root:
#     Rscript validation/metafor/sensitivity_reference.R
# Writes tests/fixtures/metafor_sensitivity.json (deterministic, byte-identical on rerun).
#
# Covered (metafor 3.8.1): leave1out(), cumul(), influence() (incl. dfbetas and the "*"
# influence flag), regtest() (model = "rma" and "lm"; predictors sei and vi), ranktest(),
# trimfill() (L0 / R0, side estimated and given), fsn() (Rosenthal with Stouffer and Fisher,
# Orwin unweighted / weighted / default target, Rosenberg), and the two WLS regressions of
# PET-PEESE (lm(yi ~ sqrt(vi), weights = 1/vi) and lm(yi ~ vi, weights = 1/vi)).
#
# Every case records the R call used ("call"). Numbers are printed with sprintf("%.17g");
# NA/NaN -> null; +-Inf -> "Inf"/"-Inf" (strings). The JSON is written by hand (no jsonlite).
#
# Convergence: metafor's defaults are loose (Fisher scoring stops at a tau2 change of 1e-5), so
# every rma() fit -- and every refit that metafor makes inside leave1out/cumul/influence/regtest
# (they reuse the model's control) and trimfill (control passed through '...') -- uses
# control = list(threshold = 1e-13, maxiter = 10000, tol = 1e-13).

suppressPackageStartupMessages({
  library(metafor)   # 3.8.1 expected (loads metadat)
})

out_path <- file.path("tests", "fixtures", "metafor_sensitivity.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
if (!dir.exists(dirname(out_path))) dir.create(dirname(out_path))

CTRL <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)
CTRL_TXT <- "control=list(threshold=1e-13, maxiter=10000, tol=1e-13)"
ITERATIVE <- c("REML", "ML", "PM", "EB")

source(file.path("validation", "metafor", "json.R"))

## ---------------------------------------------------------------------------
## Datasets (yi, vi on the analysis scale; stored with %.17g so Python reads the same doubles)
## ---------------------------------------------------------------------------
datasets <- list()
add_dataset <- function(name, measure, study, yi, vi, source) {
  datasets[[name]] <<- list(measure = measure, source = source, study = strs(study),
                            yi = nums(yi), vi = nums(vi))
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_dataset("bcg_RR", "RR", paste(dat.bcg$author, dat.bcg$year), bcg$yi, bcg$vi,
            "escalc(measure=\"RR\", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)")

eg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001,
             subset = -16)
add_dataset("egger2001_OR", "OR", paste(eg$study, eg$year), eg$yi, eg$vi,
            "escalc(measure=\"OR\", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001, subset=-16) (ISIS-4 removed)")

hs <- dat.hackshaw1998
add_dataset("hackshaw1998", "OR", paste(hs$author, hs$year), hs$yi, hs$vi,
            "dat.hackshaw1998 (yi = log OR, vi as stored)")

# simulated sets: one symmetric, two with a small-study effect (yi grows with sei)
set.seed(20260808)
for (i in 1:3) {
  k <- c(9L, 14L, 20L)[i]
  vi <- runif(k, 0.01, 0.25)
  shift <- c(0, 1.2, 2.0)[i] * sqrt(vi)
  yi <- rnorm(k, 0.2 + shift, sqrt(vi + 0.04))
  add_dataset(paste0("rand-", i), "GEN", paste("Study", seq_len(k)), yi, vi,
              sprintf("set.seed(20260808); set %d: k=%d, vi~U(.01,.25), yi~N(.2 + %.1f*sqrt(vi), vi+.04)",
                      i, k, c(0, 1.2, 2.0)[i]))
}

# hand-made set with tied sampling variances (ranktest falls back to the normal approximation)
add_dataset("ties", "GEN", paste("Study", 1:8),
            c(0.10, 0.35, -0.20, 0.50, 0.05, 0.80, 0.30, 0.45),
            c(0.04, 0.04, 0.09, 0.09, 0.02, 0.16, 0.04, 0.09),
            "made-up yi; vi with ties")

D <- function(name) {
  d <- datasets[[name]]
  data.frame(yi = as.numeric(unclass(d$yi)), vi = as.numeric(unclass(d$vi)),
             study = as.character(unclass(d$study)), stringsAsFactors = FALSE)
}

# Where a refit inside leave1out()/influence() fails with the tight control (Fisher scoring
# does not converge; metafor then reports NA for that study), the case is repeated with
# step-halving (stepadj = 0.5), metafor's documented remedy, and stored with the suffix
# "-stepadj"; the NA rows of the plain case are kept as metafor prints them.
CTRL_SA <- c(CTRL, list(stepadj = 0.5))
CTRL_SA_TXT <- "control=list(threshold=1e-13, maxiter=10000, tol=1e-13, stepadj=0.5)"

fit_model <- function(name, method, test, ctrl = CTRL) {
  dd <- D(name)
  rma(yi, vi, data = dd, method = method, test = test, slab = study, control = ctrl)
}
model_call <- function(name, method, test, ctrl_txt = CTRL_TXT) {
  sprintf("res <- rma(yi, vi, data=%s, method=\"%s\", test=\"%s\", %s)", name, method, test,
          ctrl_txt)
}

cases <- list()
add_case <- function(x) cases[[length(cases) + 1L]] <<- x

## ---------------------------------------------------------------------------
## leave1out / cumul
## ---------------------------------------------------------------------------
list_fields <- function(l, stat) {
  list(estimate = nums(l$estimate), se = nums(l$se), statistic = nums(l[[stat]]),
       pval = nums(if (!is.null(l$pval)) l$pval else l$pvals),
       ci_lb = nums(l$ci.lb), ci_ub = nums(l$ci.ub), Q = nums(l$Q), Qp = nums(l$Qp),
       tau2 = nums(if (is.null(l$tau2)) rep(0, length(l$estimate)) else l$tau2),
       I2 = nums(l$I2), H2 = nums(l$H2))
}

LOO_GRID <- list(
  list("bcg_RR", "FE", "z"), list("bcg_RR", "REML", "z"), list("bcg_RR", "DL", "z"),
  list("bcg_RR", "PM", "z"), list("bcg_RR", "REML", "knha"), list("bcg_RR", "DL", "knha"),
  list("bcg_RR", "FE", "knha"),
  list("egger2001_OR", "REML", "z"), list("hackshaw1998", "DL", "z"),
  list("rand-1", "REML", "z"), list("rand-2", "ML", "z"), list("rand-3", "SJ", "knha")
)
for (g in LOO_GRID) {
  for (sa in c(FALSE, TRUE)) {
    res <- fit_model(g[[1]], g[[2]], g[[3]], if (sa) CTRL_SA else CTRL)
    l <- leave1out(res)
    if (!sa) failed <- any(is.na(l$estimate))
    if (sa && !failed) next
    stat <- if (g[[3]] == "z") "zval" else "tval"
    add_case(c(list(id = sprintf("leave1out-%s-%s-%s%s", g[[1]], g[[2]], g[[3]],
                                 if (sa) "-stepadj" else ""), kind = "leave1out",
                    dataset = g[[1]], method = g[[2]], test = g[[3]],
                    call = paste0(model_call(g[[1]], g[[2]], g[[3]],
                                             if (sa) CTRL_SA_TXT else CTRL_TXT),
                                  "; leave1out(res)")),
               list_fields(l, stat)))
  }
}

CUM_GRID <- list(
  list("bcg_RR", "FE", "z", NULL), list("bcg_RR", "REML", "z", NULL),
  list("bcg_RR", "DL", "z", NULL), list("bcg_RR", "REML", "knha", NULL),
  list("bcg_RR", "REML", "z", "year"), list("bcg_RR", "DL", "knha", "year"),
  list("hackshaw1998", "REML", "z", "year"), list("rand-2", "PM", "z", NULL)
)
for (g in CUM_GRID) {
  res <- fit_model(g[[1]], g[[2]], g[[3]])
  ord <- NULL
  if (is.null(g[[4]])) {
    l <- cumul(res)
    ctext <- "cumul(res)"
  } else {
    ord <- if (g[[1]] == "bcg_RR") dat.bcg$year else dat.hackshaw1998$year
    l <- cumul(res, order = ord)
    ctext <- sprintf("cumul(res, order=dat.%s$year)",
                     if (g[[1]] == "bcg_RR") "bcg" else "hackshaw1998")
  }
  stat <- if (g[[3]] == "z") "zval" else "tval"
  add_case(c(list(id = sprintf("cumul-%s-%s-%s%s", g[[1]], g[[2]], g[[3]],
                               if (is.null(ord)) "" else "-year"),
                  kind = "cumul", dataset = g[[1]], method = g[[2]], test = g[[3]],
                  order = if (is.null(ord)) NULL else nums(ord),
                  slab = strs(l$slab),
                  call = paste0(model_call(g[[1]], g[[2]], g[[3]]), "; ", ctext)),
             list_fields(l, stat)))
}

## ---------------------------------------------------------------------------
## influence
## ---------------------------------------------------------------------------
INF_GRID <- list(
  list("bcg_RR", "FE", "z"), list("bcg_RR", "REML", "z"), list("bcg_RR", "DL", "z"),
  list("bcg_RR", "PM", "z"), list("bcg_RR", "REML", "knha"), list("bcg_RR", "DL", "knha"),
  list("egger2001_OR", "REML", "z"), list("hackshaw1998", "DL", "z"),
  list("hackshaw1998", "FE", "z"), list("rand-1", "REML", "z"), list("rand-3", "ML", "z"),
  list("ties", "HE", "z")
)
for (g in INF_GRID) for (sa in c(FALSE, TRUE)) {
  res <- fit_model(g[[1]], g[[2]], g[[3]], if (sa) CTRL_SA else CTRL)
  inf <- influence(res)
  if (!sa) failed <- any(is.na(inf$inf$rstudent))
  if (sa && !failed) next
  add_case(list(id = sprintf("influence-%s-%s-%s%s", g[[1]], g[[2]], g[[3]],
                             if (sa) "-stepadj" else ""), kind = "influence",
                dataset = g[[1]], method = g[[2]], test = g[[3]],
                call = paste0(model_call(g[[1]], g[[2]], g[[3]],
                                         if (sa) CTRL_SA_TXT else CTRL_TXT), "; influence(res)"),
                rstudent = nums(inf$inf$rstudent), dffits = nums(inf$inf$dffits),
                cook_d = nums(inf$inf$cook.d), cov_r = nums(inf$inf$cov.r),
                tau2_del = nums(inf$inf$tau2.del), QE_del = nums(inf$inf$QE.del),
                hat = nums(inf$inf$hat), weight = nums(inf$inf$weight),
                dfbs = nums(inf$dfbs[[1]]), is_infl = arr(as.logical(inf$is.infl))))
}

## ---------------------------------------------------------------------------
## regtest
## ---------------------------------------------------------------------------
REG_GRID <- list(
  list("bcg_RR", "FE", "z"), list("bcg_RR", "REML", "z"), list("bcg_RR", "DL", "z"),
  list("bcg_RR", "PM", "z"), list("bcg_RR", "REML", "knha"), list("bcg_RR", "DL", "knha"),
  list("egger2001_OR", "REML", "z"), list("egger2001_OR", "FE", "z"),
  list("hackshaw1998", "DL", "z"), list("hackshaw1998", "REML", "knha"),
  list("rand-2", "REML", "z"), list("rand-3", "REML", "z"), list("ties", "REML", "z")
)
for (g in REG_GRID) {
  res <- fit_model(g[[1]], g[[2]], g[[3]])
  for (model in c("rma", "lm")) {
    for (pred in c("sei", "vi")) {
      if (model == "lm" && g[[2]] != "REML") next   # lm ignores the model's method / test
      if (model == "lm" && g[[3]] != "z") next
      r <- regtest(res, model = model, predictor = pred)
      add_case(list(
        id = sprintf("regtest-%s-%s-%s-%s-%s", model, pred, g[[1]], g[[2]], g[[3]]),
        kind = "regtest", dataset = g[[1]], method = g[[2]], test = g[[3]], model = model,
        predictor = pred,
        call = paste0(model_call(g[[1]], g[[2]], g[[3]]),
                      sprintf("; regtest(res, model=\"%s\", predictor=\"%s\")", model, pred)),
        zval = num(r$zval), pval = num(r$pval), ddf = num(r$ddf),
        est = num(r$est), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
        fit_tau2 = if (model == "rma") num(r$fit$tau2) else NA_real_))
    }
  }
}

## ---------------------------------------------------------------------------
## ranktest
## ---------------------------------------------------------------------------
for (name in c("bcg_RR", "egger2001_OR", "hackshaw1998", "rand-1", "rand-2", "rand-3", "ties")) {
  res <- fit_model(name, "REML", "z")
  r <- suppressWarnings(ranktest(res))
  add_case(list(id = sprintf("ranktest-%s", name), kind = "ranktest", dataset = name,
                method = "REML", test = "z",
                call = paste0(model_call(name, "REML", "z"), "; ranktest(res)"),
                tau = num(r$tau), pval = num(r$pval)))
}

## ---------------------------------------------------------------------------
## trimfill
## ---------------------------------------------------------------------------
TF_GRID <- list(
  list("bcg_RR", "FE", "z", "L0", NULL), list("bcg_RR", "FE", "z", "R0", NULL),
  list("bcg_RR", "REML", "z", "L0", NULL), list("bcg_RR", "REML", "z", "R0", NULL),
  list("bcg_RR", "DL", "z", "L0", NULL), list("bcg_RR", "REML", "z", "L0", "left"),
  list("bcg_RR", "REML", "knha", "L0", NULL),
  list("hackshaw1998", "FE", "z", "L0", NULL), list("hackshaw1998", "FE", "z", "R0", NULL),
  list("hackshaw1998", "DL", "z", "L0", NULL), list("hackshaw1998", "REML", "z", "L0", NULL),
  list("hackshaw1998", "REML", "z", "R0", NULL),
  list("egger2001_OR", "REML", "z", "L0", NULL), list("egger2001_OR", "FE", "z", "R0", NULL),
  list("rand-1", "REML", "z", "L0", NULL), list("rand-2", "REML", "z", "L0", NULL),
  list("rand-3", "REML", "z", "L0", NULL), list("rand-3", "PM", "z", "R0", NULL),
  list("rand-3", "FE", "z", "L0", "right")
)
for (g in TF_GRID) {
  res <- fit_model(g[[1]], g[[2]], g[[3]])
  if (is.null(g[[5]])) {
    tf <- trimfill(res, estimator = g[[4]], control = CTRL)
    ctext <- sprintf("trimfill(res, estimator=\"%s\", %s)", g[[4]], CTRL_TXT)
  } else {
    tf <- trimfill(res, estimator = g[[4]], side = g[[5]], control = CTRL)
    ctext <- sprintf("trimfill(res, estimator=\"%s\", side=\"%s\", %s)", g[[4]], g[[5]],
                     CTRL_TXT)
  }
  add_case(list(
    id = sprintf("trimfill-%s-%s-%s-%s%s", g[[1]], g[[2]], g[[3]], g[[4]],
                 if (is.null(g[[5]])) "" else paste0("-", g[[5]])),
    kind = "trimfill", dataset = g[[1]], method = g[[2]], test = g[[3]], estimator = g[[4]],
    side_given = if (is.null(g[[5]])) NA_character_ else g[[5]],
    call = paste0(model_call(g[[1]], g[[2]], g[[3]]), "; ", ctext),
    k0 = as.integer(tf$k0), se_k0 = num(tf$se.k0), side = tf$side, p_k0 = num(tf$p.k0),
    k = as.integer(tf$k), fill_test = tf$test,
    estimate = num(tf$beta), se = num(tf$se), zval = num(tf$zval), pval = num(tf$pval),
    ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub), tau2 = num(tf$tau2), I2 = num(tf$I2),
    H2 = num(tf$H2), QE = num(tf$QE), QEp = num(tf$QEp),
    yi = nums(tf$yi), vi = nums(tf$vi), fill = arr(as.logical(tf$fill))))
}

## ---------------------------------------------------------------------------
## fsn
## ---------------------------------------------------------------------------
FSN_GRID <- list(
  list("bcg_RR", "fsn(yi, vi, data=dat)", function(d) fsn(yi, vi, data = d)),
  list("bcg_RR", "fsn(yi, vi, data=dat, test=\"Fisher\")",
       function(d) fsn(yi, vi, data = d, test = "Fisher")),
  list("bcg_RR", "fsn(yi, vi, data=dat, alpha=0.01)", function(d) fsn(yi, vi, data = d, alpha = 0.01)),
  list("bcg_RR", "fsn(yi, data=dat, type=\"Orwin\")", function(d) fsn(yi, data = d, type = "Orwin")),
  list("bcg_RR", "fsn(yi, data=dat, type=\"Orwin\", target=log(0.95))",
       function(d) fsn(yi, data = d, type = "Orwin", target = log(0.95))),
  list("bcg_RR", "fsn(yi, vi, data=dat, type=\"Orwin\", weighted=TRUE, target=log(0.95))",
       function(d) fsn(yi, vi, data = d, type = "Orwin", weighted = TRUE, target = log(0.95))),
  list("bcg_RR", "fsn(yi, vi, data=dat, type=\"Rosenberg\")",
       function(d) fsn(yi, vi, data = d, type = "Rosenberg")),
  list("egger2001_OR", "fsn(yi, vi, data=dat)", function(d) fsn(yi, vi, data = d)),
  list("egger2001_OR", "fsn(yi, vi, data=dat, test=\"Fisher\")",
       function(d) fsn(yi, vi, data = d, test = "Fisher")),
  list("egger2001_OR", "fsn(yi, data=dat, type=\"Orwin\")",
       function(d) fsn(yi, data = d, type = "Orwin")),
  list("egger2001_OR", "fsn(yi, vi, data=dat, type=\"Rosenberg\")",
       function(d) fsn(yi, vi, data = d, type = "Rosenberg")),
  list("hackshaw1998", "fsn(yi, vi, data=dat)", function(d) fsn(yi, vi, data = d)),
  list("hackshaw1998", "fsn(yi, vi, data=dat, type=\"Rosenberg\")",
       function(d) fsn(yi, vi, data = d, type = "Rosenberg")),
  list("hackshaw1998", "fsn(yi, vi, data=dat, type=\"Orwin\", weighted=TRUE)",
       function(d) fsn(yi, vi, data = d, type = "Orwin", weighted = TRUE)),
  list("rand-1", "fsn(yi, vi, data=dat)", function(d) fsn(yi, vi, data = d)),
  list("rand-1", "fsn(yi, vi, data=dat, test=\"Fisher\")",
       function(d) fsn(yi, vi, data = d, test = "Fisher"))
)
for (j in seq_along(FSN_GRID)) {
  g <- FSN_GRID[[j]]
  f <- g[[3]](D(g[[1]]))
  args <- list(type = f$type, test = "Stouffer", alpha = 0.05, weighted = FALSE, target = NA_real_)
  if (grepl("Fisher", g[[2]])) args$test <- "Fisher"
  if (grepl("alpha=0.01", g[[2]])) args$alpha <- 0.01
  if (grepl("weighted=TRUE", g[[2]])) args$weighted <- TRUE
  if (grepl("target=log\\(0.95\\)", g[[2]])) args$target <- log(0.95)
  add_case(list(id = sprintf("fsn-%02d-%s-%s", j, g[[1]], f$type), kind = "fsn",
                dataset = g[[1]], call = paste0("dat <- ", g[[1]], "; ", g[[2]]),
                type = f$type, test = args$test, alpha = args$alpha, weighted = args$weighted,
                target_given = args$target,
                fsnum = num(f$fsnum), pval = num(f$pval), meanes = num(f$meanes),
                target = num(f$target)))
}

## ---------------------------------------------------------------------------
## PET-PEESE regressions (WLS with multiplicative dispersion, as regtest(model = "lm"))
## ---------------------------------------------------------------------------
for (name in c("bcg_RR", "egger2001_OR", "hackshaw1998", "rand-1", "rand-2", "rand-3")) {
  dd <- D(name)
  pet <- summary(lm(yi ~ sqrt(vi), weights = 1 / vi, data = dd))
  peese <- summary(lm(yi ~ vi, weights = 1 / vi, data = dd))
  cf <- function(s) { m <- coef(s); list(est = nums(m[, 1]), se = nums(m[, 2]),
                                         tval = nums(m[, 3]), pval = nums(m[, 4]),
                                         df = num(s$df[2])) }
  add_case(list(id = sprintf("petpeese-%s", name), kind = "pet_peese", dataset = name,
                call = "summary(lm(yi ~ sqrt(vi), weights=1/vi)); summary(lm(yi ~ vi, weights=1/vi))",
                pet = cf(pet), peese = cf(peese)))
}

## ---------------------------------------------------------------------------
## write
## ---------------------------------------------------------------------------
kinds <- table(vapply(cases, function(x) x$kind, ""))
out <- list(
  generated_by = "validation/metafor/sensitivity_reference.R",
  R_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  control = CTRL_TXT,
  n_cases = length(cases),
  counts = as.list(setNames(as.integer(kinds), names(kinds))),
  datasets = datasets,
  cases = cases
)
writeLines(to_json(out, max_indent = 3L), out_path, useBytes = TRUE)
cat(sprintf("wrote %s: %d cases\n", out_path, length(cases)))
