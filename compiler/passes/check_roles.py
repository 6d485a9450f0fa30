"""Each objective argument must name a node that plays the role the objective needs.

Roles (declared by each objective's `roles=` in the catalogue):
- `task`: a task;  `params`: a node or feature with parameters;
- `shared`: a node whose value does not depend on the scenario (HC²'s generalized loss);
- `scenario`: a node whose value depends on the scenario, so it can be evaluated under every scenario
  (OptMSM's orthogonality);
- `per_scenario`: a block that holds per-scenario parameters, so it can be applied with another scenario's
  parameters (HC²'s individual loss and cross-scenario encoding);
- `node`: any graph node or feature.
An optional argument left out (`None`) plays no role. An objective registered with `check=fn` then runs
`fn(ir, term, report)` for what roles cannot say (AdaFTR: which layer of which tower).

    objective { loss = bce(ctr) + 0.1 * l2(x) }      # x = concat(a, b)
    error[E0320]: `l2` reads `x` as `nodes`, which must be a node with parameters
"""

from __future__ import annotations

from compiler.catalog import OBJECTIVES
from compiler.diagnostics import Reporter
from compiler.ir import IR
from compiler.passes.check_partitions import STRUCTURAL, per_scenario


def _has_params(data: dict) -> bool:
    if data["op"] == "feature":
        p = data["params"]
        return data["kind"] != "numeric" or p["buckets"] > 0
    return data["kind"] not in STRUCTURAL


ROLES = {
    "task": (lambda d: d["op"] == "task", "a task"),
    "params": (_has_params, "a node with parameters"),
    "shared": (lambda d: "type" in d and not d["type"].scenario, "a node shared across scenarios"),
    "scenario": (lambda d: "type" in d and d["type"].scenario, "a node that depends on the scenario"),
    "per_scenario": (lambda d: d["op"] == "block" and per_scenario(d), "a per-scenario block"),
    "node": (lambda d: d["op"] in ("block", "feature"), "a graph node"),
}


def run(ir: IR, report: Reporter) -> None:
    g = ir.graph
    for term in ir.nodes("objective"):
        data = g.nodes[term]
        if "params" not in data:
            continue
        entry = OBJECTIVES.entries[data["kind"]]
        failed = len(report.diagnostics)
        for param, role in entry.meta["roles"].items():
            check, needs = ROLES[role]
            refs = data["params"][param] if isinstance(data["params"][param], list) else [data["params"][param]]
            for ref in filter(None, refs):
                target = g.nodes.get(ref.name)
                if target is not None and target.get("params") is not None and not check(target):
                    report.error("E0320", f"`{data['kind']}` reads `{ref.name}` as `{param}`, which must be {needs}",
                                 ref.span, f"`{ref.name}` is a `{target['kind']}`", _hint(role, ref.name))
        if entry.meta.get("check") is not None and len(report.diagnostics) == failed:
            entry.meta["check"](ir, term, report)


def _hint(role: str, name: str) -> str:
    return {
        "params": "name a block with weights (mlp, linear, …) or an embedded feature",
        "shared": f"read a node computed before any per-scenario block, or make `{name}` shared",
        "scenario": f"read a node that depends on the scenario, e.g. `{name} = per scenario: mlp(…)`",
        "per_scenario": f"replicate it: `{name} = per scenario: …`",
        "task": "name a task from `tasks`",
        "node": "name a node from `graph`",
    }[role]
