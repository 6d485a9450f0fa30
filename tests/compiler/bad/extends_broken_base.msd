# expect: E0001 at bases/broken.msd:4:13
spec bad extends "bases/broken.msd"

train { batch = 512 }
