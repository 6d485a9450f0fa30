"""Optimizers with parameter groups, and learning-rate schedules, from a spec's `train` settings.

`group NAME { nodes = [...] optimizer = … }` gives the parameters of those nodes their own optimizer; every other
trainable parameter uses the stage's (or `train`'s) optimizer, Adam(lr=1e-3) by default. Adam and AdamW use the
fused implementation where this torch build has it. A schedule moves every group's learning rate from that group's
own (`initial_lr`, saved with the optimizer's state) step by step: `cosine` to the same `min_lr` in every group.
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


def _with_initial_lr(opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Record each group's base learning rate as `initial_lr` (kept in the optimizer's state_dict, like torch's
    schedulers do), so that a schedule restored from a checkpoint scales the base rate, not the last one."""
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]
    return opt


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
    return [_with_initial_lr(_make(bound, params)) for bound, params in buckets if params]


def scheduled_lr(schedule: Bound | None, base_lr: float, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The learning rate at `step` (0-based, counted over the stage) of a parameter group whose own is `base_lr`.

    cosine: linear warm-up over the first `warmup` steps ((step + 1) / warmup × base), then a half cosine from
    base down to `min_lr` at the stage's last step. step: base × gamma^(epoch // every).
    """
    if schedule is None or schedule.kind == "constant":
        return base_lr
    p = schedule.params
    if schedule.kind == "step":
        return base_lr * p["gamma"] ** (step // (max(1, p["every"]) * steps_per_epoch))
    warmup = p["warmup"]
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - 1 - warmup))
    floor = min(p["min_lr"], base_lr)
    return floor + (base_lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def set_lr(optimizers, lr_of) -> None:
    """Set every parameter group's learning rate to `lr_of(its initial_lr)`."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr_of(group["initial_lr"])
