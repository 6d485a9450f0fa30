# expect: E0001 at 4:29
spec bad
features {
  user = categorical(dim=16 min_count=2)
}
