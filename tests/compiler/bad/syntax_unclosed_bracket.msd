# expect: E0001 at 4:25
spec bad
graph {
  h = mlp(x, units=[8, 4)
}
