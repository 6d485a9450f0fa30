# expect: E0001 at 4:24
spec bad
graph {
  h = mlp(x, units=[8]);
}
