"""The `msdsl` command line: check, compile, diagram, run, query, runs, plot, synth.

Exit status: 0 on success, 2 on a spec or data mistake (printed as diagnostics, never a traceback), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler import CompileError, check_file

EXIT_USER = 2


def _print_diagnostics(diagnostics, stream=None) -> None:
    stream = stream or sys.stderr  # looked up per call: `main()` called in-process may have redirected it
    for d in diagnostics:
        print(d.render(), file=stream)
        print(file=stream)
    errors = sum(d.severity == "error" for d in diagnostics)
    if errors:
        print(f"{errors} error{'s' * (errors != 1)} found", file=stream)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def cmd_check(args) -> int:
    failed = 0
    for path in args.specs:
        try:
            ir = check_file(path)
        except CompileError as err:
            _print_diagnostics(err.diagnostics)
            failed += 1
            continue
        _print_diagnostics(ir.warnings)
        print(f"{path}: ok ({_count(len(ir.blocks), 'node')}, {_count(len(ir.scenarios), 'scenario')}, "
              f"{_count(len(ir.tasks), 'task')})")
    return EXIT_USER if failed else 0


def cmd_compile(args) -> int:
    from msdsl.api import compile as compile_spec
    from msdsl.summary import summary

    program = compile_spec(args.spec)
    _print_diagnostics(program.ir.warnings)
    if args.emit:
        text = program.emit(args.emit)
        if args.output:
            Path(args.output).write_text(text)
            print(f"wrote {args.output}")
        else:
            print(text)
            return 0
    print(summary(program))
    return 0


def cmd_diagram(args) -> int:
    from compiler.draw import render
    from msdsl.api import compile as compile_spec

    program = compile_spec(args.spec)
    render(program.ir, args.output, counts=program.param_counts())
    print(f"wrote {args.output}")
    return 0


def cmd_run(args) -> int:
    from msdsl.api import run
    from msdsl.report import metrics_table
    from runtime.store import Store

    compile_setting = {None: None, True: True, False: False}[args.compile]
    run_id = run(args.spec, args.set, store=Path(args.store), resume=args.resume, compile=compile_setting,
                 runs_dir=Path(args.runs_dir), progress=not args.quiet, checkpoint_every=args.checkpoint_every)
    print(f"run {run_id}: test metrics (store {args.store})")
    print(metrics_table(Store(args.store), run_id))
    return 0


def cmd_query(args) -> int:
    import csv
    import json

    from msdsl.report import table
    from runtime.store import Store

    if not Path(args.store).exists():
        print(f"error: no store at {args.store} (run `msdsl run SPEC` first, or pass --store)", file=sys.stderr)
        return EXIT_USER
    columns, rows = Store(args.store).query(args.sql)
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")  # not \r\n: output goes to shell pipes
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.json:
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str, indent=1))
    else:
        print(table(columns, [[_show(v) for v in r] for r in rows]))
    return 0


def _show(value) -> str:
    if value is None:
        return "NULL"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def cmd_runs(args) -> int:
    from msdsl.report import runs_table
    from runtime.store import Store

    if not Path(args.store).exists():
        print(f"error: no store at {args.store} (run `msdsl run SPEC` first, or pass --store)", file=sys.stderr)
        return EXIT_USER
    print(runs_table(Store(args.store)))
    return 0


def cmd_plot(args) -> int:
    from msdsl.plot import plot
    from runtime.store import Store

    plot(Store(args.store), args.runs, args.output, metric=args.metric, split=args.split)
    print(f"wrote {args.output}")
    return 0


def cmd_synth(args) -> int:
    from runtime.synthetic import write_synthetic

    path = write_synthetic(args.output, rows=args.rows, scenarios=args.scenarios, seed=args.seed, shared=args.shared,
                           sparse=args.sparse, sequence=args.sequence)
    print(f"wrote {args.rows:,} rows to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msdsl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="check specs and print diagnostics")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("compile", help="compile a spec and print a summary, or emit fx code / IR")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--emit", choices=["fx", "ir", "json"], help="print the fx code, the IR dump or the IR as JSON")
    p.add_argument("-o", "--output", help="write the emitted text to this file")
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("diagram", help="draw the compiled model (SVG/PNG through Graphviz; DOT/Mermaid always)")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("-o", "--output", required=True, help="FILE.svg, .png, .dot or .mmd")
    p.set_defaults(func=cmd_diagram)

    store = dict(default="msdsl.duckdb", help="the DuckDB store file (default: ./msdsl.duckdb)")
    p = sub.add_parser("run", help="train and evaluate a spec; predictions and metrics go to the store")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--store", **store)
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint of this spec")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the programs (default: the spec's `compile`, auto = on GPU)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set train.epochs=1 --set data.source='synthetic(rows=5000)'")
    p.add_argument("--runs-dir", default="runs", help="where checkpoints go (default: ./runs)")
    p.add_argument("--checkpoint-every", type=int, default=500, metavar="STEPS",
                   help="write a checkpoint every STEPS training steps (and at every epoch's end)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("query", help="run a read-only SQL query against the store")
    p.add_argument("sql", metavar="SQL")
    p.add_argument("--store", **store)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true")
    fmt.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("runs", help="list the runs in the store")
    p.add_argument("--store", **store)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("plot", help="per-scenario metric bars and training curves of runs, side by side")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("-o", "--output", required=True, help="FILE.png / .svg / .pdf")
    p.add_argument("--metric", default="auc")
    p.add_argument("--split", default="test")
    p.add_argument("--store", **store)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("synth", help="write the built-in synthetic data set to a Parquet file")
    p.add_argument("-o", "--output", required=True, help="FILE.parquet")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--scenarios", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shared", type=float, default=0.7, help="0 = unrelated scenarios, 1 = one shared preference")
    p.add_argument("--sparse", type=float, default=1.0, help="Zipf exponent of scenario sizes")
    p.add_argument("--sequence", action="store_true", help="add the behaviour sequence column hist_items")
    p.set_defaults(func=cmd_synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CompileError as err:
        _print_diagnostics(err.diagnostics)
        return EXIT_USER
    except Exception as err:  # the user-facing failures of the runtime: a message, no traceback
        name = type(err).__name__
        if name in ("DataError", "TrainingError", "DrawError", "StoreBusy", "ValueError", "OSError",
                    "FileNotFoundError", "PermissionError", "CatalogException", "ParserException",
                    "BinderException", "CatalogException", "InvalidInputException", "IOException"):
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USER
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
