"""The frozen syntax tree of a spec. Every node carries the span it was parsed from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from compiler.diagnostics import Span


@dataclass(frozen=True)
class Number:
    value: int | float
    span: Span


@dataclass(frozen=True)
class String:
    value: str
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class Arg:
    """One call argument; `name` is None for a positional one."""

    name: str | None
    value: "Expr"
    span: Span
    name_span: Span | None = None


@dataclass(frozen=True)
class Call:
    func: str
    func_span: Span
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class List:
    items: tuple["Expr", ...]
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span


@dataclass(frozen=True)
class Replicated:
    """`per scenario: call(...)` or `per task: call(...)`."""

    axis: str
    axis_span: Span
    call: Call
    span: Span


Expr = Union[Number, String, Name, Call, List, BinOp, Neg, Replicated]


@dataclass(frozen=True)
class Stmt:
    """`target = value` or `target += value`."""

    target: str
    target_span: Span
    op: str
    value: Expr
    span: Span
    op_span: Span | None = None


@dataclass(frozen=True)
class Block:
    """`kind [name] { items }` — a section (`graph { … }`) or a nested block (`stage pretrain { … }`)."""

    kind: str
    kind_span: Span
    name: str | None
    name_span: Span | None
    items: tuple[Union[Stmt, "Block"], ...]
    span: Span


@dataclass(frozen=True)
class Spec:
    name: str
    name_span: Span
    extends: String | None
    items: tuple[Union[Stmt, Block], ...]
    span: Span


def literal(expr: Expr):
    """The Python value of a constant expression (number, string, list of constants), else None."""
    if isinstance(expr, (Number, String)):
        return expr.value
    if isinstance(expr, Neg) and isinstance(expr.operand, Number):
        return -expr.operand.value
    if isinstance(expr, List):
        values = [literal(item) for item in expr.items]
        return None if any(v is None for v in values) else values
    return None
