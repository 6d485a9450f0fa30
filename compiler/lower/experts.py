"""Mixture-of-experts blocks: MMoE (Ma et al. 2018) and CGC / PLE (Tang et al. 2020).

Experts are stacked: the weights of E expert MLPs are [E, d, h] (specific experts of G groups [G, E, d, h]), so
one `matmul` per layer evaluates them all on [..., 1, N, d] → [..., E, N, h]; gates mix them with `einsum`.
Gates have no bias (g(x) = softmax(W_g x), MMoE Eq. 6, PLE Eq. 4).

A "group" is a task (`over=task`: the output gets the task axis) or a scenario (`over=scenario`). For scenario
groups, `rows` mode keeps each row's own group and `all` mode puts the groups on the scenario axis (taking the
diagonal when the input itself already depends on the scenario).
"""

from __future__ import annotations

import torch

from compiler.lower.context import NodeCtx, Value, fan_in, lowers_block
from compiler.lower.kernels import activation, pick


def _experts(ctx: NodeCtx, prefix: str, lead: tuple, d: int, role: str) -> list:
    """Weights of stacked expert MLPs: `{prefix}_w{i}` [*lead, d, u] and `{prefix}_b{i}` [*lead, 1, u]."""
    params = []
    for i, u in enumerate(ctx.params["units"]):
        params.append((ctx.param(f"{prefix}_w{i}", (*lead, d, u), fan_in(d), role),
                       ctx.param(f"{prefix}_b{i}", (*lead, 1, u), fan_in(d), role)))
        d = u
    return params


def _run(ctx: NodeCtx, h, params):
    for w, b in params:
        h = activation(ctx, ctx.call(torch.add, ctx.call(torch.matmul, h, w), b), ctx.params["activation"])
    return h


def _gate(ctx: NodeCtx, h, w):
    return ctx.call(torch.softmax, ctx.call(torch.matmul, h, w), -1)


def _mix(ctx: NodeCtx, experts, gates, spec: str):
    return ctx.call(torch.einsum, spec, experts, gates)


def _groups(ctx: NodeCtx, out, x: Value) -> Value:
    """Group outputs [..., G, N, h] (... = x's leading axes) → the block's value."""
    if ctx.params["over"] == "task":
        return Value(out, x.sc, True)
    if ctx.rows:  # each row keeps its own scenario's group
        return Value(ctx.call(pick, ctx.method("movedim", out, -3, 0), ctx.b.scenario), task=x.task)
    if x.sc:  # slice s of the input is scenario s: keep group s of slice s
        return Value(ctx.method("movedim", ctx.call(torch.diagonal, out, 0, 0, -3), -1, 0), True, x.task)
    return Value(ctx.method("movedim", out, -3, 0), True, x.task)


@lowers_block("moe")
def moe(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """MMoE (Ma et al. 2018, Eq. 5–6): f^k(x) = Σ_i softmax(W_gk x)_i · f_i(x), all experts shared.

    `over=task`: one gate per task (output per task); `over=scenario`: the row's scenario's gate (all gates' logits
    come from one matmul, then each row's is picked before mixing); `over=none`: one gate.
    """
    x, d, p = inputs[0], ctx.in_dims[0], ctx.params
    experts = _run(ctx, ctx.call(torch.unsqueeze, x.node, -3), _experts(ctx, "expert", (p["experts"],), d, "shared"))
    if p["over"] == "none":
        gates = _gate(ctx, x.node, ctx.param("gate", (d, p["experts"]), fan_in(d)))
        return Value(_mix(ctx, experts, gates, "...enh,...ne->...nh"), x.sc, x.task)
    groups = ctx.T if p["over"] == "task" else ctx.S
    gates = _gate(ctx, ctx.call(torch.unsqueeze, x.node, -3),
                  ctx.param("gate", (groups, d, p["experts"]), fan_in(d), p["over"]))  # [..., G, N, E]
    if p["over"] == "task":
        return Value(_mix(ctx, experts, gates, "...enh,...gne->...gnh"), x.sc, True)
    if ctx.rows:
        gates = ctx.call(pick, ctx.method("movedim", gates, -3, 0), ctx.b.scenario)
    elif x.sc:
        gates = ctx.method("movedim", ctx.call(torch.diagonal, gates, 0, 0, -3), -1, 0)
    else:
        gates = ctx.method("movedim", gates, -3, 0)
    return Value(_mix(ctx, experts, gates, "...enh,...ne->...nh"), x.sc or not ctx.rows, x.task)


def _extraction(ctx: NodeCtx, x: Value, levels: int) -> Value:
    """`levels` CGC levels (PLE Eq. 2–6). Level k: group j mixes its specific experts and the shared experts with
    g_j = softmax(W_j x_j) (Eq. 3–4); below the last level a shared gate over every expert feeds the next level's
    shared input (Eq. 5). Level 1 reads x for every group.

    Rows mode with `over=scenario` computes every scenario's specific experts for every row, then keeps the row's.
    """
    p = ctx.params
    groups, role = (ctx.T, "task") if p["over"] == "task" else (ctx.S, "scenario")
    n_spec, n_shared, d = p["specific_experts"], p["shared_experts"], ctx.in_dims[0]
    shared_in, group_in = x.node, None  # group_in None: every group reads shared_in
    for k in range(levels):
        one = ctx.call(torch.unsqueeze, shared_in, -3)  # [..., 1, N, d]
        spec = shared = None
        if n_spec:
            h = ctx.call(torch.unsqueeze, one if group_in is None else group_in, -3)  # [..., 1|G, 1, N, d]
            spec = _run(ctx, h, _experts(ctx, f"l{k}_specific", (groups, n_spec), d, role))  # [..., G, E, N, h]
        if n_shared:
            shared = _run(ctx, one, _experts(ctx, f"l{k}_shared", (n_shared,), d, "shared"))  # [..., E, N, h]
        gates = _gate(ctx, one if group_in is None else group_in,
                      ctx.param(f"l{k}_gate", (groups, d, n_spec + n_shared), fan_in(d), role))  # [..., G, N, E]
        parts = []
        if spec is not None:
            parts.append(_mix(ctx, spec, ctx.call(torch.narrow, gates, -1, 0, n_spec), "...gknh,...gnk->...gnh"))
        if shared is not None:
            parts.append(_mix(ctx, shared, ctx.call(torch.narrow, gates, -1, n_spec, n_shared),
                              "...knh,...gnk->...gnh"))
        out = parts[0] if len(parts) == 1 else ctx.call(torch.add, *parts)
        if k < levels - 1:
            every = ([ctx.call(torch.flatten, spec, -4, -3)] if spec is not None else []) + (
                [shared] if shared is not None else [])
            every = every[0] if len(every) == 1 else ctx.call(torch.cat, every, -3)  # [..., G·Es + Esh, N, h]
            shared_gate = _gate(ctx, shared_in, ctx.param(f"l{k}_shared_gate", (d, groups * n_spec + n_shared),
                                                          fan_in(d)))
            shared_in = _mix(ctx, every, shared_gate, "...knh,...nk->...nh")
        group_in, d = out, p["units"][-1]
    return _groups(ctx, group_in, x)


@lowers_block("cgc")
def cgc(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Customized Gate Control (Tang et al. 2020, Eq. 2–4): one level of `_extraction`."""
    return _extraction(ctx, inputs[0], 1)


@lowers_block("ple")
def ple(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Progressive Layered Extraction (Tang et al. 2020, Eq. 2–6): `levels` stacked CGC levels."""
    return _extraction(ctx, inputs[0], ctx.params["levels"])
