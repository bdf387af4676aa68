"""Command-line interface: ``acu-meta <command>``.

Exit status: 0 on success; 2 for bad input (a data table that breaks its dictionary, a
malformed CSV, an argument that does not fit the data, a model that cannot be fitted to the
input), with one line on stderr that names file, line, column and problem; 1 for anything else,
which is a bug in acu_meta: one line ``acu-meta: internal error: ...`` (``--debug`` prints the
traceback). Bad input is exactly an :class:`acu_meta.errors.AcuMetaError` (and the domain errors
of ``effects`` and ``models``, see :func:`_user_errors`); an error raised while a user's file is
processed names the file (``FILE: ...``). A closed pipe (``acu-meta check-data | head -1``) or
a closed stdout ends quietly with status 0.

Every warning (numpy RuntimeWarnings, library warnings) is printed as one line
``acu-meta: warning: ...``, once per distinct text, without source paths, after a command that
succeeds; a command that fails prints its one error line alone. An output file
(``-o``, ``--plot``) is checked before any computing: an existing folder, a missing folder, a
read-only place or an impossible name ends with exit 2 and one line. JSON output is strict:
NaN and infinities are ``null``.

``pool --subgroup COL`` calls :func:`acu_meta.results.subgroups`; ``pool --mods COL[,COL]``
calls :func:`acu_meta.results.metareg` with a design built here from the file's columns (numbers
continuous, labels coded as R's ``factor()``: indicators of every level but the first in sorted
order), both checked against metafor 3.8.1 by ``tests/cli/test_cli_moderators.py``. ``network``
ranks by P-score in the direction given by ``--larger-is-better`` / ``--smaller-is-better`` or
by ``--outcome ID`` (the package's outcomes table), and warns when none is given
(``tests/cli/test_cli_network_direction.py``). Every command's ``--help`` ends with examples
(:data:`EXAMPLES`) that run as written (``tests/cli/test_cli_help.py``); every command of the
README runs from a copy of ``examples/`` (``tests/cli/test_readme_commands.py``). ``reproduce``
prints a line per step and per notebook and writes ``reports/index.html``
(:mod:`acu_meta.analyses.html_report`, ``tests/cli/test_html_report.py``,
``tests/cli/test_notebooks_progress.py``).

Tested by ``tests/cli/test_cli_errors.py``, ``tests/cli/test_output_paths.py``,
``tests/cli/test_input_edges.py`` and the fuzz test ``tests/cli/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import traceback
import warnings
from pathlib import Path

from . import __version__, errors

# ------------------------------------------------------------------- choices, in one place
# Every method and measure the CLI offers, read from the library: the pool methods are FE, MH,
# Peto and every tau2 estimator of acu_meta.models.registry; the network methods are the
# registered estimators that have a network implementation.
DEFAULT_POOL_METHOD = "REML"  # --subgroup without --method (pool uses the profile's default)
# COUNT_METHODS (MH, PETO) need 2x2 counts; MH only for OR, RR, RD
MH_MEASURES = ("OR", "RR", "RD")
SHAPE_NAMES = {"binary": "binary", "continuous": "continuous", "generic": "yi/vi"}
DEFAULT_MEASURE = {"binary": "OR", "continuous": "SMD", "generic": "GEN"}
NETWORK_MEASURES = {"binary": ("OR", "RR", "RD"), "continuous": ("MD", "SMD")}
DEFAULT_NETWORK_MEASURE = {"binary": "OR", "continuous": "SMD"}
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")  # what plots.save_figure writes

# Read from the library on first use, not at import: `acu-meta --help` then imports neither
# scipy nor pandas (issue #16). Outside this module they read as attributes (cli.POOL_METHODS).
_LIBRARY_LISTS = ("MEASURES", "BINARY_MEASURES", "CONTINUOUS_MEASURES", "PROFILES",
                  "COUNT_METHODS", "POOL_METHODS", "SHAPE_MEASURES", "NETWORK_METHODS")


@functools.cache
def _lib() -> dict:
    """The measures, profiles and methods the CLI offers, read from the library."""
    from .effects import MEASURES
    from .effects.escalc import BINARY_MEASURES, CONTINUOUS_MEASURES
    from .models import registry
    from .results import PROFILES
    from .results.meta import COUNT_METHODS, methods

    return {
        "MEASURES": MEASURES, "BINARY_MEASURES": BINARY_MEASURES,
        "CONTINUOUS_MEASURES": CONTINUOUS_MEASURES, "PROFILES": PROFILES,
        "COUNT_METHODS": COUNT_METHODS, "POOL_METHODS": tuple(methods()),
        "SHAPE_MEASURES": {
            "binary": tuple(m for m in MEASURES if m in BINARY_MEASURES),
            "continuous": tuple(m for m in MEASURES if m in CONTINUOUS_MEASURES),
            "generic": ("GEN",),
        },
        "NETWORK_METHODS": registry.names(network=True),
    }


def __getattr__(name: str):
    if name in _LIBRARY_LISTS:
        return _lib()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage errors: status 2, one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def _level(text: str) -> float:
    """``--level``: a confidence level in percent, strictly between 0 and 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 100 (percent)")
    return value


