## metafor's forest() for the data of acu_meta's forest review (issue #14, docs/forest_review.md):
## the same fits as validation/metafor/forest_review.py draws with acu_meta, for review beside
## each other. Run from the repository root (metafor 3.8.1, metadat):
##   Rscript validation/metafor/forest_review.R
## Writes docs/forest_review/metafor_*.png (review images; no numbers are taken from them).
suppressPackageStartupMessages(library(metafor))
out <- "docs/forest_review"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
png_of <- function(name, k) {
  png(file.path(out, paste0("metafor_", name, ".png")), width = 1000,
      height = 170 + 26 * k, res = 110, type = "cairo")
}
het <- function(res) {
  how <- if (res$test != "z") sprintf(", Knapp-Hartung t(%d)", res$k - res$p) else ", z"
  bquote(paste("RE Model (", .(res$method), .(how), "; ", tau^2, " = ",
               .(formatC(res$tau2, digits = 2, format = "f")), ", ", I^2, " = ",
               .(formatC(res$I2, digits = 0, format = "f")), "%)"))
}

## 1. BCG vaccine, RR, REML (acu_meta: forest_bcg_rr)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg,
              slab = paste(author, year))
res <- rma(yi, vi, data = bcg, method = "REML")
png_of("bcg_rr", res$k + 6)
forest(res, atransf = exp, at = log(c(0.05, 0.25, 1, 4)), xlim = c(-16, 6),
       ilab = cbind(bcg$tpos, bcg$tpos + bcg$tneg, bcg$cpos, bcg$cpos + bcg$cneg),
       ilab.xpos = c(-9.5, -8, -6, -4.5), cex = 0.75, header = "Author(s) and Year",
       showweights = TRUE, addpred = TRUE, mlab = het(res))
op <- par(cex = 0.75, font = 2)
text(c(-9.5, -8, -6, -4.5), res$k + 2, c("Events", "Total", "Events", "Total"))
text(c(-8.75, -5.25), res$k + 3, c("Vaccinated", "Control"))
par(op)
invisible(dev.off())

## 2. Normand 1999, SMD, DL with Knapp-Hartung, sorted by effect (acu_meta: forest_normand_smd)
nd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.normand1999, slab = source)
res <- rma(yi, vi, data = nd, method = "DL", test = "knha")
png_of("normand_smd", res$k + 6)
forest(res, order = "obs", xlim = c(-10, 4), cex = 0.75, showweights = TRUE, addpred = TRUE,
       ilab = cbind(sprintf("%g (%g)", nd$m1i, nd$sd1i), nd$n1i,
                    sprintf("%g (%g)", nd$m2i, nd$sd2i), nd$n2i),
       ilab.xpos = c(-6.5, -5.3, -4.3, -3.2), header = "Study", mlab = het(res))
op <- par(cex = 0.75, font = 2)
text(c(-6.5, -5.3, -4.3, -3.2), res$k + 2, c("Mean (SD)", "Total", "Mean (SD)", "Total"))
par(op)
invisible(dev.off())

## 3. k = 2 with Knapp-Hartung t(1): two precise studies, a wide interval (the squares case)
res <- rma(yi = c(0.1, 0.5), vi = c(0.0004, 0.0009), slab = c("Big 2010", "Big 2012"),
           method = "REML", test = "knha")
png_of("hksj_k2", res$k + 5)
forest(res, cex = 0.75, showweights = TRUE, addpred = TRUE, header = "Study",
       alim = c(-5, 5), xlim = c(-14, 11), mlab = het(res))
invisible(dev.off())

## 4. tau2 = 0 on a log axis (the ticks case)
t0 <- escalc("RR", ai = c(10, 12, 15), n1i = c(100, 110, 120), ci = c(12, 14, 17),
             n2i = c(100, 110, 120), slab = c("A", "B", "C"))
res <- rma(yi, vi, data = t0, method = "REML")
png_of("tau2_zero", res$k + 5)
forest(res, atransf = exp, cex = 0.75, showweights = TRUE, addpred = TRUE, header = "Study",
       mlab = het(res))
invisible(dev.off())
cat("tau2 of case 4:", res$tau2, "\n")
