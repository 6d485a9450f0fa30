# MARIA w/o FCM (Table 3): no feature correlation; Q_f = Q_R.
spec maria_no_fcm extends "maria.msd"

graph {
  qc = none
  x  = concat(qr)
}

objective {
  loss = bce(ctr) + 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qs, qr, h,
                            tower, shared, out)
}
