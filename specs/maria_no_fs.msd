# MARIA w/o FS (Table 3): no feature scaling; refinement and correlation read Q itself.
spec maria_no_fs extends "maria.msd"

graph {
  qs = none
  qr = feature_refine(q, scenario=se, refiners=[1, 2, 1, 1], ratio=0.5, temperature=0.01)
  qc = field_correlation(q, dim=10)
}

objective {
  loss = bce(ctr) + 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qr, qc, h,
                            tower, shared, out)
}
