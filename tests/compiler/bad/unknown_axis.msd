# expect: E0202 at 10:13
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = per sceanrio: mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
