# AdaFTR ablation "w/o adaptive τ" (Table 5): one learnable τ for every row, no relatedness network.
spec adaftr_no_adaptive_tau extends "mmoe.msd"

graph {
  tau = temperature(1.0, learnable=true)
}

objective {
  loss += 0.01 * task_contrast(tower, tau, layer=1)
}
