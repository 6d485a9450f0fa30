"""MARIA (Tian et al., SIGIR 2023): lowerings of the blocks declared in `compiler/papers/maria.py`.

Values here have no task axis (the shape rules forbid it); a value evaluated under every scenario has a leading
[S] axis, and the ops broadcast a value without it against one with it. Field and element boundaries come from
the `FieldsType` of the input and, for feature scaling, from the `embed` nodes that form each field.

Choices where the paper is not explicit (each also in the docstring of its lowering):
- Transformer (Eq. 3): post-norm encoder layers as in Vaswani et al. 2017 with learned position embeddings; padded
  positions are masked as keys and their outputs zeroed; a row with an empty sequence gets h_b = 0.
- GS (Eq. 11) receives sigmoid outputs; they are used as the class probabilities π of the Gumbel softmax,
  β = softmax((log π + g)/τ), with Gumbel noise g while training and none in evaluation (so a low τ selects the
  argmax refiner deterministically when serving).
- "Shallow fully-connected" refiners (Eq. 12) are one linear layer and ReLU each; FCN (Eq. 8, 11) is a stack of
  linear layers with ReLU between them; the FCM projections (Eq. 14) are linear.
"""

from __future__ import annotations

import math

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from compiler.lower.context import LowerError, NodeCtx, Value, constant, fan_in, lowers_block, normal
from compiler.lower.dense import _concat
from compiler.lower.experts import _experts, _run
from compiler.lower.kernels import activation, pair_dots
from compiler.papers.maria import refined_size, refiner_counts

# -- functions called from the fx graph ---------------------------------------------------------------------------


