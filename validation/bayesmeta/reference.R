# Reference values from R/bayesmeta 3.4 for acu_meta's exact Bayesian random-effects engine
# (normal-normal hierarchical model, known within-study variances; issue #12).
#
# Run from the repository root:
#     R_LIBS=/work/rlib Rscript validation/bayesmeta/reference.R     (or: make bayesmeta-reference)
# Writes tests/fixtures/bayesmeta_reference.json (deterministic, byte-identical on rerun).
# See validation/bayesmeta/README.md for the grid, the accuracy settings and the failing cases.
#
# With BAYESMETA_CHECK=1 in the environment the script also recomputes, after writing the
# fixture, every successful case by brute-force quadrature in R (independent of bayesmeta's
# DIRECT mixture) and by tight optimisation, and prints the largest discrepancy per quantity to
# stdout. The check never changes the JSON.
#
# Numbers are printed with sprintf("%.17g") by the shared writer validation/metafor/json.R;
# NA, NaN and +-Inf are written as null (converted before writing). No jsonlite needed.

suppressPackageStartupMessages({
  library(metafor)    # 3.8.1 expected (loads metadat); escalc() and the metadat data sets
  library(bayesmeta)  # 3.4 expected (R_LIBS=/work/rlib, see README)
})

out_path <- file.path("tests", "fixtures", "bayesmeta_reference.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
source(file.path("validation", "metafor", "json.R"))
if (as.character(packageVersion("bayesmeta")) != "3.4")
  warning("bayesmeta ", as.character(packageVersion("bayesmeta")), " found, 3.4 expected")

## ---------------------------------------------------------------------------------------------
## Accuracy settings of bayesmeta() (defaults: delta = 0.01, epsilon = 1e-4).
##   delta   : bound on the symmetrised KL divergence between neighbouring tau support points of
##             the DIRECT mixture that approximates every mu / theta_new / theta_i quantity.
##   epsilon : tail probability of tau left out of the mixture.
## The tau quantities use integrate() with bayesmeta's default rel.tol.integrate = 2^16 * eps
## (about 1.5e-11) and do not depend on delta/epsilon. The integration tolerances are left at
## their defaults (they decide which log-t cases fail, see README).
## ---------------------------------------------------------------------------------------------
DELTA   <- 1e-4
EPSILON <- 1e-7

P_GRID <- c(0.005, 0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 0.995)
LEVEL  <- 0.95
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

## helpers: numbers with non-finite -> NA (-> null), arrays of them
fin  <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA_real_; x }
fnum <- function(x) { x <- fin(x); if (length(x) == 0L) NA_real_ else x[1] }
fnums <- function(x) arr(fin(x))

## ---------------------------------------------------------------------------------------------
## Data sets (yi, sei on the analysis scale; printed in full so Python uses exactly these doubles)
## ---------------------------------------------------------------------------------------------
datasets <- list()
add_dataset <- function(id, label, yi, sei, labels) {
  stopifnot(length(yi) == length(sei), length(yi) == length(labels), all(is.finite(yi)),
            all(is.finite(sei)), all(sei > 0))
  datasets[[id]] <<- list(id = id, label = label, yi = as.numeric(yi), sei = as.numeric(sei),
                          labels = as.character(labels))
}

# CrinsEtAl2014 (bayesmeta): acute rejection, log OR, as in Roever (2020, Sec. 3.2-3.3)
data("CrinsEtAl2014", package = "bayesmeta")
crins <- escalc(measure = "OR", ai = exp.AR.events, n1i = exp.total, ci = cont.AR.events,
                n2i = cont.total, slab = publication, data = CrinsEtAl2014)
add_dataset("crins2014", "CrinsEtAl2014 (log OR, escalc)", crins$yi, sqrt(crins$vi),
            CrinsEtAl2014$publication)

# metadat dat.bcg: log RR
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_dataset("bcg", "dat.bcg (log RR, escalc)", bcg$yi, sqrt(bcg$vi),
            paste(dat.bcg$author, dat.bcg$year))

# metadat dat.normand1999: SMD (Hedges' g, escalc default vtype "LS")
nor <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
              n2i = n2i, data = dat.normand1999)
add_dataset("normand1999", "dat.normand1999 (SMD, escalc)", nor$yi, sqrt(nor$vi),
            dat.normand1999$source)

# metadat dat.hackshaw1998: log OR as stored (k = 37)
hs <- dat.hackshaw1998
add_dataset("hackshaw1998", "dat.hackshaw1998 (log OR as stored, k = 37)", hs$yi, sqrt(hs$vi),
            paste(hs$author, hs$year))

# Cochran1954 (bayesmeta): means and squared standard errors (k = 7, effect scale ~ 160)
data("Cochran1954", package = "bayesmeta")
add_dataset("cochran1954", "Cochran1954 (mean, se = sqrt(se2))", Cochran1954$mean,
            sqrt(Cochran1954$se2), Cochran1954$observer)

# Seeded random sets: set.seed(seed); sei <- runif(k, 0.1, 0.6);
# yi <- rnorm(k, 0.3, sqrt(sei^2 + tau^2)) with tau = 0.3 ("huge": tau = 3); "equal": yi all 0.25.
add_random <- function(k, seed, kind = c("plain", "equal", "huge")) {
  kind <- match.arg(kind)
  set.seed(seed)
  sei <- runif(k, 0.1, 0.6)
  tau <- if (kind == "huge") 3 else 0.3
  yi  <- rnorm(k, 0.3, sqrt(sei^2 + tau^2))
  if (kind == "equal") yi <- rep(0.25, k)
  id <- sprintf("rand_k%d_s%d%s", k, seed, if (kind == "plain") "" else paste0("_", kind))
  label <- sprintf("random k=%d seed %d%s", k, seed,
                   switch(kind, plain = "", equal = " (all yi equal 0.25)",
                          huge = " (huge heterogeneity, tau = 3)"))
  add_dataset(id, label, yi, sei, paste0("s", seq_len(k)))
  id
}
RAND <- c(add_random(2, 1), add_random(2, 2), add_random(2, 3, "equal"),
          add_random(3, 5), add_random(3, 6), add_random(3, 7, "huge"),
          add_random(6, 11), add_random(6, 12), add_random(6, 13, "huge"))

