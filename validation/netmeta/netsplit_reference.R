# Reference values from R/netmeta for acu_meta's split of direct and indirect evidence (issue #15).
#
# Run from the repository root (meta and netmeta are not Debian packages; see README.md here):
#     R_LIBS=/path/to/rlib Rscript validation/netmeta/netsplit_reference.R
# Writes tests/fixtures/netmeta_netsplit.json (deterministic, byte-identical on rerun).
#
# For five networks with multi-arm studies (dat.stowe2010, Senn2013, dat.woods2010,
# dat.hasselblad1998, and a made-up network of two trials of one three-arm design) it records
#   * the input: the arm-level data (where the network is arm-based) and the contrasts that
#     netmeta analyses (meta::pairwise() output: studlab, treat1, treat2, TE, seTE, ...);
#   * netmeta() (common and random effects, DerSimonian-Laird tau2): Q, its decomposition, tau2;
#   * netsplit() with method = "Back-calculation" (SIDE, Koenig et al. 2013) for every
#     comparison: direct evidence proportion, network / direct / indirect estimates with SE and
#     CI, and the z test of direct vs indirect (common and random effects);
#   * netheat() (Krahn et al. 2013): the matrices behind the plot, common and random (netheat
#     draws and returns NULL; its local variables are captured with trace(), see README);
#   * netrank() P-scores with small.values = "desirable" and "undesirable".
# Numbers are printed with sprintf("%.17g"); NA/NaN -> null; +-Inf -> "Inf"/"-Inf".

suppressPackageStartupMessages({
  library(metafor)   # datasets from metadat
  library(netmeta)   # 3.3-1 expected (loads meta)
})

out_path <- file.path("tests", "fixtures", "netmeta_netsplit.json")
if (!dir.exists("tests")) stop("run from the repository root (tests/ not found)")
source(file.path("validation", "metafor", "json.R"))

pdf(NULL)   # netheat draws; no Rplots.pdf

## netheat() returns NULL: capture its local variables when it calls its internal va.image()
.nh <- NULL
invisible(suppressMessages(trace("va.image", where = asNamespace("netmeta"), print = FALSE, tracer = quote({
  for (f in rev(sys.frames())) if (exists("Q.inc.design.typ", envir = f, inherits = FALSE)) {
    assign(".nh", as.list(f), envir = globalenv()); break }
}))))

mat_rows <- function(m) lapply(seq_len(nrow(m)), function(i) nums(m[i, ]))

## ---------------------------------------------------------------------------
## Networks
## ---------------------------------------------------------------------------
networks <- list()

st <- dat.stowe2010
pw_stowe <- pairwise(treat = list(t1, t2, t3), n = list(n1, n2, n3), mean = list(y1, y2, y3),
                     sd = list(sd1, sd2, sd3), studlab = study, data = st, sm = "MD")
arms_stowe <- do.call(rbind, lapply(1:3, function(j) data.frame(
  studlab = st$study, treatment = st[[paste0("t", j)]], n = st[[paste0("n", j)]],
  mean = st[[paste0("y", j)]], sd = st[[paste0("sd", j)]], row = seq_len(nrow(st)), arm = j,
  stringsAsFactors = FALSE)))
arms_stowe <- arms_stowe[!is.na(arms_stowe$n) & arms_stowe$treatment != "", ]
arms_stowe <- arms_stowe[order(arms_stowe$row, arms_stowe$arm), ]
networks$stowe2010 <- list(
  source = "metadat::dat.stowe2010 (identical to netmeta::Stowe2010; mean off-time reduction, hours/day; arm-based, wide)",
  pairwise_call = "pairwise(treat=list(t1,t2,t3), n=list(n1,n2,n3), mean=list(y1,y2,y3), sd=list(sd1,sd2,sd3), studlab=study, data=dat.stowe2010, sm=\"MD\")",
  netmeta_call = "netmeta(pw, reference.group=\"Placebo\")",
  sm = "MD", reference = "Placebo", pw = pw_stowe,
  arms = list(studlab = strs(arms_stowe$studlab), treatment = strs(arms_stowe$treatment),
              n = arr(as.integer(arms_stowe$n)), mean = nums(arms_stowe$mean), sd = nums(arms_stowe$sd)),
  contrast_cols = c("n1", "mean1", "sd1", "n2", "mean2", "sd2"))

data(Senn2013, package = "netmeta")
networks$senn2013 <- list(
  source = "netmeta::Senn2013 (HbA1c, mean difference; contrast-based, as stored)",
  pairwise_call = NA_character_,
  netmeta_call = "netmeta(TE, seTE, treat1, treat2, studlab, data=Senn2013, sm=\"MD\", reference.group=\"plac\")",
  sm = "MD", reference = "plac", pw = Senn2013, arms = NULL, contrast_cols = character(0))

