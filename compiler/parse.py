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
from compiler.diagnostics import CompileError, Diagnostic, Label, Source, Span
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
        return ast.Stmt(str(target), self._span(target), str(op), value, self._span(meta), self._span(op))

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


@lru_cache(maxsize=1)
def _example_errors() -> list[tuple[tuple[str, str], lark.exceptions.UnexpectedInput]]:
    """Each example bad spec of `syntax_errors.EXAMPLES` with the error it raises (parsed once)."""
    out = []
    for label, examples in EXAMPLES.items():
        for example in examples:
            try:
                _parser().parse(example)
            except lark.exceptions.UnexpectedInput as err:
                out.append((label, err))
            else:  # pragma: no cover - a table entry that parses is a bug in the table
                raise AssertionError(f"syntax example parses: {example!r}")
    return out


def _match_example(err: lark.exceptions.UnexpectedInput) -> tuple[str, str] | None:
    """The label of the example that fails in the same LALR state with the same acceptable tokens.

    Among those, an example failing on the same token text wins, then one failing on the same kind of token
    (a name, a number, `}`, the end of the file, …); otherwise there is no label (and the caller says which
    tokens were expected). Unlike `UnexpectedInput.match_examples`, states are compared by automaton state
    only, not by stack depth, so an example written at the top level also labels the same mistake inside a
    nested block or call; and lark's debug logging there (which raises a TypeError in lark 1.3 when two states
    match with different accepted tokens) is avoided.
    """
    state = getattr(err, "state", None)
    if state is None or not isinstance(err, lark.exceptions.UnexpectedToken):
        return None
    by_type = None
    for label, ex in _example_errors():
        if not isinstance(ex, lark.exceptions.UnexpectedToken) or ex.state.position != state.position:
            continue
        if ex.accepts != err.accepts:
            continue
        if ex.token.type == err.token.type:
            if str(ex.token) == str(err.token):
                return label
            by_type = by_type or label
    return by_type


# How the parser's terminals read in "expected …" labels.
_TERMINALS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a quoted string",
    "ASSIGN": "`=`", "EQUAL": "`=`", "COMMA": "`,`", "COLON": "`:`", "LPAR": "`(`", "RPAR": "`)`",
    "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`", "RBRACE": "`}`", "PER": "`per`", "SPEC": "`spec`",
    "EXTENDS": "`extends`", "$END": "the end of the file",
}
_VALUE_START = {"NAME", "NUMBER", "STRING", "LSQB", "LPAR", "MINUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH"}


def expected_text(accepts) -> str:
    """`{'COMMA', 'RPAR'}` → "`,` or `)`"; a set that can start any value reads "a value"."""
    accepts = set(accepts)
    first, last = [], []
    if _VALUE_START <= accepts:
        first.append("a value")
        accepts -= _VALUE_START | {"PER"}
    if _OPERATORS <= accepts:
        last.append("an operator")
        accepts -= _OPERATORS
    order = list(_TERMINALS)
    parts = first + [_TERMINALS.get(t, f"`{t}`") for t in sorted(accepts, key=lambda t: (
        order.index(t) if t in order else len(order), t))] + last
    parts = list(dict.fromkeys(parts))  # ASSIGN and EQUAL both read `=`
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _syntax_diagnostic(err: lark.exceptions.UnexpectedInput, source: Source) -> Diagnostic:
    text = source.text
    label = None
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        label = UNTERMINATED if text[err.pos_in_stream] == '"' else STRAY_CHARACTER
    else:
        label = _match_example(err)
    if isinstance(err, lark.exceptions.UnexpectedToken) and err.token.type != "$END":
        start, end = err.token.start_pos, err.token.end_pos
        found = f"`{err.token}`"
    elif isinstance(err, lark.exceptions.UnexpectedCharacters):
        start = err.pos_in_stream
        end = start + 1
        found = f"character `{text[start]}`"
    else:  # end of input: point just after the last token
        last = getattr(getattr(err, "token", None), "end_pos", None)
        start = end = last if isinstance(last, int) and 0 <= last <= len(text) else len(text.rstrip())
        found = "end of file"
    labels: tuple = ()
    if label is UNTERMINATED:  # underline the rest of the line the string runs into
        line_end = text.find("\n", start)
        end = len(text) if line_end < 0 else line_end
        found = "string"
    if label:
        message, help = label
        caret = "never closed on this line" if label is UNTERMINATED else f"unexpected {found}"
        opener = {"unclosed `{`": "{", "unclosed `(` in a call": "(", "unclosed `[` in a list": "["}.get(message)
        opened = [pos for char, pos in _open_brackets(text, start) if char == opener]
        if opened:
            labels = (Label(Span.at(source, opened[-1], opened[-1] + 1), "opened here"),)
    else:
        message, help = f"unexpected {found}", ""
        accepts = getattr(err, "accepts", None) or getattr(err, "expected", None)
        caret = f"expected {expected_text(accepts)}" if accepts else f"unexpected {found}"
    return Diagnostic("E0001", f"syntax error: {message}", Span.at(source, start, end), caret, help, labels=labels)


def _open_brackets(text: str, end: int) -> list[tuple[str, int]]:
    """The brackets still open at offset `end`, outermost first (strings and comments skipped)."""
    stack: list[tuple[str, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    i = 0
    while i < end:
        c = text[i]
        if c == "#":
            i = text.find("\n", i)
            i = end if i < 0 else i
            continue
        if c == '"':
            close = text.find('"', i + 1)
            newline = text.find("\n", i + 1)
            if close < 0 or (0 <= newline < close):
                break  # an unterminated string: the lexer reports it
            i = close + 1
            continue
        if c in "([{":
            stack.append((c, i))
        elif c in pairs and stack and stack[-1][0] == pairs[c]:
            stack.pop()
        i += 1
    return stack


MAX_DEPTH = 200  # nesting levels of the syntax tree; the recursive passes stay far from Python's stack limit


def _check_depth(tree: lark.Tree, source: Source) -> None:
    """Reject trees nested deeper than `MAX_DEPTH` (e.g. a sum of hundreds of terms), without recursing."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            span = Span.at(source, meta.start_pos, meta.end_pos) if not meta.empty else Span.at(source, 0, 0)
            raise CompileError([Diagnostic(
                "E0001", f"the spec nests more than {MAX_DEPTH} levels deep", span, "too deeply nested",
                "split long sums and nested calls or lists into named parts",
            )])
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))


def parse_text(text: str, path: str = "<spec>") -> ast.Spec:
    """Parse one spec; raises `CompileError` with a labelled syntax diagnostic."""
    source = Source(path, text)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        raise CompileError([_syntax_diagnostic(err, source)]) from None
    _check_depth(tree, source)
    return _ToAst(source).transform(tree)
