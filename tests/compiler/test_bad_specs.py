"""The table of bad specs: `tests/compiler/bad/NAME.msd`, each opening with the diagnostics it must produce.

    # expect: E0204 at 10:27
    # expect: E0001 at bases/broken.msd:4:13      (a diagnostic inside another file, relative to bad/)

Each spec must fail with exactly those diagnostics (code, file, line, column), all reported at once; every
diagnostic must render with its `--> file:line:col`, the source line, and carets under exactly the token; and
the API must raise nothing but `CompileError`.
"""

from __future__ import annotations

import os
import re

import pytest

import compiler
from compiler.diagnostics import CompileError, Diagnostic
from compiler_test_support import BAD, HERE, errors_of, expectations, found, in_tests_dir, render

# Every code the front end can emit (E0000, an unreadable file, is tested in test_extends.py).
CODES = {
    "E0001", "E0002", "E0003", "E0005",
    "E0010", "E0011", "E0012", "E0013", "E0014", "E0015", "E0016",
    "E0101", "E0102", "E0103", "E0104", "E0105",
    "E0201", "E0202", "E0203", "E0204", "E0205", "E0206", "E0207", "E0208",
    "E0301", "E0302", "E0310", "E0320", "E0401",
    "E0330", "E0331", "E0332",
    "E0340", "E0341", "E0342",
    "E0345", "E0346", "E0347", "E0348", "E0349",
    "E0501", "E0502", "E0503", "E0504",
}


def caret_line(d: Diagnostic) -> tuple[str, str]:
    """The source line and the marker line that `render` must show for the primary span of `d`."""
    span = d.span
    text = span.source.line(span.line)
    start = span.column - 1
    on_line = max(0, min(span.end - span.start, len(text) - start))
    col = len(text[:start].expandtabs(4))
    width = max(1, len(text[: start + on_line].expandtabs(4)) - col)
    pad = " " * len(str(max([span.line] + [lab.span.line for lab in d.labels])))
    return (f"{span.line:>{len(pad)}} | {text.expandtabs(4)}".rstrip(),
            f"{pad} | {' ' * col}{'^' * width} {d.label}".rstrip())


def assert_renders_with_caret(d: Diagnostic) -> None:
    out = d.render().splitlines()
    assert out[0] == f"{d.severity}[{d.code}]: {d.message}"
    assert out[1].strip() == f"--> {d.span.source.path}:{d.span.line}:{d.span.column}"
    source_line, marker = caret_line(d)
    assert source_line in out, f"source line missing:\n{d.render()}"
    # The marker sits under the source line, after any markers of labels that start earlier on that line.
    after = out[out.index(source_line) + 1:]
    markers = []
    for line in after:
        if not re.match(r"^\s*\| ", line) or line.strip() == "|":
            break
        markers.append(line)
    assert marker in markers, f"no caret line {marker!r} under {source_line!r}:\n{d.render()}"
    # The carets cover exactly the span's text (on its first line).
    text = d.span.source.line(d.span.line)
    if "\t" not in text and d.span.end > d.span.start and "\n" not in d.span.text:
        body = marker.split(" | ", 1)[1]
        col = len(body) - len(body.lstrip(" "))
        assert text[col: col + body.count("^")] == d.span.text
    if d.help:
        assert out[-1].strip() == f"= help: {d.help}"


@pytest.mark.parametrize("bad", BAD)
def test_bad_spec_reports_exactly_the_expected_diagnostics(bad):
    rel = f"bad/{bad}"
    first = (HERE / rel).read_text().splitlines()[0]
    assert first.startswith("# expect:"), f"{rel} must open with `# expect: CODE at LINE:COL`"
    expected = expectations(rel)
    assert expected, f"{rel}: no readable `# expect:` line"
    diagnostics = errors_of(rel)
    assert sorted(found(diagnostics)) == sorted(expected), render(diagnostics)
    assert all(d.severity == "error" for d in diagnostics)


@pytest.mark.parametrize("bad", BAD)
def test_bad_spec_renders_source_line_and_caret_under_the_token(bad):
    for d in errors_of(f"bad/{bad}"):
        assert d.span is not None
        assert 0 <= d.span.start <= d.span.end <= len(d.span.source.text)
        assert d.message and d.label, d.render()
        assert_renders_with_caret(d)


@pytest.mark.parametrize("bad", BAD)
def test_api_raises_only_compile_error(bad, tmp_path):
    text = (HERE / f"bad/{bad}").read_text()
    with in_tests_dir():
        with pytest.raises(CompileError) as err:
            compiler.check_text(text, f"bad/{bad}")
    assert str(err.value) == render(err.value.diagnostics).rstrip("\n")
    # Elsewhere, under a made-up name: bases are not found, but it is still only a CompileError.
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(CompileError) as err:
            compiler.check_text(text)
        for d in err.value.diagnostics:
            d.render()
    finally:
        os.chdir(old)


def test_every_code_has_a_bad_spec():
    seen = {code for bad in BAD for code, *_ in expectations(f"bad/{bad}")}
    assert CODES - seen == set(), f"codes without a bad spec: {sorted(CODES - seen)}"
    assert seen - CODES == set(), f"bad specs expect unknown codes: {sorted(seen - CODES)}"


def test_table_is_large_and_reports_several_errors_at_once():
    assert len(BAD) >= 30
    several = [bad for bad in BAD if len(expectations(f"bad/{bad}")) > 1]
    assert len(several) >= 10, several
    # Codes from different rules of one pass come together.
    assert {code for code, *_ in expectations("bad/wrong_type.msd")} == {"E0105"}
    assert len(expectations("bad/wrong_type.msd")) == 4


def test_syntax_errors_each_have_a_different_message():
    """The syntax table labels the bad specs: no two `syntax_*` specs read the same (a label was not lost)."""
    messages = {}
    for bad in BAD:
        if bad.startswith("syntax_") and bad != "syntax_tab_before_error.msd":
            (d,) = errors_of(f"bad/{bad}")
            assert d.message not in messages, f"{bad} and {messages.get(d.message)}: {d.message}"
            messages[d.message] = bad
