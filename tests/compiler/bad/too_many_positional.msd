# expect: E0102 at 10:48
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), [16], relu, 0.1, none, 3)
  out = head(h, ctr)
}
