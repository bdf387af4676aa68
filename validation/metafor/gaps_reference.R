# Reference values from R/metafor 3.8.1 for the gaps listed in issue #15.
#
# Run from the repository root:
#     Rscript validation/metafor/gaps_reference.R
# Writes tests/fixtures/metafor_gaps.json (deterministic, byte-identical on rerun).
#
# Families (see validation/metafor/README.md, section "Issue #15 gaps"):
#   se_tau2     res$se.tau2 (and tau2, beta, se, QE, I2) for DL, HE, HS, SJ, PM, EB, ML, REML,
#               intercept-only and with moderators, on metadat sets and seeded random sets
#   metareg     meta-regressions: FE (R2 = metafor's weighted-lm adjusted R2) and the 8 tau2
#               estimators, tests z and knha, with the Q-profile CI of the residual tau2
#   escalc      COR, UCOR, ZCOR, SMCC, SMCR, MC, PR, PLO, PAS, PFT, IRR, IRD with vtype variants
#   escalc_rma  rma FE and REML on every escalc case
#   mh          rma.mh OR / RR / RD (and IRR / IRD) with CMH (metafor: MH), Cochran (CO),
#               Breslow-Day (BD), Tarone (TA); options variants (correct, add/to)
#   peto        rma.peto
# Numbers are printed with sprintf("%.17g"); NA/NaN -> null; +-Inf -> "Inf"/"-Inf".
# Every case records the R call used ("call").

suppressPackageStartupMessages({
  library(metafor)   # 3.8.1 expected (loads metadat)
})

out_path <- file.path("tests", "fixtures", "metafor_gaps.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")

source(file.path("validation", "metafor", "json.R"))

## Tight convergence (see README): Fisher scoring threshold, uniroot tol, maxiter.
CTRL    <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)
CI_CTRL <- list(tol = 1e-13, maxiter = 10000L)
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
default_ok <- function(expr) tryCatch({ suppressWarnings(force(expr)); TRUE }, error = function(e) FALSE)
METHODS_RE <- c("DL", "HE", "HS", "SJ", "PM", "EB", "ML", "REML")

## ---------------------------------------------------------------------------
## Datasets for se_tau2 / metareg: yi, vi and moderator columns
## ---------------------------------------------------------------------------
datasets <- list()
add_generic <- function(name, study, yi, vi, mods, source) {
  m <- lapply(mods, nums)
  datasets[[name]] <<- c(list(kind = "generic", source = source, study = strs(study),
                              yi = nums(yi), vi = nums(vi)), m)
}

bcg <- dat.bcg
es <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
add_generic("bcg_RR", paste(bcg$author, bcg$year), es$yi, es$vi,
            list(ablat = bcg$ablat, year = bcg$year),
            "escalc(\"RR\", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); mods ablat, year")
es <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
add_generic("bcg_OR", paste(bcg$author, bcg$year), es$yi, es$vi,
            list(ablat = bcg$ablat, year = bcg$year),
            "escalc(\"OR\", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); mods ablat, year")

nor <- dat.normand1999
es <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
             n2i = n2i, data = nor)
add_generic("normand1999_MD", nor$source, es$yi, es$vi,
            list(logn = log(nor$n1i + nor$n2i)),
            "escalc(\"MD\", m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999); mod logn = log(n1i + n2i) (the dataset has no study-level covariate)")

hs <- dat.hackshaw1998
add_generic("hackshaw1998_OR", paste(hs$author, hs$year), hs$yi, hs$vi,
            list(year = hs$year, cohort = as.numeric(hs$design == "cohort")),
            "dat.hackshaw1998 (yi = log OR, vi as stored); mods year, cohort = (design == \"cohort\")")

rau <- dat.raudenbush1985
add_generic("raudenbush1985", paste(rau$author, rau$year), rau$yi, rau$vi,
            list(weeks = rau$weeks),
            "dat.raudenbush1985 (yi, vi as stored); mod weeks")

