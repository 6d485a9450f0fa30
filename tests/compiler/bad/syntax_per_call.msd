# expect: E0001 at 5:1
spec bad
graph {
  h = per task: x
}