def _output_dir(path: Path) -> Path:
    """Create the output folder *path*; a folder that cannot be made is bad input."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise errors.InputError(f"{path}: cannot create the output folder ({err.strerror or err})"
                                ) from None
    return path


def _output_file(path: str | Path, suffixes: tuple[str, ...] | None = None) -> Path:
    """An output file, checked before any work: the suffix (if *suffixes*), not a folder, its
    folder exists, and the file can be created or overwritten there (tried: a file created by
    the trial is removed again). Anything else is bad input, in one line."""
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise errors.InputError(f"{path}: output must end in {', '.join(suffixes[:-1])} "
                                f"or {suffixes[-1]}")
    if os.path.isdir(path):
        raise errors.InputError(f"{path}: is a folder; give a file name for the output")
    parent = path.parent
    if not os.path.isdir(parent):
        what = "is not a folder" if os.path.exists(parent) else "does not exist"
        raise errors.InputError(f"{path}: cannot write the output file: {parent} {what}")
    existed = os.path.exists(path)
    try:
        with open(path, "ab"):
            pass
        if not existed:
            os.unlink(path)
    except OSError as err:
        raise errors.InputError(f"{path}: cannot write the output file "
                                f"({err.strerror or err})") from None
    return path


def _figure_path(path: str | Path) -> Path:
    """An output file for a figure: suffix and place checked (:func:`_output_file`)."""
    return _output_file(path, FIGURE_SUFFIXES)


def _write_figure(fig, out: Path) -> None:
    """Save *fig*; a write that fails (disk full, ...) is one line, exit 2."""
    from .plots import save_figure

    try:
        save_figure(fig, out)
    except OSError as err:
        raise errors.InputError(f"{out}: cannot write the output file "
                                f"({err.strerror or err})") from None


def _json_ready(obj):
    """*obj* with every number made JSON-safe (:func:`acu_meta.numeric.json_number`: NaN and
    infinities become None), recursively through dicts, lists, tuples and numpy arrays."""
    import numpy as np

    from .numeric import json_number

    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_json_ready(v) for v in obj.tolist()]
    if isinstance(obj, (bool, int, float, np.number, np.bool_)):
        return json_number(obj)
    return obj


def json_text(payload) -> str:
    """Strict JSON of *payload* (no NaN or Infinity tokens: they are ``null``)."""
    return json.dumps(_json_ready(payload), indent=2, allow_nan=False)


@contextlib.contextmanager
def _about(path):
    """Errors raised while the user's file *path* is processed name the file: a message that
    does not start with it gets the prefix ``FILE: `` (the error type keeps exit status 2)."""
    shown = str(Path(path))
    try:
        yield
    except _user_errors() as err:
        text = _one_line(err)
        if text.startswith(shown):
            raise
        kind = errors.InputError if isinstance(err, errors.InputError) else errors.ModelError
        raise kind(f"{shown}: {text}") from err


def _cmd_list(args) -> int:
    from . import data

    for name in data.list_datasets(args.data):
        frame = data.load(name, args.data)
        print(f"{name}\t{len(frame)} rows")
    return 0


def _cmd_check_data(args) -> int:
    from . import data

    out = _output_file(args.out) if args.out else None
    report = data.check(args.data)
    text = report.to_markdown()
    if out is not None:
        out.write_text(text, encoding="utf-8")
        print(f"{report.summary()}; written to {out}")
    else:
        print(text)
    return 0


SNAPSHOT = Path("tests") / "fixtures" / "reproduction_snapshot.json"


def _write_reports(reports: Path, where) -> dict:
    """Write every report of ``reproduce`` into *reports*; return what the summary prints."""
    from . import data
    from .analyses import all_approximations, all_targets, article_claims
    from .analyses.reproduction import to_frame, to_markdown
    from .data.derived import derived_values

    problems = data.validate(where)
    if problems:
        raise data.DataValidationError(problems)
    report = data.check(where)
    (reports / "data-checks.md").write_text(report.to_markdown(), encoding="utf-8")
    derived_values(where).to_csv(reports / "derived-values.csv", index=False)
    targets, approx = all_targets(where), all_approximations(where)
    to_frame(targets).to_csv(reports / "reproduction.csv", index=False, float_format="%.10g")
    to_frame(approx).to_csv(reports / "approximations.csv", index=False, float_format="%.10g")
    md = to_markdown(targets)
    md += "\n## Approximate reproductions (not the authors' computation)\n\n"
    md += "\n".join(to_markdown(approx).splitlines()[9:])
    (reports / "reproduction.md").write_text(md, encoding="utf-8")
    article_claims.claims(where).to_csv(reports / "article-claims.csv", index=False)
    from .analyses.answer import write_answer

    write_answer(reports, where)  # reports/answer.md, generated (issue #13)
    return {"tables": len(data.list_datasets(where)), "checks": report.summary(),
            "targets": to_frame(targets)}


def _cmd_reproduce(args) -> int:
    """Everything reproducible: validated data, data checks, derived values, reproduction
    report (targets and approximations), figures, executed notebooks rendered to HTML.

    Reads ``--data`` alone (and ``--examples`` for the figures of the example CSVs)."""
    from .analyses import EXAMPLES_DIR, write_figures
    from .analyses.reproduction import STATUSES

    examples = _examples_dir(args)
    out = Path(args.out)
    reports = _output_dir(out / "reports")
    done = _write_reports(reports, args.data)
    print(f"data: {done['tables']} tables valid", flush=True)
    print(f"checks: {done['checks']} -> {reports / 'data-checks.md'}")
    print(f"derived values -> {reports / 'derived-values.csv'}")
    frame = done["targets"]
    counts = frame.status.value_counts()
    print(f"reproduction: {len(frame)} targets ("
          + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
          + f") -> {reports / 'reproduction.csv'}", flush=True)
    print(f"answer -> {reports / 'answer.md'}", flush=True)
    figs = write_figures(_output_dir(out / "figures"), args.data, examples=examples)
    print(f"figures: {len(figs)} files -> {out / 'figures'}", flush=True)
    if examples is None:
        print("figures of the example CSVs skipped (--data without --examples)")
    if args.notebooks:
        from .notebooks import render_all

        folder = Path(args.notebooks)
        n = len(list(folder.glob("*.ipynb")))
        print(f"notebooks: executing {n} from {folder} ...", flush=True)

        def progress(i: int, total: int, path: Path, seconds: float) -> None:
            print(f"notebook {i}/{total} ({seconds:.0f} s) -> {path}", flush=True)

        render_all(folder, _output_dir(reports / "notebooks"), progress=progress)
    from .analyses.html_report import write_html_report

    # the answer's fallback is the repository's README, read only with the default data
    # (--data DIR reads DIR alone, as for the example figures)
    readme = EXAMPLES_DIR.parent / "README.md" if args.data is None else None
    index = write_html_report(out, frame, [f for f in figs if Path(f).suffix == ".png"],
                              readme=readme)
    print(f"HTML report -> {index}")
    return 0


def _examples_dir(args) -> Path | None:
    """The folder of example CSVs for ``reproduce``: ``--examples``, else the repository's
    ``examples/`` when the data are the default ones, else None (``--data DIR`` reads DIR
    alone)."""
    from .analyses import EXAMPLES_DIR

    if args.examples:
        folder = Path(args.examples)
        if not folder.is_dir():
            raise errors.InputError(f"{folder}: --examples is not a folder")
        return folder
    return EXAMPLES_DIR if args.data is None else None


def _cmd_snapshot(args) -> int:
    """Refresh the regression snapshot of every reproduced number (after a deliberate change)."""
    from .analyses import all_approximations, all_targets
    from .analyses.reproduction import snapshot

    path = _output_file(args.out)
    payload = {"targets": snapshot(all_targets(args.data)),
               "approximations": snapshot(all_approximations(args.data))}
    path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"snapshot of {len(payload['targets'])} targets and {len(payload['approximations'])} "
          f"approximations -> {path}")
    return 0


def _measure_for(shape: str, measure: str | None) -> str:
    """The measure for a user table of *shape*: the default, or *measure* if it fits."""
    measure = (measure or DEFAULT_MEASURE[shape]).upper()
    fits = _lib()["SHAPE_MEASURES"][shape]
    if measure not in fits:
        raise errors.InputError(f"measure {measure} does not fit {SHAPE_NAMES[shape]} data "
                                f"({', '.join(fits)})")
    return measure


def effect_sizes_from_table(table, measure: str | None, exact: bool = True):
    """EffectSizes for a validated user table (data layer) with measure defaults:
    SMD for continuous, OR for binary, GEN for yi/vi (see :data:`SHAPE_MEASURES`)."""
    from .effects import escalc

    c = table.columns
    measure = _measure_for(table.shape, measure)
    if table.shape == "binary":
        return escalc(measure, ai=c["treat_events"], n1i=c["treat_n"], ci=c["control_events"],
                      n2i=c["control_n"], study=table.study)
    if table.shape == "continuous":
        return escalc(measure, m1i=c["treat_mean"], sd1i=c["treat_sd"], n1i=c["treat_n"],
                      m2i=c["control_mean"], sd2i=c["control_sd"], n2i=c["control_n"],
                      study=table.study, exact=exact)
    if "vi" in c:
        return escalc("GEN", yi=c["yi"], vi=c["vi"], study=table.study)
    return escalc("GEN", yi=c["yi"], sei=c["sei"], study=table.study)


def _check_method(method: str | None, es) -> None:
    """MH and Peto pool 2x2 counts: refuse them for other data before pooling (the caller's
    :func:`_about` names the file)."""
    if method not in _lib()["COUNT_METHODS"]:
        return
    if es.arms is None or es.measure not in _lib()["BINARY_MEASURES"]:
        raise errors.InputError(f"method {method} needs 2x2 counts (treat_events, treat_n, "
                                "control_events, control_n)")
    if method == "MH" and es.measure not in MH_MEASURES:
        raise errors.InputError(f"method MH is for measures {', '.join(MH_MEASURES)}, "
                                f"not {es.measure}")


def _cmd_pool(args) -> int:
    import dataclasses

    if (args.subgroup or args.mods) and (args.bias or args.leave_one_out):
        raise errors.InputError("--bias and --leave-one-out are for one pooled model, not with "
                                "--subgroup or --mods")
    if args.subgroup and args.mods:
        raise errors.InputError("give --subgroup or --mods, not both (a categorical --mods "
                                "column fits the subgroups with one common tau2)")
    with _about(args.file):
        table, res = _pooled_from_file(args)
        if args.subgroup or args.mods:
            payload = (_subgroup_payload if args.subgroup else _metareg_payload)(res)
            payload["excluded"] = [{"study": st, "reason": r} for st, r in table.excluded]
        else:
            if table.excluded:
                res = dataclasses.replace(res, excluded=tuple(table.excluded) + res.excluded)
            payload = _pool_payload(res, args)
        if args.effect_label:
            payload["effect_label"] = args.effect_label
        if args.json:
            text = json_text(payload)
        else:
            head = [f"Effect: {args.effect_label}"] if args.effect_label else []
            text = "\n\n".join([*head, res.summary(), *_pool_extras(res, args)])
    print(text)
    return 0


def _pool_payload(res, args) -> dict:
    from .results.sensitivity import bias_summary, leave_one_out_records

    payload = res.to_dict()
    if args.bias:
        payload["bias"] = bias_summary(res)
    if args.leave_one_out:
        payload["leave_one_out"] = leave_one_out_records(res)
    return payload


def _pool_extras(res, args) -> list[str]:
    from .results.sensitivity import fsn, leave_one_out, ranktest, regtest, trimfill

    out = []
    if args.bias:
        out += [obj.summary() for obj in (regtest(res), regtest(res, model="lm"), ranktest(res),
                                          trimfill(res), fsn(res))]
    if args.leave_one_out:
        out.append(leave_one_out(res).summary())
    return out


def _pooled_from_file(args):
    """Read, check and pool the study file of *args* (one model, subgroups with
    ``--subgroup COL`` or a meta-regression with ``--mods COL[,COL]``); warnings go to the
    CLI's warning line."""
    from .data.userfile import read_study_csv
    from .results import pool, subgroups

    table = read_study_csv(args.file, drop_missing=args.drop_missing)
    exact = _lib()["PROFILES"][args.profile].exact_j
    es = effect_sizes_from_table(table, args.measure, exact=exact)
    _check_method(args.method, es)
    subgroup = getattr(args, "subgroup", None)
    mods = getattr(args, "mods", None)
    if subgroup:
        res = subgroups(es, _subgroup_labels(table, subgroup),
                        method=args.method or DEFAULT_POOL_METHOD, hksj=bool(args.hksj),
                        level=args.level, profile=args.profile)
    elif mods:
        res = _metareg_from_table(table, es, mods, args)
    else:
        res = pool(es, method=args.method, hksj=True if args.hksj else None,
                   level=args.level, profile=args.profile)
    for study, reason in table.excluded:
        warnings.warn(f"excluded {study}: {reason}", stacklevel=1)
    return table, res