## Seeded random sets: k = 2..20, one moderator x
set.seed(20261201)
RAND_K <- c(2L, 3L, 4L, 5L, 6L, 8L, 10L, 12L, 15L, 20L)
rand_names <- character(0)
for (i in seq_along(RAND_K)) {
  k <- RAND_K[i]
  tau2 <- sample(c(0, 0.05, 0.3), 1)
  vi <- runif(k, 0.01, 0.2)
  x <- round(rnorm(k), 2)
  yi <- rnorm(k, 0.2 + 0.3 * x, sqrt(vi + tau2))
  nm <- sprintf("rand-%02d", i)
  rand_names <- c(rand_names, nm)
  add_generic(nm, paste0("S", seq_len(k)), yi, vi, list(x = x),
              sprintf("simulated: set.seed(20261201), set %d: k=%d, tau2=%g, vi~U(.01,.2), x=round(N(0,1),2), yi~N(.2+.3x, vi+tau2)",
                      i, k, tau2))
  datasets[[nm]]$true_tau2 <- tau2
}

D <- function(name) {
  d <- datasets[[name]]
  out <- data.frame(yi = as.numeric(unclass(d$yi)), vi = as.numeric(unclass(d$vi)))
  for (nm in setdiff(names(d), c("kind", "source", "study", "yi", "vi", "true_tau2")))
    out[[nm]] <- as.numeric(unclass(d[[nm]]))
  out
}

## moderator sets per dataset (each a character vector of column names)
MODS <- list(
  bcg_RR = list("ablat", "year", c("ablat", "year")),
  bcg_OR = list("ablat", "year", c("ablat", "year")),
  normand1999_MD = list("logn"),
  hackshaw1998_OR = list("year", "cohort", c("year", "cohort")),
  raudenbush1985 = list("weeks")
)
for (nm in rand_names) MODS[[nm]] <- list("x")

mods_formula <- function(m) as.formula(paste("~", paste(m, collapse = " + ")))
# the moderators are passed as a named numeric matrix (same fit as the formula in "call")
mods_matrix <- function(d, m) as.matrix(d[, m, drop = FALSE])
mods_id <- function(m) if (length(m) == 0L) "none" else paste(m, collapse = "+")

## ---------------------------------------------------------------------------
## se_tau2: intercept-only and with moderators, all 8 estimators, test z
## ---------------------------------------------------------------------------
se_list <- list()
se_entry <- function(ds, m, method) {
  d <- D(ds)
  id <- paste(ds, mods_id(m), method, sep = "-")
  call <- if (length(m) == 0L)
    sprintf("rma(yi, vi, method=\"%s\", control=CTRL)", method) else
    sprintf("rma(yi, vi, mods=%s, method=\"%s\", control=CTRL)", deparse(mods_formula(m)), method)
  r <- if (length(m) == 0L) rma_tight(yi = d$yi, vi = d$vi, method = method) else
    rma_tight(yi = d$yi, vi = d$vi, mods = mods_matrix(d, m), method = method)
  base <- list(id = id, dataset = ds, mods = strs(m), method = method, call = call)
  if (inherits(r, "error")) return(c(base, list(error = conditionMessage(r))))
  c(base, list(control_threshold = thr(r), k = int(r$k), p = int(r$p),
               tau2 = num(r$tau2), se_tau2 = num(r$se.tau2),
               beta = nums(r$beta), se = nums(r$se),
               QE = num(r$QE), I2 = num(r$I2), H2 = num(r$H2)))
}
for (ds in names(MODS)) {
  k <- length(datasets[[ds]]$yi)
  for (method in METHODS_RE) se_list[[length(se_list) + 1L]] <- se_entry(ds, character(0), method)
  for (m in MODS[[ds]]) {
    if (k - length(m) - 1L < 1L) next   # needs k > p
    for (method in METHODS_RE) se_list[[length(se_list) + 1L]] <- se_entry(ds, m, method)
  }
}

