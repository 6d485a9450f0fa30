# STAR (Sheng et al. 2021): partitioned normalization, a star-topology FCN, and an auxiliary network on the
# scenario indicator whose output is added to the logit.
spec star extends "quickstart.msd"

graph {
  h     = star(pn(x), units=[128, 64, 32])
  tower = none
  out   = per task: head(h, offset=aux)
  aux   = linear(mlp(scenario_embed(dim=8), units=[16]), units=1)
}
