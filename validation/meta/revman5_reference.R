# Reference values from R/meta for acu_meta's RevMan profiles (issue #15).
#
# Run from the repository root (meta is not a Debian package; see README.md here):
#     R_LIBS=/path/to/rlib Rscript validation/meta/revman5_reference.R
# Writes tests/fixtures/meta_revman5.json (deterministic, byte-identical on rerun).
#
# Two profiles, both after settings.meta("RevMan5"):
#   revman5     the RevMan 5 settings as they are: common effect (MH / inverse variance / Peto)
#               and random effects with DerSimonian-Laird tau2, classic (z) CI, I2 from Q,
#               RR.Cochrane, Q.Cochrane, MH.exact = FALSE, exact.smd = FALSE (Hedges' g with the
#               approximate correction), incr = 0.5 to studies with a zero cell ("only0").
#   revman_web  meta's equivalent of the RevMan Web random-effects methods: method.tau = "REML",
#               method.tau.ci = "QP" (Q-profile), method.random.ci = "HK" (Hartung-Knapp-Sidik-
#               Jonkman), prediction = TRUE (method.predict = "V": t with k-1 df),
#               method.I2 = "tau2" (I2 from the REML tau2); the rest as revman5.
#   revman5_mh_exact  revman5 with MH.exact = TRUE, for method MH only (no increment in the MH
#               weights and variance); not a RevMan setting, recorded to show what the increment does.
# Data: metabin on six binary sets (zero cells and double zeros included), OR / RR / RD with
# method MH and Inverse (and Peto for OR); metacont on two continuous sets, MD and SMD.
# Every fit records the call, the per-study TE / seTE / CI / weights / increments and the pooled
# common and random effects, Q, I2, H, tau2 (with its CI). Numbers: sprintf("%.17g"); NA -> null.

suppressPackageStartupMessages({
  library(metafor)   # datasets from metadat; rma.uni is what meta calls for tau2
  library(meta)      # 8.3-0 expected
})

out_path <- file.path("tests", "fixtures", "meta_revman5.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
source(file.path("validation", "metafor", "json.R"))

settings.meta("RevMan5", quietly = TRUE)
SETTING_NAMES <- c("method.random.ci", "method.tau", "method.tau.ci", "method.I2", "tau.common",
                   "prediction", "method.predict", "level", "level.ma", "MH.exact", "RR.Cochrane",
                   "Q.Cochrane", "exact.smd", "method.smd", "pooledvar", "incr", "method.incr",
                   "allstudies", "method", "adhoc.hakn.ci", "adhoc.hakn.pi")
invisible(capture.output(sm_set <- settings.meta()))   # settings.meta() also prints them all
settings_json <- lapply(setNames(SETTING_NAMES, SETTING_NAMES), function(s) {
  v <- sm_set[[s]]
  if (is.null(v)) NA_character_ else if (length(v) == 1L) v else arr(v)
})

## tight control for the iterative tau2 estimators (passed on by meta to metafor::rma.uni)
CTRL <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)
CI_CTRL <- list(tol = 1e-13, maxiter = 10000L)
PROFILES <- list(
  revman5 = list(args = list(), txt = ""),
  revman_web = list(args = list(method.tau = "REML", method.tau.ci = "QP", method.random.ci = "HK",
                                prediction = TRUE, method.predict = "V", method.I2 = "tau2",
                                control = CTRL),
                    txt = ", method.tau=\"REML\", method.tau.ci=\"QP\", method.random.ci=\"HK\", prediction=TRUE, method.predict=\"V\", method.I2=\"tau2\", control=CTRL"),
  # not a RevMan setting: MH fits only, without the increment in the MH weights (see README)
  revman5_mh_exact = list(args = list(MH.exact = TRUE), txt = ", MH.exact=TRUE"))

## ---------------------------------------------------------------------------
## Datasets
## ---------------------------------------------------------------------------
bin_sets <- list()
add_bin <- function(name, study, ai, n1i, ci, n2i, source) {
  bin_sets[[name]] <<- list(kind = "binary", source = source, study = strs(study),
    event_e = arr(as.integer(ai)), n_e = arr(as.integer(n1i)),
    event_c = arr(as.integer(ci)), n_c = arr(as.integer(n2i)))
}
bcg <- dat.bcg
add_bin("bcg", paste(bcg$author, bcg$year), bcg$tpos, bcg$tpos + bcg$tneg, bcg$cpos, bcg$cpos + bcg$cneg,
        "metadat::dat.bcg (event.e=tpos, n.e=tpos+tneg, event.c=cpos, n.c=cpos+cneg); no zero cells")
