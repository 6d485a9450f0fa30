# AdaFTR ablation "w/o negative" (Table 5): the single-negative loss L_scl (Eq. 7, BPR form, no temperature).
spec adaftr_no_negative extends "mmoe.msd"

objective {
  loss += 0.01 * task_contrast(tower, layer=1, negatives=single)
}
