# AdaFTR (Lin et al. 2023) on MMoE: the towers' first layers are aligned by inter-task contrast (Eq. 13) whose
# per-row temperature comes from a relatedness network trained on y_rel = 1[y_ctr = y_cvr] (Eq. 8–12).
spec adaftr_mmoe extends "mmoe.msd"

graph {
  rel = relatedness(h, units=[32])
  tau = adaptive_temperature(rel, lower=0.05, upper=1.0)
}

objective {
  loss += 1.0 * relatedness_bce(rel) + 0.01 * task_contrast(tower, tau, layer=1)
}
