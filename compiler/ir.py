"""The IR: a `networkx.DiGraph` of features, blocks, tasks and objective terms, plus the spec's settings.

`build(spec)` lays out the merged AST without judging it: nested calls in the graph become anonymous nodes
(`h__concat`), objective expressions become weighted terms. The passes in `compiler/passes/` then bind,
resolve, type and check it, writing their results onto the nodes:

- every node: `op` (feature | block | task | objective), `span`, `params` (after `bind_params`);
- blocks: `kind`, `call`, `replicate` (None | scenario | task), `owner` (the statement a nested call came from),
  `type` (a `VType`, after `infer_shapes`);
- edges u → v: `span` of the reference in v, `param` it fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from compiler import ast
from compiler.catalog import SECTIONS
from compiler.diagnostics import Diagnostic, Label, Reporter, Span, did_you_mean


@dataclass
class Term:
    """One weighted term of an objective: `weight * call`."""

    weight: float
    call: ast.Call
    span: Span


@dataclass
class IR:
    name: str
    span: Span
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    sections: dict[str, ast.Block] = field(default_factory=dict)
    scenarios: list[dict] = field(default_factory=list)  # name, value, weight, group, span (after bind_params)
    settings: dict[str, dict] = field(default_factory=dict)  # data / train / evaluate (after bind_params)
    stages: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    objectives: dict[str, list[str]] = field(default_factory=dict)  # objective name → its term nodes
    warnings: list[Diagnostic] = field(default_factory=list)

    def nodes(self, op: str) -> list[str]:
        return [n for n, d in self.graph.nodes(data=True) if d["op"] == op]

    @property
    def features(self) -> list[str]:
        return self.nodes("feature")

    @property
    def tasks(self) -> list[str]:
        return self.nodes("task")

    @property
    def base_tasks(self) -> list[str]:
        """Tasks predicted by a head (not composed from others), in declaration order: the task axis."""
        return [t for t in self.tasks if self.graph.nodes[t]["kind"] == "binary"]

    @property
    def blocks(self) -> list[str]:
        return self.nodes("block")

    def owner(self, node: str) -> str:
        """The name the user wrote for `node`: a nested call's anonymous node (`h__concat`) belongs to `h`."""
        return self.graph.nodes[node].get("owner", node)


def _terms(expr: ast.Expr, report: Reporter, sign: float = 1.0) -> list[Term]:
    """Flatten `a * f(x) + g(y) - 0.1 * h(z)` into weighted terms."""
    if isinstance(expr, ast.BinOp) and expr.op in "+-":
        return _terms(expr.left, report, sign) + _terms(expr.right, report, sign if expr.op == "+" else -sign)
    if isinstance(expr, ast.Neg):
        return _terms(expr.operand, report, -sign)
    if isinstance(expr, ast.Call):
        return [Term(sign, expr, expr.span)]
    if isinstance(expr, ast.BinOp) and expr.op in "*/":
        weight, call = ast.literal(expr.left), expr.right
        if expr.op == "*" and isinstance(expr.left, ast.Call):
            weight, call = ast.literal(expr.right), expr.left
        elif expr.op == "/":
            weight, call = ast.literal(expr.right), expr.left
            weight = 1.0 / weight if isinstance(weight, (int, float)) and weight != 0 else None
        if isinstance(weight, (int, float)) and isinstance(call, ast.Call):
            return [Term(sign * weight, call, expr.span)]
    report.error("E0401", "an objective is a sum of weighted terms", expr.span, "not a term like `0.1 * l2(h)`",
                 "write e.g. `loss = bce(ctr) + 0.1 * l2(h)`")
    return []


RESERVED = {"scenario": "the row's scenario index", "weight": "the row weight"}


