# Reference values from R/metafor for the acu_meta test-suite.
#
# Run from the repository root:
#     Rscript validation/metafor/reference.R
# Writes tests/fixtures/metafor_reference.json (deterministic, byte-identical
# on rerun). See validation/metafor/README.md for the description of the grid.

suppressPackageStartupMessages({
  library(metafor)   # 3.8.1 expected (loads metadat)
})

out_path <- file.path("tests", "fixtures", "metafor_reference.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
if (!dir.exists(dirname(out_path))) dir.create(dirname(out_path))

## ---------------------------------------------------------------------------
## Tight convergence settings (metafor defaults: threshold 1e-5, uniroot tol
## .Machine$double.eps^0.25 ~ 1.2e-4, maxiter 100 / 1000).
##   rma.uni control: threshold (Fisher scoring ML/REML/EB change criterion),
##                    tol (uniroot tol for PM; ll0check tolerance),
##                    maxiter (Fisher scoring and uniroot iterations)
##   confint.rma.uni control: tol, maxiter (uniroot for the Q-profile CI)
## ---------------------------------------------------------------------------
CTRL    <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)
CI_CTRL <- list(tol = 1e-13, maxiter = 10000L)

# Fisher scoring uses an ABSOLUTE change criterion on tau2; for large tau2
# (e.g. normand1999 MD, tau2 ~ 685) 1e-13 is below double resolution and the
# iteration never meets it. Ladder: the first threshold that converges is used
# and recorded per entry as "control_threshold".
THRESHOLDS <- c(1e-13, 1e-12, 1e-11, 1e-10)
rma_tight <- function(...) {
  last <- NULL
  for (th in THRESHOLDS) {
    ctrl <- CTRL; ctrl$threshold <- th
    r <- tryCatch(suppressWarnings(rma(..., control = ctrl)), error = function(e) e)
    if (!inherits(r, "error")) { attr(r, "control_threshold") <- th; return(r) }
    last <- r
  }
  last
}
thr <- function(r) num(attr(r, "control_threshold"))

METHODS_RE <- c("DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")

source(file.path("validation", "metafor", "json.R"))

## ---------------------------------------------------------------------------
## Datasets
## ---------------------------------------------------------------------------
datasets <- list()   # name -> list(kind, study, columns...)
add_binary <- function(name, study, ai, n1i, ci, n2i, extra = list()) {
  ai <- as.integer(ai); ci <- as.integer(ci); n1i <- as.integer(n1i); n2i <- as.integer(n2i)
  datasets[[name]] <<- c(list(kind = "binary", study = arr(as.character(study)),
                              ai = arr(ai), bi = arr(n1i - ai), ci = arr(ci), di = arr(n2i - ci),
                              n1i = arr(n1i), n2i = arr(n2i)), extra)
}

# dat.bcg: tpos,tneg,cpos,cneg -> ai,bi,ci,di ; ablat -> mod ; alloc -> group
bcg <- dat.bcg
add_binary("bcg", paste(bcg$author, bcg$year), bcg$tpos, bcg$tpos + bcg$tneg,
           bcg$cpos, bcg$cpos + bcg$cneg,
           extra = list(group = arr(as.character(bcg$alloc)), mod = nums(bcg$ablat),
                        source = "metadat::dat.bcg (ai=tpos, bi=tneg, ci=cpos, di=cneg; mod=ablat; group=alloc)"))

hine <- dat.hine1989
add_binary("hine1989", hine$source, hine$ai, hine$n1i, hine$ci, hine$n2i,
           extra = list(source = "metadat::dat.hine1989 (bi=n1i-ai, di=n2i-ci)"))

yus <- subset(dat.yusuf1985, table == "6")
yus <- yus[!is.na(yus$ai) & !is.na(yus$ci) & !is.na(yus$n1i) & !is.na(yus$n2i), ]
add_binary("yusuf1985_t6", paste(yus$id, yus$trial), yus$ai, yus$n1i, yus$ci, yus$n2i,
           extra = list(source = "metadat::dat.yusuf1985, table == \"6\", row with missing counts (id 1.8, Snow 1) removed; contains 3 double-zero studies and 1 single-zero study"))

lee <- dat.lee2004
add_binary("lee2004", paste(lee$study, lee$year), lee$ai, lee$n1i, lee$ci, lee$n2i,
           extra = list(source = "metadat::dat.lee2004 (acupoint P6 stimulation vs sham, nausea)"))

