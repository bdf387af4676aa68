## Reference values for acu_meta's network meta-analysis: metafor 3.8.1 rma.mv, contrast-based,
## multi-arm covariance, random = ~ comp | study with rho = 1/2 (one common tau2).
## Run from the repository root: Rscript validation/metafor/network_reference.R
## Writes tests/fixtures/metafor_network.json (numbers printed with %.17g) and the arm-level
## input data the tests read, tests/fixtures/network_arms/*.csv.
##
## The contrast data are built here independently of the Python code: each study's arms are
## ordered by the treatment order (reference first, then order of first appearance), the
## first arm is the study baseline, every other arm is contrasted with it (escalc), and the
## covariance of two contrasts sharing the baseline is the baseline arm's variance term
## (MD: sd^2/n; OR: 1/a + 1/(n - a) after a continuity correction of 1/2 to every arm of a study
## with a zero cell).
suppressPackageStartupMessages(library(metafor))

num <- function(x) paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)),
                                     collapse = ", "), "]")
sc <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))

contrasts <- function(dat, measure, reference) {
  trts <- unique(c(reference, dat$treatment))
  out <- list(); vblocks <- list()
  for (s in unique(dat$study)) {
    d <- dat[dat$study == s, ]
    d <- d[order(match(d$treatment, trts)), ]
    if (measure == "OR") {
      if (any(d$events == 0 | d$events == d$n)) { d$events <- d$events + 0.5; d$n <- d$n + 1 }
      es <- escalc("OR", ai = d$events[-1], n1i = d$n[-1], ci = rep(d$events[1], nrow(d) - 1),
                   n2i = rep(d$n[1], nrow(d) - 1), add = 0, to = "none")
      cv <- 1 / d$events[1] + 1 / (d$n[1] - d$events[1])
    } else {
      es <- escalc("MD", m1i = d$mean[-1], sd1i = d$sd[-1], n1i = d$n[-1],
                   m2i = rep(d$mean[1], nrow(d) - 1), sd2i = rep(d$sd[1], nrow(d) - 1),
                   n2i = rep(d$n[1], nrow(d) - 1))
      cv <- d$sd[1]^2 / d$n[1]
    }
    m <- nrow(d) - 1
    V <- matrix(cv, m, m); diag(V) <- es$vi
    vblocks[[length(vblocks) + 1]] <- V
    out[[length(out) + 1]] <- data.frame(study = s, treat1 = d$treatment[-1],
                                         treat2 = d$treatment[1], yi = as.numeric(es$yi),
                                         design = paste(d$treatment, collapse = ":"))
  }
  cd <- do.call(rbind, out)
  list(cd = cd, V = bldiag(vblocks), trts = trts)
}

design_matrix <- function(cd, trts) {
  X <- matrix(0, nrow(cd), length(trts) - 1, dimnames = list(NULL, trts[-1]))
  for (r in seq_len(nrow(cd))) {
    if (cd$treat1[r] %in% trts[-1]) X[r, cd$treat1[r]] <- X[r, cd$treat1[r]] + 1
    if (cd$treat2[r] %in% trts[-1]) X[r, cd$treat2[r]] <- X[r, cd$treat2[r]] - 1
  }
  X
}

ctrl <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000)
cases <- c()
run <- function(id, dat, measure, reference) {
  b <- contrasts(dat, measure, reference)
  cd <- b$cd; V <- b$V; X <- design_matrix(cd, b$trts)
  cd$comp <- paste(cd$treat1, cd$treat2, sep = "-")
  fe <- rma.mv(cd$yi, V, mods = X, intercept = FALSE, method = "FE")
  re <- rma.mv(cd$yi, V, mods = X, intercept = FALSE, method = "REML",
               random = ~ comp | study, struct = "CS", rho = 0.5, data = cd, control = ctrl)
  ## inconsistency (design-by-treatment interaction) model: each design its own effects
  Xd <- do.call(cbind, lapply(unique(cd$design), function(dd) {
    sel <- cd$design == dd
    lv <- unique(cd$treat1[sel])
    sapply(lv, function(t) as.numeric(sel & cd$treat1 == t))
  }))
  inc <- rma.mv(cd$yi, V, mods = Xd, intercept = FALSE, method = "FE")
  vlong <- which(V != 0, arr.ind = TRUE)
  cases <<- c(cases, paste0(
    '  {"id": "', id, '", "measure": "', measure, '", "reference": "', reference, '",\n',
    '   "treatments": [', paste0('"', b$trts, '"', collapse = ", "), '],\n',
    '   "study": [', paste0('"', cd$study, '"', collapse = ", "), '],\n',
    '   "treat1": [', paste0('"', cd$treat1, '"', collapse = ", "), '],\n',
    '   "treat2": [', paste0('"', cd$treat2, '"', collapse = ", "), '],\n',
    '   "yi": ', num(cd$yi), ',\n',
    '   "V_row": ', num(vlong[, 1] - 1), ', "V_col": ', num(vlong[, 2] - 1),
    ', "V_value": ', num(V[vlong]), ',\n',
    '   "fe": {"beta": ', num(coef(fe)), ', "se": ', num(fe$se), ', "QE": ', sc(fe$QE),
    ', "QEdf": ', nrow(cd) - ncol(X), '},\n',
    '   "reml": {"beta": ', num(coef(re)), ', "se": ', num(re$se), ', "tau2": ', sc(re$tau2),
    ', "QE": ', sc(re$QE), '},\n',
    '   "inconsistency": {"QE": ', sc(inc$QE), ', "QEdf": ', nrow(cd) - ncol(Xd), '}}'))
}

h <- dat.hasselblad1998
h <- data.frame(study = as.character(h$study), treatment = h$trt, events = h$xi, n = h$ni)
dir.create("tests/fixtures/network_arms", showWarnings = FALSE)
write.csv(h, "tests/fixtures/network_arms/hasselblad1998-OR.csv", row.names = FALSE)
run("hasselblad1998-OR", h, "OR", "no_contact")
s <- dat.senn2013
s <- data.frame(study = s$study, treatment = s$treatment, mean = s$mi, sd = s$sdi, n = s$ni)
write.csv(s, "tests/fixtures/network_arms/senn2013-MD.csv", row.names = FALSE)
run("senn2013-MD", s, "MD", "placebo")

writeLines(c("{", sprintf('"metafor_version": "%s",', as.character(packageVersion("metafor"))),
             '"networks": [', paste(cases, collapse = ",\n"), "]", "}"),
           "tests/fixtures/metafor_network.json")