## ---------------------------------------------------------------------------
## metareg: FE + 8 estimators, tests z and knha, Q-profile CI of the residual tau2
## ---------------------------------------------------------------------------
mr_list <- list()
ci_field <- function(ci, row, col) if (is.null(ci)) NA_real_ else num(ci$random[row, col])
mr_entry <- function(ds, m, method, test) {
  d <- D(ds)
  f <- mods_formula(m)
  id <- paste(ds, mods_id(m), method, test, sep = "-")
  call <- sprintf("rma(yi, vi, mods=%s, method=\"%s\", test=\"%s\", control=CTRL)",
                  deparse(f), method, test)
  X <- mods_matrix(d, m)
  r <- rma_tight(yi = d$yi, vi = d$vi, mods = X, method = method, test = test)
  base <- list(id = id, dataset = ds, mods = strs(m), method = method, test = test, call = call)
  if (inherits(r, "error")) return(c(base, list(error = conditionMessage(r))))
  ci <- NULL
  if (method != "FE") {
    ci <- tryCatch(suppressWarnings(confint(r, control = CI_CTRL)), error = function(e) NULL)
    base$confint_call <- "confint(res, control=list(tol=1e-13, maxiter=10000))"
  }
  c(base, list(
    control_threshold = thr(r), coef_names = strs(rownames(r$beta)),
    k = int(r$k), p = int(r$p),
    beta = nums(r$beta), se = nums(r$se), zval = nums(r$zval), pval = nums(r$pval),
    ci_lb = nums(r$ci.lb), ci_ub = nums(r$ci.ub), vb = nums(r$vb),
    tau2 = num(r$tau2), se_tau2 = num(r$se.tau2),
    QE = num(r$QE), QEdf = int(r$k - r$p), QEp = num(r$QEp),
    QM = num(r$QM), QMdf = nums(r$QMdf), QMp = num(r$QMp),
    I2 = num(r$I2), H2 = num(r$H2), R2 = num(r$R2), vt = num(r$vt), s2w = num(r$s2w),
    ddf = num(r$ddf),
    tau2_ci_lb = ci_field(ci, "tau^2", "ci.lb"), tau2_ci_ub = ci_field(ci, "tau^2", "ci.ub"),
    I2_ci_lb = ci_field(ci, "I^2(%)", "ci.lb"), I2_ci_ub = ci_field(ci, "I^2(%)", "ci.ub"),
    H2_ci_lb = ci_field(ci, "H^2", "ci.lb"), H2_ci_ub = ci_field(ci, "H^2", "ci.ub"),
    tau2_ci_lb_sign = if (is.null(ci)) NA_character_ else ci$lb.sign,
    tau2_ci_ub_sign = if (is.null(ci)) NA_character_ else ci$ub.sign,
    tau2_ci_null = if (is.null(ci)) NA else isTRUE(ci$ci.null),
    default_converged = default_ok(rma(yi = d$yi, vi = d$vi, mods = X, method = method, test = test))))
}
for (ds in names(MODS)) {
  k <- length(datasets[[ds]]$yi)
  for (m in MODS[[ds]]) {
    if (k - length(m) - 1L < 1L) next
    for (method in c("FE", METHODS_RE)) for (test in c("z", "knha"))
      mr_list[[length(mr_list) + 1L]] <- mr_entry(ds, m, method, test)
  }
}

## ---------------------------------------------------------------------------
## escalc: new measures with vtype variants; input data sets
## ---------------------------------------------------------------------------
es_data <- list()
mol <- dat.molloy2014
es_data[["molloy2014"]] <- list(kind = "correlation", source = "metadat::dat.molloy2014 (ri, ni)",
  study = strs(paste(mol$authors, mol$year)), ri = nums(mol$ri), ni = arr(as.integer(mol$ni)))
# made-up pre-post (change-score) set, pain on a 0-10 scale after (m1i) and before (m2i)
# treatment; metafor's convention is yi = (m1i - m2i) / sd, so improvement is negative.
es_data[["prepost"]] <- list(kind = "prepost",
  source = "made-up pre-post data (k = 8): m1i/sd1i = post, m2i/sd2i = pre, ri = pre-post correlation",
  study = strs(paste0("PP", 1:8)),
  ni = arr(c(24L, 40L, 31L, 58L, 17L, 75L, 46L, 29L)),
  m1i = nums(c(4.1, 3.6, 4.8, 3.9, 5.2, 4.4, 3.2, 4.9)),
  m2i = nums(c(6.3, 6.0, 6.1, 6.4, 6.8, 5.9, 6.2, 6.0)),
  sd1i = nums(c(2.1, 1.8, 2.4, 1.9, 2.6, 2.0, 1.7, 2.2)),
  sd2i = nums(c(1.7, 1.6, 1.9, 1.5, 2.0, 1.8, 1.4, 1.9)),
  ri = nums(c(0.45, 0.62, 0.30, 0.55, 0.71, 0.40, 0.58, 0.25)))
