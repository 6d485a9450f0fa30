"""`--set SECTION[.BLOCK.NAME].KEY=VALUE`: command-line overrides, applied as a child spec that extends the file.

    msdsl run specs/quickstart.msd --set train.epochs=1 --set data.source='synthetic(rows=5000)'

Each override becomes a statement of a generated spec `extends "quickstart.msd"`, so it is merged and checked
exactly like a spec edit, and a mistake is reported with a caret under the override's text.
"""

from __future__ import annotations

import re
from pathlib import Path

from compiler import CompileError, Diagnostic, IR, check_text
from compiler.diagnostics import Source, Span
from compiler.parse import parse_text

_KEY = re.compile(r"^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*)\.([A-Za-z_]\w*))?\.([A-Za-z_]\w*)=(.+)$", re.S)


def override_text(path: Path, overrides: list[str]) -> str:
    """The child spec text for `overrides` on the spec at `path`."""
    name = parse_text(path.read_text(), str(path)).name
    sections: dict[str, list[str]] = {}
    for item in overrides:
        m = _KEY.match(item.strip())
        if not m:
            source = Source("--set", item)
            raise CompileError([Diagnostic(
                "E0020", f"cannot read override `{item}`", Span.at(source, 0, len(item)), "not KEY=VALUE",
                "write SECTION.KEY=VALUE, e.g. `train.epochs=1`, or SECTION.BLOCK.NAME.KEY=VALUE for a stage")])
        section, block, block_name, key, value = m.groups()
        inner = f"{key} = {value}"
        if block:
            inner = f"{block} {block_name} {{ {inner} }}"
        sections.setdefault(section, []).append(inner)
    lines = [f'spec {name} extends "{path.name}"']
    lines += [f"{section} {{ {'  '.join(items)} }}" for section, items in sections.items()]
    return "\n".join(lines) + "\n"


def check_with_overrides(path: str | Path, overrides: list[str]) -> IR:
    path = Path(path)
    return check_text(override_text(path, overrides), path.parent / "--set")
