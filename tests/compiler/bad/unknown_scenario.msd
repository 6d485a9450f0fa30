# expect: E0206 at 11:42
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr, scenarios=[s0, s7])
}
