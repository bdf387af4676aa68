"""Consistency checks on the transcribed evidence: can the printed numbers all be true?

Each check compares printed values with each other at printed precision. A value printed with
*d* decimals stands for any true value within half a unit of its last decimal
(:func:`acu_meta.data.derived.rounding_interval`); a recomputed quantity is *consistent* when some
choice of inputs within their rounding intervals reproduces the printed value. Where a check has
to search that box of inputs it evaluates every corner of it (the quantities checked here are
monotone in each input, so corners give the range exactly).

Checks
------
percent_attainable
    A printed percentage must be k/n for a whole k (GERAC's 47.6% of 387 is not); with a count
    but no denominator, the implied denominators are compared with the arm's randomized n.
proportion_ci
    A printed CI of a proportion against the Clopper-Pearson, Wilson and Wald intervals of the
    count behind it.
ci_centred
    Wald-type intervals (MD, SMD, effect sizes in SD units) must be centred on their estimate;
    risk-difference intervals may legitimately be asymmetric (score methods), reported as a note.
ci_width
    Interval width against what the arm-level n and SD (or the two proportions and n) imply.
differences
    A printed difference against the arm values it is the difference of; a printed change
    against baseline minus follow-up from another table.
totals
    Arms adding up to the printed total; parts adding up to their total (``facts.part_of``);
    the same count printed differently by two sources.
analysed_vs_randomized
    No analysed n above the randomized n; an intention-to-treat denominator equal to it.
heterogeneity
    Q degrees of freedom against the number of studies; I2 against Q and df; the P of Q against
    chi-squared; z against estimate and CI.
pooled_vs_rows
    A pooled estimate recomputed (fixed effect, inverse variance) from the forest-plot rows
    printed beside it, when those rows are complete.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import numeric
from ..numeric import Z975, clopper_pearson, i2_from_q, pool_iv, se_from_ci, wald, wilson
from ._tables import decimals
from .derived import attainable_counts, implied_denominators, rounding_interval

SEVERITIES = ("inconsistent", "discrepancy", "note")
"""inconsistent: the printed values cannot all be true at printed precision.
discrepancy: sources or tables disagree, or a number differs from what it should equal.
note: an irregularity with a benign explanation (stated)."""

_TOL = 1e-9

# Measures whose printed 95% CI is expected to be est +/- 1.96 SE on the printed scale.
_TOTAL_QUANTITIES = ("patients randomized", "patients", "outpatients")

_SYMMETRIC = {"MD", "MD_adjusted", "SMD", "ES_SD", "ES_SD_difference", "ES_SD_trend", "MD_mm"}


@dataclass(frozen=True)
class Finding:
    """One thing the checks found."""

    check: str
    severity: str
    study_id: str
    dataset: str
    lines: tuple[int, ...]
    message: str
    explanation: str

    def where(self) -> str:
        return f"{self.dataset} line{'s' if len(self.lines) > 1 else ''} " + ", ".join(
            str(x) for x in self.lines
        )


@dataclass(frozen=True)
class CheckReport:
    """The result of :func:`run_checks`: findings plus how many items each check examined."""

    findings: tuple[Finding, ...]
    examined: dict[str, int] = field(default_factory=dict)
    data_dir: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per finding."""
        cols = ["check", "severity", "study_id", "dataset", "lines", "message", "explanation"]
        return pd.DataFrame(
            [
                {
                    "check": f.check,
                    "severity": f.severity,
                    "study_id": f.study_id,
                    "dataset": f.dataset,
                    "lines": ", ".join(map(str, f.lines)),
                    "message": f.message,
                    "explanation": f.explanation,
                }
                for f in self.findings
            ],
            columns=cols,
        )

    def by_check(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def summary(self) -> str:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        head = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"{len(self.findings)} findings ({head}) from {len(self.examined)} checks"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.to_frame().to_html(index=False)

    def to_markdown(self) -> str:
        """The report written by ``acu-meta check-data`` and ``make reproduce``."""
        out = [
            "# Consistency checks on the transcribed data",
            "",
            "Generated by `acu-meta check-data` (acu_meta.data.check). Each check compares printed",
            "numbers with each other at printed precision: a value printed with d decimals stands",
            "for any value within half a unit of its last decimal.",
            "",
            f"**{self.summary()}.**",
            "",
            "Severity: *inconsistent* = the printed values cannot all be true as printed;",
            "*discrepancy* = sources or tables disagree, or a number differs from what it should",
            "equal; *note* = an irregularity with a benign explanation.",
            "",
            "| check | items examined | findings |",
            "|---|---|---|",
        ]
        for name, n in self.examined.items():
            out.append(f"| {name} | {n} | {len(self.by_check(name))} |")
        for sev in SEVERITIES:
            items = [f for f in self.findings if f.severity == sev]
            if not items:
                continue
            out += ["", f"## {sev.capitalize()} ({len(items)})", ""]
            for f in items:
                out.append(f"- **{f.study_id}: {f.message}** ({f.check}; {f.where()})  ")
                out.append(f"  {f.explanation}")
        out.append("")
        return "\n".join(out)


# ----------------------------------------------------------------------------------- helpers


def _iv(text: str) -> tuple[float, float]:
    return rounding_interval(text)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] + _TOL and b[0] <= a[1] + _TOL


