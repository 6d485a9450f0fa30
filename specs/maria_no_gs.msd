# MARIA w/o GS (Table 3): the refiner selector keeps β = sigmoid(FCN([f̂ ‖ e_s])), without the Gumbel softmax.
spec maria_no_gs extends "maria.msd"

graph {
  qr = feature_refine(qs, scenario=se, refiners=[1, 2, 1, 1], ratio=0.5, temperature=0.01, selector=sigmoid)
}
