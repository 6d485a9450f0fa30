# expect: E0001 at 2:18
spec bad extends base.msd