pri <- dat.pritz1997
es_data[["pritz1997"]] <- list(kind = "proportion",
  source = "metadat::dat.pritz1997 (xi, ni); studies 5 and 8 have xi = ni",
  study = strs(pri$authors), xi = arr(as.integer(pri$xi)), ni = arr(as.integer(pri$ni)))
dbr <- dat.debruin2009
es_data[["debruin2009"]] <- list(kind = "proportion", source = "metadat::dat.debruin2009 (xi, ni)",
  study = strs(dbr$author), xi = arr(as.integer(dbr$xi)), ni = arr(as.integer(dbr$ni)))
es_data[["prop_zero"]] <- list(kind = "proportion",
  source = "made-up proportions (k = 6): P1 has xi = 0, P2 has xi = ni",
  study = strs(paste0("P", 1:6)), xi = arr(c(0L, 15L, 3L, 8L, 21L, 5L)),
  ni = arr(c(20L, 15L, 25L, 30L, 40L, 12L)))
hart <- dat.hart1999
es_data[["hart1999"]] <- list(kind = "rate", source = "metadat::dat.hart1999 (x1i, t1i, x2i, t2i)",
  study = strs(hart$study), x1i = arr(as.integer(hart$x1i)), t1i = nums(hart$t1i),
  x2i = arr(as.integer(hart$x2i)), t2i = nums(hart$t2i))
nw <- dat.nielweise2008
es_data[["nielweise2008"]] <- list(kind = "rate", source = "metadat::dat.nielweise2008 (x1i, t1i, x2i, t2i)",
  study = strs(nw$authors), x1i = arr(as.integer(nw$x1i)), t1i = nums(nw$t1i),
  x2i = arr(as.integer(nw$x2i)), t2i = nums(nw$t2i))
es_data[["rate_zero"]] <- list(kind = "rate",
  source = "made-up rates (k = 6): R1 has x1i = 0, R2 has x1i = x2i = 0 (double zero)",
  study = strs(paste0("R", 1:6)), x1i = arr(c(0L, 0L, 4L, 9L, 2L, 12L)),
  t1i = nums(c(850, 400, 1210, 2300, 640, 3100)),
  x2i = arr(c(3L, 0L, 7L, 15L, 6L, 14L)),
  t2i = nums(c(790, 410, 1180, 2250, 700, 2950)))

ED <- function(name) {
  d <- es_data[[name]]
  cols <- setdiff(names(d), c("kind", "source", "study"))
  as.data.frame(lapply(d[cols], function(v) as.numeric(unclass(v))))
}

es_list <- list(); esr_list <- list()
add_es <- function(id, dataset, measure, options, call, es) {
  es_list[[length(es_list) + 1L]] <<- list(id = id, dataset = dataset, measure = measure,
    options = options, call = call, yi = nums(es$yi), vi = nums(es$vi))
  for (method in c("FE", "REML")) {
    ok <- !is.na(es$yi) & !is.na(es$vi)
    r <- rma_tight(yi = as.numeric(es$yi)[ok], vi = as.numeric(es$vi)[ok], method = method)
    base <- list(id = paste(id, method, sep = "-"), escalc_id = id, method = method, test = "z",
                 call = sprintf("rma(yi, vi, method=\"%s\", control=CTRL) on the non-missing escalc values", method))
    esr_list[[length(esr_list) + 1L]] <<- if (inherits(r, "error")) c(base, list(error = conditionMessage(r))) else
      c(base, list(control_threshold = thr(r), k = int(r$k),
                   beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
                   ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
                   tau2 = num(r$tau2), se_tau2 = num(r$se.tau2),
                   QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2)))
  }
}
opt <- function(vtype = NULL, add = NULL, to = NULL, drop00 = NULL) {
  o <- list(vtype = vtype, add = add, to = to, drop00 = drop00)
  o[!vapply(o, is.null, logical(1))]
}

d <- ED("molloy2014")
for (vt in c("LS", "AV")) add_es(paste("molloy2014-COR", vt, sep = "-"), "molloy2014", "COR", opt(vtype = vt),
  sprintf("escalc(\"COR\", ri=ri, ni=ni, vtype=\"%s\")", vt), escalc("COR", ri = ri, ni = ni, data = d, vtype = vt))
