# SharedBottom (Caruana 1997): a shared bottom MLP and one tower per task; CVR is learned on clicked rows.
spec shared_bottom extends "quickstart.msd"

tasks {
  cvr = binary(label="purchase", within=ctr)
}

graph {
  h     = mlp(x, units=[128, 64])
  tower = per task: mlp(h, units=[32, 16])
}