## ---------------------------------------------------------------------------------------------
## tau priors: id -> JSON description + the argument passed as bayesmeta(tau.prior = ...)
## ---------------------------------------------------------------------------------------------
# log-normal / log-t on tau^2 turned into a density of tau: p(tau) = f(log(tau^2)) * 2 / tau
dens_log_tau2 <- function(f) {
  force(f)
  function(t) {
    d <- numeric(length(t)); p <- is.finite(t) & (t > 0)
    d[p] <- f(log(t[p]^2)) * 2 / t[p]
    d
  }
}
TP  <- TurnerEtAlPrior("surgical", "pharma", "placebo / control")
RPa <- RhodesEtAlPrior()                                          # general (marginal) setting
RPr <- RhodesEtAlPrior("resource use", "non-pharma", "non-pharma") # bayesmeta's normand example

priors <- list(
  "hn0.5"    = list(json = list(family = "half-normal", scale = 0.5),
                    fun = function(t) dhalfnormal(t, scale = 0.5)),
  "hn1"      = list(json = list(family = "half-normal", scale = 1),
                    fun = function(t) dhalfnormal(t, scale = 1)),
  "hc0.5"    = list(json = list(family = "half-cauchy", scale = 0.5),
                    fun = function(t) dhalfcauchy(t, scale = 0.5)),
  "ht0.5df3" = list(json = list(family = "half-t", scale = 0.5, df = 3),
                    fun = function(t) dhalft(t, df = 3, scale = 0.5)),
  "exp2"     = list(json = list(family = "exponential", rate = 2),
                    fun = function(t) dexp(t, rate = 2)),
  "unif2"    = list(json = list(family = "uniform", lower = 0, upper = 2),
                    fun = function(t) dunif(t, min = 0, max = 2)),
  "lnorm-2_1.5" = list(json = list(family = "log-normal", mu = -2, sigma = 1.5),
                       fun = dens_log_tau2(function(x) dnorm(x, mean = -2, sd = 1.5))),
  "turner_surgical" = list(json = list(family = "turner", outcome = TP$outcome.type,
                                       comparison = TP$comparison.type,
                                       comparators = strs(c("pharmacological", "placebo / control")),
                                       mu = TP$parameters["tau^2", "mu"],
                                       sigma = TP$parameters["tau^2", "sigma"]),
                           fun = TP$dprior),
  "logt-3_1.5_df10" = list(json = list(family = "log-t", location = -3, scale = 1.5, df = 10),
                           fun = dens_log_tau2(function(x) dt((x + 3) / 1.5, df = 10) / 1.5)),
  "logt-3_1.5_df20" = list(json = list(family = "log-t", location = -3, scale = 1.5, df = 20),
                           fun = dens_log_tau2(function(x) dt((x + 3) / 1.5, df = 20) / 1.5)),
  "rhodes_any" = list(json = list(family = "rhodes", outcome = RPa$outcome.type,
                                  comparison = RPa$comparison.type, area = RPa$medical.area,
                                  comparators = list(),
                                  location = RPa$parameters["tau^2", "location"],
                                  scale = RPa$parameters["tau^2", "scale"], df = 5L),
                      fun = RPa$dprior),
  "rhodes_resource" = list(json = list(family = "rhodes", outcome = RPr$outcome.type,
                                       comparison = RPr$comparison.type, area = RPr$medical.area,
                                       comparators = strs(c("non-pharmacological", "non-pharmacological")),
                                       location = RPr$parameters["tau^2", "location"],
                                       scale = RPr$parameters["tau^2", "scale"], df = 5L),
                           fun = RPr$dprior),
  "jeffreys" = list(json = list(family = "jeffreys"), fun = "Jeffreys")
)
# extra priors on the Cochran1954 scale (effects ~ 160, tau ~ 10-20)
priors[["hc10"]] <- list(json = list(family = "half-cauchy", scale = 10),
                         fun = function(t) dhalfcauchy(t, scale = 10))

mu_priors <- list(
  "flat"  = list(json = list(family = "flat"), mean = NA_real_, sd = NA_real_),
  "n0-4"  = list(json = list(family = "normal", mean = 0, sd = 4), mean = 0, sd = 4)
)

## ---------------------------------------------------------------------------------------------
## The grid: (dataset, tau prior, mu prior)
## ---------------------------------------------------------------------------------------------
MAIN_PRIORS <- c("hn0.5", "hn1", "hc0.5", "ht0.5df3", "exp2", "unif2", "lnorm-2_1.5",
                 "turner_surgical", "logt-3_1.5_df10", "logt-3_1.5_df20", "rhodes_any",
                 "rhodes_resource", "jeffreys")
design <- list()
add_cases <- function(ds, pr, mu) for (d in ds) for (p in pr) for (m in mu)
  design[[length(design) + 1L]] <<- list(dataset = d, prior = p, mu = m)
# every prior family, flat mu: Crins (k = 6) and two random sets (k = 2, 3); most on a k = 6 set
add_cases(c("crins2014", "rand_k2_s1", "rand_k3_s5"), MAIN_PRIORS, "flat")
add_cases("rand_k6_s11", c("hn0.5", "ht0.5df3", "exp2", "lnorm-2_1.5", "logt-3_1.5_df10",
                           "rhodes_any", "jeffreys"), "flat")
