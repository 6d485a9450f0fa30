# expect: E0301 at 12:34
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  aux = mlp(scenario_embed(), units=[4])
  out = head(h, task=ctr, offset=aux)
}