def corner_range(
    func: Callable[..., float], intervals: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """Min and max of *func* over the corners of the box given by *intervals*."""
    vals = [func(*c) for c in itertools.product(*intervals)]
    return float(min(vals)), float(max(vals))


def _fmt(x: float, d: int) -> str:
    return f"{x:.{d}f}"


def _num(text: str) -> float | None:
    """A plain number from text such as '0.10', '.39'; None for '< .001' and the like."""
    t = text.strip()
    try:
        return float(t)
    except ValueError:
        return None


class _Data:
    """Typed and printed views of every table."""

    def __init__(self, where):
        from . import list_datasets, load, printed

        self.where = where
        self.t = {n: load(n, where) for n in list_datasets(where)}
        self.p = {n: printed(n, where) for n in list_datasets(where)}

    def randomized(self, study: str, group: str) -> int | None:
        arms = self.t["arms"]
        sel = arms[arms.study_id == study]
        if group == "all":
            if len(sel) and sel.n_randomized.notna().all():
                return int(sel.n_randomized.sum())
            return None
        row = sel[sel.arm == group]
        if len(row) and pd.notna(row.n_randomized.iloc[0]):
            return int(row.n_randomized.iloc[0])
        return None


# ------------------------------------------------------------------------------------ checks


def _percent_attainable(d: _Data, found: list[Finding]) -> int:
    t, p = d.t["proportions"], d.p["proportions"]
    n_items = 0
    for line, row in t.iterrows():
        txt = p.loc[line]
        if not txt["percent"]:
            continue
        n_items += 1
        if txt["n"] and txt["events"]:
            lo, hi = _iv(txt["percent"])
            pct = 100.0 * int(row.events) / int(row.n)
            if not lo - _TOL <= pct <= hi + _TOL:
                found.append(
                    Finding(
                        "percent_attainable", "inconsistent", row.study_id, "proportions",
                        (line,), f"{row.group} {row.outcome}: {txt['events']}/{txt['n']} is not "
                        f"{txt['percent']}%",
                        f"{txt['events']}/{txt['n']} = {pct:.3f}%, which does not print as "
                        f"{txt['percent']}.",
                    )
                )
        elif txt["n"]:
            n = int(row.n)
            ks = attainable_counts(txt["percent"], n)
            if not ks:
                k0 = math.floor(row.percent * n / 100.0)
                near = [k for k in (k0, k0 + 1) if 0 <= k <= n]
                alts = ", ".join(f"{k}/{n} = {100.0 * k / n:.2f}%" for k in near)
                found.append(
                    Finding(
                        "percent_attainable", "inconsistent", row.study_id, "proportions",
                        (line,), f"{row.group} {row.outcome} {row.timepoint}: "
                        f"{txt['percent']}% is not attainable with n = {n}",
                        f"No whole count k gives k/{n} = {txt['percent']}% to "
                        f"{decimals(txt['percent'])} decimal(s); the nearest are {alts}. "
                        "Either the percentage or the denominator is misprinted, or the "
                        "percentage was computed on another denominator. "
                        + _alternative_denominators(txt, n),
                    )
                )
        elif txt["events"]:
            events = int(row.events)
            ns = implied_denominators(events, txt["percent"])
            known = d.randomized(row.study_id, row.group)
            if known is not None and known not in ns:
                span = f"{ns[0]}" if len(ns) == 1 else (f"{ns[0]} to {ns[-1]}" if ns else "none")
                sev = "discrepancy" if row.group == "all" else "note"
                found.append(
                    Finding(
                        "percent_attainable", sev, row.study_id, "proportions", (line,),
                        f"{row.group} {row.outcome}: {txt['events']} ({txt['percent']}%) implies "
                        f"a denominator of {span}, not the {known} randomized",
                        f"100*{events}/n prints as {txt['percent']}% only for n = {span}; "
                        f"{events}/{known} = {100.0 * events / known:.2f}%. The percentage was "
                        "computed on a denominator other than the randomized patients "
                        "(e.g. patients treated or followed up), which the source does not state.",
                    )
                )
    return n_items


def _alternative_denominators(txt: pd.Series, n: int) -> str:
    """Nearby (k, n') pairs reproducing both the percentage and its Clopper-Pearson CI."""
    if not (txt["ci_low"] and txt["ci_high"]):
        return ""
    hits = []
    for m in range(max(1, n - 10), n + 11):
        for k in attainable_counts(txt["percent"], m):
            lo, hi = clopper_pearson(k, m)
            if _overlap(_iv(txt["ci_low"]), (100 * lo, 100 * lo)) and _overlap(
                _iv(txt["ci_high"]), (100 * hi, 100 * hi)
            ):
                hits.append(f"{k}/{m}")
    if hits:
        return (
            "Within n +/- 10, the percentage and its Clopper-Pearson CI are both reproduced by "
            + ", ".join(hits) + "."
        )
    return "No k/n' with n' within n +/- 10 reproduces both the percentage and its exact CI."


def _proportion_ci(d: _Data, found: list[Finding]) -> int:
    t, p = d.t["proportions"], d.p["proportions"]
    n_items = 0
    for line, row in t.iterrows():
        txt = p.loc[line]
        if not (txt["ci_low"] and txt["ci_high"] and txt["n"]):
            continue
        n_items += 1
        n = int(row.n)
        if txt["events"]:
            ks = [int(row.events)]
        else:
            ks = attainable_counts(txt["percent"], n) or [round(row.percent * n / 100.0)]
        dc = decimals(txt["ci_low"])
        lo_iv, hi_iv = _iv(txt["ci_low"]), _iv(txt["ci_high"])
        matches = []
        shown = []
        for k in ks:
            for name, (a, b) in (
                ("Clopper-Pearson", clopper_pearson(k, n)),
                ("Wilson", wilson(k, n)),
                ("Wald", wald(k, n)),
            ):
                shown.append(f"{name} {k}/{n}: {_fmt(100 * a, dc)} to {_fmt(100 * b, dc)}")
                if _overlap(lo_iv, (100 * a, 100 * a)) and _overlap(hi_iv, (100 * b, 100 * b)):
                    matches.append(f"{name} ({k}/{n})")
        if not matches:
            found.append(
                Finding(
                    "proportion_ci", "inconsistent", row.study_id, "proportions", (line,),
                    f"{row.group} {row.outcome} {row.timepoint}: CI {txt['ci_low']} to "
                    f"{txt['ci_high']} is not reproduced by any standard interval",
                    "Printed " + f"{txt['percent']}% ({txt['ci_low']} to {txt['ci_high']}); "
                    + "; ".join(shown) + ".",
                )
            )
    return n_items


def _ci_centred(d: _Data, found: list[Finding]) -> int:
    n_items = 0
    for name in ("contrasts", "pooled", "pooled_rows"):
        t, p = d.t[name], d.p[name]
        for line, row in t.iterrows():
            txt = p.loc[line]
            if not (txt["estimate"] and txt["ci_low"] and txt["ci_high"]):
                continue
            n_items += 1
            est, lo, hi = _iv(txt["estimate"]), _iv(txt["ci_low"]), _iv(txt["ci_high"])
            mid = ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2)
            if _overlap(est, mid):
                continue
            off = row.estimate - (row.ci_low + row.ci_high) / 2
            study = row.get("study_id", "") or (
                d.t["pooled"].set_index("pooled_id").loc[row.pooled_id, "source_id"]
                if name == "pooled_rows" else row.source_id
            )
            label = row.get("study", "") or row.get("comparison", "") or row.get(
                "contrast_id", ""
            )
            symmetric = row.measure in _SYMMETRIC
            text = (
                f"{label}: {txt['estimate']} ({txt['ci_low']} to {txt['ci_high']}) is not centred "
                "on its estimate"
            )
            expl = (
                f"The midpoint of the printed CI is {(row.ci_low + row.ci_high) / 2:.4g}, "
                f"{abs(off):.3g} {'below' if off > 0 else 'above'} the estimate; rounding of "
                f"the three printed numbers allows at most {_centre_tol(txt):.3g}. "
            )
            if symmetric:
                expl += (
                    f"A {row.measure} interval of the usual form (estimate +/- 1.96 SE) is "
                    "symmetric, so either a number is misprinted or another interval method "
                    "(e.g. profile likelihood, bootstrap) was used, which the source does not say."
                )
                sev = "inconsistent"
            else:
                expl += (
                    "Asymmetric intervals are expected for a difference of proportions computed "
                    "by a score method (e.g. Newcombe), so this is not an error by itself."
                )
                sev = "note"
            found.append(Finding("ci_centred", sev, study, name, (line,), text, expl))
    return n_items


