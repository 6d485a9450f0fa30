# HC² ablation "w/o g-loss" (Table 4): hc2_shared_bottom.msd without the generalized contrastive loss (Eq. 4).
spec hc2_no_gloss extends "quickstart.msd"

objective {
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
