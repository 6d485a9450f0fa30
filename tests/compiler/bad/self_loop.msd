# expect: E0208 at 10:13
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(h, units=[8])
  out = head(h, task=ctr)
}
