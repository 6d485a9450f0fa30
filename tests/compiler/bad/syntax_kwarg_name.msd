# expect: E0001 at 4:14
spec bad
graph {
  h = mlp(x, =[8])
}
