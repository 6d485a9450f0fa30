# expect: E0204 at 15:15
# expect: E0204 at 16:32
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
train {
  objective = los
  early_stop = early_stop(task=crt)
}
