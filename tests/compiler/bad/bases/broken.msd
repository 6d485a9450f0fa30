spec broken

graph {
  h = mlp(x units=[8])
}
