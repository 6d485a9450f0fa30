# expect: E0003 at 2:18
spec bad extends "extends_self.msd"
