# expect: E0203 at 11:13
# expect: E0203 at 13:13
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  x   = per scenario: embed(all)
  h   = mlp(x, units=[16])
  out = per scenario: head(h, task=ctr)
}
