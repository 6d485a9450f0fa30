# expect: E0001 at 2:1
data { source = synthetic() }
