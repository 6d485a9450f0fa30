# expect: E0013 at 6:12
# expect: E0013 at 11:11
# expect: E0013 at 15:9
spec bad
scenarios {
  search = 1
}
data { source = synthetic(scenarios=2) }
features {
  user  = categorical(dim=8, field=user)
  price = 3
}
tasks { ctr = binary(label="click") }
graph {
  h   = user
}
