# expect: E0104 at 9:15
# expect: E0104 at 11:9
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary() }
graph {
  h   = mlp(embed(all))
  out = head(h, task=ctr)
}
