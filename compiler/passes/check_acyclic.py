"""Reject cycles: a node may only read nodes defined without reference back to it.

    graph { a = mlp(b, units=[8])  b = mlp(a, units=[8]) }
    error[E0208]: the graph has a cycle: a → b → a
"""

from __future__ import annotations

import networkx as nx

from compiler.diagnostics import Label, Reporter
from compiler.ir import IR


def run(ir: IR, report: Reporter) -> None:
    g = ir.graph
    for component in nx.strongly_connected_components(g):
        if len(component) == 1 and not g.has_edge(*(next(iter(component)),) * 2):
            continue
        cycle = nx.find_cycle(g.subgraph(component))
        path = " → ".join([u for u, _ in cycle] + [cycle[0][0]])
        first, *rest = [g.edges[u, v]["span"] for u, v in cycle]
        report.error("E0208", f"the graph has a cycle: {path}", first, f"`{cycle[0][1]}` reads `{cycle[0][0]}`",
                     "a node can only read nodes that do not depend on it",
                     labels=[Label(s, f"`{v}` reads `{u}`") for (u, v), s in zip(cycle[1:], rest)])
