# HC² (Hybrid Contrastive Constrained, seed 000) on SharedBottom with per-scenario towers (the paper's backbone):
# the generalized contrastive loss on the shared bottom `h` and the individual one on the towers (Eq. 10).
spec hc2_shared_bottom extends "quickstart.msd"

graph {
  context = embed(all, field=context)
}

objective {
  loss += 0.1 * generalized_contrastive(h, ctr,
    fine        = kmeans(clusters=16, refresh=50),
    memory_bank = 4096,
    noise       = diffusion(steps=1000),
    weights     = context,
    temperature = 0.2)
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2)
}