for (vt in c("LS", "UB", "AV")) add_es(paste("molloy2014-UCOR", vt, sep = "-"), "molloy2014", "UCOR", opt(vtype = vt),
  sprintf("escalc(\"UCOR\", ri=ri, ni=ni, vtype=\"%s\")", vt), escalc("UCOR", ri = ri, ni = ni, data = d, vtype = vt))
add_es("molloy2014-ZCOR", "molloy2014", "ZCOR", opt(), "escalc(\"ZCOR\", ri=ri, ni=ni)",
       escalc("ZCOR", ri = ri, ni = ni, data = d))

d <- ED("prepost")
for (ms in c("SMCC", "SMCR")) for (vt in c("LS", "LS2"))
  add_es(paste("prepost", ms, vt, sep = "-"), "prepost", ms, opt(vtype = vt),
    sprintf("escalc(\"%s\", m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, ni=ni, ri=ri, vtype=\"%s\")", ms, vt),
    escalc(ms, m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri, data = d, vtype = vt))
add_es("prepost-MC", "prepost", "MC", opt(),
  "escalc(\"MC\", m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, ni=ni, ri=ri)",
  escalc("MC", m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri, data = d))

for (ds in c("pritz1997", "debruin2009", "prop_zero")) {
  d <- ED(ds)
  for (vt in c("LS", "UB", "AV")) add_es(paste(ds, "PR", vt, sep = "-"), ds, "PR", opt(vtype = vt),
    sprintf("escalc(\"PR\", xi=xi, ni=ni, vtype=\"%s\")", vt), escalc("PR", xi = xi, ni = ni, data = d, vtype = vt))
  for (vt in c("LS", "AV")) add_es(paste(ds, "PLO", vt, sep = "-"), ds, "PLO", opt(vtype = vt),
    sprintf("escalc(\"PLO\", xi=xi, ni=ni, vtype=\"%s\")", vt), escalc("PLO", xi = xi, ni = ni, data = d, vtype = vt))
  for (ms in c("PAS", "PFT")) add_es(paste(ds, ms, sep = "-"), ds, ms, opt(),
    sprintf("escalc(\"%s\", xi=xi, ni=ni)", ms), escalc(ms, xi = xi, ni = ni, data = d))
  if (ds != "debruin2009") {
    add_es(paste(ds, "PR-add0", sep = "-"), ds, "PR", opt(vtype = "LS", add = 0, to = "none"),
      "escalc(\"PR\", xi=xi, ni=ni, add=0, to=\"none\")", escalc("PR", xi = xi, ni = ni, data = d, add = 0, to = "none"))
    add_es(paste(ds, "PLO-all", sep = "-"), ds, "PLO", opt(vtype = "LS", add = 0.5, to = "all"),
      "escalc(\"PLO\", xi=xi, ni=ni, add=1/2, to=\"all\")", escalc("PLO", xi = xi, ni = ni, data = d, add = 0.5, to = "all"))
  }
}

for (ds in c("hart1999", "nielweise2008", "rate_zero")) {
  d <- ED(ds)
  for (ms in c("IRR", "IRD")) add_es(paste(ds, ms, sep = "-"), ds, ms, opt(),
    sprintf("escalc(\"%s\", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i)", ms),
    escalc(ms, x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d))
  if (ds == "rate_zero") {
    for (ms in c("IRR", "IRD")) {
      add_es(paste(ds, ms, "drop00", sep = "-"), ds, ms, opt(add = 0.5, to = "only0", drop00 = TRUE),
        sprintf("escalc(\"%s\", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, drop00=TRUE)", ms),
        escalc(ms, x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d, drop00 = TRUE))
      add_es(paste(ds, ms, "all", sep = "-"), ds, ms, opt(add = 0.5, to = "all"),
        sprintf("escalc(\"%s\", x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, to=\"all\")", ms),
        escalc(ms, x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = d, to = "all"))
    }
  }
}

