# expect: E0301 at 10:33
spec bad
data { source = synthetic(scenarios=2) }
features {
  user = categorical(dim=8, field=user)
  hist = sequence(max_len=10, pool=none, field=behavior)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(concat(embed(user), hist), units=[16])
  out = head(h, task=ctr)
}
