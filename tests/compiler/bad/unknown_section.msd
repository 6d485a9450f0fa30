# expect: E0010 at 13:1
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
trian {
  batch = 512
}
