# expect: E0504 at 12:32
# expect: E0504 at 13:3
spec bad
data { source = synthetic(scenarios=2) }
features { user = categorical(dim=8) }
tasks {
  ctr = binary(label="click")
  cvr = binary(label="buy")
}
graph {
  h   = mlp(embed(user), units=[16])
  out = per task: head(h, task=ctr)
  o2  = head(h)
}