def _subgroup_labels(table, column: str) -> tuple[str, ...]:
    """The labels of the ``--subgroup`` *column*: it must exist (the message shows the header
    found) and have no blank cell."""
    from .data.userfile import moderator_column

    if column not in table.extra:
        moderator_column(table, column, "--subgroup")  # raises, showing the header found
    labels = table.extra[column]
    for label, line in zip(labels, table.lines, strict=True):
        if not label.strip():
            raise errors.InputError(f"{table.path}, line {line}, column {column!r}: subgroup "
                                    "label is missing")
    return labels


def _moderator_frame(table, spec: str):
    """The design of ``--mods COL[,COL]`` (no intercept: metareg adds it): a numeric column
    as it is, a categorical one as indicators of every level but the first in sorted order
    (R's ``factor()`` default and metafor's coding; coefficient names COLUMNlevel)."""
    import pandas as pd

    from .data.userfile import moderator_column

    names = [c.strip() for c in spec.split(",")]
    if not all(names):
        raise errors.InputError(f"--mods {spec!r}: give column names separated by commas, "
                                "e.g. --mods ablat,alloc")
    if len(set(names)) < len(names):
        raise errors.InputError(f"--mods {spec!r}: a column is named twice")
    parts = []
    for name in names:
        kind, values = moderator_column(table, name)
        if kind == "numeric":
            parts.append(pd.DataFrame({name: values}))
        else:
            levels = sorted(set(values))
            parts.append(pd.DataFrame({f"{name}{lev}": [float(v == lev) for v in values]
                                       for lev in levels[1:]}))
    return pd.concat(parts, axis=1)