data(Fleiss1993bin, package = "meta")
fb <- Fleiss1993bin
add_bin("fleiss1993bin", fb$study, fb$d.asp, fb$n.asp, fb$d.plac, fb$n.plac,
        "meta::Fleiss1993bin (aspirin after myocardial infarction; deaths); no zero cells")
col <- dat.collins1985a
cb <- col[!is.na(col$b.xti) & !is.na(col$b.xci), ]
add_bin("collins1985a_b", paste(cb$trial, cb$year), cb$b.xti, cb$nti, cb$b.xci, cb$nci,
        "metadat::dat.collins1985a, outcome b (bleeding), rows with missing counts removed; one double-zero and one single-zero study")
cd <- col[!is.na(col$d.xti) & !is.na(col$d.xci), ]
add_bin("collins1985a_d", paste(cd$trial, cd$year), cd$d.xti, cd$nti, cd$d.xci, cd$nci,
        "metadat::dat.collins1985a, outcome d (deaths), rows with missing counts removed; many zero cells and double zeros")
yus <- subset(dat.yusuf1985, table == "6")
yus <- yus[!is.na(yus$ai) & !is.na(yus$ci) & !is.na(yus$n1i) & !is.na(yus$n2i), ]
add_bin("yusuf1985_t6", paste(yus$id, yus$trial), yus$ai, yus$n1i, yus$ci, yus$n2i,
        "metadat::dat.yusuf1985, table == \"6\", row with missing counts removed (k = 21); 3 double-zero and 1 single-zero study")
add_bin("mh_zero", paste0("Z", 1:6),
        ai = c(0, 0, 3, 1, 6, 2), n1i = c(25, 18, 40, 30, 52, 22),
        ci = c(2, 0, 7, 0, 9, 4), n2i = c(24, 20, 41, 29, 50, 23),
        source = "made-up counts (k = 6): Z1 and Z4 have one zero cell, Z2 is a double-zero study")

cont_sets <- list()
nor <- dat.normand1999
cont_sets$normand1999 <- list(kind = "continuous", source = "metadat::dat.normand1999 (length of stay, days)",
  study = strs(nor$source), n_e = arr(as.integer(nor$n1i)), mean_e = nums(nor$m1i), sd_e = nums(nor$sd1i),
  n_c = arr(as.integer(nor$n2i)), mean_c = nums(nor$m2i), sd_c = nums(nor$sd2i))
data(Fleiss1993cont, package = "meta")
fc <- Fleiss1993cont
cont_sets$fleiss1993cont <- list(kind = "continuous", source = "meta::Fleiss1993cont (mental health treatment and medical utilisation)",
  study = strs(fc$study), n_e = arr(as.integer(fc$n.psyc)), mean_e = nums(fc$mean.psyc), sd_e = nums(fc$sd.psyc),
  n_c = arr(as.integer(fc$n.cont)), mean_c = nums(fc$mean.cont), sd_c = nums(fc$sd.cont))

V <- function(x) as.numeric(unclass(x))

## Fisher scoring stops on an ABSOLUTE change of tau2 (see validation/metafor/README.md); where
## 1e-13 cannot be met (large tau2) the first threshold of the ladder that converges is used and
## recorded per fit as control_threshold (null where no control is passed: revman5 / DL).
THRESHOLDS <- c(1e-13, 1e-12, 1e-11, 1e-10)
fit_tight <- function(fn, args) {
  if (is.null(args$control)) return(suppressWarnings(do.call(fn, args)))
  last <- NULL
  for (th in THRESHOLDS) {
    args$control$threshold <- th
    m <- tryCatch(suppressWarnings(do.call(fn, args)), error = function(e) e)
    if (!inherits(m, "error")) { attr(m, "control_threshold") <- th; return(m) }
    last <- m
  }
  stop(last)
}

