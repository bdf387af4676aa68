# metafor's rma() in a loop, for benchmarks/bench_pool_many.py (which writes the data and
# calls this script).
#
#   Rscript benchmarks/bench_metafor.R <data.csv> <outdir> <n_fits> <n_sample>
#
# data.csv: one meta-analysis per row, columns y1..yk, v1..vk (written by the Python script).
# Writes <outdir>/metafor_timing.csv (fits timed, elapsed seconds, seconds per fit, failures)
# and <outdir>/metafor_sample.csv (REML estimate, se and tau2 of the first n_sample fits,
# %.17g): with metafor's default control, and again with a strict convergence threshold to
# show how much of any difference is metafor's default stopping rule.
suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4) stop("usage: bench_metafor.R <data.csv> <outdir> <n_fits> <n_sample>")
d <- read.csv(args[1])
outdir <- args[2]
Y <- as.matrix(d[, grep("^y[0-9]+$", names(d))])
V <- as.matrix(d[, grep("^v[0-9]+$", names(d))])
N <- min(as.integer(args[3]), nrow(Y))
S <- min(as.integer(args[4]), nrow(Y))

fit1 <- function(i, control = list()) {
  keep <- !is.na(Y[i, ])
  tryCatch(rma(Y[i, keep], V[i, keep], method = "REML", control = control),
           error = function(e) NULL)
}

invisible(fit1(1))  # warm-up
res <- vector("list", N)
tm <- system.time(for (i in seq_len(N)) res[[i]] <- fit1(i))
elapsed <- tm[["elapsed"]]
failed <- sum(vapply(res, is.null, logical(1)))

num <- function(x) if (is.null(x)) NA_real_ else x
pick <- function(fits, what) vapply(fits, function(f) num(if (is.null(f)) NULL else
  as.numeric(f[[what]])[1]), numeric(1))
sample_default <- lapply(seq_len(S), function(i) if (i <= N) res[[i]] else fit1(i))
sample_strict <- lapply(seq_len(S), function(i) fit1(i, list(threshold = 1e-12,
                                                             maxiter = 10000)))
out <- data.frame(
  row = seq_len(S) - 1,
  beta = pick(sample_default, "beta"), se = pick(sample_default, "se"),
  tau2 = pick(sample_default, "tau2"),
  beta_strict = pick(sample_strict, "beta"), tau2_strict = pick(sample_strict, "tau2")
)
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
for (col in names(out)[-1]) out[[col]] <- fmt(out[[col]])
write.csv(out, file.path(outdir, "metafor_sample.csv"), row.names = FALSE, quote = FALSE)
write.csv(data.frame(n_fits = N, elapsed = sprintf("%.6f", elapsed),
                     per_fit = sprintf("%.9g", elapsed / N), failed = failed,
                     metafor = as.character(packageVersion("metafor")),
                     r = paste(R.version$major, R.version$minor, sep = ".")),
          file.path(outdir, "metafor_timing.csv"), row.names = FALSE, quote = FALSE)
cat(sprintf("metafor %s: %d rma() fits in %.2f s (%.3f ms per fit), %d failed\n",
            packageVersion("metafor"), N, elapsed, 1000 * elapsed / N, failed))