def _metareg_from_table(table, es, spec: str, args):
    from .results import metareg

    if args.method in _lib()["COUNT_METHODS"]:
        raise errors.InputError(f"--mods fits a meta-regression; method {args.method} pools "
                                "without moderators (use FE or a tau2 estimator)")
    if args.profile != "metafor":
        raise errors.InputError("--mods is metafor's meta-regression (rma with mods); it takes "
                                "no --profile other than metafor")
    X = _moderator_frame(table, spec)
    if X.shape[1] + 1 >= len(es.yi):
        raise errors.InputError(f"--mods {spec}: {X.shape[1] + 1} coefficients for "
                                f"{len(es.yi)} studies; a meta-regression needs more studies "
                                "than coefficients")
    return metareg(es, X, method=args.method or DEFAULT_POOL_METHOD, hksj=bool(args.hksj),
                   level=args.level)


def _subgroup_payload(res) -> dict:
    groups = res.to_frame()
    return {"model": "subgroups", "measure": res.measure, "method": res.overall.method,
            "common_tau2": res.common_tau2,
            "groups": groups[groups.group != "Overall"].to_dict(orient="records"),
            "Q_between": res.Q_between, "Q_between_df": res.Q_between_df,
            "Q_between_p": res.Q_between_p, "overall": res.overall.to_dict()}


def _metareg_payload(res) -> dict:
    return {"model": "metareg", "measure": res.measure, "method": res.method,
            "test": res.test, "k": res.k, "tau2": res.tau2, "se_tau2": res.se_tau2,
            "tau2_ci_low": res.tau2_ci[0], "tau2_ci_high": res.tau2_ci[1], "I2": res.I2,
            "H2": res.H2, "R2": res.R2, "QE": res.QE, "QE_df": res.QE_df, "QE_p": res.QE_p,
            "QM": res.QM, "QM_df": res.QM_df, "QM_df2": res.QM_df2, "QM_p": res.QM_p,
            "coefficients": res.to_frame().to_dict(orient="records")}


