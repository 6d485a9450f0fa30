"""The text `msdsl compile` prints: nodes and parameters, split into shared / per-scenario / per-task."""

from __future__ import annotations


def _n(count: int) -> str:
    return f"{count:,}"


def summary(program) -> str:
    ir = program.ir
    counts = program.param_counts()
    g = ir.graph
    rows = [("node", "block", "output", "shared", "per scenario", "per task")]
    for name in list(ir.features) + list(ir.blocks):
        data = g.nodes[name]
        c = counts.get(name, {"shared": 0, "scenario": 0, "task": 0})
        kind = data["kind"] if data["op"] == "feature" else (
            f"per {data['replicate']}: {data['kind']}" if data["replicate"] else data["kind"])
        rows.append((name, kind, str(data.get("type", "")), _n(c["shared"]), _n(c["scenario"]), _n(c["task"])))
    total = {r: sum(c[r] for c in counts.values()) for r in ("shared", "scenario", "task")}
    rows.append(("total", "", "", _n(total["shared"]), _n(total["scenario"]), _n(total["task"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"spec {ir.name}: {len(ir.scenarios)} scenarios ({', '.join(s['name'] for s in ir.scenarios)}), "
             f"tasks {', '.join(ir.tasks)}, {len(ir.blocks)} nodes, {_n(sum(total.values()))} parameters"]
    for i, row in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
    objectives = [f"{name} = " + " + ".join(f"{g.nodes[t]['weight']:g}·{g.nodes[t]['kind']}" for t in terms)
                  for name, terms in ir.objectives.items()]
    lines.append("objectives: " + "; ".join(objectives))
    lines.append("(embedding tables sized with 100 rows each until data fits the vocabularies)")
    return "\n".join(lines)
