# A small backbone other bad specs extend.
spec base

data { source = synthetic(scenarios=2) }

features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}

tasks { ctr = binary(label="click") }

graph {
  x   = embed(all)
  h   = mlp(x, units=[16])
  out = head(h, task=ctr)
}

train {
  batch  = 256
  epochs = 1
}
