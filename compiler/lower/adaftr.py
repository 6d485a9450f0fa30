"""AdaFTR's lowerings (Lin et al., KDD 2023): relatedness network, temperatures, and the alignment losses.

Pairs: the anchor is the first base task, its partners the other base tasks (or an objective's `tasks=`); pair
column j of `relatedness` / `adaptive_temperature` belongs to base task j + 1.

Choices where the paper is not literal (the spec-level module `compiler/papers/adaftr.py` has the overview):
- Eq. 6 / 13 sum over the records; we take the (row-weighted) mean over the batch, so β does not scale with the
  batch size. The denominator runs over the whole batch B, the positive r' = r included (InfoNCE, as printed).
- Eq. 7, −log(a − b), is undefined when a ≤ b (half the rows at initialization), so it is not kept; we use the
  BPR form it cites, −log σ((a − b)/τ) (Rendle et al. 2009), with τ = 1 unless a temperature node is given.
  The single negative r' of row r is row r + 1 of the batch (batches are shuffled, so it is a random instance).
- Eq. 5's ℓ: MSE or MAE averaged over the vector's entries, then over rows.
- Eq. 4 (log ŷ in both terms) is the ordinary BCE with log(1 − ŷ) in the second term: the `bce` objective.
- With several pairs the losses are summed over pairs (one L_cl per pair, §3.3.4); L_rel is averaged over pairs.
"""

from __future__ import annotations

import math

import torch
import torch.fx as fx
import torch.nn.functional as F

from compiler.lower.context import NodeCtx, Value, constant, fan_in, lowers_block, lowers_objective
from compiler.lower.kernels import activation, dense
from compiler.lower.objectives import ObjectiveCtx


# -- blocks -------------------------------------------------------------------------------------------------------


def _pair_products(ctx: NodeCtx, x: Value, pairs: int) -> fx.Node:
    """sg(v_a) ⊙ sg(v_k) for every partner k, [S?, P, B, d] (Eq. 8): v per task, or one shared v for all tasks."""
    v = ctx.method("detach", x.node)
    lead = int(x.sc)
    if x.task:
        anchor = ctx.call(torch.narrow, v, lead, 0, 1)
        return ctx.call(torch.mul, anchor, ctx.call(torch.narrow, v, lead, 1, pairs))
    square = ctx.call(torch.unsqueeze, ctx.call(torch.mul, v, v), lead)
    return ctx.method("expand", square, *[-1] * lead, pairs, -1, -1)


