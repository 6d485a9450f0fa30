# Table 5 "w/o constraint": no orthogonality term (Eq. 14 with λ = 0); the loss is the default BCE.
spec optmsm_no_constraint extends "optmsm_fcn.msd"

objective {
  loss = none
}
