"""The block catalogue: every block a graph node can apply, with its typed schema and its shape rule.

A block registers itself with `@block(name, *params, inputs=…, replicate=…, scenario_aware=…)` on its shape rule
`rule(ctx, params, input_types) -> VType`. Lowering to torch lives in `compiler/lower/`, one function per kind.

- `inputs`: the parameters that name upstream nodes (edges of the IR); a variadic one takes every positional.
- `replicate`: the axes a user may replicate it over with `per scenario:` / `per task:`.
- `scenario_aware`: the block holds per-scenario parameters itself (STAR, partitioned normalization, …) — a bool,
  or a function of the bound parameters (MMoE/PLE with `over=scenario`) — so its
  output depends on the row's scenario and it may read `specific` features.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.diagnostics import Span
from compiler.schema import Param, category

BLOCKS = category("block")


class ShapeError(Exception):
    """Raised by a shape rule; `passes/infer_shapes.py` turns it into a diagnostic."""

    def __init__(self, message: str, span: Span | None = None, label: str = "", help: str = "", code: str = "E0301"):
        super().__init__(message)
        self.message, self.span, self.label, self.help, self.code = message, span, label, help, code


@dataclass
class InferCtx:
    """What a shape rule may know: the node, its argument spans, the number of scenarios and of base tasks."""

    node: str
    span: Span
    spans: dict
    scenarios: int
    tasks: int
    input_spans: list = field(default_factory=list)

    def fail(self, message: str, param: str | None = None, label: str = "", help: str = "", code: str = "E0301"):
        raise ShapeError(message, self.spans.get(param, self.span) if param else self.span, label, help, code)

    def positive(self, params: dict, *names: str) -> None:
        """E0302 unless every size in the named parameters (an integer or a list of them) is at least 1."""
        for name in names:
            value = params[name]
            for i, v in enumerate(value if isinstance(value, list) else [value]):
                if v < 1:
                    key = f"{name}[{i}]" if isinstance(value, list) else name
                    span = self.spans.get(key, self.spans.get(name, self.span))
                    raise ShapeError(f"`{name}` must be at least 1", span, "below 1", code="E0302")


def block(name: str, *params: Param, inputs=("x",), replicate=("scenario", "task"), scenario_aware=False):
    return BLOCKS.register(name, *params, inputs=inputs, replicate=replicate, scenario_aware=scenario_aware)


from compiler.blocks import core, experts, star  # noqa: E402,F401  (registration)
import compiler.papers  # noqa: E402,F401  (the papers' blocks)


def is_scenario_aware(kind: str, params: dict) -> bool:
    """Whether a block of `kind` with these bound parameters holds per-scenario parameters itself."""
    aware = BLOCKS.entries[kind].meta["scenario_aware"]
    return aware(params) if callable(aware) else aware
