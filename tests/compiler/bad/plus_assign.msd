# expect: E0012 at 12:7
# expect: E0012 at 15:10
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out += head(h, task=ctr)
}
train {
  epochs += 1
}
