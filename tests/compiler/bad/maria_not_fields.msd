# expect: E0340 at 12:27
spec bad
data { source = synthetic(scenarios=2) }
features {
  user_id = categorical(dim=8, field=user)
  item_id = categorical(dim=8, field=item)
}
tasks { ctr = binary(label="click") }
graph {
  u   = embed(all, field=user)
  xi  = embed(all, field=item)
  qc  = field_correlation(concat(u, xi), dim=4)
  out = per task: head(qc)
}
