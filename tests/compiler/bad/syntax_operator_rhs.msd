# expect: E0001 at 5:1
spec bad
objective {
  loss = bce(ctr) +
}
