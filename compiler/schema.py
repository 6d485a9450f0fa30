"""Typed parameter schemas, and binding a call's arguments against one.

Every constructor a spec can call (blocks, objectives, features, optimizers, …) declares its parameters here;
unknown, missing, duplicated and mistyped arguments are diagnostics, never swallowed.

    >>> from compiler.parse import parse_text
    >>> call = parse_text('spec a graph { h = mlp(x, units=[8, 4]) }').items[0].items[0].value
    >>> s = Schema(Param("x", REF), Param("units", list_of(INT)), Param("dropout", FLOAT, 0.0))
    >>> bound = s.bind(call, Reporter())
    >>> bound["units"], bound["dropout"], bound["x"].name
    ([8, 4], 0.0, 'x')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from compiler import ast
from compiler.diagnostics import Label, Reporter, Span, did_you_mean

REQUIRED = object()


@dataclass(frozen=True)
class Ref:
    """A name that refers to something declared elsewhere (a node, feature, task, scenario)."""

    name: str
    span: Span


@dataclass(frozen=True)
class Bound:
    """A call whose arguments were bound to a schema: `kind` plus typed `params`."""

    kind: str
    params: dict
    span: Span
    spans: dict  # parameter name → span of its argument


@dataclass(frozen=True)
class Type:
    """A parameter type: a name for messages and a converter returning (ok, value)."""

    name: str
    convert: Callable[[ast.Expr], tuple[bool, Any]]
    category: "Registry | None" = None  # set for nested constructor calls, bound recursively
    item: "Type | None" = None  # the item type of a list type
    choices: tuple[str, ...] = ()  # the names an enum accepts (for "did you mean")

    def culprit(self, expr: ast.Expr) -> tuple[ast.Expr, "Type", str]:
        """Where a value that does not convert goes wrong: the first bad list item (recursively) or the value
        itself, the type expected there, and a "did you mean" hint when a name is close to an allowed one."""
        typ = self
        while typ.item is not None and isinstance(expr, ast.List):
            bad = next((x for x in expr.items if not typ.item.convert(x)[0]), None)
            if bad is None:  # every item is fine: the list itself is wrong (e.g. empty)
                break
            expr, typ = bad, typ.item
        hint = did_you_mean(expr.id, typ.choices) if isinstance(expr, ast.Name) and typ.choices else ""
        return expr, typ, hint


def _number(expr, kinds):
    value = ast.literal(expr)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    return ok, (float(value) if ok and float in kinds else value)


INT = Type("an integer", lambda e: _number(e, (int,)))
FLOAT = Type("a number", lambda e: _number(e, (int, float)))
STR = Type("a quoted string", lambda e: (isinstance(e, ast.String), getattr(e, "value", None)))
BOOL = Type(
    "`true` or `false`",
    lambda e: (isinstance(e, ast.Name) and e.id in ("true", "false"), getattr(e, "id", None) == "true"),
)
REF = Type("a name", lambda e: (isinstance(e, ast.Name), Ref(e.id, e.span) if isinstance(e, ast.Name) else None))


def enum(*values: str) -> Type:
    def convert(e):
        return isinstance(e, ast.Name) and e.id in values, getattr(e, "id", None)

    names = ", ".join(f"`{v}`" for v in values)
    return Type(f"one of {names}" if len(values) > 1 else names, convert, choices=values)


def list_of(item: Type, min_len: int = 0) -> Type:
    def convert(e):
        if not isinstance(e, ast.List) or len(e.items) < min_len:
            return False, None
        pairs = [item.convert(x) for x in e.items]
        return all(ok for ok, _ in pairs), [v for _, v in pairs]

    kind = f"a {'non-empty ' if min_len else ''}list"
    if item.choices:
        name = f"{kind} drawn from {', '.join(f'`{c}`' for c in item.choices)}"
    else:
        name = f"{kind} of {item.name.removeprefix('a ').removeprefix('an ')}s"
    return Type(name, convert, item=item)


def one_of(*types: Type) -> Type:
    def convert(e):
        for t in types:
            ok, value = t.convert(e)
            if ok:
                return ok, value
        return False, None

    return Type(" or ".join(t.name for t in types), convert, choices=tuple(c for t in types for c in t.choices))


def call_of(category: "Registry") -> Type:
    """A nested constructor call from `category` (e.g. an optimizer), bound recursively by `Schema.bind`."""
    return Type(f"a call of {category.what}", lambda e: (isinstance(e, ast.Call), e), category)


def call_or_none(category: "Registry") -> Type:
    """A nested call from `category`, or `none` (a part switched off; bound to None), e.g. HC²'s `noise=`."""
    def convert(e):
        if isinstance(e, ast.Name) and e.id == "none":
            return True, None
        return isinstance(e, ast.Call), e

    return Type(f"a call of {category.what} or `none`", convert, category)


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    default: Any = REQUIRED
    doc: str = ""
    variadic: bool = False  # takes every remaining positional argument


