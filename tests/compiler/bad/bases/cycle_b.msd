spec cycle_b extends "cycle_a.msd"
