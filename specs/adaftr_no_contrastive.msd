# AdaFTR ablation "w/o contrastive" (Table 5): the towers are aligned by the MSE regularization L_reg (Eq. 5).
spec adaftr_no_contrastive extends "mmoe.msd"

objective {
  loss += 0.01 * task_align(tower, layer=1, distance=mse)
}
