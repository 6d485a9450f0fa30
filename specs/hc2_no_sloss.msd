# HC² ablation "w/o s-loss" (Table 4): hc2_shared_bottom.msd without the individual contrastive loss (Eq. 9).
spec hc2_no_sloss extends "quickstart.msd"

graph {
  context = embed(all, field=context)
}

objective {
  loss += 0.1 * generalized_contrastive(h, ctr,
    fine        = kmeans(clusters=16, refresh=50),
    memory_bank = 4096,
    noise       = diffusion(steps=1000),
    weights     = context,
    temperature = 0.2,
    anchors     = 512)
}
