# expect: E0208 at 10:13
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  a   = mlp(b, units=[8])
  b   = mlp(concat(a, embed(all)), units=[8])
  out = head(b, task=ctr)
}
