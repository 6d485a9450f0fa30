# expect: E0205 at 8:26
# expect: E0205 at 18:22
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
  hist  = sequence(vocab=price)
}
tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="buy", within=ctr)
  ctcvr = product(ctr, cvr)
}
graph {
  h   = mlp(embed(user, price, hist), units=[16])
  out = per task: head(h)
  bad = head(h, task=ctcvr)
}
