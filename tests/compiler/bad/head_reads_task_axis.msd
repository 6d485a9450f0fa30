# expect: E0301 at 11:14
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  m   = moe(embed(all), units=[16])
  out = head(m, task=ctr)
}
