# OptMSM (Tang et al.) on the STAR backbone (transfer = STAR's FCN, Eq. 8): the full method.
# Compare with star.msd (same data, same FCN, same auxiliary network). Ablations (Table 5) extend this file:
# optmsm_no_priors.msd, optmsm_no_constraint.msd, optmsm_no_hypernet.msd.
spec optmsm_fcn extends "star.msd"

features {
  # the scenario priors (Eq. 4): context features whose effect differs by scenario get one table per scenario
  hour   = categorical(dim=4, partition=specific, field=context)
  device = categorical(dim=4, partition=specific, field=context)
}

graph {
  x     = embed(all, partition=shared)                                  # e_c (Eq. 4)
  prior = embed(all, partition=specific)                                # e^m (Eq. 4)
  gated = se_gate(x)                                                    # e_c^m (Eq. 5)
  h     = star(pn(gated), units=[128, 64, 32])                          # r^m (Eq. 8)
  tower = per scenario: hyper_mlp(concat(h, prior), units=[32], hidden=32)  # Eq. 10–12
  out   = per task: head(tower, offset=aux)                             # Eq. 13
}

objective {
  loss += 0.1 * orthogonal(h)                                           # Eq. 14 with Eq. 9
}
