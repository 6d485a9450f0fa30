# OptMSM with CGC as the shared-information transfer (Fig. 4, Table 6): scenario-specific plus shared experts.
# As the paper's PLE baseline: 2 experts per scenario and 2 shared ones. Backbone: optmsm_cgc_backbone.msd.
spec optmsm_cgc extends "optmsm_fcn.msd"

graph {
  h   = cgc(gated, shared_experts=2, specific_experts=2, units=[128, 64, 32], over=scenario)   # r^m
  out = per task: head(tower)
  aux = none
}
