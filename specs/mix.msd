# Mix: one DNN over the rows of every scenario (no scenario-specific parameters).
spec mix extends "quickstart.msd"

graph {
  h     = mlp(x, units=[128, 64, 32], norm=batch)
  tower = none
  out   = per task: head(h)
}
