spec cycle_a extends "cycle_b.msd"
