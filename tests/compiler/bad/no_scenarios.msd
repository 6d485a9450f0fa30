# expect: E0015 at 4:1
spec bad
data { source = files("logs/*.parquet") }
scenarios { }
features { user = categorical() }
tasks { ctr = binary(label="click") }
graph {
  h   = mlp(embed(all), units=[16])
  out = head(h, task=ctr)
}
