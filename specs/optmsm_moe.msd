# OptMSM with MoE as the shared-information transfer (Fig. 4): scenario-gated experts replace STAR's FCN.
# Experts = 2 × #scenarios, as in the paper's MMoE baseline. Backbone to compare with: optmsm_moe_backbone.msd.
spec optmsm_moe extends "optmsm_fcn.msd"

graph {
  h   = moe(gated, experts=6, units=[128, 64, 32], over=scenario)     # r^m
  out = per task: head(tower)
  aux = none
}
