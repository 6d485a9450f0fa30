"""The msdsl compiler: .msd text → AST → IR (networkx) → checked IR → torch.fx.

    >>> ir = check_file("specs/quickstart.msd")        # doctest: +SKIP
    >>> program = lower(ir)                            # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from compiler import extend
from compiler.diagnostics import CompileError, Diagnostic, Reporter
from compiler.ir import IR, build
from compiler.passes import PASSES

__all__ = ["CompileError", "Diagnostic", "IR", "check_file", "check_text"]


def check_text(text: str, path: str | Path = "<spec>") -> IR:
    """Parse, merge `extends`, build and check a spec; raises `CompileError` with every diagnostic found."""
    report = Reporter()
    ir = build(extend.load(path, text), report)
    for index, p in enumerate(PASSES):
        p.run(ir, report)
        if index > 0:  # building and binding report together; later passes need clean input
            report.check()
    report.check()
    return ir


def check_file(path: str | Path) -> IR:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise CompileError([Diagnostic("E0000", f"cannot read `{path}`: {reason}", None)]) from None
    return check_text(text, path)
