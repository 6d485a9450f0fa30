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

import math
import re
from dataclasses import dataclass, field, replace
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


_INTERVAL = re.compile(r"^\s*([\[(])\s*(-?inf|[-+0-9.e_*]+)\s*,\s*(-?inf|[-+0-9.e_*]+)\s*([\])])\s*$")


def _bound(text: str) -> float:
    if text in ("inf", "-inf"):
        return float(text)
    if "**" in text:  # e.g. 2**31: readable powers in schema declarations
        base, exp = text.split("**")
        return int(base) ** int(exp)
    return float(text) if any(c in text for c in ".e") else int(text.replace("_", ""))


@dataclass(frozen=True)
class Range:
    """The valid values of a number, as an interval written the mathematical way: `[0, 1)`, `(0, inf)`, `[1, 2**20]`.

    Values outside it, and non-finite values (NaN, ±inf, e.g. `1e999`), are diagnostics at `check` time.

        >>> r = Range.parse("(0, 1]")
        >>> r.contains(0), r.contains(0.5), r.contains(1), str(r)
        (False, True, True, '(0, 1]')
    """

    lo: float
    hi: float
    lo_open: bool
    hi_open: bool

    @staticmethod
    def parse(text: str) -> "Range":
        m = _INTERVAL.match(text)
        if not m:
            raise ValueError(f"not an interval: {text!r} (write e.g. `[0, 1)` or `(0, inf)`)")
        left, lo, hi, right = m.groups()
        r = Range(_bound(lo), _bound(hi), left == "(", right == ")")
        if not r.lo <= r.hi:
            raise ValueError(f"empty interval: {text!r}")
        return r

    def contains(self, value) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def __str__(self) -> str:
        show = lambda v: {math.inf: "inf", -math.inf: "-inf"}.get(v, f"{v:g}" if isinstance(v, float) else str(v))  # noqa: E731
        return f"{'(' if self.lo_open else '['}{show(self.lo)}, {show(self.hi)}{')' if self.hi_open else ']'}"


@dataclass(frozen=True)
class Type:
    """A parameter type: a name for messages, a converter returning (ok, value), and for numbers a valid `range`."""

    name: str
    convert: Callable[[ast.Expr], tuple[bool, Any]]
    category: "Registry | None" = None  # set for nested constructor calls, bound recursively
    item: "Type | None" = None  # the item type of a list type
    choices: tuple[str, ...] = ()  # the names an enum accepts (for "did you mean")
    range: Range | None = None  # numbers (of this type, or of its list items) must lie in it

    def within(self, interval: str) -> "Type":
        """This type restricted to the numbers in `interval` (see `Range`); for a list type, its items."""
        if self.item is not None:
            return list_of(self.item.within(interval), self.min_len)
        return replace(self, range=Range.parse(interval))

    @property
    def min_len(self) -> int:
        return getattr(self.convert, "min_len", 0)

    def check(self, expr: ast.Expr) -> tuple[Any, "Problem | None"]:
        """(value, None), or (None, what is wrong): the type check (E0105), then every number's range (E0106)."""
        ok, value = self.convert(expr)
        if not ok:
            culprit, expected, hint = self.culprit(expr)
            return None, Problem("E0105", self.name, culprit, f"expected {expected.name}", hint)
        bad = self._out_of_range(expr, value)
        if bad is None:
            return value, None
        culprit, rng = bad
        if not math.isfinite(ast.literal(culprit)):  # `1e999` reads as inf
            return None, Problem("E0106", "a finite number", culprit, "not a finite number",
                                 f"write a number in {rng}" if rng is not _FINITE else "")
        return None, Problem("E0106", f"in {rng}", culprit, f"outside {rng}",
                             f"must be in {rng}, not {culprit.span.text}")

    def _out_of_range(self, expr: ast.Expr, value) -> tuple[ast.Expr, Range] | None:
        if self.item is not None and isinstance(expr, ast.List) and isinstance(value, list):
            for x, v in zip(expr.items, value):
                bad = self.item._out_of_range(x, v)
                if bad is not None:
                    return bad
            return None
        rng = self.range or _FINITE
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not rng.contains(value):
            return expr, rng
        return None

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


@dataclass(frozen=True)
class Problem:
    """Why a value does not fit its type: `must` completes "… must be", the caret goes under `culprit`."""

    code: str
    must: str
    culprit: ast.Expr
    label: str
    hint: str


_FINITE = Range(-math.inf, math.inf, True, True)  # a number without a declared range must still be finite


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

    convert.min_len = min_len

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
                value, bad = param.type.check(expr)
                if bad is not None:
                    report.error(bad.code, f"parameter `{param.name}` of {what} must be {bad.must}",
                                 bad.culprit.span, bad.label, bad.hint or param.doc)
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
