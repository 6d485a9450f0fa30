# expect: E0001 at 4:8
spec bad
graph {
  h mlp(x, units=[8])
}