def _centre_tol(txt: pd.Series) -> float:
    h = [(_iv(txt[c])[1] - _iv(txt[c])[0]) / 2 for c in ("estimate", "ci_low", "ci_high")]
    return h[0] + (h[1] + h[2]) / 2


def _md_ci_corners(txt: pd.Series) -> tuple[tuple[float, float], tuple[float, float]]:
    """Attainable ranges of the lower and upper Wald limits of an MD from printed arm data."""
    n1, n2 = int(txt["treat_n"]), int(txt["control_n"])
    ivs = [_iv(txt[c]) for c in ("treat_mean", "control_mean", "treat_sd", "control_sd")]

    def lo(m1, m2, s1, s2):
        return (m1 - m2) - Z975 * math.sqrt(s1 * s1 / n1 + s2 * s2 / n2)

    def hi(m1, m2, s1, s2):
        return (m1 - m2) + Z975 * math.sqrt(s1 * s1 / n1 + s2 * s2 / n2)

    return corner_range(lo, ivs), corner_range(hi, ivs)


def _arm_cols_present(txt: pd.Series) -> bool:
    cols = ("treat_n", "treat_mean", "treat_sd", "control_n", "control_mean", "control_sd")
    return all(txt[c] for c in cols)


def _ci_width(d: _Data, found: list[Finding]) -> int:
    n_items = 0
    t, p = d.t["pooled_rows"], d.p["pooled_rows"]
    for line, row in t.iterrows():
        txt = p.loc[line]
        if row.measure != "MD" or not _arm_cols_present(txt) or not txt["ci_low"]:
            continue
        n_items += 1
        lo_rng, hi_rng = _md_ci_corners(txt)
        if not (_overlap(lo_rng, _iv(txt["ci_low"])) and _overlap(hi_rng, _iv(txt["ci_high"]))):
            found.append(
                Finding(
                    "ci_width", "inconsistent", row.pooled_id, "pooled_rows", (line,),
                    f"{row.study}: CI {txt['ci_low']} to {txt['ci_high']} does not follow from "
                    "the arm n and SD",
                    f"Wald limits from the printed arm data range over {lo_rng[0]:.3f}..."
                    f"{lo_rng[1]:.3f} and {hi_rng[0]:.3f}...{hi_rng[1]:.3f}.",
                )
            )
    # risk differences against the two arm proportions and n
    c, cp = d.t["contrasts"], d.p["contrasts"]
    props = d.t["proportions"]
    for line, row in c.iterrows():
        if row.measure != "RD" or not cp.loc[line, "ci_low"]:
            continue
        arms = []
        for arm in (row.treatment, row.control):
            sel = props[(props.study_id == row.study_id) & (props.group == arm)
                        & (props.outcome == row.outcome) & (props.timepoint == row.timepoint)
                        & props.n.notna()]
            if len(sel):
                arms.append((float(sel.percent.iloc[0]) / 100, int(sel.n.iloc[0])))
        if len(arms) != 2:
            continue
        n_items += 1
        se = math.sqrt(sum(q * (1 - q) / m for q, m in arms))
        wald_half = 100 * Z975 * se
        printed_half = (row.ci_high - row.ci_low) / 2
        if abs(printed_half / wald_half - 1) > 0.10:
            found.append(
                Finding(
                    "ci_width", "inconsistent", row.study_id, "contrasts", (line,),
                    f"{row.contrast_id}: CI half-width {printed_half:.2f} vs {wald_half:.2f} "
                    "expected from the arm proportions and n",
                    "Any standard interval for a difference of two proportions has about the Wald "
                    "width; a ratio outside 0.9 to 1.1 points at a wrong n or a misprint.",
                )
            )
    return n_items


def _differences(d: _Data, found: list[Finding]) -> int:
    """Printed differences against the values they are the difference of (four steps)."""
    return (_contrast_differences(d, found) + _row_differences(d, found)
            + _repeated_arm_values(d, found) + _change_vs_baseline(d, found))


