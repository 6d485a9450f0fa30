"""Parsing: text → AST with spans, syntax diagnostics labelled from `compiler/syntax_errors.py`, and the grammar
loaded from the installed package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lark
import pytest

from compiler import ast
from compiler.diagnostics import CompileError
from compiler.parse import MAX_DEPTH, _parser, expected_text, grammar_text, parse_text
from compiler.syntax_errors import EXAMPLES, STRAY_CHARACTER, UNTERMINATED
from compiler_test_support import REPO, bad_specs_of, check_diagnostics_golden, errors_of


def syntax_error(text: str):
    with pytest.raises(CompileError) as err:
        parse_text(text, "t.msd")
    (d,) = err.value.diagnostics
    assert d.code == "E0001"
    return d


@pytest.mark.parametrize("bad", bad_specs_of("parse"))
def test_syntax_diagnostics_golden(bad):
    check_diagnostics_golden("parse", bad)


@pytest.mark.parametrize("label,example", [(label, ex) for label, exs in EXAMPLES.items() for ex in exs])
def test_every_table_example_gets_its_own_label(label, example):
    d = syntax_error(example)
    assert d.message == f"syntax error: {label[0]}"
    assert d.help == label[1]


def test_table_labels_are_distinct():
    messages = [label[0] for label in EXAMPLES]
    assert len(messages) == len(set(messages))


def test_labels_carry_over_to_nested_blocks_and_other_sections():
    """Examples are written at the top level; the same mistake deeper in a spec gets the same label."""
    d = syntax_error('spec a\ntrain {\n  stage s {\n    optimizer = adam(lr=0.1 weight_decay=0.0)\n  }\n}\n')
    assert d.message == "syntax error: missing comma between arguments"
    assert (d.span.line, d.span.column, d.span.text) == (4, 29, "weight_decay")
    d = syntax_error('spec a\nfeatures { user = categorical(dim=16 min_count=2) }\n')
    assert d.message == "syntax error: missing comma between arguments"


def test_unlabelled_error_says_what_was_expected():
    d = syntax_error("spec a\ntrain { epochs = 2 [ }")
    assert d.message == "syntax error: unexpected `[`"
    assert d.label == "expected a name, `}` or an operator"
    assert d.help == ""


def test_expected_text():
    assert expected_text({"COMMA", "RPAR"}) == "`,` or `)`"
    assert expected_text({"NAME", "NUMBER", "STRING", "LSQB", "LPAR", "MINUS", "PER"}) == "a value"
    assert expected_text({"RBRACE", "NAME", "PLUS", "MINUS", "STAR", "SLASH"}) == "a name, `}` or an operator"
    assert expected_text({"ASSIGN", "EQUAL"}) == "`=`"
    assert expected_text({"$END"}) == "the end of the file"


def test_lexer_errors():
    d = syntax_error('spec a\ntasks { ctr = binary(label="click) }\n')
    assert (d.message, d.help) == (f"syntax error: {UNTERMINATED[0]}", UNTERMINATED[1])
    assert d.span.text == '"click) }'  # the rest of the line the string swallows
    d = syntax_error("spec a\ngraph { h = mlp(x) @ }\n")
    assert (d.message, d.span.text) == (f"syntax error: {STRAY_CHARACTER[0]}", "@")


def test_unclosed_bracket_points_at_its_opening():
    d = syntax_error("spec a\ngraph {\n  h = mlp(x, units=[8]\n}\n")
    assert d.message == "syntax error: unclosed `(` in a call"
    assert (d.span.line, d.span.text) == (4, "}")
    (opened,) = d.labels
    assert (opened.span.line, opened.span.column, opened.span.text, opened.message) == (3, 10, "(", "opened here")


def test_end_of_file_points_after_the_last_token():
    d = syntax_error("spec a\ngraph {  # a comment\n\n")
    assert d.message == "syntax error: unclosed `{`"
    assert (d.span.line, d.span.column, d.span.start, d.span.end) == (2, 8, 14, 14)
    assert d.label == "unexpected end of file"


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "\ufeff"])
def test_empty_specs_have_a_span_inside_the_file(text):
    d = syntax_error(text)
    assert 0 <= d.span.start <= d.span.end <= len(text)
    d.render()


def test_nesting_limit():
    deep = "spec a\ngraph { h = mlp(x, units=" + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + ") }\n"
    d = syntax_error(deep)
    assert d.message == f"the spec nests more than {MAX_DEPTH} levels deep"
    long_sum = "spec a\nobjective { loss = " + " + ".join(["bce(t)"] * 1000) + " }\n"
    assert "nests more than" in syntax_error(long_sum).message
    parse_text("spec a\nobjective { loss = " + " + ".join(["bce(t)"] * 150) + " }\n")  # long, but fine


def test_ast_spans_point_at_their_text():
    text = 'spec demo extends "base.msd"\ngraph {\n  h = per scenario: mlp(x, units=[8, 4], p=-0.5)\n}\n'
    spec = parse_text(text, "demo.msd")
    assert (spec.name, spec.name_span.text, spec.extends.value, spec.extends.span.text) == (
        "demo", "demo", "base.msd", '"base.msd"')
    (graph,) = spec.items
    assert (graph.kind, graph.kind_span.text, graph.name) == ("graph", "graph", None)
    (stmt,) = graph.items
    assert (stmt.target_span.text, stmt.op) == ("h", "=")
    rep = stmt.value
    assert isinstance(rep, ast.Replicated) and rep.axis_span.text == "scenario"
    call = rep.call
    assert (call.func_span.text, call.span.text) == ("mlp", "mlp(x, units=[8, 4], p=-0.5)")
    x, units, p = call.args
    assert (x.name, x.span.text, units.name, units.name_span.text, units.value.span.text) == (
        None, "x", "units", "units", "[8, 4]")
    assert ast.literal(units.value) == [8, 4] and ast.literal(p.value) == -0.5
    assert (units.value.span.line, units.value.span.column) == (3, 34)


def test_numbers_strings_and_operators():
    spec = parse_text('spec a\nx { a = 1_000  b = 1e-3  c = .5  d = "s"  e = 2 * f(x) - g(y) / 4 }')
    values = {s.target: s.value for s in spec.items[0].items}
    assert ast.literal(values["a"]) == 1000 and isinstance(values["a"].value, int)
    assert ast.literal(values["b"]) == 0.001 and ast.literal(values["c"]) == 0.5
    assert ast.literal(values["d"]) == "s"
    e = values["e"]
    assert isinstance(e, ast.BinOp) and e.op == "-" and e.left.op == "*" and e.right.op == "/"


def test_crlf_and_form_feed_keep_lines_and_columns():
    d = syntax_error("spec a\r\ngraph {\r\n  h = mlp(x units=[8])\r\n}\r\n")
    assert (d.span.line, d.span.column, d.span.text) == (3, 13, "units")
    assert "3 |   h = mlp(x units=[8])\n" in d.render() + "\n"
    d = syntax_error("spec a\n\x0cgraph {\n  h = mlp(x units=[8])\n}\n")
    assert (d.span.line, d.span.text) == (3, "units")
    assert "h = mlp(x units=[8])" in d.render().splitlines()[3]


def test_grammar_file_is_the_shipped_one():
    assert grammar_text() == (REPO / "grammar" / "msd.lark").read_text()


def test_grammar_loads_from_the_installed_package_not_the_working_directory(tmp_path):
    """Run from an unrelated directory: `grammar_text()` must come through importlib.resources."""
    code = (
        "import compiler.parse as p, importlib.resources as r, os\n"
        "text = p.grammar_text()\n"
        "assert text == r.files('compiler').joinpath('msd.lark').read_text()\n"
        "assert 'start:' in text and os.getcwd() != %r\n"
        "p.parse_text('spec a graph { h = mlp(x, units=[8]) }')\n"
        "print('ok')\n" % str(REPO)
    )
    out = subprocess.run([sys.executable, "-c", code], cwd="/tmp", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    out = subprocess.run([sys.executable, "-c", "import compiler.parse as p; print(p.__file__)"], cwd="/tmp",
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve().is_relative_to(REPO / "compiler")


def test_parser_is_lalr_with_positions():
    parser = _parser()
    assert parser.options.parser == "lalr" and parser.options.propagate_positions
    with pytest.raises(lark.exceptions.UnexpectedInput):
        parser.parse("spec")


def test_syntax_error_stops_at_the_first_error():
    """A syntax error is reported alone: later mistakes in the same file are not guessed at."""
    diagnostics = errors_of("bad/syntax_unclosed_paren.msd")
    assert [d.code for d in diagnostics] == ["E0001"]
