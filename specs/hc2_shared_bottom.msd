# HC² (Hybrid Contrastive Constrained, seed 000) on SharedBottom with per-scenario towers (the paper's backbone):
# the generalized contrastive loss on the shared bottom `h` and the individual one on the towers (Eq. 10).
# `anchors = 512`: a random quarter of each 2048-row batch are anchors (candidates stay every row and the bank),
# an unbiased estimate of Eq. 4 / Eq. 9 at about 1/8 of the cost of all 2048 (compiler/lower/hc2.py).
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
    temperature = 0.2,
    anchors     = 512)
  loss += 0.05 * individual_contrastive(tower,
    dropout     = 0.1,
    negatives   = [other_scenarios, cross_scenario],
    temperature = 0.2,
    anchors     = 512)
}
