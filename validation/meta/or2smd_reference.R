# Reference values from R/meta and R/metafor for the logit conversion log odds ratio -> SMD
# (Hasselblad & Hedges 1995; Chinn 2000: d = ln(OR) sqrt(3) / pi, var(d) = var(ln OR) 3 / pi^2),
# the target of acu_meta.effects.smd_from_log_or.
#
# Run from the repository root (meta is not a Debian package; see README.md here):
#     R_LIBS=/path/to/rlib Rscript validation/meta/or2smd_reference.R
# Writes tests/fixtures/meta_or2smd.json (deterministic). Numbers: sprintf("%.17g").
#
# Three parts:
#   or2smd   meta::or2smd(lnOR, selnOR, method = "HH") on a grid of log odds ratios: the two
#            worked examples (Borenstein et al. ch. 7 as reproduced in meta's help page or2smd.Rd;
#            esc's convert_or2d(3.56, se = 0.91) example), ORs below and above 1, and GERAC's
#            responder log ORs (from the 2x2 tables below, metafor's escalc "OR").
#   smd2or   meta::smd2or(smd, seSMD, method = "HH", backtransf = FALSE), the inverse, on the two
#            examples' d direction (smd2or.Rd's 0.5 / sqrt(0.0205); esc's convert_d2or(0.7, 0.5))
#            and a few more values.
#   escalc   metafor::escalc("OR2DL", ai, bi, ci, di) (Chinn's logit transform of the 2x2 log OR)
#            beside escalc("OR") on 2x2 tables: GERAC's three responder comparisons and two
#            made-up tables (one with a zero cell: metafor adds 1/2 to every cell).

suppressPackageStartupMessages({
  library(metafor)
  library(meta)      # 8.3-0 expected
})
out_path <- file.path("tests", "fixtures", "meta_or2smd.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
source(file.path("validation", "metafor", "json.R"))

## GERAC 2007 (Haake et al., Arch Intern Med 167:1892) responders at 6 months, Table 4: the
## counts are DERIVED values, not printed in the paper: acu_meta.analyses.gerac2007.
## responder_counts() turns the printed percentages and the printed n = 387 per arm into counts
## (the ones acu_meta.analyses.three_arm uses for the "responder_6mo" outcome set).
gerac <- c(verum = 184, sham = 171, usual_care = 106)
n_gerac <- 387
tables <- list(
  gerac_verum_vs_sham = c(gerac[["verum"]], n_gerac - gerac[["verum"]],
                          gerac[["sham"]], n_gerac - gerac[["sham"]]),
  gerac_sham_vs_usual_care = c(gerac[["sham"]], n_gerac - gerac[["sham"]],
                               gerac[["usual_care"]], n_gerac - gerac[["usual_care"]]),
  gerac_verum_vs_usual_care = c(gerac[["verum"]], n_gerac - gerac[["verum"]],
                                gerac[["usual_care"]], n_gerac - gerac[["usual_care"]]),
  made_up_a = c(12, 38, 25, 25),
  made_up_zero_cell = c(0, 20, 6, 14))
tab <- do.call(rbind, tables)
or <- escalc("OR", ai = tab[, 1], bi = tab[, 2], ci = tab[, 3], di = tab[, 4])
or2dl <- escalc("OR2DL", ai = tab[, 1], bi = tab[, 2], ci = tab[, 3], di = tab[, 4])

## or2smd grid: (label, lnOR, selnOR)
lab <- c("borenstein_ch7", "esc_convert_or2d", "or_0.25", "or_0.5", "or_0.8", "or_1",
         "or_1.5", "or_2.5", "or_6", names(tables)[1:3])
lnor <- c(0.9069, log(3.56), log(0.25), log(0.5), log(0.8), log(1), log(1.5), log(2.5), log(6),
          as.numeric(or$yi[1:3]))
selnor <- c(sqrt(0.0676), 0.91, 0.6, 0.35, 0.2, 0.15, 0.3, 0.45, 1.1, sqrt(as.numeric(or$vi[1:3])))
# meta 8.3-0's or2smd() prints its studlab argument to stdout; capture.output keeps the log clean
invisible(capture.output(m1 <- or2smd(lnor, selnor, studlab = lab, method = "HH")))
stopifnot(identical(as.character(m1$studlab), lab))

## smd2or grid: (label, SMD, seSMD)
lab2 <- c("borenstein_ch7", "esc_convert_d2or", "d_-0.8", "d_-0.2", "d_0", "d_0.3", "d_1.2")
smd <- c(0.5, 0.7, -0.8, -0.2, 0, 0.3, 1.2)
sesmd <- c(sqrt(0.0205), 0.5, 0.25, 0.1, 0.12, 0.2, 0.4)
m2 <- smd2or(smd, sesmd, studlab = lab2, method = "HH", backtransf = FALSE)
stopifnot(identical(as.character(m2$studlab), lab2))

out <- list(
  r_version = R.version.string,
  meta_version = as.character(packageVersion("meta")),
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  or2smd = list(call = "or2smd(lnOR, selnOR, studlab, method = 'HH')",
                label = strs(lab), lnOR = nums(lnor), selnOR = nums(selnor),
                TE = nums(m1$TE), seTE = nums(m1$seTE)),
  smd2or = list(call = "smd2or(smd, seSMD, studlab, method = 'HH', backtransf = FALSE)",
                label = strs(lab2), smd = nums(smd), seSMD = nums(sesmd),
                TE = nums(m2$TE), seTE = nums(m2$seTE)),
  escalc = list(call = "escalc('OR2DL' | 'OR', ai, bi, ci, di)",
                label = strs(names(tables)), ai = nums(tab[, 1]), bi = nums(tab[, 2]),
                ci = nums(tab[, 3]), di = nums(tab[, 4]),
                OR_yi = nums(or$yi), OR_vi = nums(or$vi),
                OR2DL_yi = nums(or2dl$yi), OR2DL_vi = nums(or2dl$vi)),
  n_or2smd = int(length(lab)), n_smd2or = int(length(lab2)), n_escalc = int(length(tables)))

writeLines(to_json(out), out_path)
cat("wrote", out_path, "\n")
