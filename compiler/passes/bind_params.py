"""Bind every call and setting to its typed schema: unknown, missing and mistyped parameters, with did-you-mean.

    features { user_id = categorical(dimm=16) }
    error[E0101]: unknown parameter `dimm` for feature type `categorical`   (help: did you mean `dim`?)

Writes `params` (typed values) and `spans` (parameter → argument span) onto each node; fills `ir.scenarios`,
`ir.settings`, `ir.stages` and `ir.groups`. When `scenarios` is absent and the source is `synthetic(...)`, the
scenarios are the generator's `s0 … s{n-1}`.
"""

from __future__ import annotations

from compiler import ast
from compiler.blocks import BLOCKS
from compiler.catalog import DECLARATIONS, DEFAULTS, NESTED, SETTINGS
from compiler.diagnostics import Label, Reporter, did_you_mean
from compiler.ir import IR
from compiler.schema import Bound


def _bind_setting(key_types, stmt: ast.Stmt, section: str, report: Reporter):
    typ = key_types.get(stmt.target)
    if typ is None:
        hint = did_you_mean(stmt.target, key_types) or f"`{section}` takes: {', '.join(key_types)}"
        report.error("E0101", f"unknown setting `{stmt.target}` in `{section}`", stmt.target_span,
                     "unknown setting", hint)
        return None
    value, bad = typ.check(stmt.value)
    if bad is not None:
        report.error(bad.code, f"`{stmt.target}` in `{section}` must be {bad.must}", bad.culprit.span, bad.label,
                     bad.hint)
        return None
    if typ.category is not None:
        return typ.category.bind(value, report)
    return value


def _bind_settings(block: ast.Block | None, section: str, key_types, report: Reporter) -> dict:
    values = dict(DEFAULTS.get(section, {}))
    if block is None:
        return values
    seen: dict = {}  # a setting, or a named nested block, given twice in one block
    for item in block.items:
        if isinstance(item, ast.Stmt):
            key, span, what = item.target, item.target_span, f"`{item.target}` is set"
        else:
            key, span, what = (item.kind, item.name), item.name_span, f"`{item.kind} {item.name}` appears"
        if key in seen and span is not None:
            report.error("E0011", f"{what} twice in `{section}`", span, "again here", "keep one",
                         labels=[Label(seen[key], "first here")])
            continue
        seen[key] = span
        if isinstance(item, ast.Stmt):
            if item.op == "+=":
                report.error("E0012", "`+=` only adds terms to an objective", item.op_span or item.span,
                             "use `=` here")
            values[item.target] = _bind_setting(key_types, item, section, report)
        elif (section, item.kind) not in NESTED:
            allowed = [k for s, k in NESTED if s == section]
            hint = did_you_mean(item.kind, allowed) or (f"`{section}` nests: {', '.join(allowed)}" if allowed else "")
            report.error("E0010", f"unknown block `{item.kind}` in `{section}`", item.kind_span, "not allowed here",
                         hint)
        elif item.name is None:
            report.error("E0014", f"a `{item.kind}` block needs a name", item.kind_span, "unnamed",
                         f"write e.g. `{item.kind} pretrain {{ … }}`")
    return values


def _nested(block: ast.Block | None, kind: str, report: Reporter) -> list[dict]:
    out = []
    for item in block.items if block else ():
        if isinstance(item, ast.Block) and item.kind == kind and item.name:
            nested = ast.Block(item.kind, item.kind_span, None, None, item.items, item.span)
            values = {k: None for k in NESTED[("train", kind)]}
            values |= _bind_settings(nested, f"{kind} {item.name}", NESTED[("train", kind)], report)
            out.append({"name": item.name, "span": item.kind_span, **values})
    return out


def run(ir: IR, report: Reporter) -> None:
    for section, keys in SETTINGS.items():
        ir.settings[section] = _bind_settings(ir.sections.get(section), section, keys, report)
    ir.stages = _nested(ir.sections.get("train"), "stage", report)
    ir.groups = _nested(ir.sections.get("train"), "group", report)

    g = ir.graph
    for name, data in g.nodes(data=True):
        registry = BLOCKS if data["op"] == "block" else DECLARATIONS[{"feature": "features", "task": "tasks",
                                                                      "objective": "objective"}[data["op"]]]
        bound = registry.bind(data["call"], report)
        if bound is None:
            continue
        data["params"], data["spans"] = bound.params, bound.spans
        if data["op"] == "block":
            _check_replication(data, report)

    _bind_scenarios(ir, report)


def _check_replication(data: dict, report: Reporter) -> None:
    axis = data["replicate"]
    if axis is None:
        return
    if axis not in ("scenario", "task"):
        hint = did_you_mean(axis, ("scenario", "task")) or "write `per scenario:` or `per task:`"
        report.error("E0202", f"unknown replication axis `{axis}`", data["axis_span"], "not an axis", hint)
    elif axis not in BLOCKS.entries[data["kind"]].meta["replicate"]:
        allowed = BLOCKS.entries[data["kind"]].meta["replicate"]
        report.error("E0203", f"block `{data['kind']}` cannot be replicated per {axis}", data["axis_span"],
                     f"`{data['kind']}` is not replicable per {axis}",
                     f"it can be replicated per {' or '.join(allowed)}" if allowed else
                     f"remove `per {axis}:`; `{data['kind']}` decides its own axes")


MAX_SCENARIOS = 10_000


def _bind_scenarios(ir: IR, report: Reporter) -> None:
    section = ir.sections.get("scenarios")
    for item in section.items if section else ():
        if not isinstance(item, ast.Stmt):
            continue
        if not isinstance(item.value, ast.Call):
            report.error("E0013", f"`{item.target}` in `scenarios` must be a call", item.value.span,
                         "expected a call", f"write `{item.target} = scenario()`")
            continue
        bound: Bound | None = DECLARATIONS["scenarios"].bind(item.value, report)
        if bound is None:
            continue
        value = bound.params["value"] if bound.params["value"] is not None else item.target
        first = next((s for s in ir.scenarios if s["name"] == item.target or str(s["value"]) == str(value)), None)
        if first is not None:
            if first["name"] == item.target:
                message, label = f"scenario `{item.target}` is declared twice", "declared again"
            else:
                message, label = f"scenarios `{first['name']}` and `{item.target}` share the value `{value}`", \
                    f"`{item.target}` has value `{value}` too"
            report.error("E0011", message, item.target_span, label,
                         "each scenario needs its own name and its own value in the scenario column",
                         labels=[Label(first["span"], "first declared here")])
            continue
        ir.scenarios.append({"name": item.target, "value": value, "weight": bound.params["weight"],
                             "group": bound.params["group"], "span": item.target_span})
    source = ir.settings["data"].get("source")
    if section is None and isinstance(source, Bound) and source.kind == "synthetic":
        count = source.params["scenarios"]
        if not 1 <= count <= MAX_SCENARIOS:
            report.error("E0015", f"`synthetic` needs between 1 and {MAX_SCENARIOS} scenarios",
                         source.spans["scenarios"], f"{count} scenarios", "e.g. `synthetic(scenarios=3)`")
            return
        ir.scenarios = [{"name": f"s{i}", "value": f"s{i}", "weight": 1.0, "group": None, "span": source.span}
                        for i in range(count)]
    if not ir.scenarios and not report.diagnostics:
        report.error("E0015", "no scenarios declared", ir.sections["scenarios"].kind_span if section else ir.span,
                     "a multi-scenario model needs its scenarios",
                     "add `scenarios { search = scenario()  feed = scenario() }` (names are the values of the "
                     "scenario column; use `value=` when they differ)")
