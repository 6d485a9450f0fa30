# The backbone MARIA is compared with (Tian et al. 2023, Table 2's MMoE adapted to scenarios): shared experts
# mixed by one gate per scenario over every feature (the behaviour sequence mean-pooled), one tower per scenario.
# specs/maria.msd adds MARIA's adaptive feature learning, network layer and coupled towers on top of it.
spec maria_backbone

data {
  source = synthetic(rows=200_000, scenarios=3, seed=7, users=2_000, items=500, sequence=true)
  split  = time(column="ts", valid=1_700_950_000, test=1_701_080_000)
  user   = "user_id"
}

features {
  user_id       = categorical(dim=16, min_count=2, field=user)
  item_id       = categorical(dim=16, min_count=2, field=item)
  item_category = categorical(dim=8, field=item)
  price         = numeric(normalize=true, field=item)
  hour          = categorical(dim=4, field=context)
  device        = categorical(dim=4, field=context)
  hist          = sequence(column="hist_items", vocab=item_id, dim=16, max_len=20, pool=mean, field=behavior)
}

tasks {
  ctr = binary(label="click")
}

graph {
  x     = embed(all)
  h     = moe(x, experts=4, units=[64], over=scenario)
  tower = per scenario: mlp(h, units=[32, 16])
  out   = per task: head(tower)
}

train {
  optimizer = adam(lr=0.005)
  batch     = 2048
  epochs    = 3
  seed      = 42
}

evaluate {
  metrics = [auc, gauc, logloss, pcoc]
}
