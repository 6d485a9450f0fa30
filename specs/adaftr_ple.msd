# AdaFTR (Lin et al. 2023) on PLE (Table 6): v_ctr, v_cvr are PLE's per-task outputs (Eq. 3).
spec adaftr_ple extends "ple.msd"

graph {
  rel = relatedness(h, units=[32])
  tau = adaptive_temperature(rel, lower=0.05, upper=1.0)
}

objective {
  loss += 1.0 * relatedness_bce(rel) + 0.01 * task_contrast(tower, tau, layer=1)
}