def _cmd_forest(args) -> int:
    from .plots import forest, funnel

    out = _figure_path(args.out)
    with _about(args.file):
        _, res = _pooled_from_file(args)
        if args.command == "forest":
            fig = forest(res, sort=args.sort, favours=tuple(args.favours),
                         arm_labels=tuple(args.arms), effect_label=args.effect_label)
        else:
            fig = funnel(res, xlabel=args.effect_label)
    _write_figure(fig, out)
    print(f"written {out}")
    return 0


def _cmd_network(args) -> int:
    import pandas as pd

    from .data.userfile import read_network_csv
    from .results.network import network

    plot = _figure_path(args.plot) if args.plot else None  # before any work
    larger, source = _network_direction(args)  # before any reading: a bad --outcome is one line
    shape, cols = read_network_csv(args.file)
    measure = (args.measure or DEFAULT_NETWORK_MEASURE[shape]).upper()
    fits = NETWORK_MEASURES[shape]
    if measure not in fits:
        raise errors.InputError(f"{Path(args.file)}: measure {measure} does not fit {shape} arms "
                                f"({', '.join(fits)})")
    _check_reference(args.file, args.reference, cols["treatment"])
    if source is None:
        warnings.warn("P-scores and ranks assume that larger effects are better; say "
                      "--larger-is-better or --smaller-is-better (or --outcome ID)", stacklevel=1)
    with _about(args.file):
        res = network(pd.DataFrame(cols), measure=measure, method=args.method,
                      reference=args.reference, level=args.level, larger_is_better=larger)
        ranking = _ranking(res)
        if args.json:
            payload = res.to_dict()
            payload.update(larger_is_better=larger, direction_from=source or "default",
                           ranking=ranking)
            if args.effect_label:
                payload["effect_label"] = args.effect_label
            text = json_text(payload)
        else:
            head = f"Effect: {args.effect_label}\n\n" if args.effect_label else ""
            text = (f"{head}{res.summary()}\n\n{_ranking_text(ranking, larger, source)}\n\n"
                    f"{res.league_table().to_string()}")
        if plot is not None:
            from .plots.network import network_graph

            fig = network_graph(res)
    if plot is not None:
        _write_figure(fig, plot)  # before printing: a failed write prints no results
    print(text)
    return 0


DIRECTIONS = {"higher_is_better": True, "lower_is_better": False}


def _network_direction(args) -> tuple[bool, str | None]:
    """Whether larger effects are better, and where that was said: ``--larger-is-better`` /
    ``--smaller-is-better``, or ``--outcome ID`` (the direction of benefit in the package's
    outcomes table, ``data/outcomes.csv``), or None (the default, larger is better)."""
    flag = args.larger_is_better
    if not args.outcome:
        return (True if flag is None else flag), (None if flag is None else "option")
    from . import data

    table = data.load("outcomes", args.data)
    rows = table[table.outcome == args.outcome]
    if rows.empty:
        raise errors.InputError(f"--outcome {args.outcome!r} is not in the outcomes table; the "
                                f"outcomes are: {', '.join(map(str, table.outcome))}")
    direction = str(rows.iloc[0].direction)
    if direction not in DIRECTIONS:
        raise errors.InputError(f"--outcome {args.outcome}: the outcomes table gives no "
                                f"direction of benefit ({direction!r}); say --larger-is-better "
                                "or --smaller-is-better")
    larger = DIRECTIONS[direction]
    if flag is not None and flag != larger:
        raise errors.InputError(f"--outcome {args.outcome} is {direction} in the outcomes "
                                "table, which contradicts "
                                f"{'--larger' if flag else '--smaller'}-is-better")
    return larger, f"outcome {args.outcome} ({direction})"


def _check_reference(path, reference: str | None, treatments) -> None:
    """A ``--reference`` that is not a treatment of the file: one line listing the treatments
    as they are written in the file (and the near miss, e.g. usual_care for 'usual care')."""
    if reference is None:
        return
    names = list(dict.fromkeys(treatments))
    if reference in names:
        return
    def key(t: str) -> str:
        return " ".join(t.replace("_", " ").replace("-", " ").lower().split())

    near = [t for t in names if key(t) == key(reference)]
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise errors.InputError(f"{Path(path)}: --reference {reference!r} is not a treatment in the "
                            f"file{hint} (treatments: {', '.join(repr(t) for t in names)})")


def _ranking(res) -> list[dict]:
    """Treatments from best to worst by P-score (its direction is the result's)."""
    ps = res.p_scores()
    order = sorted(res.treatments, key=lambda t: -ps[t])
    return [{"rank": i + 1, "treatment": t, "p_score": ps[t]} for i, t in enumerate(order)]


def _ranking_text(ranking: list[dict], larger: bool, source: str | None) -> str:
    said = f"from {source}" if source else "assumed; see --larger-is-better"
    lines = [f"Ranking by P-score ({'larger' if larger else 'smaller'} effects are better: "
             f"{said}):"]
    width = max(len(r["treatment"]) for r in ranking)
    lines += [f"  {r['rank']:>2}. {r['treatment']:<{width}}  {r['p_score']:.3f}"
              for r in ranking]
    return "\n".join(lines)