wd <- dat.woods2010
pw_woods <- pairwise(treatment, event = r, n = N, studlab = author, data = wd, sm = "OR")
networks$woods2010 <- list(
  source = "metadat::dat.woods2010 (identical to netmeta::Woods2010; COPD mortality; arm-based, long)",
  pairwise_call = "pairwise(treatment, event=r, n=N, studlab=author, data=dat.woods2010, sm=\"OR\")",
  netmeta_call = "netmeta(pw, reference.group=\"Placebo\")",
  sm = "OR", reference = "Placebo", pw = pw_woods,
  arms = list(studlab = strs(wd$author), treatment = strs(wd$treatment),
              event = arr(as.integer(wd$r)), n = arr(as.integer(wd$N))),
  contrast_cols = c("event1", "n1", "event2", "n2", "incr1", "incr2"))

hb <- dat.hasselblad1998
pw_hb <- pairwise(trt, event = xi, n = ni, studlab = study, data = hb, sm = "OR")
networks$hasselblad1998 <- list(
  source = "metadat::dat.hasselblad1998 (smoking cessation; arm-based, long; two arms with zero events)",
  pairwise_call = "pairwise(trt, event=xi, n=ni, studlab=study, data=dat.hasselblad1998, sm=\"OR\")",
  netmeta_call = "netmeta(pw, reference.group=\"no_contact\")",
  sm = "OR", reference = "no_contact", pw = pw_hb,
  arms = list(studlab = strs(as.character(hb$study)), treatment = strs(hb$trt),
              event = arr(as.integer(hb$xi)), n = arr(as.integer(hb$ni))),
  contrast_cols = c("event1", "n1", "event2", "n2", "incr1", "incr2"))

sd_arms <- data.frame(studlab = c("S1", "S1", "S1", "S2", "S2", "S2"),
                      treatment = c("A", "B", "C", "A", "B", "C"),
                      n = c(100L, 120L, 80L, 60L, 200L, 90L), mean = c(0, 0.5, 0.3, 0.1, 0.4, 0.5),
                      sd = c(1, 1.2, 0.9, 1.1, 1, 1.3), stringsAsFactors = FALSE)
pw_sd <- pairwise(treat = treatment, n = n, mean = mean, sd = sd, studlab = studlab,
                  data = sd_arms, sm = "MD")
networks$same_design <- list(
  source = "made-up (k = 2): two three-arm trials of one design A:B:C; netmeta still back-calculates an indirect estimate from the other contrasts of the same trials",
  pairwise_call = "pairwise(treat=treatment, n=n, mean=mean, sd=sd, studlab=studlab, data=sd_arms, sm=\"MD\")",
  netmeta_call = "netmeta(pw, reference.group=\"A\")",
  sm = "MD", reference = "A", pw = pw_sd,
  arms = list(studlab = strs(sd_arms$studlab), treatment = strs(sd_arms$treatment),
              n = arr(sd_arms$n), mean = nums(sd_arms$mean), sd = nums(sd_arms$sd)),
  contrast_cols = c("n1", "mean1", "sd1", "n2", "mean2", "sd2"))

## ---------------------------------------------------------------------------
## Per network
## ---------------------------------------------------------------------------
est_block <- function(df) list(
  TE = nums(df$TE), seTE = nums(df$seTE), lower = nums(df$lower), upper = nums(df$upper),
  statistic = nums(df$statistic), p = nums(df$p))

heat_block <- function(net, random) {
  .nh <<- NULL
  w <- NULL
  withCallingHandlers(netheat(net, random = random),
                      warning = function(wn) { w <<- conditionMessage(wn); invokeRestart("muffleWarning") })
  if (is.null(.nh)) return(list(available = FALSE, message = if (is.null(w)) NA_character_ else w))
  e <- .nh
  des <- e$design
  list(
    available = TRUE,
    call = sprintf("netheat(net, random=%s)", if (random) "TRUE" else "FALSE"),
    rows_design = strs(des$design), rows_comparison = strs(des$comparison),
    rows_narms = arr(as.integer(des$narms)),
    Q_inc_design = nums(e$Q.inc.design),
    # diff[i, j]: Q.inc.design[i] minus the design-i part of Q after detaching design j
    # (netheat colours -diff); rows and columns follow rows_design/rows_comparison
    diff = mat_rows(e$diff),
    H_rows = strs(rownames(e$H)), H = mat_rows(e$H),
    dropped = arr(as.integer(e$wi)),        # design rows without a loop (all-NA columns), 1-based
    order = arr(as.integer(e$h1$order)),    # hclust order of the kept rows, 1-based
    plotted = mat_rows(e$tn))               # the plotted matrix: -diff reordered, clipped at +-8
}

