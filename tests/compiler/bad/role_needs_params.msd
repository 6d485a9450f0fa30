# expect: E0320 at 15:34
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  x   = concat(embed(user), embed(price))
  h   = mlp(x, units=[16])
  out = head(h, task=ctr)
}
objective {
  loss = bce(ctr) + 1e-4 * l2(h, x)
}