def _prior_specs() -> list[tuple[str, str, str]]:
    """Every literature prior: (name, the equivalent SPEC, what it is for and where from)."""
    from .models import literature_priors

    out = []
    for _, r in literature_priors().iterrows():
        fam = r["family"]
        if fam == "log-normal":
            spec = f"log-normal:{r['mu']:g},{r['sigma']:g}"
        elif fam == "log-t":
            spec = f"log-t:{r['mu']:g},{r['sigma']:g},{r['df']:g}"
        else:
            spec = f"{fam}:{r['sigma']:g}"
        what = " / ".join(str(r[c]) for c in ("outcome", "comparison", "area")
                          if isinstance(r[c], str) and r[c].strip())
        out.append((str(r["prior_id"]), spec, f"{what} ({r['location']})"))
    return out


def _cmd_bayes(args) -> int:
    """``acu-meta bayes``: Bayesian random-effects meta-analysis of a study CSV (the same
    reader and effect sizes as ``pool``); ``--list-priors`` lists the literature priors.
    Tested by ``tests/cli/test_cli_bayes.py``."""
    import dataclasses

    from .models import parse_mu_prior, parse_tau_prior

    if args.list_priors:
        print("\n".join(f"{name}\t{spec}\t{what}" for name, spec, what in _prior_specs()))
        return 0
    if args.file is None or args.tau_prior is None:
        raise errors.InputError("bayes needs FILE and --tau-prior SPEC (or --list-priors)")
    tau_prior = parse_tau_prior(args.tau_prior)  # a bad SPEC: one line, before any reading
    mu_prior = parse_mu_prior(args.mu_prior)
    with _about(args.file):
        table, res = _bayes_from_file(args, tau_prior, mu_prior)
        if table.excluded:
            res = dataclasses.replace(res, excluded=tuple(table.excluded) + res.excluded)
        if args.json:
            payload = res.to_dict()
            if args.effect_label:
                payload["effect_label"] = args.effect_label
            text = json_text(payload)
        else:
            text = (f"Effect: {args.effect_label}\n\n" if args.effect_label else "") + res.summary()
    print(text)
    return 0


def _bayes_from_file(args, tau_prior, mu_prior):
    """Read and check the study file of *args* (as ``pool``) and fit the Bayesian model."""
    from .data.userfile import read_study_csv
    from .results import bayes

    table = read_study_csv(args.file, drop_missing=args.drop_missing)
    es = effect_sizes_from_table(table, args.measure, exact=True)
    res = bayes(es, tau_prior=tau_prior, mu_prior=mu_prior, level=args.level,
                interval=args.interval)
    for study, reason in table.excluded:
        warnings.warn(f"excluded {study}: {reason}", stacklevel=1)
    return table, res


# ---------------------------------------------------------------------------------- parser


# One example (or more) per command, shown by ``acu-meta COMMAND --help``; every example
# runs as written from the repository root (tests/cli/test_cli_help.py runs them).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "list-datasets": ("acu-meta list-datasets",),
    "check-data": ("acu-meta check-data -o data-checks.md",),
    "pool": ("acu-meta pool examples/bcg.csv --measure RR",
             "acu-meta pool examples/normand1999.csv --method DL --hksj --json",
             "acu-meta pool examples/bcg_moderators.csv --measure RR --subgroup alloc",
             "acu-meta pool examples/bcg_moderators.csv --measure RR --mods ablat,alloc"),
    "forest": ("acu-meta forest examples/bcg.csv --measure RR -o forest.svg",
               "acu-meta forest examples/bcg_moderators.csv --measure RR --subgroup alloc "
               "-o forest.png"),
    "funnel": ("acu-meta funnel examples/bcg.csv --measure RR -o funnel.png",),
    "bayes": ("acu-meta bayes examples/crins2014.csv --tau-prior half-normal:0.5",
              "acu-meta bayes --list-priors"),
    "network": ("acu-meta network examples/hasselblad1998.csv --reference no_contact "
                "--larger-is-better",
                "acu-meta network examples/senn2013.csv --measure MD --reference placebo "
                "--smaller-is-better --json"),
    "reproduce": ("acu-meta reproduce --out . --notebooks notebooks",),
    "snapshot": ("acu-meta snapshot",),
}

DESCRIPTION = """Re-derive the evidence on acupuncture for chronic low back pain, and
meta-analyse any CSV of studies with metafor's numbers.

Run 'acu-meta COMMAND --help' for the options and an example of each command.
Exit status: 0 ok, 2 bad input (one line naming file, line and column), 1 a bug."""


def _epilog(command: str) -> str:
    lines = EXAMPLES[command]
    return ("example:\n" if len(lines) == 1 else "examples:\n") + "\n".join(
        f"  {e}" for e in lines)


#: One line per command: its entry in ``acu-meta --help`` and its description.
COMMAND_HELP = {
    "list-datasets": "list the transcribed tables (validates them)",
    "check-data": "validate the data and run the consistency checks",
    "pool": "meta-analysis of a CSV of studies (metafor's numbers)",
    "forest": "forest plot of a CSV of studies",
    "funnel": "contour-enhanced funnel plot of a CSV of studies",
    "bayes": ("Bayesian random-effects meta-analysis of a CSV of studies "
              "(exact, as R's bayesmeta)"),
    "network": "network meta-analysis of a long-format CSV of arms",
    "reproduce": "rebuild every report and figure",
    "snapshot": "refresh the regression snapshot of reproduced numbers",
}