# all yi equal (k = 2)
add_cases("rand_k2_s3_equal", c("hn0.5", "hc0.5", "unif2", "turner_surgical", "logt-3_1.5_df10",
                                "rhodes_any", "jeffreys"), "flat")
# huge heterogeneity (tau = 3 >> sei; about 1500 support points, so fewer priors)
add_cases("rand_k3_s7_huge", c("hn0.5", "hc0.5", "unif2", "turner_surgical", "logt-3_1.5_df20",
                               "rhodes_any", "jeffreys"), "flat")
add_cases("rand_k6_s13_huge", c("hn1", "logt-3_1.5_df10", "rhodes_resource"), "flat")
# three more random sets with four priors (light, heavy, log-t, improper)
add_cases(c("rand_k2_s2", "rand_k3_s6", "rand_k6_s12"),
          c("hn0.5", "hc0.5", "logt-3_1.5_df10", "jeffreys"), "flat")
# normal(0, 4) mu prior on Crins (Roever 2020's example) and one random set per k = 2, 3
add_cases("crins2014", c("hn0.5", "hc0.5", "ht0.5df3", "exp2", "unif2", "turner_surgical",
                         "logt-3_1.5_df20", "rhodes_any", "jeffreys"), "n0-4")
add_cases(c("rand_k2_s1", "rand_k3_s5"), c("hn0.5", "hc0.5", "turner_surgical", "logt-3_1.5_df20",
                                           "rhodes_any", "jeffreys"), "n0-4")
# more metadat / bayesmeta data sets with a subset of priors
add_cases("normand1999", c("hn0.5", "logt-3_1.5_df20", "rhodes_resource", "jeffreys"), "flat")
add_cases("bcg", c("hn0.5", "jeffreys"), "flat")
add_cases("hackshaw1998", "hn0.5", "flat")
add_cases("cochran1954", c("hc10", "jeffreys"), "flat")

# Development aid: BAYESMETA_ONLY=<regex> runs only the matching case ids and writes the JSON to
# $BAYESMETA_OUT (default /tmp/bayesmeta_reference_subset.json), never to tests/fixtures.
only <- Sys.getenv("BAYESMETA_ONLY")
if (nzchar(only)) {
  design <- Filter(function(cs) grepl(only, paste(cs$dataset, cs$prior, cs$mu, sep = "_")), design)
  out_path <- Sys.getenv("BAYESMETA_OUT", "/tmp/bayesmeta_reference_subset.json")
}

## ---------------------------------------------------------------------------------------------
## One case
## ---------------------------------------------------------------------------------------------
pretty_tau <- function(hi) { x <- pretty(c(0, hi), n = 10); x[x >= 0] }

# Posterior moments that do not exist. Far out, p(tau | y) ~ p(tau) * tau^-(k-1) (flat mu) or
# p(tau) * tau^-k (normal mu). With prior tails tau^-2 (half-Cauchy), tau^-(df+1) (half-t),
# tau^-1 (Jeffreys) or tau^-1 log(tau)^-(df+1) (log-t on tau^2) the posterior tail is
# tau^-a (times the log factor for log-t); E[tau^m] is finite iff a - m > 1 (or = 1 for log-t).
# mu's mean / sd need E[tau] / E[tau^2] under a flat mu prior (Var(mu | tau) ~ tau^2 / k), and
# theta_new's need them under both mu priors (Var(theta_new | tau) >= tau^2). bayesmeta then
# still prints a finite sd (its mixture is cut at the 1 - epsilon quantile of tau, so the value
# depends on epsilon); those fields are written as null and listed on stdout and in README.
infinite_moments <- function(json, k, mu_flat) {
  fam <- json$family
  b <- switch(fam, "half-cauchy" = 2, "half-t" = json$df + 1, "jeffreys" = 1, "log-t" = 1,
              "rhodes" = 1, Inf)
  logf <- fam %in% c("log-t", "rhodes")
  a <- b + (k - 1) + (if (mu_flat) 0 else 1)
  finite_m <- function(m) (a - m > 1) || (logf && a - m == 1)
  out <- character(0)
  if (!finite_m(1)) out <- c(out, "tau.mean", "theta_new.mean", if (mu_flat) "mu.mean")
  if (!finite_m(2)) out <- c(out, "tau.sd", "theta_new.sd", if (mu_flat) "mu.sd")
  out
}
nulled <- list()   # id -> named vector of bayesmeta's raw values that were replaced by null

summ_block <- function(sm, col, shortest) list(
  mode = fnum(sm["mode", col]), median = fnum(sm["median", col]), mean = fnum(sm["mean", col]),
  sd = fnum(sm["sd", col]), central = fnums(sm[c("95% lower", "95% upper"), col]),
  shortest = fnums(shortest))

