"""The import direction `msdsl → runtime → compiler`, and a front end that never imports torch.

Imports are read from the source with `ast` (every `import` and `from … import`, including ones inside
functions), so a lazy import inside a function breaks the rule as surely as one at the top of a module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from compiler_test_support import REPO

FORBIDDEN = {
    "compiler": {"runtime", "msdsl"},
    "runtime": {"msdsl"},
}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in one file."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def sources(package: str, exclude: str | None = None) -> list[Path]:
    root = REPO / package
    files = sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    if exclude:
        files = [p for p in files if not p.is_relative_to(root / exclude)]
    return files


def test_imports_are_read_from_every_kind_of_statement(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import a.b, c\nfrom d.e import f\nfrom . import g\ndef h():\n    import runtime\n")
    assert imports(f) == [(1, "a"), (1, "c"), (2, "d"), (5, "runtime")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package):
    files = sources(package)
    if not files:
        pytest.skip(f"{package}/ has no sources yet")
    bad = [f"{p.relative_to(REPO)}:{line} imports {mod}" for p in files for line, mod in imports(p)
           if mod in FORBIDDEN[package]]
    assert bad == [], "the dependency direction is msdsl → runtime → compiler:\n" + "\n".join(bad)


def test_front_end_sources_do_not_import_torch():
    bad = [f"{p.relative_to(REPO)}:{line}" for p in sources("compiler", exclude="lower")
           for line, mod in imports(p) if mod == "torch"]
    assert bad == [], "only compiler/lower may import torch: " + ", ".join(bad)


def test_front_end_sources_do_not_evaluate_code():
    """Specs cannot execute code: the front end has no eval/exec/dynamic imports."""
    bad = []
    for p in sources("compiler"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in {"eval", "exec", "__import__", "import_module"}:
                    bad.append(f"{p.relative_to(REPO)}:{node.lineno} calls {name}")
    assert bad == []


def test_checking_a_spec_leaves_torch_unimported(tmp_path):
    code = (
        "import sys, compiler\n"
        f"ir = compiler.check_file({str(REPO / 'specs' / 'quickstart.msd')!r})\n"
        "from compiler.ir import dump, to_json\n"
        "dump(ir); to_json(ir)\n"
        "try:\n"
        "    compiler.check_text('spec a graph {')\n"
        "except compiler.CompileError as e:\n"
        "    str(e)\n"
        "heavy = sorted(m for m in ('torch', 'runtime', 'msdsl') if m in sys.modules)\n"
        "print(','.join(heavy) or 'clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean", f"the front end imported: {out.stdout.strip()}"
