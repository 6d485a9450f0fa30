# expect: E0201 at 12:9
# expect: E0201 at 16:27
# expect: E0201 at 19:15
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mpl(embed(all), units=[16])
  out = head(h, task=ctr)
}
objective {
  loss = bce(ctr) + 0.1 * l3(h)
}
train {
  optimizer = adan(lr=0.01)
}
