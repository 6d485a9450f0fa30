"""Optimizers with parameter groups, and learning-rate schedules, from a spec's `train` settings.

`group NAME { nodes = [...] optimizer = … }` gives the parameters of those nodes their own optimizer; every other
trainable parameter uses the stage's (or `train`'s) optimizer, Adam(lr=1e-3) by default. Adam and AdamW use the
fused implementation where this torch build has it.
"""

from __future__ import annotations

import math

import torch

from compiler.schema import Bound

DEFAULT = Bound("adam", {"lr": 1e-3, "weight_decay": 0.0, "betas": [0.9, 0.999]}, None, {})


def _make(bound: Bound, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    p = bound.params
    if bound.kind in ("adam", "adamw"):
        cls = torch.optim.Adam if bound.kind == "adam" else torch.optim.AdamW
        kwargs = dict(lr=p["lr"], weight_decay=p["weight_decay"], betas=tuple(p["betas"]))
        try:
            return cls(params, fused=True, **kwargs)
        except (RuntimeError, TypeError):  # no fused kernel for these tensors on this build
            return cls(params, **kwargs)
    if bound.kind == "adagrad":
        return torch.optim.Adagrad(params, lr=p["lr"], weight_decay=p["weight_decay"])
    if bound.kind == "sgd":
        return torch.optim.SGD(params, lr=p["lr"], weight_decay=p["weight_decay"], momentum=p["momentum"])
    raise ValueError(f"unknown optimizer `{bound.kind}`")


def build_optimizers(module, roles: dict, main: Bound | None, groups: list[dict]) -> list[torch.optim.Optimizer]:
    """One optimizer per group (in spec order) and one for the rest; parameters that do not require grad skip."""
    owner = {qual: node for qual, (node, _) in roles.items()}
    taken: set[str] = set()
    buckets: list[tuple[Bound, list]] = []
    for group in groups:
        nodes = {ref.name for ref in group["nodes"]}
        chosen = [(q, p) for q, p in module.named_parameters() if owner.get(q) in nodes and q not in taken]
        taken |= {q for q, _ in chosen}
        buckets.append((group["optimizer"] or main or DEFAULT, [p for _, p in chosen if p.requires_grad]))
    rest = [p for q, p in module.named_parameters() if q not in taken and p.requires_grad]
    buckets.append((main or DEFAULT, rest))
    return [_make(bound, params) for bound, params in buckets if params]


def schedule_factor(schedule: Bound | None, step: int, total_steps: int, steps_per_epoch: int, base_lr: float):
    """The multiplier of the base learning rate at `step` (0-based) of a stage."""
    if schedule is None or schedule.kind == "constant":
        return 1.0
    p = schedule.params
    if schedule.kind == "step":
        return p["gamma"] ** (step // max(1, p["every"] * steps_per_epoch))
    warmup = p["warmup"]
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    floor = p["min_lr"] / base_lr if base_lr else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def set_lr(optimizers, base_lrs: list[list[float]], factor: float) -> None:
    for opt, lrs in zip(optimizers, base_lrs):
        for group, lr in zip(opt.param_groups, lrs):
            group["lr"] = lr * factor