def _command(sub, name: str, common):
    """A subcommand with its one-line help (:data:`COMMAND_HELP`), shown also as its
    description, and its examples (:data:`EXAMPLES`) below the options."""
    help = COMMAND_HELP[name]
    return sub.add_parser(name, parents=[common], help=help, description=help[0].upper()
                          + help[1:] + ".", epilog=_epilog(name),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_pool_options(p) -> None:
    p.add_argument("file", help="CSV: study plus yi,vi | yi,sei | treat_mean,treat_sd,treat_n,"
                   "control_mean,control_sd,control_n | treat_events,treat_n,control_events,"
                   "control_n")
    p.add_argument("--measure", type=str.upper, choices=list(_lib()["MEASURES"]),
                   help="effect measure (default: SMD, OR or GEN by the columns)")
    p.add_argument("--method", type=str.upper, choices=list(_lib()["POOL_METHODS"]),
                   help="pooling method / tau2 estimator (default: the profile's, REML)")
    p.add_argument("--hksj", action="store_true", help="Hartung-Knapp-Sidik-Jonkman CI and test")
    p.add_argument("--level", type=_level, default=95, help="confidence level in percent")
    p.add_argument("--profile", default="metafor", choices=list(_lib()["PROFILES"]))
    p.add_argument("--drop-missing", action="store_true",
                   help="leave out rows with a missing value (listed in 'excluded')")
    p.add_argument("--effect-label", metavar="TEXT",
                   help="name of the effect in the output, e.g. 'Risk ratio (95%% CI)'")


def _add_data_commands(sub, common) -> None:
    p = _command(sub, "list-datasets", common)
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.set_defaults(func=_cmd_list)

    p = _command(sub, "check-data", common)
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("-o", "--out", help="write the Markdown report to this file")
    p.set_defaults(func=_cmd_check_data)


def _add_pool_commands(sub, common) -> None:
    p = _command(sub, "pool", common)
    _add_pool_options(p)
    p.add_argument("--bias", action="store_true",
                   help="small-study effects: Egger (rma and lm), Begg, trim-and-fill, "
                        "fail-safe N")
    p.add_argument("--leave-one-out", action="store_true", help="leave-one-out refits")
    p.add_argument("--subgroup", metavar="COLUMN",
                   help="pool within the subgroups of this column and test their difference")
    p.add_argument("--mods", metavar="COLUMN[,COLUMN]",
                   help="meta-regression on these columns: numbers are continuous, labels "
                        "categorical (indicators of every level but the first, sorted)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_cmd_pool)

    p = _command(sub, "forest", common)
    _add_pool_options(p)
    p.add_argument("--subgroup", metavar="COLUMN", help="column with subgroup labels")
    p.add_argument("--sort", choices=["effect", "weight", "label"], help="order of the rows")
    p.add_argument("--favours", nargs=2, default=["Favours treatment", "Favours control"],
                   metavar=("LEFT", "RIGHT"), help="texts under the axis")
    p.add_argument("--arms", nargs=2, default=["Treatment", "Control"],
                   metavar=("TREATMENT", "CONTROL"), help="headers of the arm columns")
    p.add_argument("-o", "--out", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=_cmd_forest)

    p = _command(sub, "funnel", common)
    _add_pool_options(p)
    p.add_argument("-o", "--out", required=True, help="output file: .png, .svg or .pdf")
    p.set_defaults(func=_cmd_forest)


TAU_PRIOR_HELP = ("prior of tau: half-normal:S, half-cauchy:S, half-t:S,DF, exponential:RATE, "
                  "uniform:0,B, log-normal:M,S (on tau^2, Turner 2015), log-t:L,S,DF (on "
                  "tau^2, Rhodes 2015), jeffreys, uniform (improper), or a literature prior's "
                  "name (see --list-priors), e.g. roever2020-half-normal-0.5")


def _add_bayes_command(sub, common) -> None:
    p = _command(sub, "bayes", common)
    p.add_argument("file", nargs="?", help="CSV of studies, as for pool")
    p.add_argument("--measure", type=str.upper, choices=list(_lib()["MEASURES"]),
                   help="effect measure (default: SMD, OR or GEN by the columns)")
    p.add_argument("--tau-prior", metavar="SPEC", help=TAU_PRIOR_HELP)
    p.add_argument("--mu-prior", metavar="normal:M,S",
                   help="prior of mu: normal:M,S (default: flat, improper)")
    p.add_argument("--effect-label", metavar="TEXT", help="name of the effect in the output")
    p.add_argument("--interval", choices=["central", "shortest"], default="central",
                   help="credible intervals: central (equal tails, default) or shortest")
    p.add_argument("--level", type=_level, default=95, help="credible level in percent")
    p.add_argument("--drop-missing", action="store_true",
                   help="leave out rows with a missing value (listed in 'excluded')")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--list-priors", action="store_true",
                   help="list the literature priors (name, equivalent SPEC, use and source) "
                        "and exit")
    p.set_defaults(func=_cmd_bayes)


def _add_network_command(sub, common) -> None:
    p = _command(sub, "network", common)
    p.add_argument("file", help="CSV with header study,treatment,events,n or "
                   "study,treatment,mean,sd,n (one row per study arm)")
    p.add_argument("--measure", type=str.upper,
                   choices=list(dict.fromkeys(m for ms in NETWORK_MEASURES.values() for m in ms)),
                   help="effect measure (default: OR for events, SMD for means)")
    p.add_argument("--method", type=str.upper, default="REML",
                   choices=list(_lib()["NETWORK_METHODS"]))
    p.add_argument("--reference", help="reference treatment (default: the first in the file)")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--larger-is-better", dest="larger_is_better", action="store_true",
                     default=None, help="ranks and P-scores: larger effects are better "
                                        "(the default, with a warning)")
    way.add_argument("--smaller-is-better", dest="larger_is_better", action="store_false",
                     help="ranks and P-scores: smaller effects are better (e.g. pain scores)")
    p.add_argument("--outcome", metavar="ID",
                   help="take the direction from the package's outcomes table "
                        "(data/outcomes.csv), e.g. cpgs_pain")
    p.add_argument("--data", help="data folder for --outcome (default: the repository's data/)")
    p.add_argument("--effect-label", metavar="TEXT", help="name of the effect in the output")
    p.add_argument("--level", type=_level, default=95, help="confidence level in percent")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--plot", metavar="OUT", help="also write the network graph (.png/.svg/.pdf)")
    p.set_defaults(func=_cmd_network)


