# expect: E0011 at 6:3
# expect: E0011 at 7:3
spec bad
scenarios {
  search = scenario()
  feed   = scenario(value="search")
  search = scenario(weight=2.0)
}
data { source = synthetic() }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
