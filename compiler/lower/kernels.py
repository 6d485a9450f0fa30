"""Batched kernels for replicated blocks: stacked per-scenario / per-task weights, never a loop over scenarios.

A per-scenario chain of layers (`per scenario: mlp`, `linear`, STAR's FCN) holds weights [S, d, h]. In `all` mode
it is one batched matmul per layer over [S, …, B, d]. In `rows` mode (each row under its own scenario) there are
two strategies, chosen per program by `choose_strategy`:

- `gather`: compute every scenario's chain for every row ([S, B, h], one bmm per layer) and pick each row's
  scenario at the end. Cost S× the FLOPs of one chain, no data-dependent shapes (torch.compile friendly).
- `grouped`: route rows into a padded [S, M, d] block (M = the largest scenario's row count in the batch), one
  bmm per layer over [S, M, ·] for the whole chain, then read each row back. Cost ≈ S·M/B× one chain: about 1×
  for balanced scenarios, at most S× for one dominant scenario; one host sync per batch (M).

Indexing stacked weights per row (`W[scenario]` then bmm) is not offered: DESIGN §7 measured it 2.8× slower than
`gather` at 3 scenarios.
"""

from __future__ import annotations

import operator

import torch
import torch.fx as fx
import torch.nn.functional as F

from compiler.lower.context import NodeCtx, Value

# The rule, measured with bench/compile.py (lowered program: embeddings → per-scenario mlp 64 → [128, 64] → head,
# forward + backward, 2 threads, min of 20 interleaved rounds on the shared 2-core machine), in ms:
#                  gather   grouped   masked loop
#   B=2048  S=2      9.62      5.09      5.17
#           S=8     24.31      5.14      8.51
#           S=32   173.39      5.72     24.86
#   B=64    S=2      0.99      0.99      1.26
#           S=8      1.73      1.22      3.42
#           S=32     4.84      2.01     15.27
# Computing every tower costs S× the FLOPs and S× the element-wise traffic while routing costs a few index ops, so
# `grouped` wins from 2 scenarios on; with one scenario both are the plain chain and `gather` skips the routing.
# Under torch.compile, `gather` avoids the graph break at M's host sync (pass strategy="gather").


def choose_strategy(setting: str, scenarios: int) -> str:
    """`gather` or `grouped` for per-scenario chains in rows mode (`setting`: auto | gather | grouped)."""
    if setting == "auto":
        return "gather" if scenarios < 2 else "grouped"
    if setting not in ("gather", "grouped"):
        raise ValueError(f"unknown strategy `{setting}` (auto, gather, grouped)")
    return setting


# -- functions called from the fx graph (they show by name in `gm.code`) ------------------------------------------