# Hand-made (made-up counts), k = 5
add_binary("hand_double_zero", paste0("DZ", 1:5),
           ai = c(0, 2, 5, 1, 8), n1i = c(20, 35, 50, 25, 60),
           ci = c(0, 4, 9, 3, 10), n2i = c(22, 33, 48, 25, 61),
           extra = list(source = "hand-made (made-up counts); study DZ1 is a double-zero study"))
add_binary("hand_single_zero", paste0("SZ", 1:5),
           ai = c(0, 3, 7, 2, 12), n1i = c(30, 40, 55, 28, 70),
           ci = c(2, 0, 10, 5, 15), n2i = c(31, 38, 52, 30, 72),
           extra = list(source = "hand-made (made-up counts); SZ1 and SZ2 have a single zero cell, no double zeros"))

nor <- dat.normand1999
datasets[["normand1999"]] <- list(kind = "continuous", study = arr(as.character(nor$source)),
  n1i = arr(as.integer(nor$n1i)), m1i = nums(nor$m1i), sd1i = nums(nor$sd1i),
  n2i = arr(as.integer(nor$n2i)), m2i = nums(nor$m2i), sd2i = nums(nor$sd2i),
  source = "metadat::dat.normand1999")

rau <- dat.raudenbush1985
datasets[["raudenbush1985"]] <- list(kind = "generic",
  study = arr(paste(rau$author, rau$year)), yi = nums(rau$yi), vi = nums(rau$vi),
  source = "metadat::dat.raudenbush1985 (yi, vi as stored)")

## Seeded random generic sets ------------------------------------------------
fit_tau2_reml <- function(yi, vi) {
  r <- rma_tight(yi, vi, method = "REML")
  if (inherits(r, "error")) NA_real_ else r$tau2
}

set.seed(20261127)
rand_sets <- list()
for (i in 1:20) {
  k <- sample(2:12, 1)
  tau2 <- sample(c(0, 0.05, 0.3), 1)
  if (i <= 2) k <- 2L                 # force two sets with k = 2
  if (i %in% 3:5) tau2 <- 0           # force three sets with tau2 = 0 ...
  ndraw <- 0L
  repeat {
    ndraw <- ndraw + 1L
    vi <- runif(k, 0.01, 0.2)
    yi <- rnorm(k, 0.3, sqrt(vi + tau2))
    # ... whose REML estimate of tau2 is exactly 0 (redraw yi/vi otherwise)
    if (!(i %in% 3:5)) break
    t2d <- tryCatch(suppressWarnings(rma(yi, vi, method = "REML"))$tau2, error = function(e) NA_real_)
    if (identical(fit_tau2_reml(yi, vi), 0) && identical(t2d, 0)) break
  }
  nm <- paste0("rand-", i)
  rand_sets[[nm]] <- list(yi = yi, vi = vi)
  datasets[[nm]] <- list(kind = "generic", study = arr(paste0("S", seq_len(k))),
                         yi = nums(yi), vi = nums(vi), true_tau2 = tau2, draws = ndraw,
                         source = "simulated: set.seed(20261127); see README")
}
rand10_sets <- list()
for (i in 1:200) {
  k <- 10L; tau2 <- 0.1
  vi <- runif(k, 0.01, 0.2)
  yi <- rnorm(k, 0.3, sqrt(vi + tau2))
  nm <- paste0("rand10-", i)
  rand10_sets[[nm]] <- list(yi = yi, vi = vi)
  datasets[[nm]] <- list(kind = "generic", study = arr(paste0("S", seq_len(k))),
                         yi = nums(yi), vi = nums(vi), true_tau2 = tau2,
                         source = "simulated (continuation of the same RNG stream); see README")
}

binary_names <- c("bcg", "hine1989", "yusuf1985_t6", "lee2004", "hand_double_zero", "hand_single_zero")
bin_data <- function(name) {
  d <- datasets[[name]]
  data.frame(ai = unclass(d$ai), bi = unclass(d$bi), ci = unclass(d$ci), di = unclass(d$di))
}

## ---------------------------------------------------------------------------
## escalc
## ---------------------------------------------------------------------------
escalc_list <- list()
yv <- list()   # key "dataset|measure" -> list(yi, vi) for the rma grid
add_escalc <- function(id, dataset, measure, options, es) {
  escalc_list[[length(escalc_list) + 1L]] <<- list(id = id, dataset = dataset, measure = measure,
    options = options, yi = nums(es$yi), vi = nums(es$vi))
}
DEF_BIN_OPTS <- list(add = 0.5, to = "only0", drop00 = FALSE, vtype = "LS")

