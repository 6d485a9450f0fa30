"""Resolve every name a node, task, objective or setting refers to, and add the IR's edges.

    graph { h = mlp(prce, units=[8]) }
    error[E0204]: unknown name `prce` in graph node `h`   (help: did you mean `price`?)

`embed(all, field=user)` expands `all` to the matching features. An edge u → v records that v reads u, with the
span of the reference (`span`) and the parameter it fills (`param`).
"""

from __future__ import annotations

from compiler.blocks import BLOCKS
from compiler.catalog import OBJECTIVES
from compiler.diagnostics import Reporter, did_you_mean
from compiler.ir import IR
from compiler.schema import Ref

WHAT = {"feature": "a feature", "block": "a graph node", "task": "a task", "objective": "an objective term"}


class _Resolver:
    def __init__(self, ir: IR, report: Reporter):
        self.ir, self.report, self.g = ir, report, ir.graph

    def ref(self, ref: Ref | None, user: str, ops: tuple[str, ...], param: str, where: str) -> str | None:
        """Check that `ref` names a node of one of `ops`, and add the edge ref → user (when user is a node)."""
        if ref is None:
            return None
        data = self.g.nodes.get(ref.name)
        if data is None or data["op"] not in ops:
            kinds = " or ".join(WHAT[o] for o in ops)
            candidates = [n for n, d in self.g.nodes(data=True) if d["op"] in ops and d.get("owner", n) == n]
            if data is not None:
                message = f"`{ref.name}` in {where} is {WHAT[data['op']]}, not {kinds}"
                label = f"expected {kinds}"
            else:
                message = f"unknown name `{ref.name}` in {where}"
                label = "not declared in " + " or ".join(f"`{s}`" for s in _sections(ops))
            listing = ", ".join(candidates[:12]) + (", …" if len(candidates) > 12 else "")
            hint = did_you_mean(ref.name, candidates) or (f"declared: {listing}" if candidates else "")
            self.report.error("E0204", message, ref.span, label, hint)
            return None
        if user is not None:
            self.g.add_edge(ref.name, user, span=ref.span, param=param)
        return ref.name

    def scenario(self, ref: Ref, where: str) -> None:
        names = [s["name"] for s in self.ir.scenarios]
        if ref.name not in names:
            self.report.error("E0206", f"unknown scenario `{ref.name}` in {where}", ref.span, "not a scenario",
                              did_you_mean(ref.name, names) or f"scenarios: {', '.join(names)}")

    def run(self) -> None:
        g = self.g
        for name, data in list(g.nodes(data=True)):
            params = data.get("params")
            if params is None:
                continue
            op, where = data["op"], f"{WHAT[data['op']].split(' ', 1)[1]} `{self.ir.owner(name)}`"
            if op == "block":
                self.block(name, data, params, where)
            elif op == "task":
                self.ref(params.get("within"), name, ("task",), "within", where)
                for ref in params.get("tasks") or ():
                    self.ref(ref, name, ("task",), "tasks", where)
            elif op == "feature" and params.get("vocab") is not None:
                if self.ref(params["vocab"], None, ("feature",), "vocab", where):
                    vocab = g.nodes[params["vocab"].name]
                    if vocab["kind"] != "categorical":
                        self.report.error("E0205", f"`vocab` of `{name}` must name a categorical feature",
                                          params["vocab"].span, f"`{params['vocab'].name}` is {vocab['kind']}",
                                          "`vocab` shares the id table of a `categorical(…)` feature, e.g. "
                                          "`hist = sequence(vocab=item_id)`")
                    elif "params" in vocab:
                        for key in ("dim", "partition"):
                            if vocab["params"][key] != params[key]:
                                self.report.error(
                                    "E0205", f"`{name}` shares the table of `{params['vocab'].name}` but not its "
                                    f"`{key}`", data["spans"].get(key, params["vocab"].span),
                                    f"{key} {params[key]} here, {vocab['params'][key]} there",
                                    f"give `{name}` the same `{key}` as `{params['vocab'].name}`")
            elif op == "objective":
                entry = OBJECTIVES.entries[data["kind"]]
                for param, role in entry.meta["roles"].items():
                    ops = ("task",) if role == "task" else ("block", "feature")
                    refs = params[param] if isinstance(params[param], list) else [params[param]]
                    for ref in refs:
                        self.ref(ref, name, ops, param, f"objective `{data['objective']}`")
        self.settings()

    def block(self, name: str, data: dict, params: dict, where: str) -> None:
        meta = BLOCKS.entries[data["kind"]].meta
        data["inputs"] = []  # resolved names in argument order (a name may repeat)
        for param in meta["inputs"]:
            value = params.get(param)
            refs = value if isinstance(value, list) else [value]
            if data["kind"] == "embed":
                refs = self.expand_all(name, refs, params)
            for ref in refs:
                ops = ("feature",) if data["kind"] == "embed" else ("feature", "block")
                if self.ref(ref, name, ops, param, where):
                    data["inputs"].append(ref.name)
        if data["kind"] == "head":
            task = params.get("task")
            if task is not None and self.ref(task, None, ("task",), "task", where):
                if self.g.nodes[task.name]["kind"] != "binary":
                    self.report.error("E0205", f"task `{task.name}` is composed from other tasks", task.span,
                                      "has no head of its own", "give heads to the tasks it multiplies")
            for ref in params.get("scenarios") or ():
                self.scenario(ref, where)

    def expand_all(self, name: str, refs: list, params: dict) -> list:
        out = []
        for ref in refs:
            if ref is None or ref.name != "all":
                out.append(ref)
                continue
            chosen = [f for f in self.ir.features if "params" in self.g.nodes[f]
                      and params["field"] in ("any", self.g.nodes[f]["params"]["field"])
                      and params["partition"] in ("any", self.g.nodes[f]["params"]["partition"])
                      and not (self.g.nodes[f]["kind"] == "sequence" and self.g.nodes[f]["params"]["pool"] == "none")]
            unbound = any("params" not in self.g.nodes[f] for f in self.ir.features)  # already reported
            if not chosen and not unbound:
                self.report.error("E0207", f"`all` selects no feature in node `{self.ir.owner(name)}`", ref.span,
                                  "nothing matches",
                                  "check the `field` and `partition` filters")
            out += [Ref(f, ref.span) for f in chosen]
        return out

    def settings(self) -> None:
        train = self.ir.settings.get("train", {})
        objectives = self.ir.objectives
        for holder, where in [(train, "`train`"), *[(s, f"stage `{s['name']}`") for s in self.ir.stages]]:
            ref = holder.get("objective")
            if ref is not None and ref.name not in objectives:
                hint = did_you_mean(ref.name, objectives) or f"objectives: {', '.join(objectives) or 'none'}"
                self.report.error("E0204", f"unknown objective `{ref.name}` in {where}", ref.span,
                                  "not declared in `objective`", hint)
            stop = holder.get("early_stop")
            if stop is not None and stop.params.get("task") is not None:
                self.ref(stop.params["task"], None, ("task",), "task", where)
            for ref in holder.get("freeze") or ():
                self.ref(ref, None, ("block", "feature"), "freeze", where)
        for group in self.ir.groups:
            for ref in group.get("nodes") or ():
                self.ref(ref, None, ("block", "feature"), "nodes", f"group `{group['name']}`")


def _sections(ops):
    return [{"feature": "features", "block": "graph", "task": "tasks", "objective": "objective"}[o] for o in ops]


def run(ir: IR, report: Reporter) -> None:
    _Resolver(ir, report).run()