run_case <- function(cs) {
  ds <- datasets[[cs$dataset]]; pr <- priors[[cs$prior]]; mp <- mu_priors[[cs$mu]]
  id <- paste(cs$dataset, cs$prior, cs$mu, sep = "_")
  base <- list(id = id, dataset = ds$label, yi = fnums(ds$yi), sei = fnums(ds$sei),
               labels = strs(ds$labels), tau_prior = pr$json, mu_prior = mp$json)
  warns <- character(0)
  t0 <- proc.time()[["elapsed"]]
  fit <- tryCatch(withCallingHandlers(
    bayesmeta(y = ds$yi, sigma = ds$sei, labels = ds$labels, tau.prior = pr$fun,
              mu.prior.mean = mp$mean, mu.prior.sd = mp$sd, interval.type = "central",
              delta = DELTA, epsilon = EPSILON),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }),
    error = function(e) e)
  null_rest <- list(summary = NULL, quantiles = NULL, density = NULL, cdf = NULL, theta = NULL,
                    marginal_likelihood = NULL, bayes_factor_tau0 = NULL, bayes_factor_mu0 = NULL,
                    ml = NULL, map = NULL)
  if (inherits(fit, "error")) {
    msg <- conditionMessage(fit)
    message(sprintf("%-45s ERROR %s [in %s] (%.1f s)", id, msg,
                    deparse(conditionCall(fit), width.cutoff = 500L)[1], proc.time()[["elapsed"]] - t0))
    return(list(json = c(base, list(error = msg), null_rest), fit = NULL, warnings = warns))
  }
  step <- function(label, expr)   # name the bayesmeta function that failed in the error text
    tryCatch(expr, error = function(e) stop(label, ": ", conditionMessage(e), call. = FALSE))
  rest <- tryCatch(withCallingHandlers({
    sm <- fit$summary
    sh_tau <- step("$post.interval(tau.level = 0.95, method = 'shortest')",
                   fit$post.interval(tau.level = LEVEL, method = "shortest"))
    sh_mu  <- step("$post.interval(mu.level = 0.95, method = 'shortest')",
                   fit$post.interval(mu.level = LEVEL, method = "shortest"))
    sh_new <- step("$post.interval(mu.level = 0.95, method = 'shortest', predict = TRUE)",
                   fit$post.interval(mu.level = LEVEL, method = "shortest", predict = TRUE))
    q_tau <- step("$qposterior(tau.p)", fit$qposterior(tau.p = P_GRID))
    q_mu  <- step("$qposterior(mu.p)", fit$qposterior(mu.p = P_GRID))
    q_new <- step("$qposterior(mu.p, predict = TRUE)", fit$qposterior(mu.p = P_GRID, predict = TRUE))
    x_tau <- pretty_tau(q_tau[length(P_GRID)])
    x_mu  <- pretty(q_mu[c(1, length(P_GRID))], n = 12)
    x_new <- pretty(q_new[c(1, length(P_GRID))], n = 12)
    th <- fit$theta
    list(
      summary = list(tau = summ_block(sm, "tau", sh_tau), mu = summ_block(sm, "mu", sh_mu),
                     theta_new = summ_block(sm, "theta", sh_new)),
      quantiles = list(p = fnums(P_GRID), tau = fnums(q_tau), mu = fnums(q_mu),
                       theta_new = fnums(q_new)),
      density = list(tau = list(x = fnums(x_tau), d = fnums(step("$dposterior(tau)", fit$dposterior(tau = x_tau)))),
                     mu = list(x = fnums(x_mu), d = fnums(fit$dposterior(mu = x_mu))),
                     theta_new = list(x = fnums(x_new),
                                      d = fnums(fit$dposterior(mu = x_new, predict = TRUE)))),
      cdf = list(tau = list(x = fnums(x_tau), p = fnums(step("$pposterior(tau)", fit$pposterior(tau = x_tau)))),
                 mu = list(x = fnums(x_mu), p = fnums(fit$pposterior(mu = x_mu))),
                 theta_new = list(x = fnums(x_new),
                                  p = fnums(fit$pposterior(mu = x_new, predict = TRUE)))),
      theta = list(median = fnums(th["median", ]), mean = fnums(th["mean", ]),
                   sd = fnums(th["sd", ]), central_low = fnums(th["95% lower", ]),
                   central_high = fnums(th["95% upper", ])),
      marginal_likelihood = fnum(fit$marginal.likelihood),
      bayes_factor_tau0 = fnum(fit$bayesfactor["actual", "tau=0"]),
      bayes_factor_mu0 = fnum(fit$bayesfactor["actual", "mu=0"]),
      ml = list(tau = fnum(fit$ML["joint", "tau"]), mu = fnum(fit$ML["joint", "mu"])),
      map = list(tau = fnum(fit$MAP["joint", "tau"]), mu = fnum(fit$MAP["joint", "mu"])))
  }, warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") }),
  error = function(e) e)
  el <- proc.time()[["elapsed"]] - t0
  if (!inherits(rest, "error")) {
    inf <- infinite_moments(pr$json, length(ds$yi), is.na(mp$mean))
    raw <- numeric(0)
    for (f in inf) {
      parts <- strsplit(f, ".", fixed = TRUE)[[1]]
      raw[f] <- if (is.null(rest$summary[[parts[1]]][[parts[2]]])) NA_real_ else rest$summary[[parts[1]]][[parts[2]]]
      rest$summary[[parts[1]]][parts[2]] <- list(NULL)
    }
    if (length(raw)) nulled[[id]] <<- raw
  }
  if (inherits(rest, "error")) {
    msg <- paste("post-processing:", conditionMessage(rest))
    message(sprintf("%-45s ERROR %s (%.1f s)", id, msg, el))
    return(list(json = c(base, list(error = msg), null_rest), fit = NULL, warnings = warns))
  }
  message(sprintf("%-45s ok  %4d support points  %5.1f s (bayesmeta() cpu %5.1f s)%s", id,
                  nrow(fit$support), el, fit$init.time[["seconds"]],
                  if (length(warns)) paste0("  WARN: ", paste(unique(warns), collapse = " | ")) else ""))
  list(json = c(base, list(error = NULL), rest), fit = fit, warnings = warns)
}

