## Minimal hand-written JSON serialiser shared by the reference scripts in this folder
## (sourced by reference.R and sensitivity_reference.R; no jsonlite needed).
## Minimal hand-written JSON serialiser
##   - arr(x): force a JSON array (even for length 0/1)
##   - unnamed list -> array, named list -> object
##   - double: sprintf("%.17g"); NA/NaN -> null; Inf -> "Inf"; -Inf -> "-Inf"
##   - integer: plain; logical: true/false (NA -> null); character: string
## ---------------------------------------------------------------------------
arr <- function(x) { class(x) <- c("jarr", class(x)); x }

jstr <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\r", "\\r", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  paste0("\"", s, "\"")
}

jscalar <- function(v) {
  if (is.character(v)) return(if (is.na(v)) "null" else jstr(v))
  if (is.logical(v))   return(if (is.na(v)) "null" else if (v) "true" else "false")
  if (is.integer(v))   return(if (is.na(v)) "null" else sprintf("%d", v))
  if (is.numeric(v)) {
    if (is.na(v)) return("null")             # NA and NaN
    if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
    return(sprintf("%.17g", v))
  }
  stop("unsupported scalar type: ", class(v)[1])
}

to_json <- function(x, indent = 0L, max_indent = 2L) {
  nl <- indent < max_indent
  pad  <- if (nl) strrep(" ", indent + 1L) else ""
  pad0 <- if (nl) strrep(" ", indent) else ""
  sep  <- if (nl) ",\n" else ","
  open_nl <- if (nl) "\n" else ""
  if (is.null(x)) return("null")
  if (inherits(x, "jarr")) {
    v <- unclass(x)
    if (is.list(v)) {
      items <- vapply(v, to_json, "", indent = indent + 1L, max_indent = max_indent)
    } else {
      attributes(v) <- NULL
      items <- vapply(seq_along(v), function(i) jscalar(v[i]), "")
      return(paste0("[", paste(items, collapse = ","), "]"))
    }
    if (length(items) == 0L) return("[]")
    return(paste0("[", open_nl, paste0(pad, items, collapse = sep), open_nl, pad0, "]"))
  }
  if (is.list(x)) {
    nms <- names(x)
    if (is.null(nms)) {
      items <- vapply(x, to_json, "", indent = indent + 1L, max_indent = max_indent)
      if (length(items) == 0L) return("[]")
      return(paste0("[", open_nl, paste0(pad, items, collapse = sep), open_nl, pad0, "]"))
    }
    if (length(x) == 0L) return("{}")
    items <- vapply(seq_along(x), function(i)
      paste0(jstr(nms[i]), ":", if (nl) " " else "",
             to_json(x[[i]], indent = indent + 1L, max_indent = max_indent)), "")
    return(paste0("{", open_nl, paste0(pad, items, collapse = sep), open_nl, pad0, "}"))
  }
  if (length(x) != 1L) stop("non-scalar atomic value without arr(): ", paste(head(x), collapse = ","))
  attributes(x) <- NULL
  jscalar(x)
}

num  <- function(x) { x <- as.numeric(x); if (length(x) == 0L) NA_real_ else x[1] }
nums <- function(x) arr(as.numeric(x))
int  <- function(x) as.integer(x)
strs <- function(x) arr(as.character(x))