def pick(y: torch.Tensor, index: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """y: [G, …, B (at `dim`), …], index: [B] → [… , B, …]: row b's slice `index[b]` of the leading axis."""
    shape = [1] * y.dim()
    shape[dim] = index.shape[0]
    idx = index.view(shape).expand(1, *y.shape[1:])
    return y.gather(0, idx).squeeze(0)


def route(scenario: torch.Tensor, scenarios: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Grouped routing: each row's slot within its scenario, the validity mask [S, M], and M."""
    counts = torch.bincount(scenario, minlength=scenarios)
    order = torch.argsort(scenario, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(scenario)
    slot[order] = torch.arange(scenario.shape[0], device=scenario.device) - starts[scenario[order]]
    width = int(counts.max()) if scenario.numel() else 0
    mask = torch.arange(width, device=scenario.device) < counts[:, None]
    return slot, mask, width


def scatter_rows(x: torch.Tensor, scenario: torch.Tensor, slot: torch.Tensor, scenarios: int,
                 width: int) -> torch.Tensor:
    """x: [T?, B, d] → [S, T?, M, d], row b at [scenario[b], …, slot[b]] (zeros elsewhere)."""
    rows = x.movedim(-2, 0)  # [B, T?, d]
    out = rows.new_zeros((scenarios, width) + rows.shape[1:]).index_put((scenario, slot), rows)
    return out.movedim(1, -2)


def gather_rows(y: torch.Tensor, scenario: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """y: [S, T?, M, h] → [T?, B, h]: the inverse of `scatter_rows`."""
    return y.movedim(-2, 1)[scenario, slot].movedim(0, -2)


def masked_moments(x: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean and biased variance over the rows axis (-2) of every leading slice, and the row count.

    `mask` ([S, N], broadcast against x's [S, …, N, ·]) keeps only rows that belong to each scenario.
    """
    if mask is None:
        mean = x.mean(-2, keepdim=True)
        return mean, (x - mean).square().mean(-2, keepdim=True), x.new_full((), x.shape[-2])
    m = mask.to(x.dtype).view(mask.shape[0], *[1] * (x.dim() - 3), mask.shape[1], 1)
    count = m.sum(-2, keepdim=True)
    mean = (x * m).sum(-2, keepdim=True) / count.clamp_min(1)
    var = ((x - mean).square() * m).sum(-2, keepdim=True) / count.clamp_min(1)
    return mean, var, count


# -- emitters: build fx nodes for a lowering function -------------------------------------------------------------


def align(ctx: NodeCtx, v: Value, task: bool) -> fx.Node:
    """v's node, shaped to broadcast against a value with a task axis when `task` (a lone scenario axis moves
    in front of the task position)."""
    if task and v.sc and not v.task:
        return ctx.call(torch.unsqueeze, v.node, 1)
    return v.node


def expand(ctx: NodeCtx, v: Value, sc: bool, task: bool) -> fx.Node:
    """v's node, expanded to carry the scenario / task axes (for ops that do not broadcast, like `cat`)."""
    node, ndim = v.node, v.ndim
    if task and not v.task:
        sizes = [-1] * (ndim + 1)
        sizes[int(v.sc)] = ctx.T
        node, ndim = ctx.method("expand", ctx.call(torch.unsqueeze, node, int(v.sc)), *sizes), ndim + 1
    if sc and not v.sc:
        node = ctx.method("expand", ctx.call(torch.unsqueeze, node, 0), ctx.S, *[-1] * ndim)
    return node


ACTIVATIONS = {"relu": torch.relu, "gelu": F.gelu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "silu": F.silu}


def activation(ctx: NodeCtx, h: fx.Node, name: str) -> fx.Node:
    return h if name == "none" else ctx.call(ACTIVATIONS[name], h)


def dense(ctx: NodeCtx, h: fx.Node, w: fx.Node, b: fx.Node | None, sc: bool, task: bool, axis: str | None):
    """h [S?, T?, N, d] · W + b, W shared [h, d] (`F.linear`), per task [T, d, h] or per scenario [S, d, h].

    `sc` / `task`: the axes h has. Stacked weights read an input with their axis slice by slice (diagonal, one
    `baddbmm`/`matmul`) and an input without it as one GEMM against [d, G·h] (every slice at once; faster than a
    broadcast batched matmul: 5.4 vs 7.4 ms fwd+bwd for [2048, 64] → 2×[128, 64] at 2 threads). Biases [G, 1, h].
    """
    if axis is None:
        return ctx.call(F.linear, h, w, b)
    if axis == "scenario" and task and b is not None:
        b = ctx.call(torch.unsqueeze, b, 1)
    if not (sc if axis == "scenario" else task):
        wide = ctx.call(torch.flatten, ctx.method("permute", w, 1, 0, 2), 1)
        groups = ctx.S if axis == "scenario" else ctx.T
        out = ctx.call(torch.unflatten, ctx.call(torch.matmul, h, wide), -1, (groups, -1))
        out = ctx.method("movedim", out, -2, 0 if axis == "scenario" else -3)
    elif sc != task and b is not None:  # [G, N, d] against [G, d, h]
        return ctx.call(torch.baddbmm, b, h, w)
    else:
        out = ctx.call(torch.matmul, h, ctx.call(torch.unsqueeze, w, 1) if axis == "scenario" and task else w)
    return out if b is None else ctx.call(torch.add, out, b)


def scenario_chain(ctx: NodeCtx, x: Value, layers, masked: bool = False) -> Value:
    """Apply a chain of per-scenario layers, each `layer(h, sc, task, mask) -> h` on [S?, T?, N, ·].

    `all` mode: one batched pass over the scenario axis. `rows` mode: the program's strategy (module docstring);
    `mask` [S, N] then marks which rows of each scenario's slice belong to that scenario (used for batch moments,
    `masked`). With `gather`, a scenario-independent input and no masked layer, rows mode picks from the node's
    `all`-mode value (the same computation), so a program that also views the node computes it once.
    """
    b = ctx.b
    if not ctx.rows:
        h, sc = x.node, x.sc
        for layer in layers:
            h, sc = layer(h, sc, x.task, None), True
        return Value(h, sc=True, task=x.task)
    if b.strategy == "gather":
        if not masked and not any(b.depends[i] for i in ctx.data["inputs"]):
            return Value(ctx.call(pick, b.value(ctx.name, "all").node, b.scenario), task=x.task)
        mask = b.once("onehot", lambda: ctx.method("t", ctx.call(F.one_hot, b.scenario, ctx.S))) if masked else None
        h, sc = x.node, False
        for layer in layers:
            h, sc = layer(h, sc, x.task, mask), True
        return Value(ctx.call(pick, h, b.scenario), task=x.task)
    routing = b.once("route", lambda: ctx.call(route, b.scenario, ctx.S))
    slot, mask, width = b.once("routed", lambda: tuple(ctx.call(operator.getitem, routing, i) for i in range(3)))
    h = ctx.call(scatter_rows, x.node, b.scenario, slot, ctx.S, width)
    for layer in layers:
        h = layer(h, True, x.task, mask if masked else None)
    return Value(ctx.call(gather_rows, h, b.scenario, slot), task=x.task)


def pair_dots(p: torch.Tensor) -> torch.Tensor:
    """p [..., N, d] → the dot product of every pair i < j of the N vectors, [..., N(N−1)/2], in row-major order
    (MARIA's field correlation, OptMSM's pairwise cosines)."""
    i, j = torch.triu_indices(p.shape[-2], p.shape[-2], 1, device=p.device)
    return (p[..., i, :] * p[..., j, :]).sum(-1)
