## Reference values for the plot helpers that compute numbers (metafor 3.8.1 baujat()).
## Run from the repository root: Rscript validation/metafor/plots_reference.R
## Writes tests/fixtures/metafor_baujat.json (numbers printed with %.17g).
suppressPackageStartupMessages(library(metafor))
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
cases <- c()
for (method in c("FE", "REML", "DL")) {
  res <- rma(yi, vi, data = dat, method = method,
             control = list(threshold = 1e-13, maxiter = 10000, tol = 1e-13))
  pdf(NULL)
  b <- baujat(res)
  invisible(dev.off())
  cases <- c(cases, sprintf('  {"id": "bcg-RR-%s", "method": "%s", "x": %s, "y": %s}',
                            method, method, num(b$x), num(b$y)))
}
out <- c("{", sprintf('"metafor_version": "%s",', as.character(packageVersion("metafor"))),
         '"baujat": [', paste(cases, collapse = ",\n"), "]", "}")
writeLines(out, "tests/fixtures/metafor_baujat.json")
