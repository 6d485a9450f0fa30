# The built-in default: a shared-bottom model with per-scenario towers on synthetic data.
spec quickstart

data {
  source = synthetic(rows=200_000, scenarios=3, seed=7, users=2_000, items=500)
  # the last ~2.5 of the generator's 14 days: validation, then test (timestamps in seconds)
  split  = time(column="ts", valid=1_700_950_000, test=1_701_080_000)
  user   = "user_id"
}

features {
  user_id       = categorical(dim=16, min_count=2, field=user)
  item_id       = categorical(dim=16, min_count=2, field=item)
  item_category = categorical(dim=8, field=item)
  hour          = categorical(dim=4, field=context)
  device        = categorical(dim=4, field=context)
  price         = numeric(normalize=true, field=item)
}

tasks {
  ctr = binary(label="click")
}

graph {
  x     = embed(all)
  h     = mlp(x, units=[128, 64])
  tower = per scenario: mlp(h, units=[32])
  out   = per task: head(tower)
}

train {
  optimizer = adam(lr=0.005)
  batch     = 2048
  epochs    = 5
  seed      = 42
}

evaluate {
  metrics = [auc, gauc, logloss, pcoc]
}
