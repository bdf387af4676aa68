# metafor timings for benchmarks/bench_goals.py (which writes the data and calls this script).
#
#   Rscript benchmarks/bench_goals.R <data.csv> <out.csv> <n_fits> <n_confint>
#
# data.csv: one meta-analysis per row, columns y1..yk, v1..vk. Times an R loop of
# rma(method = "REML"), "DL" and "FE" over the first n_fits rows, and of rma(REML) + confint()
# (the Q-profile CI of tau2, what acu_meta's pool() also computes) over the first n_confint
# rows. Writes one line per engine: engine, fits, elapsed seconds, seconds per fit.
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4) stop("usage: bench_goals.R <data.csv> <out.csv> <n_fits> <n_confint>")
d <- read.csv(args[1])
Y <- as.matrix(d[, grep("^y[0-9]+$", names(d))])
V <- as.matrix(d[, grep("^v[0-9]+$", names(d))])
N <- min(as.integer(args[3]), nrow(Y))
C <- min(as.integer(args[4]), nrow(Y))
loop <- function(n, f) {
  invisible(f(1))  # warm-up
  system.time(for (i in seq_len(n)) f(i))[["elapsed"]]
}
t_reml <- loop(N, function(i) rma(Y[i, ], V[i, ], method = "REML"))
t_dl <- loop(N, function(i) rma(Y[i, ], V[i, ], method = "DL"))
t_fe <- loop(N, function(i) rma(Y[i, ], V[i, ], method = "FE"))
t_ci <- loop(C, function(i) confint(rma(Y[i, ], V[i, ], method = "REML")))
out <- data.frame(engine = c("rma_REML", "rma_DL", "rma_FE", "rma_REML_confint"),
                  fits = c(N, N, N, C), elapsed = c(t_reml, t_dl, t_fe, t_ci))
out$per_fit <- out$elapsed / out$fits
out$metafor <- as.character(packageVersion("metafor"))
write.csv(out, args[2], row.names = FALSE, quote = FALSE)
