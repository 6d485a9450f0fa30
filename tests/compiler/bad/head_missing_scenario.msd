# expect: E0503 at 8:9
spec bad
data { source = synthetic(scenarios=3) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr, scenarios=[s0])
}
