# Every construct of the language once: declared scenarios, ESMM tasks, STAR with an auxiliary network,
# MMoE towers, stages, parameter groups and an objective with a weighted regularizer.
spec full

data {
  source = files("logs/*.parquet", "more/*.csv", format=auto)
  split  = time(column="ts", valid="2024-06-01", test=20240615)
  scenario = "domain"
  user   = "user_id"
  weight = "w"
}

scenarios {
  search = scenario(weight=2.0, group="app")
  feed   = scenario(value=2, group="app")
  mall   = scenario(value="shop")
}

features {
  user_id  = categorical(dim=16, hash=100_000, field=user)
  item_id  = categorical(dim=16, min_count=5, field=item)
  shop     = categorical(dim=8, partition=specific, field=item)
  price    = numeric(buckets=10, dim=4, field=item)
  age      = numeric(normalize=false, column="user_age", field=user)
  hist     = sequence(max_len=50, dim=16, vocab=item_id, sep="|", field=behavior)
}

tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="buy", within=ctr)
  ctcvr = product(ctr, cvr)
}

graph {
  x     = embed(all, partition=shared)
  s     = embed(shop)
  sx    = concat(x, s)
  n     = pn(sx, momentum=0.05)
  h     = star(n, units=[64, 32])
  aux   = mlp(concat(h, scenario_embed(dim=4)), units=[16, 1], activation=none)
  m     = moe(h, experts=3, units=[16], over=task)
  t     = per task: mlp(m, units=[8], dropout=0.1, norm=layer)
  out   = per task: head(t, offset=aux)
}

objective {
  loss = bce(ctr) + bce(cvr) - 0.5 * bce(ctcvr) + 1e-6 * l2(item_id, h) + l2(m) / 2
  pre  = bce(ctr)
}

train {
  optimizer = adamw(lr=1e-3, weight_decay=0.01, betas=[0.9, 0.98])
  schedule  = cosine(warmup=100, min_lr=1e-5)
  early_stop = early_stop(metric=gauc, task=ctr, patience=2)
  batch     = 4096
  epochs    = 3
  seed      = 1
  clip      = 5.0
  compile   = false
  device    = cpu
  objective = loss

  stage warmup {
    objective = pre
    epochs    = 1
    freeze    = [item_id]
    optimizer = sgd(lr=0.1, momentum=0.9)
  }
  stage finetune {
    schedule   = step(every=1, gamma=0.5)
    early_stop = early_stop(metric=logloss)
  }
  group embeddings {
    nodes     = [user_id, item_id, hist]
    optimizer = adagrad(lr=0.05)
  }
}

evaluate {
  metrics = [auc, logloss]
  slices  = [scenario, overall]
}
