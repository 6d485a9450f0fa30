# expect: E0001 at 4:23
spec bad
graph {
	h =	mlp(x,	units=[8] dropout=0.1)
}