for (nm in binary_names) {
  d <- bin_data(nm)
  for (ms in c("OR", "RR", "RD")) {
    es <- escalc(measure = ms, ai = ai, bi = bi, ci = ci, di = di, data = d)
    add_escalc(paste(nm, ms, sep = "-"), nm, ms, DEF_BIN_OPTS, es)
    yv[[paste(nm, ms, sep = "|")]] <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
  }
  es <- escalc(measure = "PETO", ai = ai, bi = bi, ci = ci, di = di, data = d)
  add_escalc(paste(nm, "PETO", sep = "-"), nm, "PETO", DEF_BIN_OPTS, es)
}
# extras
d <- bin_data("hand_double_zero")
es <- escalc(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = d, drop00 = TRUE)
add_escalc("hand_double_zero-OR-drop00", "hand_double_zero", "OR",
           list(add = 0.5, to = "only0", drop00 = TRUE, vtype = "LS"), es)
es <- suppressWarnings(escalc(measure = "PETO", ai = ai, bi = bi, ci = ci, di = di, data = d, add = 0, to = "none"))
add_escalc("hand_double_zero-PETO-add0", "hand_double_zero", "PETO",
           list(add = 0, to = "none", drop00 = FALSE, vtype = "LS"), es)
d <- bin_data("hand_single_zero")
es <- suppressWarnings(escalc(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = d, add = 0, to = "none"))
add_escalc("hand_single_zero-OR-add0", "hand_single_zero", "OR",
           list(add = 0, to = "none", drop00 = FALSE, vtype = "LS"), es)
es <- suppressWarnings(escalc(measure = "PETO", ai = ai, bi = bi, ci = ci, di = di, data = d, add = 0, to = "none"))
add_escalc("hand_single_zero-PETO-add0", "hand_single_zero", "PETO",
           list(add = 0, to = "none", drop00 = FALSE, vtype = "LS"), es)

for (ms in c("MD", "SMD", "ROM")) {
  es <- escalc(measure = ms, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = nor)
  add_escalc(paste("normand1999", ms, sep = "-"), "normand1999", ms, list(vtype = "LS"), es)
  yv[[paste("normand1999", ms, sep = "|")]] <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}
es <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = nor, vtype = "UB")
add_escalc("normand1999-SMD-UB", "normand1999", "SMD", list(vtype = "UB"), es)

generic_names <- c("raudenbush1985", names(rand_sets), names(rand10_sets))
for (nm in generic_names) {
  d <- datasets[[nm]]
  es <- list(yi = unclass(d$yi), vi = unclass(d$vi))
  add_escalc(paste(nm, "GEN", sep = "-"), nm, "GEN", structure(list(), names = character(0)), es)
  yv[[paste(nm, "GEN", sep = "|")]] <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}

## ---------------------------------------------------------------------------
## rma grid
## ---------------------------------------------------------------------------
default_ok <- function(expr) tryCatch({ suppressWarnings(force(expr)); TRUE }, error = function(e) FALSE)

rma_entry <- function(id, dataset, measure, yi, vi, method, test) {
  res <- rma_tight(yi = yi, vi = vi, method = method, test = test)
  dconv <- default_ok(rma(yi = yi, vi = vi, method = method, test = test))
  base <- list(id = id, dataset = dataset, measure = measure, method = method, test = test, level = 95L)
  if (inherits(res, "error")) {
    return(c(base, list(error = conditionMessage(res), default_converged = dconv)))
  }
  pr <- predict(res)
  is_fe <- method == "FE"
  if (!is_fe) {
    ci <- tryCatch(suppressWarnings(confint(res, control = CI_CTRL)), error = function(e) NULL)
  } else ci <- NULL
  rnd <- if (!is.null(ci)) ci$random else NULL
  c(base, list(
    control_threshold = thr(res),
    k = int(res$k), p = int(res$p),
    beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
    I2 = num(res$I2), H2 = num(res$H2),
    QE = num(res$QE), QEdf = int(res$k - res$p), QEp = num(res$QEp),
    ddf = num(res$ddf), s2w = num(res$s2w), vt = num(res$vt),
    pred = num(pr$pred),
    # predict() gives NA prediction bounds for FE models; use the CI there
    pi_lb = if (is_fe) num(pr$ci.lb) else num(pr$pi.lb),
    pi_ub = if (is_fe) num(pr$ci.ub) else num(pr$pi.ub),
    tau2_ci_lb = if (is.null(rnd)) NA_real_ else num(rnd["tau^2", "ci.lb"]),
    tau2_ci_ub = if (is.null(rnd)) NA_real_ else num(rnd["tau^2", "ci.ub"]),
    I2_ci_lb   = if (is.null(rnd)) NA_real_ else num(rnd["I^2(%)", "ci.lb"]),
    I2_ci_ub   = if (is.null(rnd)) NA_real_ else num(rnd["I^2(%)", "ci.ub"]),
    H2_ci_lb   = if (is.null(rnd)) NA_real_ else num(rnd["H^2", "ci.lb"]),
    H2_ci_ub   = if (is.null(rnd)) NA_real_ else num(rnd["H^2", "ci.ub"]),
    tau2_ci_lb_sign = if (is.null(ci)) NA_character_ else ci$lb.sign,
    tau2_ci_ub_sign = if (is.null(ci)) NA_character_ else ci$ub.sign,
    tau2_ci_null = if (is.null(ci)) NA else isTRUE(ci$ci.null),
    weights = nums(weights(res)),
    default_converged = dconv))
}

