# HC² ablation "w/o noise" (Table 4): hc2_shared_bottom.msd without the diffusion-noise negatives (Eq. 5–6).
spec hc2_no_noise extends "quickstart.msd"

graph {
  context = embed(all, field=context)
}

objective {
  loss += 0.1 * generalized_contrastive(h, ctr,
    fine        = kmeans(clusters=16, refresh=50),
    memory_bank = 4096,
    weights     = context,
    temperature = 0.2,
    anchors     = 512)
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
