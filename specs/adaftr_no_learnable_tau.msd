# AdaFTR ablation "w/o learnable τ" (Table 5): τ fixed to 0.05, no relatedness network.
spec adaftr_no_learnable_tau extends "mmoe.msd"

graph {
  tau = temperature(0.05)
}

objective {
  loss += 0.01 * task_contrast(tower, tau, layer=1)
}
