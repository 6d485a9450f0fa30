# MARIA (Tian et al. 2023): scenario-aware feature learning under a scenario-gated MoE and coupled towers.
# Fields (Eq. 2, 7): behaviour (a Transformer over the clicked items, pooled by attention to the target item,
# which plays the trigger in recommendation), user, item and context. Then feature scaling (FS, Eq. 8–10),
# feature refinement with a Gumbel-softmax refiner selector (FR + GS, Eq. 11–13; two refiners for the user field
# as in §4.1), feature correlation (FCM, Eq. 14–15), the network layer (NL, Eq. 16–17) and a per-scenario tower
# coupled with a shared tower (ST, Eq. 18–22). The ablations of Table 3 are specs/maria_no_*.msd.
spec maria extends "maria_backbone.msd"

features {
  hist = sequence(column="hist_items", vocab=item_id, dim=16, max_len=20, pool=none, field=behavior)
}

graph {
  x      = concat(qr, qc)                                                   # Eq. 15: Q_f = [Q_R ‖ Q_C]
  h      = scenario_moe(x, scenario=se, experts=4, units=[64])              # NL, Eq. 16–17
  se     = scenario_embed(dim=8)
  u      = embed(all, field=user)
  xi     = embed(all, field=item)
  c      = embed(all, field=context)
  hb     = trigger_attention(seq_encoder(hist, layers=1, heads=2), trigger=xi)   # Eq. 3–6
  q      = fields(hb, u, xi, c)                                             # Eq. 7
  qs     = feature_scaling(q, user=user_id, item=item_id, scenario=se, units=[32], lam=2.0)   # FS
  qr     = feature_refine(qs, scenario=se, refiners=[1, 2, 1, 1], ratio=0.5, temperature=0.01)   # FR, GS
  qc     = field_correlation(qs, dim=10)                                    # FCM
  shared = mlp(h, units=[32, 16])                                           # ST, Eq. 20
  hf     = couple(tower, shared, scenario=se)                               # Eq. 18, 21
  out    = per task: head(hf)                                               # Eq. 22
}

objective {
  # Eq. 23 with γ scaled to a mean (not summed) cross-entropy
  loss += 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qs, qr, qc, h,
                    tower, shared, out)
}
