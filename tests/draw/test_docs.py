"""The documentation is true to the compiler.

- Every ```msd block of docs/language.md compiles: a block starting with `spec` as it is (under the file name
  of its `# file: NAME` comment, or `<spec name>.msd`, so that `extends` between examples works); a fragment
  (any other block) merged onto the first complete spec of the page with `extends`.
- A ```msd bad block fails, and the ```text block after it is exactly the diagnostics it renders.
- The error-code table lists every code the front end can report, and no other.
- docs/reference.md is what docs/gen_reference.py writes today.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from compiler import CompileError, check_file

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LANGUAGE = DOCS / "language.md"

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.S | re.M)


def _blocks(path: Path) -> list[tuple[str, str, int]]:
    """(info string, body, line number) of every fenced block."""
    text = path.read_text(encoding="utf-8")
    return [(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)]


def _spec_name(body: str) -> str | None:
    for line in body.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            m = re.match(r"spec\s+(\w+)", line)
            return m.group(1) if m else None
    return None


def _file_name(body: str) -> str:
    m = re.match(r"\s*# file: (\S+)", body)
    return m.group(1) if m else f"{_spec_name(body)}.msd"


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict:
    """Write every complete spec of language.md to one folder; return what to check."""
    folder = tmp_path_factory.mktemp("language")
    blocks = _blocks(LANGUAGE)
    complete, fragments, bad = [], [], []
    for index, (info, body, line) in enumerate(blocks):
        words = info.split()
        if not words or words[0] != "msd":
            continue
        if words[1:] == ["bad"]:
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "", 0)
            bad.append((body, following[1] if following[0] == "text" else None, line))
        elif _spec_name(body):
            path = folder / _file_name(body)
            assert not path.exists(), f"language.md:{line}: two examples write {path.name}"
            path.write_text(body, encoding="utf-8")
            complete.append((path, line))
        else:
            fragments.append((body, line))
    assert complete, "language.md has no complete spec"
    return {"folder": folder, "base": complete[0][0], "complete": complete, "fragments": fragments, "bad": bad}


def _check(path: Path, line: int) -> None:
    try:
        check_file(path)
    except CompileError as err:
        pytest.fail(f"the example at docs/language.md:{line} does not compile:\n{err}")


def test_complete_examples_compile(examples):
    assert len(examples["complete"]) >= 4
    for path, line in examples["complete"]:
        _check(path, line)


def test_fragments_compile_on_the_first_spec(examples):
    assert len(examples["fragments"]) >= 8
    base = examples["base"]
    for i, (body, line) in enumerate(examples["fragments"]):
        path = examples["folder"] / f"fragment_{i}.msd"
        path.write_text(f'spec fragment_{i} extends "{base.name}"\n{body}', encoding="utf-8")
        _check(path, line)


def test_bad_examples_render_as_documented(examples):
    assert examples["bad"], "language.md shows no diagnostics"
    for body, expected, line in examples["bad"]:
        path = examples["folder"] / _file_name(body)
        path.write_text(body, encoding="utf-8")
        with pytest.raises(CompileError) as err:
            check_file(path)
        rendered = "\n\n".join(d.render() for d in err.value.diagnostics).replace(str(examples["folder"]) + "/", "")
        assert expected is not None, f"docs/language.md:{line}: a ```msd bad block must be followed by ```text"
        assert rendered == expected.rstrip("\n"), f"docs/language.md:{line}: the diagnostics changed:\n{rendered}"


def _front_end_codes() -> set[str]:
    """Codes the front end reports: every "E…"/"W…" literal in compiler/ outside the lowering."""
    codes = set()
    for path in (ROOT / "compiler").rglob("*.py"):
        if "lower" in path.relative_to(ROOT / "compiler").parts:
            continue
        codes |= set(re.findall(r'"([EW]\d{4})"', path.read_text(encoding="utf-8")))
    return codes


def test_error_code_table_is_complete():
    text = LANGUAGE.read_text(encoding="utf-8")
    table = set(re.findall(r"^\| ([EW]\d{4}) \|", text, re.M))
    codes = _front_end_codes()
    assert codes, "no codes found in compiler/"
    assert not codes - table, f"codes missing from the table in docs/language.md: {sorted(codes - table)}"
    assert not table - codes, f"codes in docs/language.md that the compiler never reports: {sorted(table - codes)}"


def test_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (DOCS / "reference.md").read_text(encoding="utf-8")
    assert current == module.render(), "docs/reference.md is out of date: run `python docs/gen_reference.py`"


def test_every_block_is_documented():
    """Every registered block and objective appears in language.md (by name, in code)."""
    from compiler.catalog import OBJECTIVES
    from compiler.blocks import BLOCKS

    text = LANGUAGE.read_text(encoding="utf-8")
    missing = [n for n in [*BLOCKS.entries, *OBJECTIVES.entries] if f"`{n}(" not in text and f"`{n}`" not in text]
    assert not missing, f"not mentioned in docs/language.md: {missing}"
