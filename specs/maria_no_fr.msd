# MARIA w/o FR (Table 3): no feature refinement; Q_f = [Q_S ‖ Q_C].
spec maria_no_fr extends "maria.msd"

graph {
  qr = none
  x  = concat(qs, qc)
}

objective {
  loss = bce(ctr) + 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qs, qc, h,
                            tower, shared, out)
}