## ---------------------------------------------------------------------------
## Fits
## ---------------------------------------------------------------------------
fit_fields <- function(m) {
  out <- list(
    control_threshold = num(attr(m, "control_threshold")),
    k = int(m$k), k_all = int(m$k.all), k_TE = int(m$k.TE),
    study = list(studlab = strs(m$studlab), TE = nums(m$TE), seTE = nums(m$seTE),
                 lower = nums(m$lower), upper = nums(m$upper),
                 w_common = nums(m$w.common), w_random = nums(m$w.random)),
    common = list(TE = num(m$TE.common), seTE = num(m$seTE.common),
                  lower = num(m$lower.common), upper = num(m$upper.common),
                  statistic = num(m$statistic.common), pval = num(m$pval.common)),
    random = list(method_random_ci = m$method.random.ci,
                  TE = num(m$TE.random), seTE = num(m$seTE.random), seTE_classic = num(m$seTE.classic),
                  df = num(m$df.random), lower = num(m$lower.random), upper = num(m$upper.random),
                  statistic = num(m$statistic.random), pval = num(m$pval.random)),
    heterogeneity = list(Q = num(m$Q), df_Q = num(m$df.Q), pval_Q = num(m$pval.Q),
                         method_tau = m$method.tau, method_tau_ci = m$method.tau.ci,
                         tau2 = num(m$tau2), se_tau2 = num(m$se.tau2),
                         lower_tau2 = num(m$lower.tau2), upper_tau2 = num(m$upper.tau2),
                         tau = num(m$tau), lower_tau = num(m$lower.tau), upper_tau = num(m$upper.tau),
                         method_I2 = m$method.I2, I2 = num(m$I2), lower_I2 = num(m$lower.I2),
                         upper_I2 = num(m$upper.I2), H = num(m$H), lower_H = num(m$lower.H),
                         upper_H = num(m$upper.H)))
  if (identical(m$method.tau.ci, "QP")) {
    # meta calls confint.rma.uni() with confint's default control (uniroot tol about 1.2e-4);
    # the same interval with tight control, from the same rma.uni fit of the analysed studies:
    sel <- !is.na(m$TE) & !is.na(m$seTE) & is.finite(m$TE) & is.finite(m$seTE) & m$seTE > 0 &
      !(if (is.logical(m$exclude) && length(m$exclude) == length(m$TE)) m$exclude else FALSE)
    ctrl <- CTRL; ctrl$threshold <- attr(m, "control_threshold")
    r <- rma.uni(yi = m$TE[sel], sei = m$seTE[sel], method = m$method.tau, control = ctrl)
    if (abs(r$tau2 - m$tau2) > 1e-12 * max(1, m$tau2)) stop("tau2 of the refit differs: ", r$tau2, " vs ", m$tau2)
    ci <- confint(r, control = CI_CTRL)
    out$heterogeneity$tight_ci <- list(
      call = "confint(rma.uni(yi=TE, sei=seTE, method=\"REML\", control=CTRL), control=list(tol=1e-13, maxiter=10000)) on the analysed studies",
      lower_tau2 = num(ci$random["tau^2", "ci.lb"]), upper_tau2 = num(ci$random["tau^2", "ci.ub"]),
      lower_I2 = num(ci$random["I^2(%)", "ci.lb"] / 100), upper_I2 = num(ci$random["I^2(%)", "ci.ub"] / 100),
      lower_H = num(sqrt(ci$random["H^2", "ci.lb"])), upper_H = num(sqrt(ci$random["H^2", "ci.ub"])))
  }
  if (isTRUE(m$prediction))
    out$predict <- list(method_predict = m$method.predict, seTE = num(m$seTE.predict),
                        df = num(m$df.predict), lower = num(m$lower.predict), upper = num(m$upper.predict))
  out
}