## ---------------------------------------------------------------------------------------------
## Literature priors: every outcome x comparison (x area) bayesmeta offers
## ---------------------------------------------------------------------------------------------
X_LIT <- c(0, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2.5)
CLIST <- c("pharmacological", "non-pharmacological", "placebo / control")
comparator_pairs <- function(prior_fun) {
  # every ordered comparator pair bayesmeta accepts, grouped by the comparison type it maps to
  out <- list()
  for (c1 in CLIST) for (c2 in CLIST) {
    if (c1 == "placebo / control" && c2 == "placebo / control") next
    ct <- prior_fun(c1, c2)$comparison.type
    out[[ct]] <- c(out[[ct]], list(strs(c(c1, c2))))
  }
  out
}
literature <- list()
t_out <- dimnames(TurnerEtAlParameters)[["outcome"]]
t_pairs <- comparator_pairs(function(c1, c2) TurnerEtAlPrior(t_out[1], c1, c2))
for (o in c(NA, t_out)) for (ct in if (is.na(o)) "any" else names(t_pairs)) {
  pr <- if (is.na(o)) TurnerEtAlPrior(NA) else {
    cp <- as.character(unclass(t_pairs[[ct]][[1]])); TurnerEtAlPrior(o, cp[1], cp[2]) }
  stopifnot(pr$comparison.type == ct)
  literature[[length(literature) + 1L]] <- list(
    kind = "turner", outcome = pr$outcome.type, comparison = pr$comparison.type,
    comparators = if (is.na(o)) list() else t_pairs[[ct]],
    mu = pr$parameters["tau^2", "mu"], sigma = pr$parameters["tau^2", "sigma"],
    x_tau = fnums(X_LIT), density_tau = fnums(pr$dprior(X_LIT)))
}
r_out <- dimnames(RhodesEtAlParameters)[["outcome"]]
r_area <- dimnames(RhodesEtAlParameters)[["medical area"]]
r_pairs <- comparator_pairs(function(c1, c2) RhodesEtAlPrior(r_out[1], c1, c2))
for (o in c(NA, r_out)) for (a in if (is.na(o)) "any" else r_area)
  for (ct in if (is.na(o)) "any" else names(r_pairs)) {
    pr <- if (is.na(o)) RhodesEtAlPrior(NA) else {
      cp <- as.character(unclass(r_pairs[[ct]][[1]])); RhodesEtAlPrior(o, cp[1], cp[2], a) }
    stopifnot(pr$comparison.type == ct, pr$medical.area == a)
    literature[[length(literature) + 1L]] <- list(
      kind = "rhodes", outcome = pr$outcome.type, comparison = pr$comparison.type,
      area = pr$medical.area, comparators = if (is.na(o)) list() else r_pairs[[ct]],
      location = pr$parameters["tau^2", "location"], scale = pr$parameters["tau^2", "scale"],
      df = 5L, x_tau = fnums(X_LIT), density_tau = fnums(pr$dprior(X_LIT)))
  }

## ---------------------------------------------------------------------------------------------
## Run and write
## ---------------------------------------------------------------------------------------------
t_start <- proc.time()[["elapsed"]]
results <- lapply(design, run_case)
t_total <- proc.time()[["elapsed"]] - t_start
cases <- lapply(results, `[[`, "json")
ids <- vapply(cases, `[[`, "", "id")
stopifnot(!anyDuplicated(ids))
n_err <- sum(vapply(cases, function(cs) !is.null(cs$error), NA))
n_warn <- sum(vapply(results, function(r) length(r$warnings) > 0L, NA))

used_priors <- unique(vapply(design, `[[`, "", "prior"))
families <- unique(vapply(priors[used_priors], function(p) p$json$family, ""))
used_ds <- unique(vapply(design, `[[`, "", "dataset"))

note <- paste0(
  "bayesmeta.default(y, sigma, labels, tau.prior, mu.prior.mean, mu.prior.sd, ",
  "interval.type = 'central', delta, epsilon); integration tolerances at bayesmeta's defaults ",
  "(rel.tol.integrate = 2^16*.Machine$double.eps, abs.tol.integrate = 0, tol.uniroot = rel.tol.integrate). ",
  "summary.*.central = $summary 95% interval (central); summary.*.shortest = $post.interval(0.95, method = 'shortest'); ",
  "theta = $theta (central 95%); ml/map = $ML['joint', ] / $MAP['joint', ] (optim Nelder-Mead, ",
  "default tolerances); bayes factors = $bayesfactor['actual', ]. Non-finite numbers are null, and so are ",
  "summary mean/sd fields whose posterior moment does not exist (heavy tails; bayesmeta prints an ",
  "epsilon-dependent finite value there, listed in the README). ",
  "Cases with error != null failed inside bayesmeta; their other fields are null. ",
  "metafor ", as.character(packageVersion("metafor")), ", metadat ",
  as.character(packageVersion("metadat")), ". See validation/bayesmeta/README.md for accuracy.")

out <- list(
  meta = list(bayesmeta = as.character(packageVersion("bayesmeta")), R = R.version.string,
              delta = DELTA, epsilon = EPSILON, note = note),
  cases = cases,
  literature_priors = literature,
  grid = list(n_cases = length(cases), n_literature_priors = length(literature),
              families = strs(families),
              datasets = strs(vapply(datasets[used_ds], `[[`, "", "label"))))

json <- to_json(out, max_indent = 3L)
con <- file(out_path, open = "wb")
writeLines(json, con, sep = "\n", useBytes = TRUE)
close(con)
message(sprintf("wrote %s: %d cases (%d errors, %d with warnings), %d literature priors; bayesmeta time %.0f s",
                out_path, length(cases), n_err, n_warn, length(literature), t_total))
if (length(nulled)) {
  message("moments that do not exist (written as null; bayesmeta's raw value in brackets):")
  for (id in names(nulled))
    message(sprintf("  %-40s %s", id, paste(sprintf("%s [%s]", names(nulled[[id]]),
                                                     format(nulled[[id]], digits = 6)), collapse = ", ")))
}

