# expect: E0001 at 4:20
spec bad
graph {
  h = mlp(x, units=)
}