cases <- list()
for (nm in names(bin_sets)) {
  d <- bin_sets[[nm]]
  dat <- data.frame(ee = V(d$event_e), ne = V(d$n_e), ec = V(d$event_c), nc = V(d$n_c),
                    study = as.character(unclass(d$study)), stringsAsFactors = FALSE)
  for (sm in c("OR", "RR", "RD")) {
    methods <- if (sm == "OR") c("MH", "Inverse", "Peto") else c("MH", "Inverse")
    for (method in methods) for (pf in names(PROFILES)) {
      if (pf == "revman5_mh_exact" && method != "MH") next
      P <- PROFILES[[pf]]
      args <- c(list(event.e = dat$ee, n.e = dat$ne, event.c = dat$ec, n.c = dat$nc,
                     studlab = dat$study, sm = sm, method = method), P$args)
      m <- fit_tight(metabin, args)
      e <- c(list(id = paste(nm, sm, method, pf, sep = "-"), dataset = nm, fn = "metabin",
                  sm = sm, method = method, profile = pf,
                  call = sprintf("metabin(event.e, n.e, event.c, n.c, studlab, sm=\"%s\", method=\"%s\"%s)",
                                 sm, method, P$txt)),
             fit_fields(m))
      e$study$incr_e <- nums(m$incr.e); e$study$incr_c <- nums(m$incr.c)
      e$sparse <- isTRUE(m$sparse); e$doublezeros <- isTRUE(m$doublezeros)
      e$incr <- num(m$incr); e$method_incr <- m$method.incr
      if (method == "MH") {
        e$MH_exact <- isTRUE(m$MH.exact)
        e$k_MH <- int(m$k.MH)
        e$Q_CMH <- num(m$Q.CMH); e$df_Q_CMH <- num(m$df.Q.CMH); e$pval_Q_CMH <- num(m$pval.Q.CMH)
        if (pf == "revman5") {
          # for comparison only: metafor's MH estimate of the same tables (rma.mh defaults; the
          # MH estimate uses the uncorrected tables; RD variance of Sato, Greenland & Robins 1989)
          r <- suppressWarnings(rma.mh(ai = dat$ee, n1i = dat$ne, ci = dat$ec, n2i = dat$nc, measure = sm))
          e$metafor_rma_mh <- list(call = sprintf("metafor::rma.mh(ai, n1i, ci, n2i, measure=\"%s\")", sm),
                                   beta = num(r$beta), se = num(r$se), QE = num(r$QE))
        }
      }
      cases[[length(cases) + 1L]] <- e
    }
  }
}
for (nm in names(cont_sets)) {
  d <- cont_sets[[nm]]
  for (sm in c("MD", "SMD")) for (pf in c("revman5", "revman_web")) {
    P <- PROFILES[[pf]]
    args <- c(list(n.e = V(d$n_e), mean.e = V(d$mean_e), sd.e = V(d$sd_e),
                   n.c = V(d$n_c), mean.c = V(d$mean_c), sd.c = V(d$sd_c),
                   studlab = as.character(unclass(d$study)), sm = sm), P$args)
    m <- fit_tight(metacont, args)
    cases[[length(cases) + 1L]] <- c(list(
      id = paste(nm, sm, pf, sep = "-"), dataset = nm, fn = "metacont", sm = sm, method = "Inverse",
      profile = pf, method_smd = if (sm == "SMD") m$method.smd else NA_character_,
      exact_smd = if (sm == "SMD") isTRUE(m$exact.smd) else NA,
      call = sprintf("metacont(n.e, mean.e, sd.e, n.c, mean.c, sd.c, studlab, sm=\"%s\"%s)", sm, P$txt)),
      fit_fields(m))
  }
}

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------
by <- function(f) { t <- table(vapply(cases, f, "")); as.list(setNames(as.integer(t), names(t))) }
grid <- list(
  fits = length(cases),
  by_profile = by(function(e) e$profile),
  by_fn = by(function(e) e$fn),
  by_sm_method = by(function(e) paste(e$sm, e$method, sep = "-")),
  binary_datasets = length(bin_sets), continuous_datasets = length(cont_sets),
  fits_with_zero_cells = sum(vapply(cases, function(e) isTRUE(e$sparse), logical(1))),
  fits_with_double_zeros = sum(vapply(cases, function(e) isTRUE(e$doublezeros), logical(1))),
  study_rows = sum(vapply(cases, function(e) length(e$study$TE), 1L)))
top <- list(
  r_version = R.version.string,
  meta_version = as.character(packageVersion("meta")),
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  generator = "validation/meta/revman5_reference.R",
  settings_call = "settings.meta(\"RevMan5\")",
  settings = settings_json,
  profiles = list(revman5 = list(extra_args = "none"),
                  revman_web = list(extra_args = sub("^, ", "", PROFILES$revman_web$txt),
                                    control = list(threshold = CTRL$threshold, maxiter = CTRL$maxiter, tol = CTRL$tol)),
                  revman5_mh_exact = list(extra_args = "MH.exact=TRUE", note = "metabin method MH only; not a RevMan setting")),
  grid = grid,
  datasets = c(bin_sets, cont_sets),
  fits = cases)
txt <- to_json(top, indent = 0L, max_indent = 3L)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)
cat(sprintf("wrote %s: fits=%d (zero cells %d, double zeros %d)\n", out_path, grid$fits,
            grid$fits_with_zero_cells, grid$fits_with_double_zeros))
