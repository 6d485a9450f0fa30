# expect: E0310 at 12:13
# expect: E0310 at 14:17
spec bad
data { source = synthetic(scenarios=2) }
features {
  user = categorical(dim=8, field=user)
  shop = categorical(dim=8, partition=specific, field=item)
}
tasks { ctr = binary(label="click") }
graph {
  x   = concat(embed(user), embed(shop))
  h   = mlp(x, units=[16])
  t   = per scenario: mlp(x, units=[8])
  o   = mlp(mlp(embed(shop), units=[4]), units=[4])
  out = head(concat(h, t, o), task=ctr)
}
