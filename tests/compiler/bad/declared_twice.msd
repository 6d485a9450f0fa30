# expect: E0011 at 12:3
# expect: E0011 at 15:1
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  user = mlp(h, units=[4])
  out = head(user, task=ctr)
}
tasks { cvr = binary(label="buy") }
