"""All-scenario views: view[s] equals the rows' values with every row's scenario overwritten by s."""

from __future__ import annotations

import pytest
import torch

import compiler
from compiler.lower import call, lower

S, B = 3, 48

# Every block kind, reading shared, specific, per-scenario and per-task values.
SPEC = """
spec views
data { source = synthetic(scenarios=3, sequence=true) }
features {
  user_id = categorical(dim=8)
  item_id = categorical(dim=8, partition=specific)
  hist    = sequence(max_len=5, dim=8, vocab=item_id, partition=specific)
  tags    = sequence(max_len=4, dim=4, pool=sum)
  price   = numeric(buckets=10, dim=4)
  hour    = numeric()
}
tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="purchase", within=ctr)
  ctcvr = product(ctr, cvr)
}
graph {
  xs  = embed(all, partition=shared)
  sp  = per scenario: mlp(concat(xs, embed(all, partition=specific)), units=[8], norm=batch)
  se  = scenario_embed(dim=4)
  g   = moe(xs, experts=3, units=[8], over=scenario)
  c   = cgc(concat(xs, se), shared_experts=1, specific_experts=2, units=[8], over=scenario)
  m   = moe(sum(g, c, sp), experts=2, units=[8], over=task)
  q   = per task: mlp(m, units=[8, 8], norm=batch)
  r   = pn(q)
  z   = star(r, units=[8])
  k   = ple(product(z, z), levels=2, units=[8], over=scenario)
  ln  = per scenario: linear(k, units=8)
  n   = mlp(ln, units=[8], norm=layer)
  out = per task: head(n, offset=linear(se, units=1))
}
"""


def _batch(ir):
    g = torch.Generator().manual_seed(1)
    batch = {f: torch.randint(0, 100, (B,), generator=g) for f in ("user_id", "item_id")}
    batch["hist"] = torch.randint(0, 100, (B, 5), generator=g) * (torch.rand(B, 5, generator=g) < 0.7)
    batch["tags"] = torch.randint(0, 100, (B, 4), generator=g) * (torch.rand(B, 4, generator=g) < 0.5)
    batch["price"] = torch.randint(0, 11, (B,), generator=g)
    batch["hour"] = torch.randn(B, generator=g, dtype=torch.float64)
    batch["scenario"] = torch.randint(0, S, (B,), generator=g)
    return batch


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_view_equals_rows_with_scenario_overwritten(strategy, training):
    ir = compiler.check_text(SPEC)
    nodes = ir.features + ir.blocks
    low = lower(ir, views=nodes, values=nodes, strategy=strategy)
    low.params.double()
    program = low.predict.train(training)
    batch = _batch(ir)
    views = call(program, batch)["view"]
    for s in range(S):
        rows = call(program, {**batch, "scenario": torch.full((B,), s)})["value"]
        for node in nodes:
            assert views[node].shape[0] == S
            torch.testing.assert_close(views[node][s], rows[node], rtol=0, atol=1e-9, msg=lambda m: f"{node}: {m}")


def test_view_of_a_shared_node_is_computed_once_and_broadcast():
    ir = compiler.check_file("specs/quickstart.msd")
    gm = lower(ir, views=["h", "tower"]).predict
    assert gm.code.count("torch._C._nn.linear(") == 2  # h's two layers, not again for the views
    view = gm.graph.output_node().args[0]["view"]["h"]
    assert view.target == "expand" and view.args[1] == 3
