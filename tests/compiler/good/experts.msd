# Mixture-of-experts backbones, per-scenario heads restricted to scenarios, and a sequence feature.
spec experts

data {
  source = synthetic(rows=1000, scenarios=3, sequence=true)
  split  = hash(column="user_id")
}

features {
  user_id   = categorical(dim=8, field=user)
  item_id   = categorical(dim=8, field=item)
  hist      = sequence(column="hist_items", max_len=5, dim=8, vocab=item_id, pool=sum, field=behavior)
  price     = numeric(buckets=4, dim=2, field=item, partition=specific)
}

tasks {
  ctr   = binary(label="click")
  cvr   = binary(label="purchase", within=ctr)
  ctcvr = product(ctr, cvr, label="purchase")
}

graph {
  x     = embed(all, partition=shared)
  p     = embed(price)
  sx    = per scenario: linear(concat(x, p), units=32, bias=false)
  lvl   = ple(sx, levels=2, shared_experts=2, specific_experts=1, units=[16, 8], over=scenario)
  g     = cgc(x, units=[8], activation=gelu)
  m     = moe(x, experts=2, units=[8], over=none)
  both  = product(g, m)
  mix   = sum(both, linear(lvl, units=8))
  tower = per task: mlp(mix, units=[4], norm=batch)
  main  = per task: head(tower, scenarios=[s0, s1])
  rare  = per task: head(per_rare, scenarios=[s2])
  per_rare = per task: mlp(x, units=[4])
}

objective {
  loss  = bce(ctr) + bce(cvr) + bce(ctcvr)
  loss += 1e-5 * l2(user_id, item_id)
}

evaluate { slices = [scenario, task] }
