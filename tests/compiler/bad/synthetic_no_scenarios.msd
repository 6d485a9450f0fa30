# expect: E0015 at 3:47
spec bad
data { source = synthetic(rows=100, scenarios=0) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
