# expect: E0301 at 12:13
spec bad
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = numeric(field=item)
}
tasks { ctr = binary(label="click") }
graph {
  a   = linear(embed(user), units=8)
  b   = linear(embed(price), units=4)
  s   = sum(a, b)
  out = head(s, task=ctr)
}