## ---------------------------------------------------------------------------
## Mantel-Haenszel and Peto
## ---------------------------------------------------------------------------
bin_data <- list()
add_bin <- function(name, study, ai, n1i, ci, n2i, source) {
  bin_data[[name]] <<- list(kind = "binary", source = source, study = strs(study),
    ai = arr(as.integer(ai)), bi = arr(as.integer(n1i - ai)), ci = arr(as.integer(ci)),
    di = arr(as.integer(n2i - ci)))
}
add_bin("bcg", paste(bcg$author, bcg$year), bcg$tpos, bcg$tpos + bcg$tneg, bcg$cpos, bcg$cpos + bcg$cneg,
        "metadat::dat.bcg (ai=tpos, bi=tneg, ci=cpos, di=cneg)")
col <- dat.collins1985a
cb <- col[!is.na(col$b.xti) & !is.na(col$b.xci), ]
add_bin("collins1985a_b", paste(cb$trial, cb$year), cb$b.xti, cb$nti, cb$b.xci, cb$nci,
        "metadat::dat.collins1985a, outcome b (persistent or recurrent bleeding; ai=b.xti, n1i=nti, ci=b.xci, n2i=nci), 2 rows with missing counts removed; one double-zero and one single-zero study")
cd <- col[!is.na(col$d.xti) & !is.na(col$d.xci), ]
add_bin("collins1985a_d", paste(cd$trial, cd$year), cd$d.xti, cd$nti, cd$d.xci, cd$nci,
        "metadat::dat.collins1985a, outcome d (deaths; ai=d.xti, n1i=nti, ci=d.xci, n2i=nci), 5 rows with missing counts removed; many zero cells and double zeros")
add_bin("mh_zero", paste0("Z", 1:6),
        ai = c(0, 0, 3, 1, 6, 2), n1i = c(25, 18, 40, 30, 52, 22),
        ci = c(2, 0, 7, 0, 9, 4), n2i = c(24, 20, 41, 29, 50, 23),
        source = "made-up counts (k = 6): Z1 and Z4 have one zero cell, Z2 is a double-zero study")
BD_ <- function(name) {
  d <- bin_data[[name]]
  data.frame(ai = unclass(d$ai), bi = unclass(d$bi), ci = unclass(d$ci), di = unclass(d$di))
}

MH_VARIANTS <- list(
  default = list(opts = list(add = 0.5, to = "only0", drop00 = TRUE, correct = TRUE), args = list()),
  nocorrect = list(opts = list(add = 0.5, to = "only0", drop00 = TRUE, correct = FALSE),
                   args = list(correct = FALSE)),
  mhadd = list(opts = list(add = nums(c(0.5, 0.5)), to = strs(c("only0", "only0")), drop00 = TRUE, correct = TRUE),
               args = list(add = c(0.5, 0.5), to = c("only0", "only0"))),
  keep00 = list(opts = list(add = 0.5, to = "only0", drop00 = arr(c(FALSE, FALSE)), correct = TRUE),
                args = list(drop00 = c(FALSE, FALSE))))
mh_fields <- function(r) list(
  beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
  ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
  QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2), tau2 = num(r$tau2),
  k = int(r$k), k_yi = int(r$k.yi), k_pos = int(r$k.pos), k_all = int(r$k.all),
  MH = num(r$MH), MHp = num(r$MHp), CO = num(r$CO), COp = num(r$COp),
  BD = num(r$BD), BDp = num(r$BDp), TA = num(r$TA), TAp = num(r$TAp))
argtxt <- function(a) if (length(a) == 0L) "" else
  paste0(", ", paste(names(a), vapply(a, function(v) paste(deparse(v), collapse = ""), ""), sep = "=", collapse = ", "))

