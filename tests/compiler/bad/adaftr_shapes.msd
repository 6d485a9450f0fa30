# expect: E0345 at 10:3
# expect: E0349 at 11:21
spec bad
data { source = synthetic(scenarios=2) }
features { user = categorical(dim=8, field=user) }
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(user), units=[16])
  out = head(h, task=ctr)
  rel = relatedness(h)
  tau = temperature(0.0)
}
objective {
  loss += task_contrast(out, tau)
}
