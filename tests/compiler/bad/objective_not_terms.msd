# expect: E0401 at 15:10
# expect: E0401 at 16:10
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
objective {
  loss = bce(ctr) * bce(ctr)
  aux  = 0.5
}
