# expect: E0341 at 13:49
spec bad
data { source = synthetic(scenarios=2) }
features {
  user_id = categorical(dim=8, field=user)
  item_id = categorical(dim=8, field=item)
}
tasks { ctr = binary(label="click") }
graph {
  se  = scenario_embed(dim=4)
  q   = fields(embed(all, field=user), embed(all, field=item))
  # two fields, three counts
  qr  = feature_refine(q, scenario=se, refiners=[1, 2, 1])
  out = per task: head(qr)
}