mh_list <- list(); peto_list <- list()
for (nm in names(bin_data)) {
  d <- BD_(nm)
  for (ms in c("OR", "RR", "RD")) {
    vs <- if (ms == "OR") names(MH_VARIANTS) else c("default", "mhadd", "keep00")
    for (v in vs) {
      a <- MH_VARIANTS[[v]]$args
      r <- suppressWarnings(do.call(rma.mh, c(list(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di, measure = ms), a)))
      mh_list[[length(mh_list) + 1L]] <- c(list(
        id = paste(nm, ms, v, sep = "-"), dataset = nm, measure = ms, variant = v,
        options = MH_VARIANTS[[v]]$opts,
        call = sprintf("rma.mh(ai=ai, bi=bi, ci=ci, di=di, measure=\"%s\"%s)", ms, argtxt(a))), mh_fields(r))
    }
  }
  for (v in c("default", "mhadd", "keep00")) {
    a <- MH_VARIANTS[[v]]$args
    r <- suppressWarnings(do.call(rma.peto, c(list(ai = d$ai, bi = d$bi, ci = d$ci, di = d$di), a)))
    o <- MH_VARIANTS[[v]]$opts; o$correct <- NULL
    peto_list[[length(peto_list) + 1L]] <- list(
      id = paste(nm, v, sep = "-"), dataset = nm, variant = v, options = o,
      call = sprintf("rma.peto(ai=ai, bi=bi, ci=ci, di=di%s)", argtxt(a)),
      beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
      ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
      QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2),
      k = int(r$k), k_yi = int(r$k.yi), k_pos = int(r$k.pos), k_all = int(r$k.all))
  }
}
# Mantel-Haenszel for rates (IRR / IRD) on the rate sets of the escalc family
for (ds in c("hart1999", "nielweise2008", "rate_zero")) {
  d <- ED(ds)
  for (ms in c("IRR", "IRD")) for (v in c("default", "nocorrect")) {
    a <- if (v == "nocorrect") list(correct = FALSE) else list()
    r <- suppressWarnings(do.call(rma.mh, c(list(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i, measure = ms), a)))
    mh_list[[length(mh_list) + 1L]] <- c(list(
      id = paste(ds, ms, v, sep = "-"), dataset = ds, measure = ms, variant = v,
      options = list(add = 0.5, to = "only0", drop00 = TRUE, correct = v != "nocorrect"),
      call = sprintf("rma.mh(x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, measure=\"%s\"%s)", ms, argtxt(a))), mh_fields(r))
  }
}

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------
count_by <- function(lst, key) { t <- table(vapply(lst, function(e) as.character(e[[key]]), "")); as.list(setNames(as.integer(t), names(t))) }
n_err <- function(lst) sum(vapply(lst, function(e) !is.null(e$error), logical(1)))
grid <- list(
  se_tau2 = length(se_list), se_tau2_with_mods = sum(vapply(se_list, function(e) length(e$mods) > 0L, logical(1))),
  se_tau2_by_method = count_by(se_list, "method"),
  metareg = length(mr_list), metareg_by_method = count_by(mr_list, "method"),
  metareg_confint = sum(vapply(mr_list, function(e) !is.null(e$tau2_ci_lb) && !is.na(e$tau2_ci_lb), logical(1))),
  escalc = length(es_list), escalc_by_measure = count_by(es_list, "measure"),
  escalc_rma = length(esr_list),
  mh = length(mh_list), mh_by_measure = count_by(mh_list, "measure"),
  peto = length(peto_list),
  errors = list(se_tau2 = n_err(se_list), metareg = n_err(mr_list), escalc_rma = n_err(esr_list)))
top <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  generator = "validation/metafor/gaps_reference.R",
  control = list(rma = list(threshold = CTRL$threshold, threshold_fallbacks = nums(THRESHOLDS),
                            maxiter = CTRL$maxiter, tol = CTRL$tol),
                 confint = list(tol = CI_CTRL$tol, maxiter = CI_CTRL$maxiter)),
  grid = grid,
  datasets = datasets,
  escalc_datasets = es_data,
  binary_datasets = bin_data,
  se_tau2 = se_list,
  metareg = mr_list,
  escalc = es_list,
  escalc_rma = esr_list,
  mh = mh_list,
  peto = peto_list)
txt <- to_json(top, indent = 0L, max_indent = 2L)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)
cat(sprintf("wrote %s: se_tau2=%d metareg=%d escalc=%d escalc_rma=%d mh=%d peto=%d\n", out_path,
            length(se_list), length(mr_list), length(es_list), length(esr_list), length(mh_list), length(peto_list)))
cat(sprintf("errors: se_tau2=%d metareg=%d escalc_rma=%d; metareg default_converged=false: %d\n",
            n_err(se_list), n_err(mr_list), n_err(esr_list),
            sum(vapply(mr_list, function(e) identical(e$default_converged, FALSE), logical(1)))))
