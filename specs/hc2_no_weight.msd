# HC² ablation "w/o weight" (Table 4): hc2_shared_bottom.msd without the reciprocal similarity weights (Eq. 7).
spec hc2_no_weight extends "quickstart.msd"

objective {
  loss += 0.1 * generalized_contrastive(h, ctr,
    fine        = kmeans(clusters=16, refresh=50),
    memory_bank = 4096,
    noise       = diffusion(steps=1000),
    temperature = 0.2,
    anchors     = 512)
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
