"""Shared helpers of the front-end tests: compiling by relative path, golden files, the bad-spec table.

Specs are compiled from inside `tests/compiler/` with relative paths (`bad/x.msd`), so that rendered
diagnostics and golden files do not depend on where the repository lives.

Golden files live under `tests/compiler/golden/`; `MSDSL_UPDATE_GOLDEN=1 pytest tests/compiler` rewrites them.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from pathlib import Path

import compiler
from compiler import extend
from compiler.diagnostics import CompileError, Diagnostic, Reporter
from compiler.ir import IR, build, dump
from compiler.passes import PASSES

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("MSDSL_UPDATE_GOLDEN") == "1"

BAD = sorted(p.name for p in (HERE / "bad").glob("*.msd"))
GOOD = sorted(p.name for p in (HERE / "good").glob("*.msd"))

_EXPECT = re.compile(r"#\s*expect:\s*(?P<code>[EW]\d{4}) at (?:(?P<file>[^:\s]+):)?(?P<line>\d+):(?P<col>\d+)\s*$")


@contextlib.contextmanager
def in_tests_dir():
    """Run with `tests/compiler/` as the working directory (relative paths in spans and extends)."""
    old = os.getcwd()
    os.chdir(HERE)
    try:
        yield
    finally:
        os.chdir(old)


def compile_rel(rel: str) -> IR:
    """`compiler.check_file` on a path relative to `tests/compiler/`."""
    with in_tests_dir():
        return compiler.check_file(rel)


def errors_of(rel: str) -> list[Diagnostic]:
    """The diagnostics compiling `rel` raises; fails the test when it compiles or raises anything else."""
    try:
        compile_rel(rel)
    except CompileError as err:
        return err.diagnostics
    raise AssertionError(f"{rel} compiled, but it should not")


def render(diagnostics) -> str:
    return "\n\n".join(d.render() for d in diagnostics) + "\n"


def expectations(rel: str) -> list[tuple[str, str, int, int]]:
    """The `# expect: CODE at [FILE:]LINE:COL` lines at the top of a bad spec, as (code, path, line, col).

    FILE is relative to the spec's folder (for a diagnostic inside a base spec); without it, the spec itself.
    """
    out = []
    for line in (HERE / rel).read_text().splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m:
            file = os.path.normpath(os.path.join(os.path.dirname(rel), m["file"])) if m["file"] else rel
            out.append((m["code"], file, int(m["line"]), int(m["col"])))
    return out


def found(diagnostics) -> list[tuple[str, str, int, int]]:
    return [(d.code, os.path.normpath(d.span.source.path), d.span.line, d.span.column) for d in diagnostics]


def ir_after(rel: str, last: str | None = None) -> IR:
    """The IR of a good spec after the passes up to and including the pass named `last` (all when None)."""
    with in_tests_dir():
        text = (HERE / rel).read_text()
        report = Reporter()
        ir = build(extend.load(rel, text), report)
        for p in PASSES:
            p.run(ir, report)
            report.check()
            if last is not None and p.__name__.rsplit(".", 1)[-1] == last:
                break
        else:
            assert last is None, f"no pass named {last}"
    return ir


def check_golden(rel: str, actual: str) -> None:
    """Compare `actual` with `golden/REL`, or rewrite that file when MSDSL_UPDATE_GOLDEN=1."""
    path = GOLDEN / rel
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != actual:
            path.write_text(actual)
        return
    assert path.exists(), f"missing golden file {path.relative_to(REPO)}; run with MSDSL_UPDATE_GOLDEN=1"
    expected = path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"golden/{rel}", "actual"))
        raise AssertionError(f"golden file differs (MSDSL_UPDATE_GOLDEN=1 rewrites it):\n{diff}")


# Which pass (or stage) reports each code; the bad specs' diagnostics goldens are filed by it.
STAGE_OF_CODE = {
    "E0001": "parse",
    "E0002": "extends", "E0003": "extends", "E0005": "extends",
    **{c: "bind_params" for c in ("E0010", "E0011", "E0012", "E0013", "E0014", "E0015", "E0016", "E0101", "E0102",
                                  "E0103", "E0104", "E0105", "E0201", "E0202", "E0203", "E0401")},
    **{c: "resolve_names" for c in ("E0204", "E0205", "E0206", "E0207")},
    "E0208": "check_acyclic",
    "E0301": "infer_shapes", "E0302": "infer_shapes",
    **{c: "infer_shapes" for c in ("E0340", "E0341", "E0342", "E0345", "E0349")},
    "E0310": "check_partitions",
    "E0320": "check_roles",
    **{c: "check_roles" for c in ("E0330", "E0331", "E0332", "E0346", "E0347", "E0348")},
    **{c: "check_routes" for c in ("E0501", "E0502", "E0503", "E0504")},
}


def stage_of(bad: str) -> str:
    """The stage whose golden test owns `bad/NAME`: `extends_*` specs go to the extends tests."""
    if bad.startswith("extends_"):
        return "extends"
    stages = {STAGE_OF_CODE[code] for code, *_ in expectations(f"bad/{bad}")}
    assert len(stages) == 1, f"bad/{bad} mixes diagnostics of several passes: {stages}"
    return stages.pop()


def bad_specs_of(stage: str) -> list[str]:
    return [b for b in BAD if stage_of(b) == stage]


def check_diagnostics_golden(stage: str, bad: str) -> None:
    """Rendered diagnostics of `bad/NAME` against `golden/STAGE/NAME.txt`."""
    check_golden(f"{stage}/{bad.removesuffix('.msd')}.txt", render(errors_of(f"bad/{bad}")))


def check_ir_golden(stage: str, good: str) -> None:
    """The IR dump of `good/NAME` after `stage` against `golden/STAGE/NAME.ir`."""
    check_golden(f"{stage}/{good.removesuffix('.msd')}.ir", dump(ir_after(f"good/{good}", stage)))


WRITING_PASSES = ("bind_params", "resolve_names", "infer_shapes")  # the passes that change `dump`'s output


def check_ir_unchanged(stage: str, good: str) -> None:
    """A checking pass leaves the IR dump as the pass before it left it (that pass's golden)."""
    names = [p.__name__.rsplit(".", 1)[-1] for p in PASSES]
    before = dump(ir_after(f"good/{good}", names[names.index(stage) - 1]))
    after = dump(ir_after(f"good/{good}", stage))
    assert after == before, f"{stage} changed the IR dump of good/{good}"
    writer = [n for n in names[: names.index(stage)] if n in WRITING_PASSES][-1]
    check_golden(f"{writer}/{good.removesuffix('.msd')}.ir", after)


def minimal_spec(graph: str, *, features: str = "user = categorical(dim=8)\n  price = numeric()",
                 tasks: str = 'ctr = binary(label="click")', extra: str = "", scenarios: int = 2) -> str:
    """A small complete spec around a `graph` body, for unit tests of one rule."""
    return (f"spec t\ndata {{ source = synthetic(scenarios={scenarios}) }}\nfeatures {{\n  {features}\n}}\n"
            f"tasks {{\n  {tasks}\n}}\ngraph {{\n  {graph}\n}}\n{extra}")


def check(text: str, path: str = "t.msd") -> IR:
    return compiler.check_text(text, path)


def codes(text: str, path: str = "t.msd") -> list[str]:
    """The codes of the diagnostics `text` raises ([] when it compiles)."""
    try:
        compiler.check_text(text, path)
    except CompileError as err:
        return [d.code for d in err.diagnostics]
    return []


def error(text: str, path: str = "t.msd") -> Diagnostic:
    """The one diagnostic `text` raises."""
    try:
        compiler.check_text(text, path)
    except CompileError as err:
        assert len(err.diagnostics) == 1, render(err.diagnostics)
        return err.diagnostics[0]
    raise AssertionError("compiled, but it should not")
