# The backbone OptMSM(MoE) is compared with (Fig. 4): scenario-gated experts and per-scenario towers on the
# quickstart data, every feature shared, no gate, constraint or hypernetwork.
spec optmsm_moe_backbone extends "quickstart.msd"

graph {
  h     = moe(x, experts=6, units=[128, 64, 32], over=scenario)
  tower = per scenario: mlp(h, units=[32])
}
