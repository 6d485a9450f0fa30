"""`compiler/diagnostics.py`: spans, rustc-style rendering (carets, tabs, multi-line spans, several labels),
`CompileError` and `Reporter`."""

from __future__ import annotations

import pytest

from compiler.diagnostics import CompileError, Diagnostic, Label, Reporter, Source, Span


def span(source: Source, token: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = source.text.index(token, start + 1)
    return Span.at(source, start, start + len(token))


def test_span_lines_and_columns():
    src = Source("a.msd", "spec a\ngraph {\n  h = mlp(x)\n}\n")
    s = span(src, "mlp")
    assert (s.line, s.column, s.text, repr(s)) == (3, 7, "mlp", "a.msd:3:7")
    s = Span.at(src, 0, 0)
    assert (s.line, s.column, s.text) == (1, 1, "")
    s = Span.at(src, len(src.text), len(src.text))
    assert (s.line, s.column) == (5, 1)
    assert Span.at(src, 5, 2).end == 5  # an end before the start is clamped


def test_source_lines_split_on_newlines_only():
    src = Source("a.msd", "a\r\nb\x0cc\u2028d\nlast")
    assert [src.line(i) for i in (1, 2, 3, 4)] == ["a", "b\x0cc\u2028d", "last", ""]
    assert src.line(0) == ""


def test_render_single_label_with_help():
    src = Source("specs/search.msd", "spec s\ngraph {\n  h = per scenario: mlp(prce, [64, 32])\n}\n")
    d = Diagnostic("E0204", "unknown feature `prce` in node `h`", span(src, "prce"), "not declared in `features`",
                   "did you mean `price`?")
    assert d.render() == (
        "error[E0204]: unknown feature `prce` in node `h`\n"
        " --> specs/search.msd:3:25\n"
        "  |\n"
        "3 |   h = per scenario: mlp(prce, [64, 32])\n"
        "  |                         ^^^^ not declared in `features`\n"
        "  = help: did you mean `price`?"
    )


def test_help_is_the_fifth_positional_argument():
    """`Diagnostic(code, message, span, label, help)`: labels are keyword-only, so help is never mistaken."""
    src = Source("a.msd", "x")
    d = Diagnostic("E1", "m", Span.at(src, 0, 1), "label", "a hint")
    assert d.help == "a hint" and d.labels == ()
    with pytest.raises(TypeError):
        Diagnostic("E1", "m", None, "label", "hint", "error", ())  # labels cannot be given by position


def test_render_tabs_are_expanded_so_carets_line_up():
    src = Source("t.msd", "spec t\n\tgraph {\th = mlp(x,\tunits=[8] dropout=0.1) }\n")
    d = Diagnostic("E0001", "syntax error", span(src, "dropout"), "here")
    lines = d.render().splitlines()
    code, marker = lines[3], lines[4]
    assert "\t" not in code and code == "2 |     graph { h = mlp(x,  units=[8] dropout=0.1) }"
    col = marker.index("^")
    assert code[col: col + marker.count("^")] == "dropout"


def test_render_multi_line_span_underlines_to_the_end_of_its_first_line():
    src = Source("m.msd", "spec m\ngraph {\n  h = mlp(x,\n          units=[8])\n}\n")
    call = Span.at(src, src.text.index("mlp"), src.text.index("])") + 2)
    d = Diagnostic("E0104", "missing", call, "this call")
    lines = d.render().splitlines()
    assert lines[3] == "3 |   h = mlp(x,"
    assert lines[4] == "  |       ^^^^^^ this call"
    assert len(lines) == 5


def test_render_zero_width_and_past_the_end_spans_show_one_caret():
    src = Source("e.msd", "spec e\ngraph {")
    d = Diagnostic("E0001", "eof", Span.at(src, len(src.text), len(src.text)), "here")
    assert d.render().splitlines()[-1] == "  |        ^ here"
    empty = Source("empty.msd", "")
    assert Diagnostic("E0001", "eof", Span.at(empty, 0, 0), "here").render().splitlines()[-2:] == ["1 |", "  | ^ here"]


def test_render_labels_in_source_order_sharing_lines_and_width():
    text = "spec w\n" + "\n" * 8 + "graph { a = mlp(b, units=[8])  b = mlp(a, units=[8]) }\n"
    src = Source("w.msd", text)
    a, b = text.index("mlp(a") + 4, text.index("mlp(b") + 4
    d = Diagnostic("E0208", "cycle", Span.at(src, a, a + 1), "`b` reads `a`", "break it",
                   labels=(Label(Span.at(src, b, b + 1), "`a` reads `b`"), Label(Span.at(src, 0, 4), "the spec")))
    assert d.render() == (
        "error[E0208]: cycle\n"
        "  --> w.msd:10:40\n"
        "   |\n"
        " 1 | spec w\n"
        "   | ^^^^ the spec\n"
        "10 | graph { a = mlp(b, units=[8])  b = mlp(a, units=[8]) }\n"
        "   |                 ^ `a` reads `b`\n"
        "   |                                        ^ `b` reads `a`\n"
        "   = help: break it"
    )


def test_render_label_in_another_file():
    base, child = Source("base.msd", "spec b\ngraph { h = mlp(x) }\n"), Source("child.msd", "spec c\n")
    d = Diagnostic("E0011", "twice", Span.at(child, 0, 4), "here", labels=(Label(span(base, "h ="), "first here"),))
    assert d.render().splitlines() == [
        "error[E0011]: twice", " --> child.msd:1:1", "  |", "1 | spec c", "  | ^^^^ here",
        " --> base.msd:2:9", "2 | graph { h = mlp(x) }", "  |         ^^^ first here"]


def test_render_without_span():
    assert Diagnostic("E0000", "cannot read `x`", None, help="check the path").render() == (
        "error[E0000]: cannot read `x`\n  = help: check the path")
    w = Diagnostic("W0001", "unused", None, severity="warning")
    assert w.render() == "warning[W0001]: unused"


def test_compile_error_sorts_by_file_and_offset_and_renders_all():
    a, b = Source("a.msd", "xx yy"), Source("b.msd", "zz")
    d1 = Diagnostic("E2", "second", Span.at(a, 3, 5), "y")
    d2 = Diagnostic("E1", "first", Span.at(a, 0, 2), "x")
    d3 = Diagnostic("E3", "other file", Span.at(b, 0, 2), "z")
    d0 = Diagnostic("E0", "no span", None)
    err = CompileError([d3, d1, d2, d0])
    assert [d.code for d in err.diagnostics] == ["E0", "E1", "E2", "E3"]
    assert str(err) == "\n\n".join(d.render() for d in err.diagnostics)


def test_reporter_collects_and_raises_once():
    report = Reporter()
    report.check()  # nothing to report
    src = Source("r.msd", "abc")
    report.error("E1", "one", Span.at(src, 0, 1), "a", "help", labels=[Label(Span.at(src, 1, 2), "b")])
    report.error("E2", "two", Span.at(src, 2, 3))
    with pytest.raises(CompileError) as err:
        report.check()
    first = err.value.diagnostics[0]
    assert (first.help, first.labels[0].message) == ("help", "b") and len(err.value.diagnostics) == 2