def masked_softmax(scores: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis restricted to `keep` (True = a real position): padded positions get weight 0,
    and a row with no real position gets all zeros."""
    weights = torch.softmax(scores.masked_fill(~keep, torch.finfo(scores.dtype).min), -1)
    return weights * keep


def self_attention(x, keep, wq, bq, wk, bk, wv, bv, wo, bo, heads: int):
    """Multi-head scaled dot-product self-attention over x [..., L, d]; keys at padded positions are masked."""
    def split(w, b):  # [..., L, d] → [..., H, L, d/H]
        return F.linear(x, w, b).unflatten(-1, (heads, -1)).transpose(-2, -3)

    q, k, v = split(wq, bq), split(wk, bk), split(wv, bv)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mixed = masked_softmax(scores, keep.unsqueeze(-2).unsqueeze(-2)) @ v
    return F.linear(mixed.transpose(-2, -3).flatten(-2), wo, bo)


def trigger_weights(t, h, keep, w, b):
    """Eq. 5–6: α_i = softmax_i(FC([t ‖ h_i])) over the real positions; FC's weight w [1, d_t + d] is applied as
    w_t·t + w_h·h_i (the same affine map, without materializing the concatenation per position)."""
    d_t = t.shape[-1]
    scores = (h @ w[0, d_t:]) + (t @ w[0, :d_t]).unsqueeze(-1) + b
    return masked_softmax(scores, keep)


def coupling(e: torch.Tensor, every: torch.Tensor) -> torch.Tensor:
    """Eq. 21: α_s = 1/(S−1) Σ_{j≠s} e_s·e_j, from the row's embedding e [..., B, d] and every scenario's
    embedding for the rows, every [S, B, d]."""
    return ((e * every.sum(0)).sum(-1) - (e * e).sum(-1)) / (every.shape[0] - 1)


class GumbelSoftmax(nn.Module):
    """β = softmax((log π + g)/τ) (Jang et al. 2017) with π = sigmoid(z) given as z; g ~ Gumbel(0, 1) while
    training, g = 0 in evaluation."""

    def __init__(self, temperature: float):
        super().__init__()
        self.temperature = temperature

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        log_p = F.logsigmoid(z)
        if self.training:
            log_p = log_p - torch.empty_like(log_p).exponential_().log()
        return torch.softmax(log_p / self.temperature, -1)


# -- helpers ------------------------------------------------------------------------------------------------------


def _fcn(ctx: NodeCtx, prefix: str, h: fx.Node, d: int, sizes: list[int]) -> fx.Node:
    """Linear layers `{prefix}_w{i}` [u, d] / `{prefix}_b{i}` of the given sizes, ReLU between them."""
    for i, u in enumerate(sizes):
        if i:
            h = ctx.call(torch.relu, h)
        h = ctx.call(F.linear, h, ctx.param(f"{prefix}_w{i}", (u, d), fan_in(d)),
                     ctx.param(f"{prefix}_b{i}", (u,), fan_in(d)))
        d = u
    return h


def _type(ctx: NodeCtx, name: str):
    return ctx.b.ir.graph.nodes[name]["type"]


def _field_slices(ctx: NodeCtx, x: Value) -> list[tuple[fx.Node, int]]:
    """(the field's columns of x, its size) for every field of the input's `FieldsType`."""
    out, start = [], 0
    for size in _type(ctx, ctx.data["inputs"][0]).fields:
        out.append((ctx.call(torch.narrow, x.node, -1, start, size), size))
        start += size
    return out


def feature_elements(ir, name: str) -> list[int]:
    """Sizes of the feature elements of a field value, in order (Eq. 9–10): each feature of an `embed` field is
    one element, any other field (h_b, a projection) is one; a scaled value keeps its input's elements."""
    data = ir.graph.nodes[name]
    if data["kind"] == "fields":
        sizes = []
        for field in data["inputs"]:
            node = ir.graph.nodes[field]
            embedded = node["op"] == "block" and node["kind"] == "embed"
            sizes += [ir.graph.nodes[f]["type"].dim for f in node["inputs"]] if embedded else [node["type"].dim]
        return sizes
    if data["kind"] == "feature_scaling":
        return feature_elements(ir, data["inputs"][0])
    return list(data["type"].fields)


def _keep(ctx: NodeCtx, name: str) -> fx.Node:
    """The real (non-padding) positions [B, L] of a sequence value: its sequence feature's ids ≠ 0."""
    data = ctx.b.ir.graph.nodes[name]
    if data["op"] == "feature":
        return ctx.b.once(f"keep:{name}", lambda: ctx.call(torch.ne, ctx.b.inputs[name], 0))
    if data["kind"] == "seq_encoder":
        return _keep(ctx, data["inputs"][0])
    raise LowerError(f"`{name}` is a `{data['kind']}`: no padding mask for its sequence")


def _value(ctx: NodeCtx, node: fx.Node, *inputs: Value) -> Value:
    return Value(node, sc=any(v.sc for v in inputs))


# -- blocks -------------------------------------------------------------------------------------------------------


@lowers_block("fields")
def fields(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 7: Q = [h_b ‖ u ‖ x_i ‖ t ‖ c], the fields concatenated."""
    return _concat(ctx, inputs)


@lowers_block("seq_encoder")
def seq_encoder(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 3: H_u = Trans(B_u). Learned positions `pos` [L, d] are added, then each layer is post-norm
    (Vaswani et al. 2017): h = LN(h + Drop(MHA(h))), h = LN(h + Drop(W_2 ReLU(W_1 h))) (`l{i}_ff_w0`, `l{i}_ff_w1`). Padded positions are
    masked as keys and zeroed in the output."""
    x, p = inputs[0], ctx.params
    (L, d), keep = (_type(ctx, ctx.data["inputs"][0]).seq, ctx.in_dims[0]), _keep(ctx, ctx.data["inputs"][0])
    ff = p["ff"] or 4 * d
    h = x.node
    if p["positions"] == "learned":
        h = ctx.call(torch.add, h, ctx.param("pos", (L, d), normal(0.01)))
    drop = ctx.submodule("drop", lambda: nn.Dropout(p["dropout"])) if p["dropout"] > 0 else None
    for i in range(p["layers"]):
        proj = [ctx.param(f"l{i}_{w}", shape, fan_in(d)) for w in ("wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo")
                for shape in [(d, d) if w[0] == "w" else (d,)]]
        h = _residual(ctx, i, 1, h, ctx.call(self_attention, h, keep, *proj, p["heads"]), drop, d)
        h = _residual(ctx, i, 2, h, _fcn(ctx, f"l{i}_ff", h, d, [ff, d]), drop, d)
    mask = ctx.method("type_as", ctx.call(torch.unsqueeze, keep, -1), h)
    return Value(ctx.call(torch.mul, h, mask), x.sc, own=2)


def _residual(ctx: NodeCtx, layer: int, k: int, h: fx.Node, sub: fx.Node, drop, d: int) -> fx.Node:
    """LN(h + Drop(sub)) with the layer norm `l{layer}_ln{k}_w` / `_b`."""
    if drop is not None:
        sub = ctx.module(drop, sub)
    return ctx.call(F.layer_norm, ctx.call(torch.add, h, sub), (d,),
                    ctx.param(f"l{layer}_ln{k}_w", (d,), constant(1.0)),
                    ctx.param(f"l{layer}_ln{k}_b", (d,), constant(0.0)))


@lowers_block("trigger_attention")
def trigger_attention(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 4–6: h_b = Σ_i α_i h_{x_i}, α = softmax over the real positions of FC([t ‖ h_{x_i}]) (`w` [1, d_t + d],
    `b` [1]); an empty sequence gives h_b = 0."""
    h, t = inputs
    d_h, d_t = ctx.in_dims
    w = ctx.param("w", (1, d_t + d_h), fan_in(d_t + d_h))
    b = ctx.param("b", (1,), fan_in(d_t + d_h))
    alpha = ctx.call(trigger_weights, t.node, h.node, _keep(ctx, ctx.data["inputs"][0]), w, b)
    pooled = ctx.call(torch.sum, ctx.call(torch.mul, ctx.call(torch.unsqueeze, alpha, -1), h.node), -2)
    return _value(ctx, pooled, h, t)


@lowers_block("feature_scaling")
def feature_scaling(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 8–10: α = λ·sigmoid(FCN([freeze(Q) ‖ e_u ‖ e_{x_i} ‖ e_s])) ∈ R^{N_Q} (FCN: `units` hidden layers, then
    N_Q outputs; freeze = `detach`, so no gradient reaches Q through α); each element of Q is multiplied by its
    factor (an index buffer spreads α over the element's columns)."""
    q, p = inputs[0], ctx.params
    elements = feature_elements(ctx.b.ir, ctx.name)
    frozen = Value(ctx.method("detach", q.node), q.sc)
    z = _concat(ctx, [frozen, *inputs[1:]])
    logits = _fcn(ctx, "fcn", z.node, sum(ctx.in_dims), p["units"] + [len(elements)])
    alpha = ctx.call(torch.mul, ctx.call(torch.sigmoid, logits), p["lam"])
    owner = ctx.buffer("element", lambda: torch.repeat_interleave(torch.arange(len(elements)),
                                                                  torch.tensor(elements)))
    spread = ctx.call(torch.index_select, alpha, -1, owner)
    return _value(ctx, ctx.call(torch.mul, q.node, spread), *inputs)


@lowers_block("feature_refine")
def feature_refine(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 11–13, for each field f (parameters prefixed `f{k}_`): selector β = GS(sigmoid(FCN([f̂ ‖ e_s]))) ∈
    R^{N_f} (`selector=sigmoid`: β = sigmoid(…), the w/o-GS ablation); the N_f refiners FC_j (linear + activation,
    each to round(ratio·d_f) units) run as one linear map; f̃ = [β_1 FC_1(f̂) ‖ … ‖ β_{N_f} FC_{N_f}(f̂)]."""
    x, s = inputs
    p, d_s = ctx.params, ctx.in_dims[1]
    gumbel = (ctx.submodule("gumbel", lambda: GumbelSoftmax(p["temperature"])) if p["selector"] == "gumbel"
              else None)
    slices = _field_slices(ctx, x)
    parts = []
    for k, ((field, d), n) in enumerate(zip(slices, refiner_counts(p, len(slices)))):
        z = _concat(ctx, [Value(field, x.sc), s])
        scores = _fcn(ctx, f"f{k}_sel", z.node, d + d_s, p["units"] + [n])
        beta = ctx.module(gumbel, scores) if gumbel is not None else ctx.call(torch.sigmoid, scores)
        u = refined_size(d, p["ratio"])
        refined = activation(ctx, ctx.call(F.linear, field, ctx.param(f"f{k}_w", (n * u, d), fan_in(d)),
                                           ctx.param(f"f{k}_b", (n * u,), fan_in(d))), p["activation"])
        weighted = ctx.call(torch.mul, ctx.call(torch.unflatten, refined, -1, (n, u)),
                            ctx.call(torch.unsqueeze, beta, -1))
        parts.append(Value(ctx.call(torch.flatten, weighted, -2), x.sc or s.sc))
    return _concat(ctx, parts)


@lowers_block("field_correlation")
def field_correlation(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 14: each field through its own linear map to d_r (`f{k}_w` [d_r, d_f], `f{k}_b`), then the dot
    product of every pair of projected fields (`pair_dots`, pairs in field order)."""
    x, d_r = inputs[0], ctx.params["dim"]
    projected = [ctx.call(F.linear, field, ctx.param(f"f{k}_w", (d_r, d), fan_in(d)),
                          ctx.param(f"f{k}_b", (d_r,), fan_in(d)))
                 for k, (field, d) in enumerate(_field_slices(ctx, x))]
    return Value(ctx.call(pair_dots, ctx.call(torch.stack, projected, -2)), x.sc)


@lowers_block("scenario_moe")
def scenario_moe(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 16–17: h_N = Σ_j g_j f_j(Q_f), g = softmax(W_g e_s) (`gate` [d_s, N_e], no bias); the experts are the
    stacked MLPs of `moe` (experts.py: `expert_w{i}` [N_e, d, u])."""
    x, s = inputs
    p, (d, d_s) = ctx.params, ctx.in_dims
    experts = _run(ctx, ctx.call(torch.unsqueeze, x.node, -3), _experts(ctx, "expert", (p["experts"],), d, "shared"))
    gates = ctx.call(torch.softmax, ctx.call(torch.matmul, s.node, ctx.param("gate", (d_s, p["experts"]), fan_in(d_s))),
                     -1)  # [..., N, E]
    weights = ctx.call(torch.unsqueeze, ctx.method("movedim", gates, -1, -2), -1)  # [..., E, N, 1]
    return _value(ctx, ctx.call(torch.sum, ctx.call(torch.mul, experts, weights), -3), x, s)


@lowers_block("couple")
def couple(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Eq. 18 and 21: h_f = h_sp^s + α_s·h_sh, α_s = 1/(S−1) Σ_{j≠s} e_s·e_j; every e_j comes from the scenario
    node evaluated under every scenario (its `all` view)."""
    specific, shared, e = inputs
    every = ctx.b.value(ctx.data["inputs"][2], "all")
    if not every.sc:
        raise LowerError(f"`{ctx.name}`: the scenario embedding does not depend on the scenario")
    alpha = ctx.call(torch.unsqueeze, ctx.call(coupling, e.node, every.node), -1)
    return _value(ctx, ctx.call(torch.add, specific.node, ctx.call(torch.mul, alpha, shared.node)), *inputs)
