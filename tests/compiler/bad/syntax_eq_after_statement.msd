# expect: E0001 at 4:9
spec bad
graph {
  h = g = mlp(x, units=[8])
}
