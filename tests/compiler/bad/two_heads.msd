# expect: E0502 at 12:3
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = per task: head(h)
  s1  = head(h, task=ctr, scenarios=[s1])
}
