# expect: E0005 at 5:3
spec bad extends "bases/base.msd"

features {
  shop = none
}

graph {
  h = none
}
