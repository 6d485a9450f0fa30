"""Features: one input tensor each, embedded through a table owned by the feature (or by its `vocab=` feature).

A `shared` table is [V, d]. A `specific` table (OptMSM Eq. 4: one table per scenario) is stored as one stacked
table [S·V, d] read at `scenario·V + id`, so every scenario's lookup is one `F.embedding`; in `all` mode the
ids are offset by every scenario at once ([S, B] indices). Row 0 of each (scenario's) table is the OOV/padding id.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compiler.lower.context import LowerError, NodeCtx, Value, lowers_feature, normal


def _lookup(ctx: NodeCtx, ids, owner: str, seq: bool) -> Value:
    """Embed int ids ([B] or [B, L]) through `owner`'s table."""
    b, data = ctx.b, ctx.b.ir.graph.nodes[owner]
    rows, dim = b.vocab(owner), data["params"]["dim"]
    specific = data["params"]["partition"] == "specific"
    table = b.attr(b.params.parameter(owner, "table", ((ctx.S if specific else 1) * rows, dim), normal(0.01),
                                      "scenario" if specific else "shared"))
    if not specific:
        return Value(ctx.call(F.embedding, ids, table), own=1 + seq)
    if ctx.rows:
        offset = ctx.call(torch.mul, b.scenario, rows)
        if seq:
            offset = ctx.call(torch.unsqueeze, offset, -1)
        return Value(ctx.call(F.embedding, ctx.call(torch.add, ids, offset), table), own=1 + seq)
    offsets = ctx.buffer("offsets", lambda: (torch.arange(ctx.S) * rows).view(ctx.S, *[1] * (1 + seq)))
    return Value(ctx.call(F.embedding, ctx.call(torch.add, ids, offsets), table), sc=True, own=1 + seq)


@lowers_feature("categorical")
def categorical(ctx: NodeCtx) -> Value:
    """An id [B] → its embedding [B, dim] (per-scenario table when `partition=specific`)."""
    return _lookup(ctx, ctx.b.inputs[ctx.name], ctx.name, seq=False)


@lowers_feature("numeric")
def numeric(ctx: NodeCtx) -> Value:
    """A value [B] → [B, 1]; with `buckets > 0` the input is the bucket index (0 = missing) → its embedding."""
    x = ctx.b.inputs[ctx.name]
    if ctx.params["buckets"]:
        return _lookup(ctx, x, ctx.name, seq=False)
    return Value(ctx.call(torch.unsqueeze, x, -1))


@lowers_feature("sequence")
def sequence(ctx: NodeCtx) -> Value:
    """Ids [B, max_len] (0 = padding) → embeddings pooled over the non-padding positions (mean or sum; an empty
    sequence gives zeros), or [B, max_len, dim] with padding zeroed (`pool=none`). `vocab=` reads another
    categorical feature's table."""
    p, ids = ctx.params, ctx.b.inputs[ctx.name]
    owner = p["vocab"].name if p["vocab"] is not None else ctx.name
    if owner != ctx.name:
        other = ctx.b.ir.graph.nodes[owner]["params"]
        if (other["dim"], other["partition"]) != (p["dim"], p["partition"]):
            raise LowerError(f"sequence `{ctx.name}` shares the table of `{owner}` but differs in dim or partition "
                             f"({p['dim']}, {p['partition']} vs {other['dim']}, {other['partition']})")
    emb = _lookup(ctx, ids, owner, seq=True)
    mask = ctx.method("type_as", ctx.call(torch.unsqueeze, ctx.call(torch.ne, ids, 0), -1), emb.node)
    masked = ctx.call(torch.mul, emb.node, mask)
    if p["pool"] == "none":
        return Value(masked, emb.sc, own=2)
    pooled = ctx.call(torch.sum, masked, -2)
    if p["pool"] == "mean":
        pooled = ctx.call(torch.div, pooled, ctx.method("clamp_min", ctx.call(torch.sum, mask, -2), 1))
    return Value(pooled, emb.sc)
