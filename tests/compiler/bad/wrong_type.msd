# expect: E0105 at 8:27
# expect: E0105 at 13:36
# expect: E0105 at 13:53
# expect: E0105 at 17:19
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim="8", field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16, "8"], activation=relux)
  out = head(h, task=ctr)
}
evaluate {
  metrics = [auc, gaucc]
}
