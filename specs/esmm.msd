# ESMM (Ma et al. 2018): CTCVR = CTR × CVR over the entire space; CVR is learned only through CTCVR.
spec esmm extends "shared_bottom.msd"

tasks {
  ctcvr = product(ctr, cvr)
}

objective {
  loss = bce(ctr) + bce(ctcvr)
}
