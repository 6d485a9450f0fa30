"""Structural blocks (embed, scenario_embed, concat, sum, product), dense layers (linear, mlp) and heads.

Weights: shared dense layers use `nn.Linear`'s layout ([out, in], `F.linear`); stacked ones [G, in, out] with
biases [G, 1, out] (G = scenarios or tasks), so one `matmul`/`baddbmm` evaluates every slice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compiler.lower.context import NodeCtx, Value, constant, fan_in, lowers_block, normal
from compiler.lower.kernels import activation, align, dense, expand, masked_moments, scenario_chain


def _concat(ctx: NodeCtx, inputs: list[Value]) -> Value:
    if len(inputs) == 1:
        return inputs[0]
    sc, task = any(v.sc for v in inputs), any(v.task for v in inputs)
    return Value(ctx.call(torch.cat, [expand(ctx, v, sc, task) for v in inputs], -1), sc, task)


@lowers_block("embed")
def embed(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Concatenated feature embeddings [B, Σ dim] (each feature is lowered in `features.py`)."""
    return _concat(ctx, inputs)


@lowers_block("concat")
def concat(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """`torch.cat` along the feature axis; inputs without the scenario / task axis are expanded."""
    return _concat(ctx, inputs)


def _fold(ctx: NodeCtx, inputs: list[Value], op) -> Value:
    sc, task = any(v.sc for v in inputs), any(v.task for v in inputs)
    out = align(ctx, inputs[0], task)
    for v in inputs[1:]:
        out = ctx.call(op, out, align(ctx, v, task))
    return Value(out, sc, task)


@lowers_block("sum")
def sum_(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Element-wise sum (broadcast over missing scenario / task axes)."""
    return _fold(ctx, inputs, torch.add)


@lowers_block("product")
def product(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Element-wise (Hadamard) product (broadcast over missing scenario / task axes)."""
    return _fold(ctx, inputs, torch.mul)


@lowers_block("scenario_embed")
def scenario_embed(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """STAR's scenario indicator embedding (Sheng et al. 2021, §3.4 auxiliary network): a table [S, dim]."""
    table = ctx.param("table", (ctx.S, ctx.params["dim"]), normal(0.01), "scenario")
    if ctx.rows:
        return Value(ctx.call(F.embedding, ctx.b.scenario, table))
    spread = ctx.call(torch.unsqueeze, table, 1)
    return Value(ctx.method("expand", spread, -1, ctx.b.batch_size(), -1), sc=True)


class BatchNorm(nn.Module):
    """Batch normalization (Ioffe & Szegedy 2015, Alg. 1) over the rows axis (-2) of every leading slice.

    `axis` = scenario | task stacks the scale, shift and moving statistics ([G, dim]). A `mask` [S, N] (a
    per-scenario chain in rows mode) restricts each scenario's moments to its own rows, as separate networks per
    scenario would. In `all` mode each scenario slice is a batch of its own. Moving statistics are updated only
    when `update` (rows mode), from the slices' moments averaged over the other leading axes (unbiased variance,
    as `nn.BatchNorm1d`); a scenario with no row in the batch keeps its statistics.
    """

    def __init__(self, dim: int, axis: str | None, groups: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        shape = (groups, dim) if axis else (dim,)
        self.axis, self.momentum, self.eps = axis, momentum, eps
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))
        self.register_buffer("running_mean", torch.zeros(shape))
        self.register_buffer("running_var", torch.ones(shape))
        self.param_roles = {"weight": axis or "shared", "bias": axis or "shared"}

    def _view(self, p: torch.Tensor, lead: list[str]) -> torch.Tensor:
        if self.axis is None:
            return p
        return p.view(*[p.shape[0] if a == self.axis else 1 for a in lead], 1, p.shape[-1])

    def forward(self, x, mask, sc: bool, task: bool, update: bool):
        lead = [a for a, on in (("scenario", sc), ("task", task)) if on]
        if self.training:
            mean, var, count = masked_moments(x, mask)
            if update:
                self._update(mean, var, count, lead)
        else:
            mean, var = self._view(self.running_mean, lead), self._view(self.running_var, lead)
        return (x - mean) * torch.rsqrt(var + self.eps) * self._view(self.weight, lead) + self._view(self.bias, lead)

    @torch.no_grad()
    def _update(self, mean, var, count, lead):
        others = tuple(i for i, a in enumerate(lead) if a != self.axis)
        n = count.squeeze(-2) if count.dim() else count  # rows per scenario under a mask, else the row count
        mean, var = mean.squeeze(-2), var.squeeze(-2) * n / (n - 1).clamp_min(1)
        if others:
            mean, var = mean.mean(others), var.mean(others)
        seen = count.reshape(-1, 1) > 0 if count.dim() else count > 0
        m = self.momentum
        self.running_mean.copy_(torch.where(seen, (1 - m) * self.running_mean + m * mean, self.running_mean))
        self.running_var.copy_(torch.where(seen, (1 - m) * self.running_var + m * var, self.running_var))


def dense_layers(ctx: NodeCtx, d: int, units: list[int], act: str, dropout: float = 0.0, norm: str = "none",
                 bias: bool = True, prefix: str = "") -> list:
    """(linear → norm → activation → dropout) per entry of `units`, stacked over the node's replication axis.

    Parameters of layer i: `w{i}`, `b{i}`, `norm{i}` (batch: a `BatchNorm`; layer: `ln_w{i}`, `ln_b{i}`),
    `drop{i}` (an `nn.Dropout`), each name after `prefix` (for a block with several stacks). Returns layers
    `layer(h, sc, task, mask) -> h` (see `kernels.scenario_chain`).
    """
    axis, layers = ctx.rep, []
    for i, u in enumerate(units):
        shape_w, shape_b = ((u, d), (u,)) if axis is None else ((d, u), (1, u))
        w = ctx.rep_param(f"{prefix}w{i}", shape_w, fan_in(d))
        b = ctx.rep_param(f"{prefix}b{i}", shape_b, fan_in(d)) if bias else None
        groups = {"scenario": ctx.S, "task": ctx.T}.get(axis, 1)
        bn = ctx.submodule(f"{prefix}norm{i}", lambda u=u: BatchNorm(u, axis, groups)) if norm == "batch" else None
        shape_ln = (u,) if axis is None else (1, u)
        ln = (ctx.rep_param(f"{prefix}ln_w{i}", shape_ln, constant(1.0)),
              ctx.rep_param(f"{prefix}ln_b{i}", shape_ln, constant(0.0))) if norm == "layer" else None
        drop = ctx.submodule(f"{prefix}drop{i}", lambda: nn.Dropout(dropout)) if dropout > 0 else None

        def layer(h, sc, task, mask, w=w, b=b, bn=bn, ln=ln, drop=drop, u=u):
            h = dense(ctx, h, w, b, sc, task, axis)
            sc, task = sc or axis == "scenario", task or axis == "task"
            if bn is not None:
                h = ctx.module(bn, h, mask, sc, task, ctx.rows)
            if ln is not None:
                h = _layer_norm(ctx, h, u, ln, task, axis)
            h = activation(ctx, h, act)
            return h if drop is None else ctx.module(drop, h)

        layers.append(layer)
        d = u
    return layers


def _layer_norm(ctx: NodeCtx, h, u: int, ln, task: bool, axis: str | None):
    if axis is None:
        return ctx.call(F.layer_norm, h, (u,), ln[0], ln[1])
    g, b = ln
    if axis == "scenario" and task:
        g, b = ctx.call(torch.unsqueeze, g, 1), ctx.call(torch.unsqueeze, b, 1)
    return ctx.call(torch.add, ctx.call(torch.mul, ctx.call(F.layer_norm, h, (u,)), g), b)


def apply_layers(ctx: NodeCtx, x: Value, layers) -> Value:
    """Run layers built by `dense_layers`: through `scenario_chain` per scenario, directly otherwise.

    Outside a scenario chain each layer's output is kept in `ctx.b.memo[("hidden", node, mode)]` (AdaFTR's
    alignment reads a tower's first layer)."""
    if ctx.rep == "scenario":
        return scenario_chain(ctx, x, layers, masked=ctx.params.get("norm") == "batch")
    h, task = x.node, x.task
    hidden = ctx.b.memo.setdefault(("hidden", ctx.name, ctx.mode), [])
    for layer in layers:
        h, task = layer(h, x.sc, task, None), task or ctx.rep == "task"
        hidden.append(Value(h, x.sc, task))
    return Value(h, x.sc, task)


@lowers_block("linear")
def linear(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """One affine map x·W + b; stacked [S, d, h] per scenario or [T, d, h] per task."""
    layers = dense_layers(ctx, ctx.in_dims[0], [ctx.params["units"]], "none", bias=ctx.params["bias"])
    return apply_layers(ctx, inputs[0], layers)


@lowers_block("mlp")
def mlp(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Fully connected stack; `per scenario:` is the separate-DNN baseline, `per task:` the task towers of
    SharedBottom (Caruana 1997) / MMoE / PLE."""
    p = ctx.params
    layers = dense_layers(ctx, ctx.in_dims[0], p["units"], p["activation"], p["dropout"], p["norm"])
    return apply_layers(ctx, inputs[0], layers)


@lowers_block("head")
def head(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """A task logit x·w + b (+ offset: STAR's auxiliary network output, Sheng et al. 2021 §3.4), [B] or [T, B].

    A one-unit dense layer (`w0`, `b0`; `per task:` stacks them over tasks and reads a per-task input's own task
    slice). Heads restricted with `scenarios=[…]` are combined per task in `program.py`.
    """
    out = apply_layers(ctx, inputs[0], dense_layers(ctx, ctx.in_dims[0], [1], "none"))
    out = Value(ctx.call(torch.squeeze, out.node, -1), out.sc, out.task, own=0)
    if ctx.params["offset"] is not None:
        off = inputs[1]
        off = Value(ctx.call(torch.squeeze, off.node, -1), off.sc, off.task, own=0)
        sc, task = out.sc or off.sc, out.task or off.task
        out = Value(ctx.call(torch.add, align(ctx, out, task), align(ctx, off, task)), sc, task, own=0)
    return out