cases <- list()
for (nm in names(networks)) {
  N <- networks[[nm]]
  pw <- as.data.frame(N$pw)
  net <- if (nm == "senn2013")
    netmeta(TE, seTE, treat1, treat2, studlab, data = pw, sm = "MD", reference.group = "plac") else
    netmeta(N$pw, reference.group = N$reference)
  ns <- netsplit(net)   # method = "Back-calculation" (the default)
  cmp <- strsplit(ns$comparison, ns$sep.trts, fixed = TRUE)
  contrasts <- list(studlab = strs(pw$studlab), treat1 = strs(pw$treat1), treat2 = strs(pw$treat2),
                    TE = nums(pw$TE), seTE = nums(pw$seTE))
  for (cc in N$contrast_cols) contrasts[[cc]] <- nums(pw[[cc]])
  ranks <- list()
  for (sv in c("desirable", "undesirable")) {
    rk <- netrank(net, small.values = sv)
    ranks[[sv]] <- list(call = sprintf("netrank(net, small.values=\"%s\")", sv),
                        treatments = strs(names(rk$ranking.common)),
                        common = nums(rk$ranking.common), random = nums(rk$ranking.random))
  }
  cases[[nm]] <- list(
    source = N$source, pairwise_call = N$pairwise_call, netmeta_call = N$netmeta_call,
    netsplit_call = "netsplit(net)", sm = N$sm, reference = N$reference,
    arms = N$arms, contrasts = contrasts,
    network = list(
      treatments = strs(net$trts), k = int(net$k), m = int(net$m), n = int(net$n), d = int(net$d),
      multiarm_studies = strs(net$studies[net$narms > 2]),
      method_tau = net$method.tau, tau2 = num(net$tau2), tau = num(net$tau),
      Q = num(net$Q), df_Q = int(net$df.Q), pval_Q = num(net$pval.Q), I2 = num(net$I2),
      Q_heterogeneity = num(net$Q.heterogeneity), df_Q_heterogeneity = int(net$df.Q.heterogeneity),
      Q_inconsistency = num(net$Q.inconsistency), df_Q_inconsistency = int(net$df.Q.inconsistency),
      pval_Q_inconsistency = num(net$pval.Q.inconsistency)),
    netsplit = list(
      method = ns$method, tol_direct = num(ns$tol.direct), sep_trts = ns$sep.trts,
      comparison = strs(ns$comparison),
      treat1 = strs(vapply(cmp, `[`, "", 1)), treat2 = strs(vapply(cmp, `[`, "", 2)),
      k = arr(as.integer(ns$k)),
      prop_common = nums(ns$prop.common), prop_random = nums(ns$prop.random),
      common = list(network = est_block(ns$common), direct = est_block(ns$direct.common),
                    indirect = est_block(ns$indirect.common), compare = est_block(ns$compare.common)),
      random = list(network = est_block(ns$random), direct = est_block(ns$direct.random),
                    indirect = est_block(ns$indirect.random), compare = est_block(ns$compare.random))),
    netheat = list(common = heat_block(net, FALSE), random = heat_block(net, TRUE)),
    pscores = ranks)
}

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------
n_both <- function(c) sum(!is.na(unclass(c$netsplit$common$indirect$TE)) & !is.na(unclass(c$netsplit$common$direct$TE)))
grid <- list(
  networks = length(cases),
  comparisons = sum(vapply(cases, function(c) length(c$netsplit$comparison), 1L)),
  comparisons_direct_and_indirect = sum(vapply(cases, n_both, 1L)),
  comparisons_by_network = lapply(cases, function(c) length(c$netsplit$comparison)),
  netheat_available = sum(vapply(cases, function(c) isTRUE(c$netheat$common$available) + isTRUE(c$netheat$random$available), 1L)),
  pscore_sets = 4L * length(cases))
top <- list(
  r_version = R.version.string,
  netmeta_version = as.character(packageVersion("netmeta")),
  meta_version = as.character(packageVersion("meta")),
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  generator = "validation/netmeta/netsplit_reference.R",
  grid = grid,
  networks = cases)
txt <- to_json(top, indent = 0L, max_indent = 4L)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)
cat(sprintf("wrote %s: networks=%d comparisons=%d (direct+indirect %d) netheat=%d\n", out_path,
            grid$networks, grid$comparisons, grid$comparisons_direct_and_indirect, grid$netheat_available))
