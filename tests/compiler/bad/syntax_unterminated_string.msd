# expect: E0001 at 4:22
spec bad
tasks {
  ctr = binary(label="click)
}
