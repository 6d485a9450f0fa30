"""A `specific` feature (one embedding table per scenario) may only reach blocks that are per scenario.

It may pass through structural blocks (embed, concat, sum, product); the first block with parameters that reads
it must be replicated `per scenario:` or hold per-scenario parameters itself (STAR, PN, …).

    features { shop = categorical(partition=specific) }   graph { h = mlp(embed(shop), units=[8]) }
    error[E0310]: specific feature `shop` reaches the shared block `h`
"""

from __future__ import annotations

from compiler.blocks import is_scenario_aware
from compiler.diagnostics import Reporter
from compiler.ir import IR

STRUCTURAL = {"embed", "concat", "sum", "product"}


def per_scenario(data: dict) -> bool:
    return data.get("replicate") == "scenario" or is_scenario_aware(data["kind"], data.get("params", {}))


def run(ir: IR, report: Reporter) -> None:
    g = ir.graph
    for feature in ir.features:
        if g.nodes[feature].get("params", {}).get("partition") != "specific":
            continue
        frontier, seen = [feature], set()
        while frontier:
            node = frontier.pop()
            for user in g.successors(node):
                data = g.nodes[user]
                if data["op"] != "block" or user in seen:
                    continue
                seen.add(user)
                if data["kind"] in STRUCTURAL:
                    frontier.append(user)
                elif not per_scenario(data):
                    owner = ir.owner(user)
                    fix = (f"make `{user}` per scenario (`{user} = per scenario: {data['kind']}(…)`)" if owner == user
                           else f"give the nested `{data['kind']}(…)` in `{owner}` its own name and make it "
                           "`per scenario:`")
                    report.error(
                        "E0310", f"specific feature `{feature}` reaches the shared block `{owner}`",
                        g.edges[node, user]["span"], f"read by `{data['kind']}(…)`, which is shared across scenarios",
                        f"{fix}, or declare `{feature}` with `partition=shared`",
                    )
