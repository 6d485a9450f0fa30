# expect: E0204 at 10:27
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = per scenario: mlp(prce, [64, 32])
  out = head(h, task=ctr)
}
