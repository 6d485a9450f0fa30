# expect: E0501 at 7:3
spec bad
data { source = synthetic(scenarios=2) }
features { user = categorical(dim=8) }
tasks {
  ctr = binary(label="click")
  cvr = binary(label="buy", within=ctr)
}
graph {
  h   = mlp(embed(user), units=[16])
  out = head(h, task=ctr)
}
