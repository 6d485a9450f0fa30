# MMoE with per-scenario towers: the task-gated shared experts of mmoe.msd feed one tower per scenario (a
# shared-specific backbone, as HC² needs; the baseline that hc2_mmoe.msd is compared against).
spec mmoe_towers extends "mmoe.msd"

graph {
  tower = per scenario: mlp(h, units=[32, 16])
}
