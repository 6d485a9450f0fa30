# expect: E0011 at 7:3
spec bad extends "bases/base.msd"

train {
  batch = 512
  epochs = 2
  batch = 1024
}
