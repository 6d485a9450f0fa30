# PLE (Tang et al. 2020): two extraction levels of shared and task-specific experts.
spec ple extends "shared_bottom.msd"

graph {
  h = ple(x, levels=2, shared_experts=2, specific_experts=1, units=[64, 32], over=task)
}
