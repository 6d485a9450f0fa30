# AdaFTR with three tasks (§3.3.4): click, view (detail-page browse) and conversion; click is the anchor (the first
# task), contrasted with each other task under its own relatedness network and temperature.
spec adaftr_three_tasks extends "adaftr_mmoe.msd"

data {
  source = synthetic(rows=200_000, scenarios=3, seed=7, users=2_000, items=500, view=true)
}

tasks {
  view = binary(label="view", within=ctr)
}
