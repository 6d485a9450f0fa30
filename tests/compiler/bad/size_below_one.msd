# expect: E0302 at 6:27
# expect: E0302 at 11:36
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=0, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16, 0])
  out = head(h, task=ctr)
}