def _add_reproduce_commands(sub, common) -> None:
    p = _command(sub, "reproduce", common)
    p.add_argument("--data", help="data folder (default: the repository's data/); read alone")
    p.add_argument("--examples", metavar="DIR",
                   help="folder of the example CSVs behind the example figures (Lee 2004 GOSH; "
                        "default: the repository's examples/, none with --data)")
    p.add_argument("--out", default=".", help="output root (default: current folder)")
    p.add_argument("--notebooks", metavar="DIR",
                   help="also execute the notebooks in DIR and render them to HTML")
    p.set_defaults(func=_cmd_reproduce)

    p = _command(sub, "snapshot", common)
    p.add_argument("--data", help="data folder (default: the repository's data/)")
    p.add_argument("-o", "--out", default=str(SNAPSHOT), help=f"default: {SNAPSHOT}")
    p.set_defaults(func=_cmd_snapshot)


#: The commands each ``_add_*`` function defines, in the order of ``acu-meta --help``.
_COMMAND_GROUPS = (
    (("list-datasets", "check-data"), _add_data_commands),
    (("pool", "forest", "funnel"), _add_pool_commands),
    (("bayes",), _add_bayes_command),
    (("network",), _add_network_command),
    (("reproduce", "snapshot"), _add_reproduce_commands),
)


def _command_of(argv: list[str]) -> str | None:
    """The command named in *argv* (the first argument that is not an option), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMAND_HELP else None
    return None


def build_parser(only: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The ``acu-meta`` parser; with *only*, just those commands get their options (and the
    library's measure and method lists), the others a one-line entry: ``acu-meta --help``
    then imports nothing heavy (issue #16)."""
    parser = _Parser(prog="acu-meta", description=DESCRIPTION,
                     epilog="examples:\n" + "\n".join(f"  {EXAMPLES[c][0]}" for c in
                                                      ("check-data", "pool", "network")),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"acu-meta {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the traceback too")
    # --debug after the command as well; SUPPRESS keeps the subparser from resetting it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on an error, print the traceback too")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for names, add in _COMMAND_GROUPS:
        if only is None or any(n in only for n in names):
            add(sub, common)
        else:
            for name in names:
                sub.add_parser(name, help=COMMAND_HELP[name])
    return parser


# ------------------------------------------------------------------------------ running


def _user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean bad input (exit 2): the project's own,
    :class:`acu_meta.errors.AcuMetaError`, and the domain errors of effects and models, named
    until they derive from it (arch-models' branch)."""
    from .effects.escalc import EffectSizeError
    from .models import ModelError
    from .models.network import NetworkError

    return (errors.AcuMetaError, EffectSizeError, ModelError, NetworkError)


def _one_line(err: BaseException) -> str:
    text = err.args[0] if isinstance(err, KeyError) and len(err.args) == 1 else err
    return " ".join(str(text).split())


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at devnull, so that the flush at exit cannot fail
    (the recipe of the Python docs, ``signal`` module, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


@contextlib.contextmanager
def _warning_lines(pending: list[str]):
    """Collect every warning raised inside into *pending* as one line ``acu-meta: warning:
    TEXT``, once per distinct text: no source path, no code line, no category (through
    ``warnings.showwarning``). :func:`main` prints them after a command that succeeds."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = f"acu-meta: warning: {' '.join(str(message).split())}"
        if text not in pending:
            pending.append(text)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield pending


def _print_lines(lines: list[str]) -> None:
    for text in lines:
        print(text, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 1 bug, 2 bad input).

    Warnings are printed (one line each) after a command that succeeds; a command that fails
    prints its one error line alone (``--debug``: the warnings and the traceback too)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_of(argv)
    args = build_parser(only=(command,) if command else ()).parse_args(argv)
    debug = getattr(args, "debug", False)
    if sys.stdout is None:  # started with stdout closed (`acu-meta ... >&-`): write nowhere
        sys.stdout = open(os.devnull, "w")  # lives as long as the process
    pending: list[str] = []
    try:
        with _warning_lines(pending):
            status = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the try
        _print_lines(pending)
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except _user_errors() as err:
        if debug:
            _print_lines(pending)
            traceback.print_exc()
        print(f"acu-meta: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("acu-meta: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # anything else is a bug in acu_meta
        if debug:
            _print_lines(pending)
            traceback.print_exc()
        print(f"acu-meta: internal error: {type(err).__name__}: {_one_line(err)} (run with "
              "--debug for the traceback; please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
