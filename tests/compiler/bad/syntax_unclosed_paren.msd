# expect: E0001 at 5:1
spec bad
graph {
  h = mlp(x, units=[8]
}
