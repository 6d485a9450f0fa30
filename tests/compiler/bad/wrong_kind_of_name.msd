# expect: E0204 at 13:15
# expect: E0204 at 17:30
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  x   = embed(user, price)
  h   = mlp(x, units=[16])
  e   = embed(h)
  out = head(h, task=ctr)
}
objective {
  loss = bce(ctr) + 0.1 * l2(ctr)
}
