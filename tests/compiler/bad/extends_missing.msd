# expect: E0002 at 2:18
spec bad extends "bases/nowhere.msd"
