# expect: E0001 at 4:20
spec bad
graph {
  h = per scenario mlp(x, units=[8])
}
