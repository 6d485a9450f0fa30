"""Every task must reach an output for every scenario, exactly once; unused nodes are reported as warnings.

A `binary` task is predicted by heads: a `per task:` head covers every base task; `head(x, task=t)` covers t;
`scenarios=[…]` restricts a head to some scenarios. Each (scenario, task) pair needs exactly one head.

    tasks { ctr = binary(label="click")  cvr = binary(label="purchase") }   graph { y = head(h, task=ctr) }
    error[E0501]: task `cvr` has no head
"""

from __future__ import annotations

import networkx as nx

from compiler.diagnostics import Diagnostic, Label, Reporter
from compiler.ir import IR


def heads_by_task(ir: IR) -> dict[str, list[str]]:
    """Base task → the head nodes predicting it."""
    g, out = ir.graph, {t: [] for t in ir.base_tasks}
    for name in ir.blocks:
        data = g.nodes[name]
        if data["kind"] != "head" or "params" not in data:
            continue
        task = data["params"]["task"]
        if data["replicate"] == "task":  # with or without a (wrong, reported) `task=`: every task
            for t in out:
                out[t].append(name)
        elif task is not None and task.name in out:
            out[task.name].append(name)
    return out


def run(ir: IR, report: Reporter) -> None:
    g = ir.graph
    scenario_names = [s["name"] for s in ir.scenarios]
    for name in ir.blocks:
        data = g.nodes[name]
        if data["kind"] == "head" and "params" in data:
            if data["replicate"] == "task" and data["params"]["task"] is not None:
                report.error("E0504", "a `per task:` head predicts every task", data["spans"]["task"],
                             "remove `task=`", "or drop `per task:` to predict only this task")
            if data["replicate"] != "task" and data["params"]["task"] is None:
                report.error("E0504", f"head `{name}` does not say which task it predicts", data["name_span"],
                             "no `task=`", "write `head(x, task=ctr)`, or `per task: head(x)` for every task")
    for task, heads in heads_by_task(ir).items():
        task_span = g.nodes[task]["name_span"]
        if not heads:
            report.error("E0501", f"task `{task}` has no head", task_span, "never predicted",
                         f"add e.g. `out = per task: head(h)` or `{task}_out = head(h, task={task})` to `graph`")
            continue
        covered: dict[str, str] = {}
        for head in heads:
            chosen = g.nodes[head]["params"]["scenarios"]
            clashes: dict[str, list[str]] = {}  # earlier head → the scenarios this head also predicts
            listed: set[str] = set()
            for ref in chosen or ():
                if ref.name in listed:
                    report.error("E0502", f"head `{head}` lists scenario `{ref.name}` twice", ref.span,
                                 "listed again", "list each scenario once")
                listed.add(ref.name)
            for scenario in dict.fromkeys(r.name for r in chosen) if chosen else scenario_names:
                if scenario in covered:
                    clashes.setdefault(covered[scenario], []).append(scenario)
                else:
                    covered[scenario] = head
            for other, scenarios in clashes.items():
                names = ", ".join(f"`{s}`" for s in scenarios)
                report.error("E0502", f"task `{task}` has two heads for scenario{'s' * (len(scenarios) > 1)} {names}",
                             g.nodes[head]["name_span"], f"also predicted by `{other}`",
                             "restrict the heads with disjoint `scenarios=[…]`",
                             labels=[Label(g.nodes[other]["name_span"], "first head")])
        missing = [s for s in scenario_names if s not in covered]
        if missing:
            report.error("E0503", f"task `{task}` has no head for scenario{'s' * (len(missing) > 1)} "
                         + ", ".join(f"`{s}`" for s in missing), task_span, "not predicted everywhere",
                         "add a head for these scenarios or widen a head's `scenarios=[…]`")
    outputs = {n for n in ir.blocks if g.nodes[n]["kind"] == "head"} | set(ir.nodes("objective"))
    needed = set().union(*(nx.ancestors(g, o) | {o} for o in outputs)) if outputs else set()
    for name in ir.blocks + ir.features:
        if name not in needed and ir.owner(name) == name:  # a nested call is reported with its statement
            ir.warnings.append(Diagnostic("W0001", f"`{name}` is never used", g.nodes[name]["name_span"],
                                          "no head or objective reads it",
                                          help="remove it, or read it", severity="warning"))
    ir.warnings.sort(key=Diagnostic.sort_key)
