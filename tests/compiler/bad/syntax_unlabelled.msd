# expect: E0001 at 4:14
spec bad
train {
  epochs = 2 [
}