class _Builder:
    def __init__(self, spec: ast.Spec, report: Reporter):
        self.ir = IR(spec.name, spec.span)
        self.report = report
        self.declared: dict[str, tuple[str, Span]] = {}
        self.reserved: set[str] = set()

    def declare(self, name: str, span: Span, what: str) -> bool:
        if name in RESERVED and what != "graph node":
            self.report.error("E0016", f"`{name}` is a reserved name", span, f"cannot name a {what}",
                              f"`{name}` is an input of every batch ({RESERVED[name]}); pick another name "
                              f"and read the column with `column=\"{name}\"`" if what == "feature" else
                              f"`{name}` is an input of every batch ({RESERVED[name]}); pick another name")
            return False
        if name in self.declared:
            prev_what, prev = self.declared[name]
            self.report.error("E0011", f"`{name}` is declared twice", span, f"declared again as a {what}",
                              "features, graph nodes and tasks share one namespace; rename one of them",
                              labels=[Label(prev, f"first declared as a {prev_what}")])
            return False
        self.declared[name] = (what, span)
        return True

    def build(self, spec: ast.Spec) -> IR:
        for item in spec.items:
            if isinstance(item, ast.Stmt):
                self.report.error("E0010", f"`{item.target}` is outside any section", item.target_span,
                                  "statements belong in a section", f"sections: {', '.join(SECTIONS)}")
            elif item.kind not in SECTIONS:
                hint = did_you_mean(item.kind, SECTIONS) or f"sections: {', '.join(SECTIONS)}"
                self.report.error("E0010", f"unknown section `{item.kind}`", item.kind_span, "not a section", hint)
            elif item.name is not None:
                self.report.error("E0010", f"section `{item.kind}` takes no name", item.name_span, "unexpected name",
                                  f"write `{item.kind} {{ … }}`; only blocks inside `train` are named")
            elif item.kind in self.ir.sections:
                self.report.error("E0011", f"section `{item.kind}` appears twice", item.kind_span, "again here",
                                  "merge the two sections",
                                  labels=[Label(self.ir.sections[item.kind].kind_span, "first here")])
            else:
                self.ir.sections[item.kind] = item
        g = self.ir.graph
        for op, section in (("feature", "features"), ("task", "tasks")):
            for stmt in self._stmts(section):
                if not isinstance(stmt.value, ast.Call):
                    self._expect_call(stmt, section)
                elif self.declare(stmt.target, stmt.target_span, op):
                    g.add_node(stmt.target, op=op, kind=stmt.value.func, call=stmt.value, span=stmt.span,
                               name_span=stmt.target_span)
        graph = self._stmts("graph")
        self.reserved = {stmt.target for stmt in graph}  # anonymous nodes must not take a later node's name
        for stmt in graph:
            self._graph_stmt(stmt)
        objective = self._stmts("objective")
        if not any(s.target == "loss" and s.op == "=" for s in objective):
            # `loss` starts as the cross-entropy of every task: `loss += …` adds to it, `loss = …` replaces it
            self.ir.objectives["loss"] = []
            for task in self.ir.tasks:
                span = g.nodes[task]["name_span"]
                call = ast.Call("bce", span, (ast.Arg(None, ast.Name(task, span), span),), span)
                self._term("loss", Term(1.0, call, span))
        assigned: dict[str, Span] = {}
        for stmt in objective:
            terms = _terms(stmt.value, self.report)
            if stmt.op == "=" and stmt.target in assigned:
                self.report.error("E0011", f"objective `{stmt.target}` is set twice", stmt.target_span,
                                  "set again here", "use `+=` to add terms to it",
                                  labels=[Label(assigned[stmt.target], "first set here")])
            if stmt.op == "=":
                assigned.setdefault(stmt.target, stmt.target_span)
            if stmt.op == "=" or stmt.target not in self.ir.objectives:
                for old in self.ir.objectives.get(stmt.target, []):
                    g.remove_node(old)
                self.ir.objectives[stmt.target] = []
            for term in terms:
                self._term(stmt.target, term)
        return self.ir

    def _term(self, objective: str, term: Term) -> None:
        names = self.ir.objectives[objective]
        node = f"{objective}[{len(names)}]"
        names.append(node)
        self.ir.graph.add_node(node, op="objective", kind=term.call.func, call=term.call, weight=term.weight,
                               span=term.span, objective=objective, name_span=term.call.func_span)

    def _stmts(self, section: str) -> list[ast.Stmt]:
        block = self.ir.sections.get(section)
        if block is None:
            return []
        out = []
        for item in block.items:
            if isinstance(item, ast.Block) and section in ("graph", "features", "tasks", "scenarios", "objective"):
                self.report.error("E0010", f"`{section}` holds statements, not blocks", item.kind_span,
                                  "unexpected block", f"write `name = …` inside `{section}`")
            elif isinstance(item, ast.Stmt):
                if item.op == "+=" and section != "objective":
                    self.report.error("E0012", "`+=` only adds terms to an objective", item.op_span or item.span,
                                  "use `=` here")
                out.append(item)
        return out

    def _expect_call(self, stmt: ast.Stmt, section: str) -> None:
        self.report.error("E0013", f"`{stmt.target}` in `{section}` must be a call", stmt.value.span,
                          "expected a call like `categorical(dim=16)`" if section == "features" else "expected a call")

    def _graph_stmt(self, stmt: ast.Stmt) -> None:
        value, replicate, axis_span = stmt.value, None, None
        if isinstance(value, ast.Replicated):
            value, replicate, axis_span = value.call, value.axis, value.axis_span
        if not isinstance(value, ast.Call):
            self.report.error("E0013", f"graph node `{stmt.target}` must apply a block", stmt.value.span,
                              "not a block call", "write e.g. `h = mlp(x, units=[64])`")
            return
        if self.declare(stmt.target, stmt.target_span, "graph node"):
            self._add_block(stmt.target, value, replicate, axis_span, stmt.span, stmt.target_span)

    def _add_block(self, name, call, replicate, axis_span, span, name_span, owner=None) -> None:
        args = []
        for arg in call.args:  # nested calls (replicated or not) become anonymous nodes named after their parent
            value, axis, axis_at = arg.value, None, None
            if isinstance(value, ast.Replicated):
                value, axis, axis_at = value.call, value.axis, value.axis_span
            if isinstance(value, ast.Call):
                sub = f"{name}__{value.func}"
                while sub in self.ir.graph or sub in self.reserved:
                    sub += "_"
                self._add_block(sub, value, axis, axis_at, arg.value.span, value.func_span, owner or name)
                arg = ast.Arg(arg.name, ast.Name(sub, arg.value.span), arg.span, arg.name_span)
            args.append(arg)
        call = ast.Call(call.func, call.func_span, tuple(args), call.span)
        self.ir.graph.add_node(name, op="block", kind=call.func, call=call, replicate=replicate,
                               axis_span=axis_span, span=span, name_span=name_span, owner=owner or name)


