# HC² on STAR: the star FCN generates scenario-specific weights, so (HC² §3.4.2) the generalized loss reads the
# shared feature embeddings `x`; the individual loss reads the star FCN's output `h` (per-scenario weights).
spec hc2_star extends "star.msd"

graph {
  context = embed(all, field=context)
}

objective {
  loss += 0.1 * generalized_contrastive(x, ctr,
    fine        = kmeans(clusters=16, refresh=50),
    memory_bank = 4096,
    noise       = diffusion(steps=1000),
    weights     = context,
    temperature = 0.2,
    anchors     = 512)
  loss += 0.05 * individual_contrastive(h,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
