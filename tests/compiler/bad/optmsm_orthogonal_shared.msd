# expect: E0320 at 17:38
spec bad
data { source = synthetic(scenarios=3) }
features {
  user = categorical(dim=8, field=user)
  hour = categorical(dim=4, partition=specific, field=context)
}
tasks { ctr = binary(label="click") }
graph {
  x     = embed(all, partition=shared)
  h     = mlp(x, units=[16])
  r     = se_gate(h)
  tower = per scenario: hyper_mlp(concat(r, embed(hour)), units=[8])
  out   = per task: head(tower)
}
objective {
  loss = bce(ctr) + 0.1 * orthogonal(h)
}
