"""Reject cycles: a node may only read nodes defined without reference back to it.

    graph { a = mlp(b, units=[8])  b = mlp(a, units=[8]) }
    error[E0208]: the graph has a cycle: b → a → b

The cycle is named by the statements the user wrote (a nested call counts as its statement) and starts at the
reference that comes first in the file, so the report does not depend on hash order.
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
        # A copy in declaration order, so that the cycle found does not depend on set order (hash seeds).
        sub = nx.DiGraph()
        sub.add_nodes_from(n for n in g if n in component)
        sub.add_edges_from((u, v) for u, v in g.edges if u in component and v in component)
        cycle = nx.find_cycle(sub)
        # Name nodes as the user wrote them: a nested call's anonymous node counts as its statement's node.
        edges = [(ir.owner(u), ir.owner(v), g.edges[u, v]["span"]) for u, v in cycle]
        edges = [e for e in edges if e[0] != e[1]] or edges[:1]
        first = min(range(len(edges)), key=lambda i: edges[i][2].start)  # start where the file does
        edges = edges[first:] + edges[:first]
        names = [u for u, _, _ in edges] + [edges[0][0]]
        (u0, v0, first), *rest = edges
        report.error("E0208", f"the graph has a cycle: {' → '.join(names)}", first, f"`{v0}` reads `{u0}`",
                     "a node can only read nodes that do not depend on it",
                     labels=[Label(s, f"`{v}` reads `{u}`") for u, v, s in rest])
