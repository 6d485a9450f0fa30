# HC² on MMoE with per-scenario towers: the generalized loss on the experts' mixtures `h` (shared across
# scenarios, one slice per task), the individual loss on the per-scenario towers.
spec hc2_mmoe extends "mmoe_towers.msd"

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
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
