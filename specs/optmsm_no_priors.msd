# Table 5 "w/o priors": no feature partition. The scenario-specific features become shared ones (they go through
# the gate and the transfer with the others) and the predictor reads r^m alone (Eq. 10 without e^m).
spec optmsm_no_priors extends "optmsm_fcn.msd"

features {
  hour   = categorical(dim=4, field=context)
  device = categorical(dim=4, field=context)
}

graph {
  prior = none
  tower = per scenario: hyper_mlp(h, units=[32], hidden=32)
}
