# The backbone OptMSM(CGC) is compared with (Fig. 4, Table 6): one CGC level over scenarios and per-scenario
# towers on the quickstart data, every feature shared, no gate, constraint or hypernetwork.
spec optmsm_cgc_backbone extends "quickstart.msd"

graph {
  h     = cgc(x, shared_experts=2, specific_experts=2, units=[128, 64, 32], over=scenario)
  tower = per scenario: mlp(h, units=[32])
}
