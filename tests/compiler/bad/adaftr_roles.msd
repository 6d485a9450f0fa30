# expect: E0346 at 18:32
# expect: E0347 at 19:42
# expect: E0348 at 20:46
# expect: E0346 at 21:33
spec bad
data { source = synthetic(scenarios=2) }
features { user = categorical(dim=8, field=user) }
tasks {
  ctr = binary(label="click")
  cvr = binary(label="purchase", within=ctr)
}
graph {
  h     = mlp(embed(user), units=[16])
  tower = per task: mlp(h, units=[8, 4])
  out   = per task: head(tower)
}
objective {
  loss += 0.01 * task_contrast(h)
  loss += 0.01 * task_align(tower, layer=3)
  loss += 0.01 * task_contrast(tower, tasks=[ctr])
  loss += 1.0 * relatedness_bce(tower)
}
