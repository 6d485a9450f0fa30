# expect: E0103 at 11:37
# expect: E0103 at 12:28
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16], [8])
  g   = linear(h, units=4, units=8)
  out = head(g, task=ctr)
}
