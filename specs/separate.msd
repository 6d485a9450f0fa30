# Separate: one DNN per scenario (stacked, evaluated in one batched op), each with its own head.
spec separate extends "quickstart.msd"

graph {
  h     = per scenario: mlp(x, units=[128, 64, 32])
  tower = none
  out   = none
  out0  = head(h, task=ctr, scenarios=[s0])
  out1  = head(h, task=ctr, scenarios=[s1])
  out2  = head(h, task=ctr, scenarios=[s2])
}
