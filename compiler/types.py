"""The value types that flow along graph edges, inferred by `passes/infer_shapes.py`."""

from __future__ import annotations

from dataclasses import dataclass

FIELDS = ("user", "item", "context", "trigger", "behavior", "any")  # MARIA's field groups (`any`: no filter)


@dataclass(frozen=True)
class VType:
    """What a node produces for a batch of B rows.

    `dim` is the last dimension; `seq` the length of a sequence value ([B, seq, dim]); `logit` marks a head's
    output ([B]). `per_task` adds a leading task axis ([T, …]); `scenario` says the value depends on the row's
    scenario, so evaluating it under every scenario adds a leading scenario axis ([S, …]).
    """

    dim: int
    seq: int | None = None
    per_task: bool = False
    scenario: bool = False
    logit: bool = False

    def __str__(self) -> str:
        core = "logit" if self.logit else (f"seq[{self.seq}, {self.dim}]" if self.seq else f"vec[{self.dim}]")
        axes = [a for a, on in (("scenario", self.scenario), ("task", self.per_task)) if on]
        return core + (f" per {'/'.join(axes)}" if axes else "")
