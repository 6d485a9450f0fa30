# MMoE (Ma et al. 2018): the shared bottom becomes shared experts mixed by one gate per task.
spec mmoe extends "shared_bottom.msd"

graph {
  h = moe(x, experts=4, units=[64, 32], over=task)
}
