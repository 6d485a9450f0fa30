# MARIA w/o ST (Table 3): no shared tower; the head reads the scenario's tower alone (Eq. 18 with α_s h_sh = 0).
spec maria_no_st extends "maria.msd"

graph {
  shared = none
  hf     = none
  out    = per task: head(tower)
}

objective {
  loss = bce(ctr) + 1e-6 * l2(user_id, item_id, item_category, hour, device, se, hb, hb__seq_encoder, qs, qr, qc,
                            h, tower, out)
}
