# Reference values from R/metafor for the metafor-style API of issue #14: formula moderators
# (continuous + factor), predict(newmods, transf = exp), anova() Wald tests (btt), anova(full,
# reduced) likelihood-ratio tests (ML and REML), residuals()/rstandard(), exact permutest().
#
# Run from the repository root:
#     Rscript validation/metafor/api_reference.R
# Writes tests/fixtures/metafor_api.json (deterministic). Numbers printed with sprintf("%.17g").
# Every rma() fit uses control = list(threshold = 1e-13, maxiter = 10000, tol = 1e-13) (see
# README.md in this folder: metafor's default threshold 1e-5 is too loose for a reference).

suppressPackageStartupMessages(library(metafor))
source(file.path("validation", "metafor", "json.R"))
out_path <- file.path("tests", "fixtures", "metafor_api.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
CTRL <- list(threshold = 1e-13, maxiter = 10000L, tol = 1e-13)

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

coefs <- function(res) list(names = strs(rownames(res$beta)), beta = nums(res$beta),
                            se = nums(res$se), ci_lb = nums(res$ci.lb), ci_ub = nums(res$ci.ub),
                            pval = nums(res$pval), vb = nums(as.vector(res$vb)),
                            tau2 = num(res$tau2), QM = num(res$QM), QMp = num(res$QMp),
                            QMdf = nums(res$QMdf), QE = num(res$QE), k = int(res$k),
                            p = int(res$p), ll = num(logLik(res)), AIC = num(AIC(res)),
                            BIC = num(BIC(res)))
pred <- function(p) list(pred = nums(p$pred), se = nums(p$se), ci_lb = nums(p$ci.lb),
                         ci_ub = nums(p$ci.ub), pi_lb = nums(p$pi.lb), pi_ub = nums(p$pi.ub))
wald <- function(a) list(QM = num(a$QM), QMp = num(a$QMp), QMdf = nums(a$QMdf),
                         btt = arr(as.integer(a$btt)))
lrt <- function(a) list(LRT = num(a$LRT), pval = num(a$pval), parms_f = int(a$parms.f),
                        parms_r = int(a$parms.r), ll_f = num(a$fit.stats.f["ll"]),
                        ll_r = num(a$fit.stats.r["ll"]), QE_f = num(a$QE.f), QE_r = num(a$QE.r),
                        tau2_f = num(a$tau2.f), tau2_r = num(a$tau2.r), R2 = num(a$R2))
rstd <- function(r) list(resid = nums(r$resid), se = nums(r$se), z = nums(r$z))

newmods <- cbind(c(10, 30, 50), c(0, 1, 0), c(0, 0, 1))  # ablat; alloc random; alloc systematic

out <- list(
  R = R.version.string, metafor = as.character(packageVersion("metafor")),
  data = "dat.bcg, escalc(RR, ai = tpos, bi = tneg, ci = cpos, di = cneg)",
  newmods = list(ablat = nums(newmods[, 1]), random = nums(newmods[, 2]),
                 systematic = nums(newmods[, 3])))

res <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, control = CTRL)
res90 <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, level = 90, control = CTRL)
resk <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, test = "knha", control = CTRL)
out$reml <- c(coefs(res), list(
  call = "rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat)",
  ci90_lb = nums(res90$ci.lb), ci90_ub = nums(res90$ci.ub),
  predict = pred(predict(res, newmods = newmods)),
  predict_exp = pred(predict(res, newmods = newmods, transf = exp)),
  anova_btt2 = wald(anova(res, btt = 2)), anova_btt34 = wald(anova(res, btt = 3:4)),
  residuals = nums(residuals(res)), rstandard = rstd(rstandard(res))))
out$knha <- c(coefs(resk), list(
  call = "rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, test = 'knha')",
  predict = pred(predict(resk, newmods = newmods)),
  anova_btt34 = wald(anova(resk, btt = 3:4))))

for (m in c("ML", "REML")) {
  full <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, method = m, control = CTRL)
  red <- rma(yi, vi, mods = ~ ablat, data = dat, method = m, control = CTRL)
  a <- suppressWarnings(anova(full, red))
  out[[paste0("lrt_", tolower(m))]] <- c(lrt(a), list(
    call = sprintf("anova(rma(yi, vi, mods = ~ ablat + factor(alloc), method = '%s'), rma(yi, vi, mods = ~ ablat, method = '%s'))", m, m),
    full = coefs(full), reduced = coefs(red)))
}

re <- rma(yi, vi, data = dat, control = CTRL)
out$intercept_only <- list(call = "rma(yi, vi, data = dat)", residuals = nums(residuals(re)),
                           rstandard = rstd(rstandard(re)), ll = num(logLik(re)))

## exact permutation test on the first 6 studies (720 permutations of the rows of X)
d6 <- dat[1:6, ]
r6 <- rma(yi, vi, mods = ~ ablat, data = d6, control = CTRL)
p6 <- permutest(r6, exact = TRUE, control = CTRL)
r6fe <- rma(yi, vi, mods = ~ ablat, data = d6, method = "FE")
p6fe <- permutest(r6fe, exact = TRUE)
out$permutest_exact <- list(
  call = "permutest(rma(yi, vi, mods = ~ ablat, data = dat[1:6, ]), exact = TRUE)",
  QM = num(r6$QM), QMp = num(p6$QMp), pval = nums(p6$pval), zval = nums(r6$zval),
  fe_QM = num(r6fe$QM), fe_QMp = num(p6fe$QMp), fe_pval = nums(p6fe$pval))

writeLines(to_json(out), out_path)
cat("wrote", out_path, "\n")