def build(spec: ast.Spec, report: Reporter) -> IR:
    return _Builder(spec, report).build(spec)


def _fmt(value) -> str:
    from compiler.schema import Bound, Ref

    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Bound):
        return f"{value.kind}({', '.join(f'{k}={_fmt(v)}' for k, v in value.params.items())})"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return repr(value)


def to_json(ir: IR) -> dict:
    """A plain-data view of the checked IR (for `msdsl compile --emit json` and tools)."""
    g = ir.graph
    nodes = []
    for name in nx.topological_sort(g):
        d = g.nodes[name]
        nodes.append({
            "name": name, "op": d["op"], "kind": d["kind"], "replicate": d.get("replicate"),
            "inputs": d.get("inputs", [u for u in g.predecessors(name)]),
            "params": {k: _fmt(v) for k, v in d.get("params", {}).items()},
            "type": str(d["type"]) if d.get("type") else None,
            "weight": d.get("weight"), "line": d["span"].line, "column": d["span"].column,
        })
    return {
        "spec": ir.name,
        "scenarios": [{k: v for k, v in s.items() if k != "span"} for s in ir.scenarios],
        "objectives": ir.objectives,
        "settings": {sec: {k: _fmt(v) for k, v in vals.items()} for sec, vals in ir.settings.items()},
        "stages": [{k: _fmt(v) for k, v in s.items() if k != "span"} for s in ir.stages],
        "groups": [{k: _fmt(v) for k, v in s.items() if k != "span"} for s in ir.groups],
        "nodes": nodes,
    }


def dump(ir: IR) -> str:
    """A stable, readable text form of the checked IR, one node per line in topological order."""
    data = to_json(ir)
    lines = [f"spec {data['spec']}", "scenarios " + ", ".join(
        f"{s['name']}={_fmt(s['value'])}" + (f" weight={s['weight']}" if s["weight"] != 1.0 else "")
        for s in data["scenarios"])]
    for node in data["nodes"]:
        params = ", ".join(f"{k}={v}" for k, v in node["params"].items() if k not in ("x", "inputs", "features"))
        head = {"feature": "feature", "block": "node", "task": "task", "objective": "term"}[node["op"]]
        rep = f"per {node['replicate']}: " if node["replicate"] else ""
        weight = f"{node['weight']:g} * " if node["op"] == "objective" else ""
        reads = "(" + "; ".join(part for part in (", ".join(node["inputs"]), params) if part) + ")"
        typ = f" : {node['type']}" if node["type"] else ""
        lines.append(f"{head} {node['name']} = {weight}{rep}{node['kind']}{reads}{typ}")
    for sec, vals in data["settings"].items():
        lines.append(f"{sec} " + ", ".join(f"{k}={v}" for k, v in vals.items()))
    for what in ("stages", "groups"):
        for item in data[what]:
            lines.append(f"{what[:-1]} " + ", ".join(f"{k}={v}" for k, v in item.items()))
    return "\n".join(lines) + "\n"
