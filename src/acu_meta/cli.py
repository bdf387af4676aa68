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


def _cmd_reproduce(args) -> int:
    """Everything reproducible so far: validated data, derived values, consistency report."""
    from . import data
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
    print(f"data: {len(data.list_datasets(args.data))} tables valid")
    print(f"checks: {report.summary()} -> {reports / 'data-checks.md'}")
    print(f"derived values -> {reports / 'derived-values.csv'}")
    return 0


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

    p = sub.add_parser("reproduce", help="rebuild every report and figure")
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("--out", default=".", help="output root (default: current folder)")
    p.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .data import DataValidationError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataValidationError, FileNotFoundError, KeyError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"acu-meta: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
