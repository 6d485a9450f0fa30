# expect: E0010 at 15:3
# expect: E0010 at 18:3
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
objective {
  stage warmup { }
}
train {
  stag warmup { epochs = 1 }
}
