# expect: E0331 at 18:61
# expect: E0331 at 18:70
# expect: E0331 at 19:55
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
  loss += 0.1 * generalized_contrastive(h, ctr, temperature=0, noise=diffusion(beta_start=0.5, beta_end=0.1))
  loss += 0.1 * individual_contrastive(tower, dropout=1.5)
}
