# expect: E0001 at 3:1
spec bad
{
  h = mlp(x, units=[8])
}
