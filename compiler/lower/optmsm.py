"""OptMSM (Tang et al.): the SE-Net adaptation gate (Eq. 5), the hypernetwork-scaled predictor (Eq. 10–12) and
the orthogonality constraint (Eq. 9). The feature partition (Eq. 4) is `features.py`'s `specific` tables; the
transfer module (Eq. 6–8) is whichever backbone block the spec names.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compiler.lower.context import LowerError, NodeCtx, Value, fan_in, lowers_block, lowers_objective
from compiler.lower.dense import apply_layers, dense_layers
from compiler.lower.kernels import align, dense, pair_dots, scenario_chain
from compiler.lower.objectives import ObjectiveCtx
from compiler.papers.optmsm import field_sizes


def field_matrices(sizes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """For fields of these sizes laid side by side in a vector of D = Σ sizes: the averaging matrix [D, F]
    (x @ it = each field's mean, Eq. 5's average(e_ci)) and the spreading matrix [F, D] (z @ it repeats field
    i's gate over its entries)."""
    field = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    spread = F.one_hot(field, len(sizes)).t().to(torch.get_default_dtype())
    return (spread / torch.tensor(sizes, dtype=spread.dtype)[:, None]).t().contiguous(), spread


@lowers_block("se_gate")
def se_gate(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """SE-Net gate per scenario (OptMSM Eq. 5): out = x ⊙ spread(σ(avg(x) · W^m + b^m)).

    `w` [S, F, F], `b` [S, 1, F] (fan-in init); the field means and the spreading back are matmuls with constant
    matrices (`field_matrices`), and the gate runs as a one-layer per-scenario chain (`kernels.scenario_chain`).
    """
    sizes = field_sizes(ctx.b.ir, ctx.data["inputs"][0])
    mats = field_matrices(sizes)
    average, spread = (ctx.buffer(name, lambda m=m: m) for name, m in zip(("average", "spread"), mats))
    f = len(sizes)
    w = ctx.param("w", (ctx.S, f, f), fan_in(f), "scenario")
    b = ctx.param("b", (ctx.S, 1, f), fan_in(f), "scenario")

    def gate(h, sc, task, mask):
        z = ctx.call(torch.sigmoid, dense(ctx, ctx.call(torch.matmul, h, average), w, b, sc, task, "scenario"))
        return ctx.call(torch.mul, h, ctx.call(torch.matmul, z, spread))

    return scenario_chain(ctx, inputs[0], [gate])


def _replicated(ctx: NodeCtx, node, v: Value) -> Value:
    """`node`, the output of one of this block's (replicated) layers applied to `v`: v's axes plus the block's."""
    return Value(node, v.sc or ctx.rep == "scenario", v.task or ctx.rep == "task")


def _generator(ctx: NodeCtx, layer: int, d: int, size: int):
    """Eq. 11 for layer `layer`: R_0 ↦ 2·σ(w_1 · ReLU(w_0 · R_0 + b_0) + b_1), a scale of `size` entries."""
    hidden = dense_layers(ctx, d, [ctx.params["hidden"]], "relu", prefix=f"gen{layer}_in_")[0]
    out = dense_layers(ctx, ctx.params["hidden"], [size], "sigmoid", prefix=f"gen{layer}_out_")[0]

    def scale(r0: Value) -> Value:
        g = _replicated(ctx, hidden(r0.node, r0.sc, r0.task, None), r0)
        return _replicated(ctx, ctx.call(torch.mul, out(g.node, g.sc, g.task, None), 2.0), r0)

    return scale


def _scaled(ctx: NodeCtx, h: Value, scale: Value) -> Value:
    """Eq. 12: R_l ⊗ ℝ_1l, broadcasting a missing scenario axis."""
    task = h.task or scale.task
    return Value(ctx.call(torch.mul, align(ctx, h, task), align(ctx, scale, task)), h.sc or scale.sc, task)


@lowers_block("hyper_mlp")
def hyper_mlp(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """The hypernetwork-scaled predictor (OptMSM Eq. 10–12): R_0 = x; for l = 0 … L−1, R_l ← R_l ⊗ ℝ_1l(R_0),
    where R_{l+1} is `mlp` layer l+1 on R_l. Generators `gen{l}_in_*`, `gen{l}_out_*` (one two-layer perceptron
    per scaled layer, Eq. 11), predictor layers `w{i}`, `b{i}` as `mlp`; stacked over the replication axis."""
    p, d = ctx.params, ctx.in_dims[0]
    scales = [_generator(ctx, l, d, size) for l, size in enumerate([d, *p["units"]])]
    layers = dense_layers(ctx, d, p["units"], p["activation"], p["dropout"], p["norm"])

    def predictor(h, sc, task, mask):
        r0 = Value(h, sc, task)
        out = _scaled(ctx, r0, scales[0](r0))
        for layer, scale in zip(layers, scales[1:]):
            out = _scaled(ctx, _replicated(ctx, layer(out.node, out.sc, out.task, mask), out), scale(r0))
        return out.node

    return apply_layers(ctx, inputs[0], [predictor])


def pair_cosines(r: torch.Tensor) -> torch.Tensor:
    """r [S, …, B, d] → [..., B, S(S−1)/2]: cos(r[i], r[j]) of every row for each scenario pair i < j (a zero
    vector has cosine 0 with everything)."""
    return pair_dots(F.normalize(r, dim=-1).movedim(0, -2))


FORMS = {"abs": torch.abs, "square": torch.square, "signed": None}  # f of each pair's cosine


@lowers_objective("orthogonal")
def orthogonal(o: ObjectiveCtx, p: dict):
    """OptMSM Eq. 9 (form and reduction: `compiler/papers/optmsm.py`): the value of `x` under every scenario
    (`all` mode, [S, T?, B, d]), each row's pairwise cosines, f applied, summed over pairs, weighted per row,
    then averaged (or summed) over the rows."""
    name = p["x"].name
    view = o.b.value(name, "all")
    if not view.sc:
        raise LowerError(f"`orthogonal` needs `{name}` under every scenario, but it does not depend on the scenario")
    cos, f = o.call(pair_cosines, view.node), FORMS[p["form"]]
    if f is not None:
        cos = o.call(f, cos)
    per_row = o.weighted(o.call(torch.sum, cos, -1))
    return o.call(torch.mean if p["reduction"] == "mean" else torch.sum, per_row)
