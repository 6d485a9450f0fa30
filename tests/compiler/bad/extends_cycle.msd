# expect: E0003 at bases/cycle_b.msd:1:22
spec bad extends "bases/cycle_a.msd"