rma_list <- list()
grid_keys <- c(paste(rep(binary_names, each = 3), c("OR", "RR", "RD"), sep = "|"),
               paste("normand1999", c("MD", "SMD", "ROM"), sep = "|"),
               paste(c("raudenbush1985", names(rand_sets)), "GEN", sep = "|"))
for (key in grid_keys) {
  parts <- strsplit(key, "|", fixed = TRUE)[[1]]
  nm <- parts[1]; ms <- parts[2]
  prefix <- if (ms == "GEN") nm else paste(nm, ms, sep = "-")
  y <- yv[[key]]
  rma_list[[length(rma_list) + 1L]] <- rma_entry(paste(prefix, "FE", "z", sep = "-"), nm, ms, y$yi, y$vi, "FE", "z")
  for (m in METHODS_RE) for (tt in c("z", "knha")) {
    rma_list[[length(rma_list) + 1L]] <- rma_entry(paste(prefix, m, tt, sep = "-"), nm, ms, y$yi, y$vi, m, tt)
  }
}
for (nm in names(rand10_sets)) {
  y <- yv[[paste(nm, "GEN", sep = "|")]]
  rma_list[[length(rma_list) + 1L]] <- rma_entry(paste(nm, "REML", "z", sep = "-"), nm, "GEN", y$yi, y$vi, "REML", "z")
}

## ---------------------------------------------------------------------------
## Mantel-Haenszel and Peto
## ---------------------------------------------------------------------------
mh_list <- list(); peto_list <- list()
for (nm in binary_names) {
  d <- bin_data(nm)
  for (ms in c("OR", "RR", "RD")) {
    r <- suppressWarnings(rma.mh(ai = ai, bi = bi, ci = ci, di = di, data = d, measure = ms))
    mh_list[[length(mh_list) + 1L]] <- list(
      id = paste(nm, ms, sep = "-"), dataset = nm, measure = ms,
      options = list(add = arr(c(0.5, 0)), to = arr(c("only0", "only0")), drop00 = arr(c(TRUE, FALSE)), correct = TRUE),
      beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
      ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
      QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2),
      k = int(r$k), k_yi = int(r$k.yi), k_pos = int(r$k.pos), k_all = int(r$k.all),
      MH = num(r$MH), MHp = num(r$MHp), CO = num(r$CO), COp = num(r$COp),
      BD = num(r$BD), BDp = num(r$BDp), TA = num(r$TA), TAp = num(r$TAp))
  }
  r <- suppressWarnings(rma.peto(ai = ai, bi = bi, ci = ci, di = di, data = d))
  peto_list[[length(peto_list) + 1L]] <- list(
    id = nm, dataset = nm,
    options = list(add = arr(c(0.5, 0)), to = arr(c("only0", "only0")), drop00 = arr(c(TRUE, FALSE))),
    beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
    ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
    QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2),
    k = int(r$k), k_yi = int(r$k.yi), k_pos = int(r$k.pos), k_all = int(r$k.all))
}

