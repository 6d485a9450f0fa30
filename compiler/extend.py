"""Reuse: `spec child extends "base.msd"` merges the base's sections under the child's.

In each section (and nested block) a child statement `name = …` replaces the base's statement of that name in
place, `name = none` removes it, `name += …` appends; new statements and sections are appended. Spans keep
pointing into the file each statement came from.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from compiler import ast
from compiler.diagnostics import CompileError, Diagnostic, Label
from compiler.parse import parse_text


def _is_none(stmt: ast.Stmt) -> bool:
    return isinstance(stmt.value, ast.Name) and stmt.value.id == "none"


def _merge(base: tuple, child: tuple, errors: list) -> tuple:
    items = list(base)
    seen: dict = {}  # what the child itself already set in this block: a second time is a mistake, not an override

    def find(pred):
        return next((i for i, it in enumerate(items) if pred(it)), None)

    def again(key, span, what: str) -> bool:
        if key in seen:
            errors.append(Diagnostic("E0011", f"{what} appears twice in this spec", span, "again here", "keep one",
                                     labels=(Label(seen[key], "first here"),)))
            return True
        seen[key] = span
        return False

    for it in child:
        if isinstance(it, ast.Block):
            name = f"`{it.kind}{' ' + it.name if it.name else ''}`"
            if again(("block", it.kind, it.name), it.kind_span, name):
                continue
            i = find(lambda b: isinstance(b, ast.Block) and (b.kind, b.name) == (it.kind, it.name))
            if i is None:
                items.append(it)
            else:
                items[i] = replace(it, items=_merge(items[i].items, it.items, errors))
            continue
        if it.op != "+=" and again(("stmt", it.target), it.target_span, f"`{it.target}`"):
            continue
        i = None if it.op == "+=" else find(lambda s: isinstance(s, ast.Stmt) and s.target == it.target)
        if _is_none(it):
            if i is None:
                errors.append(Diagnostic("E0005", f"`{it.target} = none` removes nothing", it.target_span,
                                         "no inherited statement of this name", "remove this line"))
            else:
                del items[i]
        elif i is None:
            items.append(it)
        else:
            items[i] = it
    return tuple(items)


def load(path: str | Path, text: str | None = None, _chain: tuple = ()) -> ast.Spec:
    """Parse `path` (or `text` reported as `path`) and merge the specs it extends."""
    path = Path(path)
    spec = parse_text(path.read_text(encoding="utf-8-sig") if text is None else text, str(path))
    if spec.extends is None:
        return spec
    base_path = path.parent / spec.extends.value
    chain = _chain + (path.resolve(),)
    if base_path.resolve() in chain:
        loop = chain[chain.index(base_path.resolve()):] + (base_path.resolve(),)
        raise CompileError([Diagnostic("E0003", "specs extend each other in a cycle: "
                                       + " → ".join(p.name for p in loop), spec.extends.span,
                                       "leads back to an extending spec", "remove one of the `extends`")])
    if not base_path.is_file():
        raise CompileError([Diagnostic("E0002", f"cannot read base spec `{spec.extends.value}`", spec.extends.span,
                                       "no such file", f"looked for {base_path}")])
    try:
        base_text = base_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise CompileError([Diagnostic("E0002", f"cannot read base spec `{spec.extends.value}`", spec.extends.span,
                                       reason, f"looked for {base_path}")]) from None
    base = load(base_path, base_text, chain)
    errors: list = []
    items = _merge(base.items, spec.items, errors)
    if errors:
        raise CompileError(errors)
    return replace(spec, items=items)