def _contrast_arms(d: _Data, row: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """The typed and printed arm tables behind a contrast, their group column, and the value
    column the contrast is a difference of."""
    if row.measure == "RD":
        return d.t["proportions"], d.p["proportions"], "group", "percent"
    return d.t["arm_outcomes"], d.p["arm_outcomes"], "arm", "mean"


def _contrast_differences(d: _Data, found: list[Finding]) -> int:
    """A printed contrast (RD, MD) against the difference of its two printed arm values."""
    n_items = 0
    c, cp = d.t["contrasts"], d.p["contrasts"]
    for line, row in c.iterrows():
        if not cp.loc[line, "estimate"] or row.measure == "MD_adjusted":
            continue
        tab, txt, grp, col = _contrast_arms(d, row)
        key = (tab.study_id == row.study_id) & (tab.outcome == row.outcome) & (
            tab.timepoint == row.timepoint
        )
        a = tab[key & (tab[grp] == row.treatment)]
        b = tab[key & (tab[grp] == row.control)]
        if not len(a) or not len(b) or not txt.loc[a.index[0], col] or not txt.loc[b.index[0], col]:
            continue
        n_items += 1
        ia, ib = _iv(txt.loc[a.index[0], col]), _iv(txt.loc[b.index[0], col])
        rng = (ia[0] - ib[1], ia[1] - ib[0])
        if not _overlap(rng, _iv(cp.loc[line, "estimate"])):
            found.append(
                Finding(
                    "differences", "inconsistent", row.study_id, "contrasts", (line,),
                    f"{row.contrast_id}: {cp.loc[line, 'estimate']} is not the difference of the "
                    "arm values",
                    f"Arm values {txt.loc[a.index[0], col]} and {txt.loc[b.index[0], col]} give "
                    f"{rng[0]:.3f} to {rng[1]:.3f} within rounding.",
                )
            )
    return n_items


def _row_differences(d: _Data, found: list[Finding]) -> int:
    """A forest-plot row's MD against the difference of its printed arm means."""
    n_items = 0
    t, p = d.t["pooled_rows"], d.p["pooled_rows"]
    for line, row in t.iterrows():
        txt = p.loc[line]
        if row.measure != "MD" or not (txt["treat_mean"] and txt["control_mean"] and
                                       txt["estimate"]):
            continue
        n_items += 1
        ia, ib = _iv(txt["treat_mean"]), _iv(txt["control_mean"])
        rng = (ia[0] - ib[1], ia[1] - ib[0])
        if not _overlap(rng, _iv(txt["estimate"])):
            found.append(
                Finding(
                    "differences", "inconsistent", row.pooled_id, "pooled_rows", (line,),
                    f"{row.study}: {txt['estimate']} is not the difference of the arm means",
                    f"{txt['treat_mean']} - {txt['control_mean']} lies in {rng[0]:.3f} to "
                    f"{rng[1]:.3f} within rounding.",
                )
            )
    return n_items


def _repeated_arm_values(d: _Data, found: list[Finding]) -> int:
    """One arm value printed by two sources or two tables: equal within rounding?"""
    n_items = 0
    ao, ap = d.t["arm_outcomes"], d.p["arm_outcomes"]
    key = ["study_id", "arm", "outcome", "timepoint", "statistic"]
    for _, sel in ao.groupby(key):
        first = sel.index[0]
        for other in sel.index[1:]:
            n_items += 1
            finding = _repeated_value_finding(ao, ap, first, other)
            if finding is not None:
                found.append(finding)
    return n_items


def _repeated_value_finding(ao: pd.DataFrame, ap: pd.DataFrame, first: int, other: int
                            ) -> Finding | None:
    """A finding when two printings of one arm value differ (beyond, or only at, rounding)."""
    pairs = [(c, ap.loc[first, c], ap.loc[other, c]) for c in ("mean", "sd", "n")
             if ap.loc[first, c] and ap.loc[other, c]]
    diff = [f"{c} {x} vs {y}" for c, x, y in pairs if not _overlap(_iv(x), _iv(y))]
    touching = [f"{c} {x} vs {y}" for c, x, y in pairs
                if float(x) != float(y) and _overlap(_iv(x), _iv(y))]
    if not (diff or touching):
        return None
    r1, r2 = ao.loc[first], ao.loc[other]
    both = (
        f"The same arm value is printed by {r1.source_id} ({r1.location}, "
        f"{r1.label}) and {r2.source_id} ({r2.location}, {r2.label}). "
    )
    if diff:
        sev, expl = "discrepancy", both + (
            "The two differ beyond rounding. Both are kept as printed; analyses say "
            "which one they use."
        )
    else:
        sev, expl = "note", both + (
            "The printed values differ but their rounding intervals touch, so both "
            "are consistent with one true value on the rounding boundary (e.g. 5.55 "
            "printed as 5.5 and as 5.6). Both are kept as printed."
        )
    return Finding(
        "differences", sev, r1.study_id, "arm_outcomes", (int(first), int(other)),
        f"{r1.arm} {r1.outcome} {r1.timepoint} printed differently in "
        f"{r1.location} and {r2.location}: " + ", ".join(diff or touching),
        expl,
    )


def _change_vs_baseline(d: _Data, found: list[Finding]) -> int:
    """A printed change against baseline minus follow-up printed elsewhere."""
    n_items = 0
    ao, ap = d.t["arm_outcomes"], d.p["arm_outcomes"]
    for line, row in ao[ao.statistic == "change"].iterrows():
        if not ap.loc[line, "mean"]:
            continue
        same = ao[(ao.study_id == row.study_id) & (ao.arm == row.arm)
                  & (ao.outcome == row.outcome) & (ao.statistic == "value")]
        base = same[same.timepoint == "baseline"]
        follow = same[same.timepoint == row.timepoint]
        for fl in follow.index:
            bl = base[base.source_id == follow.loc[fl, "source_id"]]
            bl = bl if len(bl) else base
            if not len(bl):
                continue
            n_items += 1
            ib, iff = _iv(ap.loc[bl.index[0], "mean"]), _iv(ap.loc[fl, "mean"])
            rng = (ib[0] - iff[1], ib[1] - iff[0])
            printed_iv = _iv(ap.loc[line, "mean"].lstrip("-"))
            if not _overlap(rng, printed_iv):
                found.append(
                    Finding(
                        "differences", "discrepancy", row.study_id, "arm_outcomes",
                        (line, int(bl.index[0]), int(fl)),
                        f"{row.arm} {row.outcome} change {ap.loc[line, 'mean']} at "
                        f"{row.timepoint} vs baseline minus follow-up",
                        f"Baseline {ap.loc[bl.index[0], 'mean']} minus {row.timepoint} "
                        f"{ap.loc[fl, 'mean']} gives {rng[0]:.2f} to {rng[1]:.2f} within "
                        "rounding.",
                    )
                )
    return n_items


def _totals(d: _Data, found: list[Finding]) -> int:
    """Totals against their parts and against each other (four steps)."""
    return (_total_vs_arms(d, found) + _parts_vs_total(d, found)
            + _own_total_vs_others(d, found) + _sources_disagree(d, found))


def _total_vs_arms(d: _Data, found: list[Finding]) -> int:
    """A printed total of patients against the sum of the arms' randomized n."""
    n_items = 0
    facts, fp = d.t["facts"], d.p["facts"]
    for line, row in facts[facts.quantity.isin(_TOTAL_QUANTITIES) & (facts.group == "all")
                           ].iterrows():
        arms_sum = d.randomized(row.study_id, "all")
        if arms_sum is None:
            continue
        n_items += 1
        if int(row.value) != arms_sum:
            arms = d.t["arms"][d.t["arms"].study_id == row.study_id]
            parts = " + ".join(f"{int(v)}" for v in arms.n_randomized)
            found.append(
                Finding(
                    "totals", "discrepancy", row.study_id, "facts", (line,),
                    f"{fp.loc[line, 'value']} {row.quantity} ({row.source_id}) but the arms add up "
                    f"to {arms_sum}",
                    f"Arm sizes {parts} = {arms_sum} (arms.csv); {row.source_id} prints "
                    f"{fp.loc[line, 'value']} ({row.location}). The difference of "
                    f"{int(row.value) - arms_sum} patients is not explained by the sources "
                    "transcribed; the primary publication's arm sizes are taken as correct.",
                )
            )
    return n_items


def _parts_vs_total(d: _Data, found: list[Finding]) -> int:
    """Values marked ``part_of`` a total adding up to it."""
    n_items = 0
    facts = d.t["facts"]
    for parent, kids in facts[facts.part_of != ""].groupby("part_of"):
        n_items += 1
        total = facts[facts.fact_id == parent].iloc[0]
        s = kids.value.sum()
        if not math.isclose(s, total.value, rel_tol=0, abs_tol=1e-9):
            found.append(
                Finding(
                    "totals", "inconsistent", total.study_id, "facts",
                    tuple(int(i) for i in [total.name, *kids.index]),
                    f"{total.quantity}: parts add up to {s:g}, total printed {total.value:g}",
                    "Values marked part_of this total should add up to it exactly.",
                )
            )
    return n_items


def _own_total_vs_others(d: _Data, found: list[Finding]) -> int:
    """A total printed by the trial itself against the randomized / analysed totals of others."""
    n_items = 0
    facts, fp = d.t["facts"], d.p["facts"]
    for study, sel in facts[facts.group == "all"].groupby("study_id"):
        own = sel[(sel.quantity == "patients") & (sel.source_id == study)]
        other = sel[sel.quantity.isin(["patients randomized", "patients analysed"])
                    & (sel.source_id != study)]
        for line, row in own.iterrows():
            if not len(other):
                continue
            n_items += 1
            if row.value not in set(other.value):
                parts = "; ".join(
                    f"{fp.loc[i, 'value']} {other.loc[i, 'quantity']} "
                    f"({other.loc[i, 'source_id']}, {other.loc[i, 'location']})"
                    for i in other.index
                )
                found.append(
                    Finding(
                        "totals", "discrepancy", study, "facts",
                        (int(line), *[int(i) for i in other.index]),
                        f"{fp.loc[line, 'value']} patients ({row.location}) matches neither the "
                        "randomized nor the analysed total printed elsewhere",
                        f"{row.source_id} prints {fp.loc[line, 'value']} patients without saying "
                        f"whether randomized or analysed; other sources print {parts}. Per-arm "
                        "sizes are not transcribed, so the arms cannot settle it.",
                    )
                )
    return n_items


def _sources_disagree(d: _Data, found: list[Finding]) -> int:
    """One quantity printed differently by different sources."""
    n_items = 0
    facts, fp = d.t["facts"], d.p["facts"]
    for (study, qty, grp), sel in facts.groupby(["study_id", "quantity", "group"]):
        if sel.source_id.nunique() < 2:
            continue
        n_items += 1
        if sel.value.nunique() > 1:
            parts = "; ".join(
                f"{fp.loc[i, 'value']} ({sel.loc[i, 'source_id']}, {sel.loc[i, 'location']}, "
                f"{sel.loc[i, 'label']})" for i in sel.index
            )
            found.append(
                Finding(
                    "totals", "discrepancy", study, "facts", tuple(int(i) for i in sel.index),
                    f"{qty} ({grp}) differs between sources",
                    f"Printed values: {parts}. The reported value of the primary publication is "
                    "used in analyses; the secondary value is kept as printed.",
                )
            )
    return n_items


def _analysed_vs_randomized(d: _Data, found: list[Finding]) -> int:
    n_items = 0
    for name, grp in (("proportions", "group"), ("arm_outcomes", "arm")):
        t = d.t[name]
        for line, row in t[t.n.notna()].iterrows():
            rand = d.randomized(row.study_id, row[grp])
            if rand is None:
                continue
            n_items += 1
            n = int(row.n)
            where = f"{row[grp]} {row.outcome} {row.timepoint}"
            if n > rand:
                found.append(
                    Finding(
                        "analysed_vs_randomized", "inconsistent", row.study_id, name, (line,),
                        f"{where}: n = {n} exceeds the {rand} randomized",
                        "No analysis can include more patients than were randomized to the arm.",
                    )
                )
            elif n < rand and row.get("population", "") == "ITT":
                found.append(
                    Finding(
                        "analysed_vs_randomized", "discrepancy", row.study_id, name, (line,),
                        f"{where}: {n} analysed in an intention-to-treat analysis, "
                        f"{rand} randomized",
                        f"The source calls the analysis intention-to-treat ({row.location}: "
                        f"{row.note or 'ITT'}), which counts every randomized patient, yet the "
                        f"denominator is {n}, {rand - n} fewer than randomized "
                        f"(arms.csv, {d.t['arms'].set_index(['study_id', 'arm']).loc[(row.study_id, row[grp]), 'location']}). "  # noqa: E501
                        "The flow chart that would account for the difference is not transcribed.",
                    )
                )
    return n_items


def _siblings_k(d: _Data, analysis_id: str) -> int | None:
    pooled = d.t["pooled"]
    sel = pooled[(pooled.analysis_id == analysis_id) & pooled.k_trials.notna()]
    if not len(sel):
        return None
    k = int(sel.k_trials.iloc[0])
    if pd.notna(sel.k_excluded.iloc[0]):
        k -= int(sel.k_excluded.iloc[0])
    return k


def _heterogeneity(d: _Data, found: list[Finding]) -> int:
    """Per pooled result: Q's df, I2 from Q, the P of Q, and z from estimate and CI."""
    n_items = 0
    for line, row in d.t["pooled"].iterrows():
        txt = d.p["pooled"].loc[line]
        for step in (_q_df, _i2_vs_q, _q_p, _z_vs_ci):
            n_items += step(d, line, row, txt, found)
    return n_items


def _q_df(d: _Data, line: int, row: pd.Series, txt: pd.Series, found: list[Finding]) -> int:
    """Q on k studies has k - 1 df: against the rows pooled and the trials of the analysis."""
    if not txt["q_df"]:
        return 0
    df = int(row.q_df)
    rows = d.t["pooled_rows"]
    mine = rows[(rows.pooled_id == row.pooled_id) & ~rows.excluded]
    k = _siblings_k(d, row.analysis_id)
    if len(mine) > df + 1:
        found.append(
            Finding(
                "heterogeneity", "inconsistent", row.source_id, "pooled", (line,),
                f"{row.comparison}: Q has {df} df but {len(mine)} studies are pooled",
                "Q on k studies has k - 1 degrees of freedom.",
            )
        )
    elif k is not None and k - 1 != df:
        found.append(
            Finding(
                "heterogeneity", "inconsistent", row.source_id, "pooled", (line,),
                f"{row.comparison}: Q has {df} df but the analysis pools {k} trials",
                "Q on k studies has k - 1 degrees of freedom.",
            )
        )
    return 1


def _i2_vs_q(d: _Data, line: int, row: pd.Series, txt: pd.Series, found: list[Finding]) -> int:
    """The printed I2 against I2 from the printed Q (within its rounding) and df."""
    if not (txt["q"] and txt["q_df"] and txt["i2"]):
        return 0
    df = int(row.q_df)
    i2_rng = tuple(i2_from_q(q, df) for q in _iv(txt["q"]))
    if not _overlap((min(i2_rng), max(i2_rng)), _iv(txt["i2"])):
        found.append(
            Finding(
                "heterogeneity", "inconsistent", row.source_id, "pooled", (line,),
                f"{row.comparison}: I2 {txt['i2']}% does not follow from Q {txt['q']} "
                f"on {df} df",
                f"I2 = max(0, (Q - df)/Q) gives {min(i2_rng):.1f} to {max(i2_rng):.1f}%.",
            )
        )
    return 1


def _q_p(d: _Data, line: int, row: pd.Series, txt: pd.Series, found: list[Finding]) -> int:
    """The printed P of the heterogeneity test against the chi-squared tail of Q."""
    qp = _num(txt["q_p_printed"]) if txt["q_p_printed"] else None
    if not (txt["q"] and txt["q_df"] and qp is not None):
        return 0
    p_rng = sorted(float(numeric.chi2_sf(q, int(row.q_df))) for q in _iv(txt["q"]))
    if not _overlap((p_rng[0], p_rng[1]), _iv(txt["q_p_printed"].strip())):
        found.append(
            Finding(
                "heterogeneity", "inconsistent", row.source_id, "pooled", (line,),
                f"{row.comparison}: P of Q {txt['q_p_printed']} does not follow from "
                f"Q {txt['q']} on {row.q_df} df",
                f"chi-squared tail gives {p_rng[0]:.4f} to {p_rng[1]:.4f}.",
            )
        )
    return 1


def _zfun(e: float, lo: float, hi: float) -> float:
    """|estimate| / SE, the SE behind the 95% CI."""
    return abs(e) / float(se_from_ci(lo, hi))


def _z_vs_ci(d: _Data, line: int, row: pd.Series, txt: pd.Series, found: list[Finding]) -> int:
    """The printed z against the estimate and CI of the same analysis (not the mm row)."""
    if not txt["z"]:
        return 0
    pooled, pp = d.t["pooled"], d.p["pooled"]
    sib = pooled[(pooled.analysis_id == row.analysis_id)]
    sib_p = pp.loc[sib.index]
    sib_p = sib_p[(sib_p.estimate != "") & (sib_p.ci_low != "") & (sib.measure != "MD_mm")]
    if not len(sib_p):
        return 0
    s = sib_p.iloc[0]
    z_rng = corner_range(_zfun, [_iv(s["estimate"]), _iv(s["ci_low"]), _iv(s["ci_high"])])
    if not _overlap(z_rng, _iv(txt["z"])):
        found.append(
            Finding(
                "heterogeneity", "inconsistent", row.source_id, "pooled", (line,),
                f"{row.comparison}: z = {txt['z']} does not follow from "
                f"{s['estimate']} ({s['ci_low']} to {s['ci_high']})",
                f"|estimate| / SE, SE = CI width / (2 x 1.96), gives {z_rng[0]:.2f} to "
                f"{z_rng[1]:.2f}.",
            )
        )
    return 1


_ARM_TEXT = ("treat_mean", "control_mean", "treat_sd", "control_sd")


def _pooled_md(vals: Sequence[float], ns: Sequence[tuple[int, int]]):
    """Fixed-effect IV pooling of MDs from flat (m1, m2, s1, s2) per row, n per row in *ns*."""
    y = np.array([vals[4 * j] - vals[4 * j + 1] for j in range(len(ns))])
    v = np.array(
        [vals[4 * j + 2] ** 2 / ns[j][0] + vals[4 * j + 3] ** 2 / ns[j][1]
         for j in range(len(ns))]
    )
    return pool_iv(y, v)


def _complete_rows(d: _Data, row: pd.Series, txt: pd.Series) -> pd.DataFrame | None:
    """The forest-plot rows of a pooled result, when they are all there with arm data."""
    rows, rp = d.t["pooled_rows"], d.p["pooled_rows"]
    mine = rows[(rows.pooled_id == row.pooled_id) & ~rows.excluded]
    if not len(mine) or not txt["estimate"]:
        return None
    complete = (txt["q_df"] and len(mine) == int(row.q_df) + 1) or (
        pd.notna(row.k_trials) and len(mine) == int(row.k_trials)
    )
    if not complete or not all(_arm_cols_present(rp.loc[i]) for i in mine.index):
        return None
    return mine


def _pooled_vs_rows(d: _Data, found: list[Finding]) -> int:
    """A pooled MD recomputed from its complete forest-plot rows (totals, estimate, CI, Q)."""
    n_items = 0
    for line, row in d.t["pooled"].iterrows():
        txt = d.p["pooled"].loc[line]
        mine = _complete_rows(d, row, txt)
        if mine is None:
            continue
        n_items += 1
        _row_totals(line, row, txt, mine, found)
        _pooled_estimate(d, line, row, txt, mine, found)
    return n_items


def _row_totals(line: int, row: pd.Series, txt: pd.Series, mine: pd.DataFrame,
                found: list[Finding]) -> None:
    """The printed arm totals against the sums of the rows."""
    for side, col in (("n_treat", "treat_n"), ("n_control", "control_n")):
        if txt[side] and int(row[side]) != int(mine[col].sum()):
            found.append(
                Finding(
                    "pooled_vs_rows", "inconsistent", row.source_id, "pooled", (line,),
                    f"{row.comparison}: {side} {txt[side]} but the rows add up to "
                    f"{int(mine[col].sum())}", "Totals should be the sum of the rows.",
                )
            )


def _pooled_estimate(d: _Data, line: int, row: pd.Series, txt: pd.Series, mine: pd.DataFrame,
                     found: list[Finding]) -> None:
    """The printed pooled MD, CI and Q against fixed-effect IV pooling of the printed rows,
    and the range of the estimate with every row input varied within its rounding."""
    rp = d.p["pooled_rows"]
    ns = [(int(rp.loc[i, "treat_n"]), int(rp.loc[i, "control_n"])) for i in mine.index]
    boxes = [_iv(rp.loc[i, c]) for i in mine.index for c in _ARM_TEXT]
    at_printed = _pooled_md([float(rp.loc[i, c]) for i in mine.index for c in _ARM_TEXT],
                            ns).estimate
    y = mine.treat_mean.to_numpy(float) - mine.control_mean.to_numpy(float)
    v = (mine.treat_sd.to_numpy(float) ** 2 / mine.treat_n.to_numpy(float)
         + mine.control_sd.to_numpy(float) ** 2 / mine.control_n.to_numpy(float))
    est, se, q, _ = pool_iv(y, v)
    rng = corner_range(lambda *vals: _pooled_md(vals, ns).estimate, boxes)
    dec = decimals(txt["estimate"])
    problems = []
    if not _overlap((at_printed, at_printed), _iv(txt["estimate"])):
        problems.append(f"estimate {_fmt(at_printed, dec + 1)} vs printed {txt['estimate']}")
    for col, val in (("ci_low", est - Z975 * se), ("ci_high", est + Z975 * se)):
        if txt[col] and not _overlap((val, val), _iv(txt[col])):
            problems.append(f"{col} {val:.3f} vs printed {txt[col]}")
    if txt["q"] and not _overlap((q, q), _iv(txt["q"])):
        problems.append(f"Q {q:.3f} vs printed {txt['q']}")
    if not problems:
        return
    attainable = _overlap(rng, _iv(txt["estimate"]))
    # attainable within the rows' rounding: an irregularity with a benign explanation (a note,
    # by SEVERITIES' own definitions), not a number that differs from what it should equal
    found.append(
        Finding(
            "pooled_vs_rows", "note" if attainable else "discrepancy", row.source_id, "pooled",
            (line, *[int(i) for i in mine.index]),
            f"{row.comparison}: pooled {row.measure} {txt['estimate']} "
            f"({txt['ci_low']} to {txt['ci_high']}) is not what its {len(mine)} rows give",
            "Fixed-effect inverse-variance pooling of the printed rows (MD and variance "
            f"from the printed arm means, SDs and n) gives {est:.3f} "
            f"({est - Z975 * se:.3f} to {est + Z975 * se:.3f}), Q = {q:.3f}: "
            + "; ".join(problems) + ". "
            + (
                f"Letting every printed mean and SD vary within its rounding, the pooled "
                f"estimate ranges over {rng[0]:.3f} to {rng[1]:.3f}, which includes "
                f"{txt['estimate']}: the source pooled unrounded arm data, so the printed "
                "rows do not reproduce the printed pooled value exactly."
                if attainable else
                f"Even with every printed mean and SD varied within its rounding the "
                f"pooled estimate stays within {rng[0]:.3f} to {rng[1]:.3f}: "
                "the printed pooled value does not come from these rows."
            ),
        )
    )


# ------------------------------------------------------------------ evidence structure (#13)

_ROLE_CLASS = {"verum": "verum", "sham": "sham", "no_acupuncture": "control"}


def _evidence_structure(d: _Data, found: list[Finding]) -> int:
    """The evidence-structure tables agree with the arm and outcome tables (issue #13).

    * every arm of arms.csv has one row in arm_types.csv, of the matching class, and no arm
      type names an arm that arms.csv lacks (inconsistent otherwise);
    * a trial with risk-of-bias rows has one row for every domain of the dictionary;
    * analysed n never exceeds the randomized n printed beside it (analysed_counts.csv);
    * every outcome and time point with arm values (arm_outcomes.csv, proportions.csv) of a
      trial that has an outcome structure (trial_outcomes.csv) is classified there (note).
    """
    n_items = 0
    arms = d.t["arms"].set_index(["study_id", "arm"])
    at = d.t["arm_types"]
    typed = set()
    for line, row in at.iterrows():
        n_items += 1
        key = (row.study_id, row.arm)
        typed.add(key)
        if key not in arms.index:
            found.append(Finding(
                "evidence_structure", "inconsistent", row.study_id, "arm_types", (line,),
                f"arm type for {row.study_id} {row.arm}, an arm that arms.csv does not list",
                "Every arm type must describe a randomized arm of arms.csv."))
            continue
        want = _ROLE_CLASS.get(arms.loc[key, "role"])
        if want != row.arm_class:
            found.append(Finding(
                "evidence_structure", "inconsistent", row.study_id, "arm_types", (line,),
                f"{row.study_id} {row.arm}: arm class {row.arm_class}, but arms.csv gives role "
                f"{arms.loc[key, 'role']}",
                "The arm class of arm_types.csv is the role of arms.csv (no_acupuncture is "
                "called control); the two tables must agree."))
        if (row.arm_class == "sham") == (row.sham_type == "not_applicable"):
            found.append(Finding(
                "evidence_structure", "inconsistent", row.study_id, "arm_types", (line,),
                f"{row.study_id} {row.arm}: class {row.arm_class} with sham type "
                f"{row.sham_type}",
                "Sham arms have a sham type (or unknown); other arms have not_applicable."))
        if (row.arm_class == "control") == (row.control_type == "not_applicable"):
            found.append(Finding(
                "evidence_structure", "inconsistent", row.study_id, "arm_types", (line,),
                f"{row.study_id} {row.arm}: class {row.arm_class} with control type "
                f"{row.control_type}",
                "Control arms have a control type (or unknown); other arms have "
                "not_applicable."))
    if len(at):
        for line, arow in d.t["arms"].iterrows():
            key = (arow.study_id, arow.arm)
            n_items += 1
            if key not in typed and key[0] in set(at.study_id):
                found.append(Finding(
                    "evidence_structure", "inconsistent", key[0], "arms", (line,),
                    f"{key[0]} {key[1]} has no row in arm_types.csv",
                    "Every arm of a trial with arm types must be typed, or the indirectness "
                    "rule cannot see which sham or control type it is."))
    from . import data_dir
    from ._schema import read_package

    domains = read_package(d.where if d.where is not None else data_dir()).get("risk_of_bias")
    if domains is not None:
        all_domains = set(domains.field("domain").enum or ())
        rob = d.t["risk_of_bias"]
        for study, g in rob.groupby("study_id", sort=False):
            n_items += 1
            lacking = sorted(all_domains - set(g.domain))
            if lacking:
                found.append(Finding(
                    "evidence_structure", "inconsistent", study, "risk_of_bias",
                    tuple(int(i) for i in g.index),
                    f"{study}: risk-of-bias domains missing: {', '.join(lacking)}",
                    "A trial's risk of bias is rated in every domain; a judgement that is not "
                    "transcribed is a row with an empty judgement and a note, not a missing "
                    "row."))
    ac = d.t["analysed_counts"]
    for line, row in ac[ac.n_analysed.notna() & ac.n_randomized.notna()].iterrows():
        n_items += 1
        if row.n_analysed > row.n_randomized:
            found.append(Finding(
                "evidence_structure", "inconsistent", row.study_id, "analysed_counts", (line,),
                f"{row.study_id} {row.arm}: {int(row.n_analysed)} analysed of "
                f"{int(row.n_randomized)} randomized",
                "No analysis can include more patients than were randomized."))
    to = d.t["trial_outcomes"]
    known = set(zip(to.study_id, to.outcome, to.timepoint, strict=True))
    structured = set(to.study_id)
    direction = d.t["outcomes"].set_index("outcome").direction
    seen = set()
    for name in ("arm_outcomes", "proportions"):
        t = d.t[name]
        for line, row in t.iterrows():
            key = (row.study_id, row.outcome, row.timepoint)
            if (row.study_id not in structured or key in seen
                    or direction.get(row.outcome) == "not_applicable"
                    or row.timepoint == "not_stated"):
                continue
            seen.add(key)
            n_items += 1
            if key not in known:
                found.append(Finding(
                    "evidence_structure", "note", row.study_id, name, (line,),
                    f"{row.study_id} {row.outcome} {row.timepoint} has values but no row in "
                    f"trial_outcomes.csv",
                    "Its domain, primary/secondary role and time-point class are not "
                    "recorded, so the certainty rating cannot select or classify it."))
    return n_items


CHECKS: dict[str, Callable[[_Data, list[Finding]], int]] = {
    "percent_attainable": _percent_attainable,
    "proportion_ci": _proportion_ci,
    "ci_centred": _ci_centred,
    "ci_width": _ci_width,
    "differences": _differences,
    "totals": _totals,
    "analysed_vs_randomized": _analysed_vs_randomized,
    "heterogeneity": _heterogeneity,
    "pooled_vs_rows": _pooled_vs_rows,
    "evidence_structure": _evidence_structure,
}


def run_checks(where: Path | str | None = None) -> CheckReport:
    """Validate the data package, then run every consistency check.

    Returns
    -------
    CheckReport
        Findings with severity and explanation, and the number of items each check examined.

    Raises
    ------
    DataValidationError
        If a table breaks the data dictionary (consistency is only checked on valid data).

    Notes
    -----
    Validated by ``tests/data/test_checks.py``: planted errors in hand-made tables are caught, the
    clean versions pass, and the five known issues of the real data are found.
    """
    d = _Data(where)
    found: list[Finding] = []
    examined = {name: fn(d, found) for name, fn in CHECKS.items()}
    from . import data_dir

    return CheckReport(tuple(found), examined, str(where or data_dir()))