@lowers_block("relatedness")
def relatedness(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Relatedness logits [S?, B, P] (AdaFTR Eq. 8–9): one MLP per pair (weights [P, d, u], biases [P, 1, u],
    `shared`), its last layer 1 unit; ŷ_rel = σ(logit) is taken by the readers."""
    x, pairs = inputs[0], ctx.T - 1
    h, d = _pair_products(ctx, x, pairs), ctx.in_dims[0]
    units = ctx.params["units"] + [1]
    for i, u in enumerate(units):
        w = ctx.param(f"w{i}", (pairs, d, u), fan_in(d))
        b = ctx.param(f"b{i}", (pairs, 1, u), fan_in(d))
        h = dense(ctx, h, w, b, x.sc, True, "task")
        h, d = (h if i == len(units) - 1 else activation(ctx, h, ctx.params["activation"])), u
    logits = ctx.call(torch.squeeze, h, -1)
    return Value(ctx.method("movedim", logits, -2, -1), sc=x.sc)


@lowers_block("temperature")
def temperature(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """τ for every row, [B, 1]: a fixed buffer, or exp(θ) with θ a `shared` parameter initialized to log(value)."""
    value = ctx.params["value"]
    if ctx.params["learnable"]:
        tau = ctx.call(torch.exp, ctx.param("log_tau", (1,), constant(math.log(value))))
    else:
        tau = ctx.buffer("tau", lambda: torch.tensor([value]))
    return Value(ctx.method("expand", ctx.call(torch.unsqueeze, tau, 0), ctx.b.batch_size(), 1))


@lowers_block("adaptive_temperature")
def adaptive_temperature(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """τ_r = (τU − τL)·(1 − sg(ŷ_rel)) + τL (AdaFTR Eq. 12), per row and pair."""
    lower, upper = ctx.params["lower"], ctx.params["upper"]
    rel = ctx.call(torch.sigmoid, ctx.method("detach", inputs[0].node))
    tau = ctx.call(torch.add, ctx.call(torch.mul, ctx.call(torch.rsub, rel, 1.0), upper - lower), lower)
    return Value(tau, sc=inputs[0].sc)


# -- objectives ---------------------------------------------------------------------------------------------------


def _partners(o: ObjectiveCtx, p: dict) -> list[int]:
    """Indices (in the base tasks) of the anchor's partners."""
    base = o.b.ir.base_tasks
    return [base.index(r.name) for r in p["tasks"]] or list(range(1, len(base)))


def _tower_layer(o: ObjectiveCtx, p: dict) -> fx.Node:
    """The towers' layer-`layer` output [T, B, u] (h_r in Eq. 5–7, 13)."""
    tower = p["h"].name
    o.b.value(tower)
    return o.b.memo[("hidden", tower, "rows")][p["layer"] - 1].node


def _pair_temperature(o: ObjectiveCtx, p: dict, k: int):
    """τ of pair (anchor, k) per row, [B]; 1.0 without a temperature node."""
    if p["tau"] is None:
        return 1.0
    tau = o.b.value(p["tau"].name).node
    column = k - 1 if o.b.ir.graph.nodes[p["tau"].name]["type"].dim > 1 else 0
    return o.call(torch.select, tau, -1, column)


def info_nce(anchor: torch.Tensor, other: torch.Tensor, tau) -> torch.Tensor:
    """Eq. 6 / 13 per row r: −log exp(h_r^a·h_r^k/τ_r) / Σ_{r'∈B} exp(h_r^a·h_{r'}^k/τ_r), [B]."""
    tau = tau.unsqueeze(-1) if isinstance(tau, torch.Tensor) else tau
    logits = anchor @ other.transpose(-1, -2) / tau
    return F.cross_entropy(logits, torch.arange(logits.shape[0], device=logits.device), reduction="none")


def single_negative(anchor: torch.Tensor, other: torch.Tensor, tau) -> torch.Tensor:
    """Eq. 7 in its BPR form per row r: −log σ((h_r^a·h_r^k − h_r^a·h_{r+1}^k)/τ_r), [B]."""
    positive = (anchor * other).sum(-1)
    negative = (anchor * other.roll(-1, 0)).sum(-1)
    return F.softplus((negative - positive) / tau)


CONTRAST = {"in_batch": info_nce, "single": single_negative}


@lowers_objective("task_contrast")
def task_contrast(o: ObjectiveCtx, p: dict):
    """L_cl (AdaFTR Eq. 6 / 13, or Eq. 7 with `negatives=single`), summed over the anchor's pairs."""
    hidden, loss = _tower_layer(o, p), CONTRAST[p["negatives"]]
    anchor = o.call(torch.select, hidden, 0, 0)
    terms = [o.mean(o.call(loss, anchor, o.call(torch.select, hidden, 0, k), _pair_temperature(o, p, k)))
             for k in _partners(o, p)]
    return o.total(terms)


def distance(anchor: torch.Tensor, other: torch.Tensor, kind: str) -> torch.Tensor:
    """ℓ(h^a, h^k) of Eq. 5 per row, [B]: mean squared (`mse`) or absolute (`mae`) difference."""
    diff = anchor - other
    return (diff.square() if kind == "mse" else diff.abs()).mean(-1)


@lowers_objective("task_align")
def task_align(o: ObjectiveCtx, p: dict):
    """L_reg (AdaFTR Eq. 5), summed over the anchor's pairs."""
    hidden = _tower_layer(o, p)
    anchor = o.call(torch.select, hidden, 0, 0)
    terms = [o.mean(o.call(distance, anchor, o.call(torch.select, hidden, 0, k), p["distance"]))
             for k in _partners(o, p)]
    return o.total(terms)


def relatedness_labels(anchor: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    """y_rel = 1[y_a = y_k] per row and pair, [B, P] (AdaFTR Eq. 10)."""
    return torch.stack([(anchor == other).to(anchor.dtype) for other in others], -1)


@lowers_objective("relatedness_bce")
def relatedness_bce(o: ObjectiveCtx, p: dict):
    """L_rel (AdaFTR Eq. 11): BCE of ŷ_rel = σ(logit) against y_rel, mean over pairs, then rows."""
    base = o.b.ir.base_tasks
    logits = o.b.value(p["r"].name).node
    labels = o.call(relatedness_labels, o.label(base[0]), [o.label(t) for t in base[1:]])
    per_row = o.method("mean", o.call(F.binary_cross_entropy_with_logits, logits, labels, reduction="none"), -1)
    return o.mean(per_row)
