# expect: E0320 at 16:40
spec bad
data { source = synthetic(scenarios=3) }
features {
  user = categorical(dim=8, field=user)
  hour = categorical(dim=4, field=context)
}
tasks { ctr = binary(label="click") }
graph {
  x     = embed(all)
  h     = mlp(x, units=[16])
  tower = per scenario: mlp(h, units=[8])
  out   = per task: head(tower)
}
objective {
  loss += 0.1 * individual_contrastive(h)
}
