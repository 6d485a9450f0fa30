# MARIA w/o NL (Table 3): no network layer; both towers read Q_f directly.
spec maria_no_nl extends "maria.msd"

graph {
  h      = none
  tower  = per scenario: mlp(x, units=[32, 16])
  shared = mlp(x, units=[32, 16])
}

objective {
  loss = bce(ctr) + 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qs, qr, qc,
                              tower, shared, out)
}
