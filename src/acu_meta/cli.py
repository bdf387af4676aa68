"""Command-line interface: ``acu-meta <command>``.

Every error in the input data ends the command with exit status 2 and one line on stderr that
names file, line, column and problem; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage errors: status 2, one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_list(args) -> int:
    from . import data

    for name in data.list_datasets(args.data):
        frame = data.load(name, args.data)
        print(f"{name}\t{len(frame)} rows")
    return 0


def _cmd_check_data(args) -> int:
    from . import data

    report = data.check(args.data)
    text = report.to_markdown()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"{report.summary()}; written to {out}")
    else:
        print(text)
    return 0


SNAPSHOT = Path("tests") / "fixtures" / "reproduction_snapshot.json"


def _cmd_reproduce(args) -> int:
    """Everything reproducible: validated data, data checks, derived values, reproduction
    report (targets and approximations), figures, executed notebooks rendered to HTML."""
    from . import data
    from .analyses import all_approximations, all_targets, article_claims, write_figures
    from .analyses.reproduction import to_frame, to_markdown
    from .data.derived import derived_values

    out = Path(args.out)
    reports = out / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    problems = data.validate(args.data)
    if problems:
        raise data.DataValidationError(problems)
    report = data.check(args.data)
    (reports / "data-checks.md").write_text(report.to_markdown(), encoding="utf-8")
    derived_values(args.data).to_csv(reports / "derived-values.csv", index=False)
    targets = all_targets(args.data)
    approx = all_approximations(args.data)
    to_frame(targets).to_csv(reports / "reproduction.csv", index=False, float_format="%.10g")
    to_frame(approx).to_csv(reports / "approximations.csv", index=False, float_format="%.10g")
    md = to_markdown(targets)
    md += "\n## Approximate reproductions (not the authors' computation)\n\n"
    md += "\n".join(to_markdown(approx).splitlines()[9:])
    (reports / "reproduction.md").write_text(md, encoding="utf-8")
    article_claims.claims(args.data).to_csv(reports / "article-claims.csv", index=False)
    figs = write_figures(out / "figures", args.data)
    print(f"data: {len(data.list_datasets(args.data))} tables valid")
    print(f"checks: {report.summary()} -> {reports / 'data-checks.md'}")
    print(f"derived values -> {reports / 'derived-values.csv'}")
    frame = to_frame(targets)
    counts = frame.status.value_counts()
    print(f"reproduction: {len(frame)} targets ("
          + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("exact", "consistent", "discrepancy"))
          + f") -> {reports / 'reproduction.csv'}")
    print(f"figures: {len(figs)} files -> {out / 'figures'}")
    if args.notebooks:
        from .notebooks import render_all

        for path in render_all(Path(args.notebooks), reports / "notebooks"):
            print(f"notebook -> {path}")
    return 0


def _cmd_snapshot(args) -> int:
    """Refresh the regression snapshot of every reproduced number (after a deliberate change)."""
    import json

    from .analyses import all_approximations, all_targets
    from .analyses.reproduction import snapshot

    path = Path(args.out)
    payload = {"targets": snapshot(all_targets(args.data)),
               "approximations": snapshot(all_approximations(args.data))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"snapshot of {len(payload['targets'])} targets and {len(payload['approximations'])} "
          f"approximations -> {path}")
    return 0


def effect_sizes_from_table(table, measure: str | None, exact: bool = True):
    """EffectSizes for a validated user table (data layer) with measure defaults:
    SMD for continuous, OR for binary, GEN for yi/vi."""
    from .effects import escalc

    c = table.columns
    if table.shape == "binary":
        measure = (measure or "OR").upper()
        if measure not in ("OR", "RR", "RD", "PETO"):
            raise ValueError(f"measure {measure} does not fit binary data (OR, RR, RD, PETO)")
        return escalc(measure, ai=c["treat_events"], n1i=c["treat_n"], ci=c["control_events"],
                      n2i=c["control_n"], study=table.study)
    if table.shape == "continuous":
        measure = (measure or "SMD").upper()
        if measure not in ("MD", "SMD", "ROM"):
            raise ValueError(f"measure {measure} does not fit continuous data (MD, SMD, ROM)")
        return escalc(measure, m1i=c["treat_mean"], sd1i=c["treat_sd"], n1i=c["treat_n"],
                      m2i=c["control_mean"], sd2i=c["control_sd"], n2i=c["control_n"],
                      study=table.study, exact=exact)
    measure = (measure or "GEN").upper()
    if measure != "GEN":
        raise ValueError(f"measure {measure} does not fit yi/vi data (GEN)")
    if "vi" in c:
        return escalc("GEN", yi=c["yi"], vi=c["vi"], study=table.study)
    return escalc("GEN", yi=c["yi"], sei=c["sei"], study=table.study)


def _cmd_pool(args) -> int:
    import dataclasses
    import json

    from .results.sensitivity import (
        bias_summary,
        fsn,
        leave_one_out,
        leave_one_out_records,
        ranktest,
        regtest,
        trimfill,
    )

    table, res = _pooled_from_file(args)
    if table.excluded:
        res = dataclasses.replace(res, excluded=tuple(table.excluded) + res.excluded)
    if args.json:
        payload = res.to_dict()
        if args.bias:
            payload["bias"] = bias_summary(res)
        if args.leave_one_out:
            payload["leave_one_out"] = leave_one_out_records(res)
        print(json.dumps(payload, indent=2))
    else:
        print(res.summary())
        if args.bias:
            for obj in (regtest(res), regtest(res, model="lm"), ranktest(res), trimfill(res),
                        fsn(res)):
                print()
                print(obj.summary())
        if args.leave_one_out:
            print()
            print(leave_one_out(res).summary())
    return 0


def _pooled_from_file(args):
    import warnings

    from .data.userfile import read_study_csv
    from .results import PROFILES, pool, subgroups

    table = read_study_csv(args.file, drop_missing=args.drop_missing)
    exact = PROFILES[args.profile]["exact"]
    es = effect_sizes_from_table(table, args.measure, exact=exact)
    hksj = True if args.hksj else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if getattr(args, "subgroup", None):
            if args.subgroup not in table.extra:
                raise ValueError(f"{args.file}, line 1, column {args.subgroup!r}: no such column "
                                 "for --subgroup")
            res = subgroups(es, table.extra[args.subgroup], method=args.method or "REML",
                            hksj=bool(args.hksj), level=args.level, profile=args.profile)
        else:
            res = pool(es, method=args.method, hksj=hksj, level=args.level,
                       profile=args.profile)
    for w in caught:
        print(f"acu-meta: warning: {w.message}", file=sys.stderr)
    for study, reason in table.excluded:
        print(f"acu-meta: warning: excluded {study}: {reason}", file=sys.stderr)
    return table, res


def _cmd_forest(args) -> int:
    from .plots import forest, funnel, save_figure

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"{out}: output must end in .png, .svg or .pdf")
    _, res = _pooled_from_file(args)
    if args.command == "forest":
        fig = forest(res, sort=args.sort, favours=tuple(args.favours),
                     arm_labels=tuple(args.arms))
    else:
        fig = funnel(res)
    save_figure(fig, out)
    print(f"written {out}")
    return 0


def _cmd_network(args) -> int:
    import json

    import pandas as pd

    from .data.userfile import read_network_csv
    from .models.network import NetworkError
    from .results.network import network

    shape, cols = read_network_csv(args.file)
    measure = (args.measure or ("OR" if shape == "binary" else "SMD")).upper()
    fits = {"binary": ("OR", "RR", "RD"), "continuous": ("MD", "SMD")}[shape]
    if measure not in fits:
        raise ValueError(f"{args.file}: measure {measure} does not fit {shape} arms "
                         f"({', '.join(fits)})")
    try:
        res = network(pd.DataFrame(cols), measure=measure, method=args.method,
                      reference=args.reference, level=args.level)
    except NetworkError as err:
        raise ValueError(f"{args.file}: {err}") from None
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
    else:
        print(res.summary())
        print()
        print(res.league_table().to_string())
    if args.plot:
        from .plots import save_figure
        from .plots.network import network_graph

        save_figure(network_graph(res), args.plot)
    return 0


def _add_pool_options(p) -> None:
    p.add_argument("file", help="CSV: study plus yi,vi | yi,sei | treat_mean,treat_sd,treat_n,"
                   "control_mean,control_sd,control_n | treat_events,treat_n,control_events,"
                   "control_n")
    p.add_argument("--measure", type=str.upper,
                   choices=["MD", "SMD", "ROM", "RR", "OR", "RD", "PETO", "GEN"],
                   help="effect measure (default: SMD, OR or GEN by the columns)")
    p.add_argument("--method", type=str.upper,
                   choices=["FE", "MH", "PETO", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS"],
                   help="pooling method / tau2 estimator (default: the profile's, REML)")
    p.add_argument("--hksj", action="store_true", help="Hartung-Knapp-Sidik-Jonkman CI and test")
    p.add_argument("--level", type=float, default=95, help="confidence level in percent")
    p.add_argument("--profile", default="metafor", choices=["metafor", "revman5", "revman_web"])
    p.add_argument("--drop-missing", action="store_true",
                   help="leave out rows with a missing value (listed in 'excluded')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="acu-meta", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"acu-meta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list-datasets", help="list the transcribed tables (validates them)")
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("check-data", help="validate the data and run the consistency checks")
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("-o", "--out", help="write the Markdown report to this file")
    p.set_defaults(func=_cmd_check_data)

    p = sub.add_parser("pool", help="meta-analysis of a CSV of studies (metafor's numbers)")
    _add_pool_options(p)
    p.add_argument("--bias", action="store_true",
                   help="small-study effects: Egger (rma and lm), Begg, trim-and-fill, "
                        "fail-safe N")
    p.add_argument("--leave-one-out", action="store_true", help="leave-one-out refits")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_cmd_pool)

    p = sub.add_parser("forest", help="forest plot of a CSV of studies")
    _add_pool_options(p)
    p.add_argument("--subgroup", metavar="COLUMN", help="column with subgroup labels")
    p.add_argument("--sort", choices=["effect", "weight", "label"], help="order of the rows")
    p.add_argument("--favours", nargs=2, default=["Favours treatment", "Favours control"],
                   metavar=("LEFT", "RIGHT"), help="texts under the axis")
    p.add_argument("--arms", nargs=2, default=["Treatment", "Control"],
                   metavar=("TREATMENT", "CONTROL"), help="headers of the arm columns")
    p.add_argument("-o", "--out", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=_cmd_forest)

    p = sub.add_parser("funnel", help="contour-enhanced funnel plot of a CSV of studies")
    _add_pool_options(p)
    p.add_argument("-o", "--out", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=_cmd_forest)

    p = sub.add_parser("network", help="network meta-analysis of a long-format CSV of arms")
    p.add_argument("file", help="CSV with header study,treatment,events,n or "
                   "study,treatment,mean,sd,n (one row per study arm)")
    p.add_argument("--measure", type=str.upper, choices=["OR", "RR", "RD", "MD", "SMD"],
                   help="effect measure (default: OR for events, SMD for means)")
    p.add_argument("--method", type=str.upper, default="REML", choices=["FE", "REML", "DL"])
    p.add_argument("--reference", help="reference treatment (default: the first in the file)")
    p.add_argument("--level", type=float, default=95)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", metavar="OUT", help="also write the network graph (.png/.svg/.pdf)")
    p.set_defaults(func=_cmd_network)

    p = sub.add_parser("reproduce", help="rebuild every report and figure")
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("--out", default=".", help="output root (default: current folder)")
    p.add_argument("--notebooks", metavar="DIR",
                   help="also execute the notebooks in DIR and render them to HTML")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("snapshot", help="refresh the regression snapshot of reproduced numbers")
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("-o", "--out", default=str(SNAPSHOT), help=f"default: {SNAPSHOT}")
    p.set_defaults(func=_cmd_snapshot)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .data import DataValidationError
    from .data.userfile import InputError
    from .effects.escalc import EffectSizeError
    from .models import ModelError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataValidationError, InputError, EffectSizeError, ModelError, ValueError,
            FileNotFoundError, KeyError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"acu-meta: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
