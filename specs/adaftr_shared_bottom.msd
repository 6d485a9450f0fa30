# AdaFTR (Lin et al. 2023) on SharedBottom (Table 6): with one shared bottom, v_ctr = v_cvr = h in Eq. 8.
spec adaftr_shared_bottom extends "shared_bottom.msd"

graph {
  rel = relatedness(h, units=[32])
  tau = adaptive_temperature(rel, lower=0.05, upper=1.0)
}

objective {
  loss += 1.0 * relatedness_bce(rel) + 0.01 * task_contrast(tower, tau, layer=1)
}
