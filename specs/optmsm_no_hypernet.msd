# Table 5 "w/o hypernetwork": the scenario-specific predictor is a plain per-scenario MLP on R_0 = r^m ⊕ e^m.
spec optmsm_no_hypernet extends "optmsm_fcn.msd"

graph {
  tower = per scenario: mlp(concat(h, prior), units=[32])
}
