# expect: E0207 at 10:19
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all, field=trigger), units=[16])
  out = head(h, task=ctr)
}