## ---------------------------------------------------------------------------
## Subgroups: dat.bcg by alloc, OR
## ---------------------------------------------------------------------------
sub_list <- list()
y <- yv[["bcg|OR"]]
grp <- as.character(bcg$alloc)
glev <- sort(unique(grp))
for (m in c("REML", "DL")) for (tt in c("z", "knha")) {
  groups <- list(); betas <- c(); ses <- c()
  for (g in glev) {
    sel <- grp == g
    r <- rma_tight(yi = y$yi[sel], vi = y$vi[sel], method = m, test = tt)
    groups[[g]] <- list(control_threshold = thr(r), k = int(r$k), beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
                        ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2),
                        QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2),
                        default_converged = default_ok(rma(yi = y$yi[sel], vi = y$vi[sel], method = m, test = tt)))
    betas <- c(betas, num(r$beta)); ses <- c(ses, num(r$se))
  }
  qb <- rma(yi = betas, sei = ses, method = "FE")
  fgrp <- factor(grp)
  rc <- rma_tight(yi = y$yi, vi = y$vi, mods = ~ fgrp, method = m, test = tt)
  sub_list[[length(sub_list) + 1L]] <- list(
    id = paste("bcg-OR-alloc", m, tt, sep = "-"), dataset = "bcg", measure = "OR", method = m, test = tt,
    group_var = "group", groups = groups,
    Qb = num(qb$QE), Qb_df = int(length(glev) - 1L), Qb_p = num(qb$QEp),
    common_tau2 = list(
      control_threshold = thr(rc), coef_names = arr(rownames(rc$beta)),
      tau2 = num(rc$tau2), se_tau2 = num(rc$se.tau2),
      QM = num(rc$QM), QMdf = nums(rc$QMdf), QMp = num(rc$QMp),
      QE = num(rc$QE), QEp = num(rc$QEp),
      beta = nums(rc$beta), se = nums(rc$se), zval = nums(rc$zval), pval = nums(rc$pval),
      ci_lb = nums(rc$ci.lb), ci_ub = nums(rc$ci.ub),
      default_converged = default_ok(rma(yi = y$yi, vi = y$vi, mods = ~ fgrp, method = m, test = tt))))
}

## ---------------------------------------------------------------------------
## Meta-regression: dat.bcg OR ~ ablat
## ---------------------------------------------------------------------------
mr_list <- list()
ablat <- as.numeric(bcg$ablat)
for (m in c("REML", "DL", "ML", "PM")) for (tt in c("z", "knha")) {
  r <- rma_tight(yi = y$yi, vi = y$vi, mods = ~ ablat, method = m, test = tt)
  mr_list[[length(mr_list) + 1L]] <- list(
    id = paste("bcg-OR-ablat", m, tt, sep = "-"), dataset = "bcg", measure = "OR", method = m, test = tt,
    mods = "mod", mods_source = "ablat", control_threshold = thr(r), coef_names = arr(rownames(r$beta)),
    k = int(r$k), p = int(r$p),
    beta = nums(r$beta), se = nums(r$se), zval = nums(r$zval), pval = nums(r$pval),
    ci_lb = nums(r$ci.lb), ci_ub = nums(r$ci.ub),
    tau2 = num(r$tau2), se_tau2 = num(r$se.tau2),
    QE = num(r$QE), QEdf = int(r$k - r$p), QEp = num(r$QEp),
    QM = num(r$QM), QMdf = nums(r$QMdf), QMp = num(r$QMp),
    I2 = num(r$I2), H2 = num(r$H2), R2 = num(r$R2), s2w = num(r$s2w),
    default_converged = default_ok(rma(yi = y$yi, vi = y$vi, mods = ~ ablat, method = m, test = tt)))
}

## ---------------------------------------------------------------------------
## Conversions: conv.fivenum / conv.wald / conv.delta / conv.2x2 do not exist in
## metafor 3.8.1 (they were added in later versions) -> empty list.
## ---------------------------------------------------------------------------
conv_fns <- c("conv.fivenum", "conv.wald", "conv.delta", "conv.2x2")
conv_available <- conv_fns[vapply(conv_fns, exists, logical(1), where = asNamespace("metafor"))]
if (length(conv_available) > 0L) warning("conv.* functions present but not covered: ", paste(conv_available, collapse = ", "))
conv_list <- list()

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------
top <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  generator = "validation/metafor/reference.R",
  control = list(rma = list(threshold = CTRL$threshold, threshold_fallbacks = nums(THRESHOLDS), maxiter = CTRL$maxiter, tol = CTRL$tol),
                 confint = list(tol = CI_CTRL$tol, maxiter = CI_CTRL$maxiter)),
  datasets = datasets,
  escalc = escalc_list,
  rma = rma_list,
  mh = mh_list,
  peto = peto_list,
  subgroups = sub_list,
  metareg = mr_list,
  conversions = conv_list
)
txt <- to_json(top, indent = 0L, max_indent = 2L)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)

cat(sprintf("wrote %s: datasets=%d escalc=%d rma=%d mh=%d peto=%d subgroups=%d metareg=%d conversions=%d\n",
            out_path, length(datasets), length(escalc_list), length(rma_list), length(mh_list),
            length(peto_list), length(sub_list), length(mr_list), length(conv_list)))
cat(sprintf("rma entries with default_converged=false: %d\n",
            sum(!vapply(rma_list, function(e) isTRUE(e$default_converged), logical(1)))))
cat(sprintf("rma entries with error (tight control): %d\n",
            sum(vapply(rma_list, function(e) !is.null(e$error), logical(1)))))