## =============================================================================================
## Optional accuracy check (BAYESMETA_CHECK=1): recompute every successful case by brute force,
## independently of bayesmeta's DIRECT mixture, and print the largest discrepancy per quantity.
##   p(tau | y) is integrated on u = log(tau) with integrate(rel.tol = 1e-13) over fixed panels;
##   mu, theta_new and theta_i are normal mixtures over it (conditional moments given tau);
##   quantiles by uniroot(tol = 1e-13) on those CDFs; modes by optimize(tol = 1e-12); shortest
##   intervals by solving f(a) = f(Q(F(a) + 0.95)); joint ML / MAP by profiling mu out and
##   optimize(tol = 1e-12) over tau (with the tau = 0 boundary).
## =============================================================================================
if (nzchar(Sys.getenv("BAYESMETA_CHECK"))) {
  bf_model <- function(y, s, prior, mu_mean, mu_sd, extra_breaks = numeric(0)) {
    v0 <- s^2; k <- length(y); normal_mu <- is.finite(mu_mean)
    if (is.character(prior))   # bayesmeta's "Jeffreys": sqrt(sum_i (tau / (s_i^2 + tau^2))^2)
      prior <- function(t) sqrt(rowSums((t / outer(t^2, v0, "+"))^2))
    cm <- function(t) {   # moments of mu | tau, y
      W <- 1 / outer(t^2, v0, "+")
      sw <- rowSums(W); swy <- as.vector(W %*% y)
      if (normal_mu) { sw <- sw + 1 / mu_sd^2; swy <- swy + mu_mean / mu_sd^2 }
      list(mean = swy / sw, var = 1 / sw, W = W)
    }
    loglik <- function(t) {  # log p(y | tau): mu integrated out (flat: w.r.t. Lebesgue measure)
      c0 <- cm(t)
      r2 <- (matrix(y, length(t), k, byrow = TRUE) - c0$mean)^2 * c0$W
      q <- rowSums(r2); ld <- -rowSums(log(c0$W)); kk <- k
      if (normal_mu) { q <- q + (mu_mean - c0$mean)^2 / mu_sd^2; ld <- ld + log(mu_sd^2); kk <- k + 1 }
      -0.5 * ((kk - 1) * log(2 * pi) + ld + q - log(c0$var))
    }
    sc <- max(stats::median(s), 1e-3)
    br <- sort(unique(c(log(sc * c(1e-8, 1e-6, 1e-4, 1e-3, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.75, 1,
                                   1.5, 2, 3, 5, 10, 20, 50, 100, 1e3, 1e4)), extra_breaks)))
    lp0 <- max(loglik(exp(br)))
    f_u <- function(u, g) {   # unnormalised p(tau) L(tau) g(tau) dtau/du
      t <- exp(u); out <- numeric(length(u)); pr <- prior(t)
      ok <- is.finite(t) & (t > 0) & (pr > 0)
      if (any(ok)) out[ok] <- exp(log(pr[ok]) + loglik(t[ok]) - lp0) * t[ok] * g(t[ok])
      out
    }
    int <- function(g = function(t) 1, upper = Inf) {
      lims <- c(-Inf, br[exp(br) < upper], if (is.finite(upper)) log(upper) else Inf)
      tot <- 0
      for (i in seq_len(length(lims) - 1L)) if (lims[i] < lims[i + 1L])
        tot <- tot + integrate(f_u, lims[i], lims[i + 1L], g = g, rel.tol = 1e-13, abs.tol = 1e-15,
                               subdivisions = 500L, stop.on.error = FALSE)$value
      tot
    }
    int_f <- function(h) {    # integral of h(tau) dtau over the same panels (h vectorised)
      tot <- 0
      lims <- c(-Inf, br, Inf)
      for (i in seq_len(length(lims) - 1L))
        tot <- tot + integrate(function(u) { t <- exp(u); out <- h(t) * t; out[!is.finite(t) | t <= 0] <- 0; out },
                               lims[i], lims[i + 1L], rel.tol = 1e-13, abs.tol = 0,
                               subdivisions = 500L, stop.on.error = FALSE)$value
      tot
    }
    Z <- int()
    environment()
  }
  bf_mix <- function(B, which, i = NULL) {   # conditional moments (mean, sd) of a mixture
    function(t) {
      c0 <- B$cm(t)
      if (which == "mu") return(list(m = c0$mean, s = sqrt(c0$var)))
      if (which == "theta_new") return(list(m = c0$mean, s = sqrt(c0$var + t^2)))
      s2 <- B$v0[i]; t2 <- t^2          # theta_i | tau, y
      list(m = (t2 * B$y[i] + s2 * c0$mean) / (t2 + s2),
           s = sqrt(s2 * t2 / (s2 + t2) + (s2 / (s2 + t2))^2 * c0$var))
    }
  }
  bf_cdf  <- function(B, mix, x) vapply(x, function(xx)
    B$int(function(t) { z <- mix(t); pnorm(xx, z$m, z$s) }) / B$Z, 0)
  bf_dens <- function(B, mix, x) vapply(x, function(xx)
    B$int(function(t) { z <- mix(t); dnorm(xx, z$m, z$s) }) / B$Z, 0)
  bf_mom  <- function(B, mix) {
    m1 <- B$int(function(t) mix(t)$m) / B$Z
    m2 <- B$int(function(t) { z <- mix(t); z$s^2 + z$m^2 }) / B$Z
    c(mean = m1, sd = sqrt(max(0, m2 - m1^2)))
  }
  bf_q <- function(cdf, p, guess, spread) vapply(seq_along(p), function(j)
    uniroot(function(x) cdf(x) - p[j], c(guess[j] - spread, guess[j] + spread), tol = 1e-13,
            extendInt = "upX")$root, 0)
  bf_tau_cdf  <- function(B, x) vapply(x, function(xx) if (xx <= 0) 0 else B$int(upper = xx) / B$Z, 0)
  bf_tau_dens <- function(B, x) { d <- B$prior(x) * exp(B$loglik(x) - B$lp0) / B$Z; d[!(x >= 0)] <- 0; d }
  bf_tau_q <- function(B, p, guess) vapply(seq_along(p), function(j)
    uniroot(function(x) bf_tau_cdf(B, x) - p[j], c(max(0, guess[j] * 0.99 - 1e-9), guess[j] * 1.01 + 1e-9),
            tol = 1e-13, extendInt = "upX")$root, 0)
  bf_shortest <- function(dens, cdf, qf, lo, hi, bounded) {
    g <- function(a) dens(a) - dens(qf(cdf(a) + LEVEL))     # zero at the shortest interval
    glo <- g(lo)
    if (bounded && glo >= 0) return(c(lo, qf(LEVEL)))
    ghi <- g(hi)
    a <- if (glo < 0 && ghi > 0) uniroot(g, c(lo, hi), f.lower = glo, f.upper = ghi, tol = 1e-12)$root
         else optimize(function(a) qf(cdf(a) + LEVEL) - a, c(lo, hi), tol = 1e-12)$minimum
    c(a, qf(cdf(a) + LEVEL))
  }
  # Each discrepancy is recorded absolutely and in units of the quantity's posterior scale
  # s = (97.5% - 2.5% quantile) / 3.92 (densities: times s); the worst case is named.
  errs <- list(); rels <- list(); worst <- list(); cur_id <- ""
  note_err <- function(q, e, scale = 1) {
    e <- abs(e[is.finite(e)])
    if (!length(e)) return(invisible())
    errs[[q]] <<- max(c(errs[[q]], e))
    if (is.null(rels[[q]]) || max(e) / scale > rels[[q]]) { rels[[q]] <<- max(e) / scale; worst[[q]] <<- cur_id }
    if (max(e) / scale > 1e-3) big[[length(big) + 1L]] <<- sprintf("%-40s %-22s %.2e", cur_id, q, max(e) / scale)
  }
  big <- list()
  has <- function(x) !is.null(x) && is.finite(x)
  un <- function(x) as.numeric(unclass(x))
  argmax_grid <- function(f, lo, hi) {   # global search on a grid, then optimize() around the best
    x <- sort(unique(c(seq(lo, hi, length.out = 2001L), lo + (hi - lo) * 10^seq(-8, 0, length.out = 400L))))
    v <- vapply(x, f, 0); v[!is.finite(v)] <- -Inf; i <- which.max(v)
    o <- optimize(f, c(x[max(1L, i - 1L)], x[min(length(x), i + 1L)]), maximum = TRUE, tol = 1e-12)
    if (v[i] > o$objective) x[i] else o$maximum
  }
  t_check <- proc.time()[["elapsed"]]
  for (j in seq_along(results)) {
    r <- results[[j]]; if (is.null(r$fit)) next
    cs <- design[[j]]; js <- r$json; fit <- r$fit; cur_id <- js$id; t_case <- proc.time()[["elapsed"]]
    ok <- tryCatch({
    ds <- datasets[[cs$dataset]]; pr <- priors[[cs$prior]]; mp <- mu_priors[[cs$mu]]
    bounded_prior <- pr$json$family == "uniform"
    B <- bf_model(ds$yi, ds$sei, pr$fun, mp$mean, mp$sd,
                  extra_breaks = if (bounded_prior) log(pr$json$upper) else numeric(0))
    scl <- function(q) (q[P_GRID == 0.975] - q[P_GRID == 0.025]) / 3.92
    # tau
    st <- scl(un(js$quantiles$tau))
    xt <- un(js$density$tau$x)
    note_err("tau.density", bf_tau_dens(B, xt) - un(js$density$tau$d), 1 / st)
    note_err("tau.cdf", bf_tau_cdf(B, xt) - un(js$cdf$tau$p))
    qt <- bf_tau_q(B, P_GRID, un(js$quantiles$tau))
    note_err("tau.quantiles", qt - un(js$quantiles$tau), st)
    mt1 <- B$int(function(t) t) / B$Z; mt2 <- B$int(function(t) t^2) / B$Z
    if (has(js$summary$tau$mean)) note_err("tau.mean", mt1 - js$summary$tau$mean, st)
    if (has(js$summary$tau$sd)) note_err("tau.sd", sqrt(mt2 - mt1^2) - js$summary$tau$sd, st)
    note_err("tau.median", qt[P_GRID == 0.5] - js$summary$tau$median, st)
    note_err("tau.central", qt[P_GRID %in% c(0.025, 0.975)] - un(js$summary$tau$central), st)
    tq <- function(p) bf_tau_q(B, p, fit$qposterior(tau.p = p))
    mode_t <- argmax_grid(function(x) bf_tau_dens(B, x), 0, qt[P_GRID == 0.975])
    note_err("tau.mode", mode_t - js$summary$tau$mode, st)
    sh <- if (bounded_prior) {   # the interval may end at the prior's bound: minimise the width
      a <- optimize(function(a) tq(bf_tau_cdf(B, a) + LEVEL) - a, c(0, tq(0.0495)), tol = 1e-12)$minimum
      w0 <- tq(LEVEL); wa <- tq(bf_tau_cdf(B, a) + LEVEL) - a
      if (w0 <= wa) c(0, w0) else c(a, a + wa)
    } else bf_shortest(function(x) bf_tau_dens(B, x), function(x) bf_tau_cdf(B, x), tq,
                       0, tq(0.0495), TRUE)
    note_err("tau.shortest", sh - un(js$summary$tau$shortest), st)
    # mu, theta_new
    for (w in c("mu", "theta_new")) {
      mix <- bf_mix(B, w); cdf <- function(x) bf_cdf(B, mix, x); dens <- function(x) bf_dens(B, mix, x)
      sw <- scl(un(js$quantiles[[w]]))
      x <- un(js$density[[w]]$x)
      note_err(paste0(w, ".density"), dens(x) - un(js$density[[w]]$d), 1 / sw)
      note_err(paste0(w, ".cdf"), cdf(x) - un(js$cdf[[w]]$p))
      spread <- 0.01 * diff(range(un(js$quantiles[[w]]))) + 1e-6
      q <- bf_q(cdf, P_GRID, un(js$quantiles[[w]]), spread)
      note_err(paste0(w, ".quantiles"), q - un(js$quantiles[[w]]), sw)
      note_err(paste0(w, ".median"), q[P_GRID == 0.5] - js$summary[[w]]$median, sw)
      note_err(paste0(w, ".central"), q[P_GRID %in% c(0.025, 0.975)] - un(js$summary[[w]]$central), sw)
      mo <- bf_mom(B, mix)
      if (has(js$summary[[w]]$mean)) note_err(paste0(w, ".mean"), mo[["mean"]] - js$summary[[w]]$mean, sw)
      if (has(js$summary[[w]]$sd)) note_err(paste0(w, ".sd"), mo[["sd"]] - js$summary[[w]]$sd, sw)
      mode_m <- optimize(dens, q[P_GRID %in% c(0.1, 0.9)], maximum = TRUE, tol = 1e-12)$maximum
      note_err(paste0(w, ".mode"), mode_m - js$summary[[w]]$mode, sw)
      qf <- function(p) bf_q(cdf, p, fit$qposterior(mu.p = p, predict = (w == "theta_new")), spread)
      sh <- bf_shortest(dens, cdf, qf, qf(0.0005), qf(0.0495), FALSE)
      note_err(paste0(w, ".shortest"), sh - un(js$summary[[w]]$shortest), sw)
    }
    # per-study theta_i
    for (i in seq_along(ds$yi)) {
      mix <- bf_mix(B, "theta", i); cdf <- function(x) bf_cdf(B, mix, x)
      mo <- bf_mom(B, mix)
      g <- c(un(js$theta$central_low)[i], un(js$theta$median)[i], un(js$theta$central_high)[i])
      si <- (g[3] - g[1]) / 3.92
      note_err("theta.mean", mo[["mean"]] - un(js$theta$mean)[i], si)
      note_err("theta.sd", mo[["sd"]] - un(js$theta$sd)[i], si)
      q <- bf_q(cdf, c(0.025, 0.5, 0.975), g, 0.01 * (g[3] - g[1]) + 1e-6)
      note_err("theta.median", q[2] - g[2], si)
      note_err("theta.central", q[c(1, 3)] - g[c(1, 3)], si)
    }
    # marginal likelihood, Bayes factors (relative errors)
    if (has(js$marginal_likelihood)) {
      ml <- B$int() * exp(B$lp0)
      l0 <- exp(B$loglik(0))
      lmu0 <- B$int_f(function(t) {   # p(y | mu = 0) = int p(tau) prod_i N(y_i; 0, s_i^2 + tau^2)
        V <- outer(t^2, ds$sei^2, "+")
        pr$fun(t) * exp(-0.5 * rowSums(log(2 * pi * V) + matrix(ds$yi^2, length(t), length(ds$yi), byrow = TRUE) / V)) })
      note_err("marginal_likelihood (rel)", ml / js$marginal_likelihood - 1)
      note_err("bayes_factor_tau0 (rel)", (l0 / ml) / js$bayes_factor_tau0 - 1)
      note_err("bayes_factor_mu0 (rel)", (lmu0 / ml) / js$bayes_factor_mu0 - 1)
    }
    # joint ML and MAP (mu profiled out: for fixed tau the optimum is the (prior-)weighted mean)
    y <- ds$yi; v0 <- ds$sei^2
    prof <- function(t, logprior, muprior) {
      w <- 1 / (t^2 + v0); sw <- sum(w); swy <- sum(w * y)
      if (muprior) { sw <- sw + 1 / mp$sd^2; swy <- swy + mp$mean / mp$sd^2 }
      mu <- swy / sw
      val <- sum(dnorm(y, mu, sqrt(t^2 + v0), log = TRUE))
      if (muprior) val <- val + dnorm(mu, mp$mean, mp$sd, log = TRUE)
      if (logprior) val <- val + log(if (is.character(pr$fun)) sqrt(sum((t / (v0 + t^2))^2)) else pr$fun(t))
      c(val = val, mu = mu)
    }
    hi <- 10 * (sd(y) + max(ds$sei)) + 10 * max(un(js$quantiles$tau))
    smu <- scl(un(js$quantiles$mu))
    for (what in c("ml", "map")) {
      lp <- what == "map"; mup <- lp && is.finite(mp$mean)
      h <- if (lp && bounded_prior) pr$json$upper else hi
      tau_hat <- argmax_grid(function(t) prof(t, lp, mup)[["val"]], 0, h)
      note_err(paste0(what, ".tau"), tau_hat - js[[what]]$tau, st)
      note_err(paste0(what, ".mu"), prof(tau_hat, lp, mup)[["mu"]] - js[[what]]$mu, smu)
    }
    TRUE }, error = function(e) { message("check of ", cur_id, " failed: ", conditionMessage(e)); FALSE })
    message(sprintf("checked %-45s %5.1f s", cur_id, proc.time()[["elapsed"]] - t_case))
  }
  cat(sprintf(paste0("\nBAYESMETA_CHECK: largest |bayesmeta - brute force| over %d successful cases (%.0f s);\n",
                     "absolute, and in units of the posterior scale s (worst case named)\n"),
              sum(!vapply(results, function(r) is.null(r$fit), NA)), proc.time()[["elapsed"]] - t_check))
  for (q in names(errs)) cat(sprintf("  %-28s %.2e  %.2e  (%s)\n", q, errs[[q]], rels[[q]], worst[[q]]))
  cat("discrepancies above 1e-3 posterior scales (case, quantity, size in units of s):\n")
  for (b in big) cat("  ", b, "\n", sep = "")
}
