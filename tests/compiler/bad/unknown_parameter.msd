# expect: E0101 at 6:23
# expect: E0101 at 15:3
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dimm=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
train {
  optimzer = adam(lr=0.01)
}
