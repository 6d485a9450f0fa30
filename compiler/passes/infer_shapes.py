"""Infer every node's value type (`VType`) in topological order, and check sizes and axes.

    graph { a = linear(x, units=8)  b = linear(x, units=4)  s = sum(a, b) }
    error[E0301]: `sum` needs inputs of one size, got 8, 4

Features: categorical → vec[dim]; numeric → vec[1] (or vec[dim] when bucketed); sequence → vec[dim] pooled or
seq[max_len, dim]. A `specific` feature depends on the scenario. `per scenario:` makes a node's value depend on
the scenario; `per task:` gives it a task axis, reading a task-axis input task by task.
"""

from __future__ import annotations

import networkx as nx

from compiler.blocks import BLOCKS, InferCtx, ShapeError
from compiler.diagnostics import Reporter
from compiler.ir import IR
from compiler.types import VType


def feature_type(params: dict, kind: str) -> VType:
    specific = params["partition"] == "specific"
    if kind == "numeric":
        return VType(params["dim"] if params["buckets"] else 1, scenario=specific)
    if kind == "sequence" and params["pool"] == "none":
        return VType(params["dim"], seq=params["max_len"], scenario=specific)
    return VType(params["dim"], scenario=specific)


def run(ir: IR, report: Reporter) -> None:
    g = ir.graph
    tasks = len(ir.base_tasks)
    for name in nx.topological_sort(g):
        data = g.nodes[name]
        if data["op"] == "feature":
            data["type"] = feature_type(data["params"], data["kind"])
            for key in ("dim", "max_len"):
                if data["params"].get(key, 1) < 1:
                    report.error("E0302", f"`{key}` must be at least 1", data["spans"][key], "below 1")
            p = data["params"]
            if data["kind"] == "numeric" and p["partition"] == "specific" and not p["buckets"]:
                report.error("E0302", "a plain numeric feature has no table to make specific", data["spans"]["partition"],
                             "no embedding table", "bucket it (`buckets=10`) to give each scenario its own table")
            for key in ("min_count", "hash", "buckets"):
                if data["params"].get(key, 0) < 0:
                    report.error("E0302", f"`{key}` must not be negative", data["spans"][key], "below 0",
                                 "0 turns it off" if key != "min_count" else "")
        if data["op"] != "block" or "params" not in data:
            continue
        inputs = [g.nodes[i].get("type") for i in data["inputs"]]
        if any(t is None for t in inputs):
            continue  # an input already failed
        ctx = InferCtx(name, data["span"], data["spans"], len(ir.scenarios), tasks,
                       [g.edges[i, name]["span"] for i in data["inputs"]])
        try:
            if data["replicate"] != "task" and data["kind"] == "head" and inputs[0].per_task:
                ctx.fail("this head reads a value with a task axis", "x", "one value per task",
                         "write `per task: head(…)` to give every task its own head")
            if data["replicate"] == "task" and data["kind"] in ("moe", "ple", "cgc") or (
                data["kind"] in ("moe", "ple", "cgc") and data["params"]["over"] == "task" and inputs[0].per_task
            ):
                ctx.fail("this value already has a task axis", "x", "per task")
            out = BLOCKS.entries[data["kind"]].meta["impl"](ctx, data["params"], inputs)
        except ShapeError as err:
            report.error(err.code, err.message, err.span, err.label, err.help)
            continue
        if data["replicate"] == "scenario":
            out = VType(out.dim, out.seq, out.per_task, True, out.logit)
        elif data["replicate"] == "task":
            out = VType(out.dim, out.seq, True, out.scenario, out.logit)
        data["type"] = out
