# expect: E0001 at 6:1
spec bad
graph {
  h = mlp(x, units=[8])
}
}
