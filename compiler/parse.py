"""Text → frozen AST. The grammar is `grammar/msd.lark`, loaded from the installed `compiler` package.

    >>> spec = parse_text('spec demo  graph { h = mlp(x, units=[8]) }', "demo.msd")
    >>> spec.items[0].items[0].value.func
    'mlp'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import lark

from compiler import ast
from compiler.diagnostics import CompileError, Diagnostic, Source, Span
from compiler.syntax_errors import EXAMPLES, STRAY_CHARACTER, UNTERMINATED


def grammar_text() -> str:
    return resources.files("compiler").joinpath("msd.lark").read_text()


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=True)


class _ToAst(lark.Transformer):
    def __init__(self, source: Source):
        super().__init__()
        self.source = source

    def _span(self, meta_or_tok) -> Span:
        if isinstance(meta_or_tok, lark.Token):
            return Span.at(self.source, meta_or_tok.start_pos, meta_or_tok.end_pos)
        return Span.at(self.source, meta_or_tok.start_pos, meta_or_tok.end_pos)

    @lark.v_args(meta=True)
    def start(self, meta, children):
        (name, name_span, extends), *items = children
        return ast.Spec(name, name_span, extends, tuple(items), self._span(meta))

    def header(self, children):
        name, extends = children
        return (str(name), self._span(name), extends)

    def extends(self, children):
        return self.string(children)

    @lark.v_args(meta=True)
    def block(self, meta, children):
        kind, name, *items = children
        return ast.Block(
            str(kind), self._span(kind), str(name) if name else None, self._span(name) if name else None,
            tuple(items), self._span(meta),
        )

    @lark.v_args(meta=True)
    def stmt(self, meta, children):
        target, op, value = children
        return ast.Stmt(str(target), self._span(target), str(op), value, self._span(meta))

    @lark.v_args(meta=True)
    def replicated(self, meta, children):
        axis, call = children
        return ast.Replicated(str(axis), self._span(axis), call, self._span(meta))

    @lark.v_args(meta=True)
    def binop(self, meta, children):
        left, op, right = children
        return ast.BinOp(str(op), left, right, self._span(meta))

    @lark.v_args(meta=True)
    def neg(self, meta, children):
        return ast.Neg(children[1], self._span(meta))

    def number(self, children):
        (tok,) = children
        text = str(tok).replace("_", "")
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return ast.Number(value, self._span(tok))

    def string(self, children):
        (tok,) = children
        return ast.String(str(tok)[1:-1], self._span(tok))

    def name(self, children):
        (tok,) = children
        return ast.Name(str(tok), self._span(tok))

    @lark.v_args(meta=True)
    def call(self, meta, children):
        func, *args = children
        args = [a if isinstance(a, ast.Arg) else ast.Arg(None, a, a.span) for a in args if a is not None]
        return ast.Call(str(func), self._span(func), tuple(args), self._span(meta))

    @lark.v_args(meta=True)
    def kwarg(self, meta, children):
        name, value = children
        return ast.Arg(str(name), value, self._span(meta), self._span(name))

    @lark.v_args(meta=True)
    def list(self, meta, children):
        return ast.List(tuple(c for c in children if c is not None), self._span(meta))


def _syntax_diagnostic(err: lark.exceptions.UnexpectedInput, source: Source) -> Diagnostic:
    text = source.text
    label = None
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        label = UNTERMINATED if text[err.pos_in_stream] == '"' else STRAY_CHARACTER
    else:
        label = err.match_examples(_parser().parse, EXAMPLES, use_accepts=True)
    if isinstance(err, lark.exceptions.UnexpectedToken) and err.token.type != "$END":
        start, end = err.token.start_pos, err.token.end_pos
        found = f"`{err.token}`"
    elif isinstance(err, lark.exceptions.UnexpectedCharacters):
        start = err.pos_in_stream
        end = start + 1
        found = f"character `{text[start]}`"
    else:  # end of input
        stripped = text.rstrip()
        start, end = max(0, len(stripped) - 1), max(1, len(stripped))
        found = "end of file"
    message, help = label if label else (f"unexpected {found}", "")
    return Diagnostic("E0001", f"syntax error: {message}", Span.at(source, start, end), f"unexpected {found}", (), help)


def parse_text(text: str, path: str = "<spec>") -> ast.Spec:
    """Parse one spec; raises `CompileError` with a labelled syntax diagnostic."""
    source = Source(path, text)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        raise CompileError([_syntax_diagnostic(err, source)]) from None
    return _ToAst(source).transform(tree)