@dataclass(frozen=True)
class Schema:
    params: tuple[Param, ...]

    def __init__(self, *params: Param):
        object.__setattr__(self, "params", params)

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def bind(self, call: ast.Call, report: Reporter, what: str | None = None) -> dict | None:
        """Typed values for every parameter, or None after reporting what is wrong."""
        what = what or f"`{call.func}`"
        by_name = {p.name: p for p in self.params}
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        given: dict[str, Span] = {}  # parameter → the argument that gave it
        misspelt: set[str] = set()  # parameters an unknown argument's name is close to
        errors = len(report.diagnostics)
        positional = [p for p in self.params]
        pos_index = 0
        for arg in call.args:
            if arg.name is None:
                if pos_index >= len(positional):
                    report.error("E0102", f"too many positional arguments for {what}", arg.span,
                                 "not expected here", f"{what} takes: {', '.join(self.names())}")
                    continue
                param = positional[pos_index]
                if param.variadic:
                    values.setdefault(param.name, []).append(arg.value)
                    spans.setdefault(param.name, arg.span)
                    given.setdefault(param.name, arg.span)
                    continue
                pos_index += 1
                if param.name in values:  # already given by keyword, e.g. `mlp(x, units=[8], [4])`
                    report.error("E0103", f"parameter `{param.name}` given twice", arg.span,
                                 f"this positional argument is `{param.name}` again",
                                 "give it once; write the other arguments by keyword",
                                 labels=[Label(given[param.name], "first given here")])
                    continue
            else:
                param = by_name.get(arg.name)
                if param is None:
                    close = did_you_mean(arg.name, by_name)
                    if close:  # `unit=` for `units=`: do not also report `units` missing
                        misspelt.add(close.split("`")[1])
                    hint = close or f"{what} takes: {', '.join(self.names())}"
                    report.error("E0101", f"unknown parameter `{arg.name}` for {what}", arg.name_span,
                                 "unknown parameter", hint)
                    continue
                if param.name in values:
                    report.error("E0103", f"parameter `{arg.name}` given twice", arg.name_span, "given again",
                                 "give it once", labels=[Label(given[param.name], "first given here")])
                    continue
            given.setdefault(param.name, arg.span)
            if param.variadic:
                values.setdefault(param.name, []).append(arg.value)
                spans.setdefault(param.name, arg.span)
            else:
                values[param.name] = arg.value
                spans[param.name] = arg.value.span
                if isinstance(arg.value, ast.List):  # `units[1]`: one item, for messages about it
                    spans.update({f"{param.name}[{i}]": item.span for i, item in enumerate(arg.value.items)})
        out: dict[str, Any] = {}
        for param in self.params:
            if param.name not in values:
                if param.default is REQUIRED and param.name not in misspelt:
                    report.error("E0104", f"missing parameter `{param.name}` for {what}", call.func_span,
                                 f"`{param.name}` is required", param.doc and f"`{param.name}`: {param.doc}")
                elif param.default is not REQUIRED:
                    out[param.name] = param.default
                continue
            raw = values[param.name]
            items = raw if param.variadic else [raw]
            converted = []
            for expr in items:
                ok, value = param.type.convert(expr)
                if not ok:
                    culprit, expected, hint = param.type.culprit(expr)
                    report.error("E0105", f"parameter `{param.name}` of {what} must be {param.type.name}",
                                 culprit.span, f"expected {expected.name}", hint or param.doc)
                converted.append(value)
            out[param.name] = converted if param.variadic else converted[0]
        if len(report.diagnostics) > errors:
            return None
        out["__spans__"] = spans
        return out


@dataclass
class Entry:
    name: str
    schema: Schema
    doc: str
    meta: dict = field(default_factory=dict)


class Registry:
    """Named constructors of one category, each with a schema; `register` is a decorator."""

    def __init__(self, what: str):
        self.what = what
        self.entries: dict[str, Entry] = {}

    def register(self, name: str, *params: Param, **meta):
        def deco(obj):
            if name in self.entries:
                raise ValueError(f"{self.what} `{name}` registered twice")
            self.entries[name] = Entry(name, Schema(*params), (obj.__doc__ or "").strip(), {**meta, "impl": obj})
            return obj

        return deco

    def bind(self, call: ast.Call, report: Reporter) -> Bound | None:
        entry = self.entries.get(call.func)
        if entry is None:
            hint = did_you_mean(call.func, self.entries) or f"known: {', '.join(sorted(self.entries))}"
            article = "an" if self.what[0] in "aeiou" else "a"
            report.error("E0201", f"unknown {self.what} `{call.func}`", call.func_span, f"not {article} {self.what}",
                         hint)
            return None
        params = entry.schema.bind(call, report, f"{self.what} `{call.func}`")
        if params is None:
            return None
        spans = params.pop("__spans__")
        for p in entry.schema.params:  # nested calls (e.g. an optimizer's schedule) bind recursively
            if p.type.category is not None and isinstance(params[p.name], ast.Call):
                params[p.name] = p.type.category.bind(params[p.name], report)
        return Bound(call.func, params, call.span, spans)


CATEGORIES: dict[str, Registry] = {}


def category(what: str) -> Registry:
    CATEGORIES.setdefault(what, Registry(what))
    return CATEGORIES[what]
