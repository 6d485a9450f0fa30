"""Checked IR → two `torch.fx.GraphModule` programs sharing one set of parameters.

- `predict(features…, scenario)` → `{"prob": {task: [B]} for every task (composed ones too),
  "logit": {base task: [B]}}` (+ `"view"` / `"value"` when asked for). It holds no objective code.
- `train(features…, scenario, labels…, weight?)` → the same plus `"terms"` (each term of the objective,
  unweighted, by term name such as `loss[0]`) and `"loss"` (Σ weight × term).

Inputs, in order (`gm.meta["inputs"]` lists their batch keys; `call(gm, batch)` calls with a dict): one tensor per
feature (int64 [B] categorical or bucketed numeric; float [B] numeric; int64 [B, max_len] sequence, 0 = padding),
`scenario` (int64 [B], the index in `ir.scenarios`), then for `train` a float [B] label per task whose label is a
column (keyed by the task's name; a product task without `label=` uses the product of its tasks' labels) and
`weight` (float [B]) when the spec's data names a weight column.

Views: `views=[node, …]` adds `"view": {node: [S, …, B, …]}`, whose [s, b] entry is the node's value for row b had
it been in scenario s (context.py: `all` mode). `values=[node, …]` adds `"value": {node: [T?, B, …]}`, the nodes'
values for the rows as they are (e.g. to export item vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import torch
import torch.fx as fx

from compiler.ir import IR
from compiler.lower import adaftr, dense, experts, features, hc2, maria, objectives, optmsm, star  # noqa: F401,E501
from compiler.lower.context import OBJECTIVES, Builder, LowerError, Params, Value, dispatch
from compiler.lower.kernels import choose_strategy, pick
from compiler.lower.objectives import ObjectiveCtx
from compiler.passes.check_routes import heads_by_task

DEFAULT_VOCAB = 100
RESERVED_KEYS = ("scenario", "weight")


@dataclass
class Lowered:
    """The two programs and the module that owns every parameter and buffer (optimizer, state_dict, `.to()`).

    Both programs hold the same child modules, so `.to(device)`, `.train()` / `.eval()` and weight updates on one
    are seen by the other; put the program you run in the mode you want. `program(…)` builds more programs on the
    same parameters (e.g. one `train` program per stage objective).
    """

    predict: fx.GraphModule
    train: fx.GraphModule
    params: Params
    options: dict = field(repr=False)  # what `program` builds with: ir, params, strategy, vocab

    def program(self, kind: str = "train", *, objective: str | None = None, views=(), values=()) -> fx.GraphModule:
        """Another `predict` / `train` program on these parameters. It creates the parameters of nodes no earlier
        program read (a view or an l2 term on an otherwise unused node): build programs before the optimizer."""
        if kind not in ("predict", "train"):
            raise ValueError(f"a program is `predict` or `train`, not `{kind}`")
        ir = self.options["ir"]
        chosen = _objective(ir, objective) if kind == "train" else None
        return _program(program=kind, objective=chosen, views=tuple(views), values=tuple(values), **self.options)


def lower(ir: IR, vocab_sizes: Mapping[str, int] | None = None, *, views=(), values=(),
          objective: str | None = None, strategy: str = "auto", seed: int | None = None) -> Lowered:
    """Lower a checked IR to its `predict` and `train` programs.

    vocab_sizes: table rows per embedded feature (the runtime's fitted vocabularies, OOV/padding included); when
    None every table has 100 rows (tests). Hashed categoricals default to `hash + 1` rows, bucketed numerics to
    `buckets + 1`. views / values: nodes whose all-scenario views / row values both programs also return.
    objective: the objective `train` computes (default: `train { objective = … }`, else `loss`). strategy:
    per-scenario chains in rows mode, `auto` | `gather` | `grouped` (kernels.py). seed: parameter initialization
    (default: `train { seed = … }`).
    """
    for name in ir.features + ir.tasks:
        if name in RESERVED_KEYS:
            raise LowerError(f"`{name}` names a batch input of its own; rename the {ir.graph.nodes[name]['op']}")
    params = Params(ir.settings["train"]["seed"] if seed is None else seed)
    options = dict(ir=ir, params=params, strategy=choose_strategy(strategy, len(ir.scenarios)),
                   vocab=_vocab(ir, vocab_sizes))
    shown = dict(views=tuple(views), values=tuple(values))
    return Lowered(_program(program="predict", objective=None, **shown, **options),
                   _program(program="train", objective=_objective(ir, objective), **shown, **options), params, options)


def _objective(ir: IR, objective: str | None) -> str:
    chosen = objective or _ref_name(ir.settings["train"].get("objective")) or "loss"
    if chosen not in ir.objectives:
        raise LowerError(f"no objective `{chosen}` (objectives: {', '.join(ir.objectives) or 'none'})")
    return chosen


def _ref_name(ref) -> str | None:
    return None if ref is None else ref.name


def _vocab(ir: IR, sizes: Mapping[str, int] | None):
    def rows(feature: str) -> int:
        data = ir.graph.nodes[feature]
        p = data["params"]
        if sizes is not None and feature in sizes:
            return int(sizes[feature])
        if data["kind"] == "numeric":
            return p["buckets"] + 1
        if data["kind"] == "categorical" and p["hash"]:
            return p["hash"] + 1
        if sizes is None:
            return DEFAULT_VOCAB
        raise LowerError(f"no vocabulary size for feature `{feature}`")

    return rows


def _label_tasks(ir: IR) -> list[str]:
    return [t for t in ir.tasks if ir.graph.nodes[t]["kind"] == "binary" or ir.graph.nodes[t]["params"]["label"]]


def _program(ir: IR, params: Params, program: str, views: tuple, values: tuple, objective: str | None,
             strategy: str, vocab) -> fx.GraphModule:
    b = Builder(ir, params, strategy, vocab)
    for f in ir.features:
        b.placeholder(f, f)
    b.placeholder("scenario", "scenario")
    if program == "train":
        for t in _label_tasks(ir):
            b.placeholder(t, f"{t}_label")
        if ir.settings["data"].get("weight"):
            b.placeholder("weight", "weight")
    logits = {t: _task_logit(b, t, heads) for t, heads in heads_by_task(ir).items()}
    probs: dict = {}
    for t in ir.tasks:
        _prob(b, t, logits, probs)
    out = {"prob": {t: probs[t] for t in ir.tasks}, "logit": logits}
    if views:
        out["view"] = {n: _view(b, n, "all") for n in views}
    if values:
        out["value"] = {n: _view(b, n, "rows") for n in values}
    if program == "train":
        labels: dict = {}
        octx = ObjectiveCtx(b, logits, probs, lambda t: _label(b, t, labels))
        terms = {}
        for term in ir.objectives[objective]:
            data = ir.graph.nodes[term]
            terms[term] = dispatch(OBJECTIVES, "objective", data["kind"])(octx, data["params"])
        loss = None
        for term, value in terms.items():
            weighted = b.call(torch.mul, value, ir.graph.nodes[term]["weight"])
            loss = weighted if loss is None else b.call(torch.add, loss, weighted)
        out["loss"], out["terms"] = loss, terms
    b.graph.output(out)
    b.graph.lint()
    gm = fx.GraphModule(params, b.graph, class_name=f"{program.title()}_{ir.name}")
    for name, child in params.named_children():  # share the containers themselves (buffers too)
        if hasattr(gm, name):
            setattr(gm, name, child)
    gm.graph.eliminate_dead_code()  # nodes lowered only to create parameters (l2 on an otherwise unused node)
    gm.recompile()
    gm.meta["inputs"] = list(b.inputs)
    gm.meta["param_roles"] = {q: r for q, r in params.roles.items() if q in dict(gm.named_parameters())}
    return gm


def _task_logit(b: Builder, task: str, heads: list[str]) -> fx.Node:
    """The task's logit [B]: its head's, or each row's scenario's head when heads are restricted by scenario."""
    index = b.ir.base_tasks.index(task)

    def logit(head: str) -> fx.Node:
        v = b.value(head)
        return b.call(torch.select, v.node, 0, index) if v.task else v.node

    if len(heads) == 1:
        return logit(heads[0])
    names = [s["name"] for s in b.ir.scenarios]
    which = [0] * len(names)
    for i, head in enumerate(heads):
        for ref in b.ir.graph.nodes[head]["params"]["scenarios"]:  # several heads: each is restricted
            which[names.index(ref.name)] = i
    table = b.attr(b.params.buffer(task, "heads", lambda: torch.tensor(which)))
    stacked = b.call(torch.stack, [logit(h) for h in heads])
    return b.call(pick, stacked, b.call(torch.take, table, b.scenario), -1)


def _product(b: Builder, nodes: list[fx.Node]) -> fx.Node:
    out = nodes[0]
    for node in nodes[1:]:
        out = b.call(torch.mul, out, node)
    return out


def _prob(b: Builder, task: str, logits: dict, probs: dict) -> fx.Node:
    """sigmoid(logit) for a base task; the product of its tasks' probabilities for a composed one (ESMM Eq. 2)."""
    if task not in probs:
        data = b.ir.graph.nodes[task]
        probs[task] = (b.call(torch.sigmoid, logits[task]) if data["kind"] == "binary" else
                       _product(b, [_prob(b, r.name, logits, probs) for r in data["params"]["tasks"]]))
    return probs[task]


def _label(b: Builder, task: str, labels: dict) -> fx.Node:
    """A task's label input, or the product of its tasks' labels for a composed task without a label column."""
    if task not in labels:
        labels[task] = b.inputs[task] if task in b.inputs else _product(
            b, [_label(b, r.name, labels) for r in b.ir.graph.nodes[task]["params"]["tasks"]])
    return labels[task]


def _view(b: Builder, name: str, mode: str) -> fx.Node:
    if name not in b.ir.graph or b.ir.graph.nodes[name]["op"] not in ("feature", "block"):
        raise LowerError(f"`{name}` is not a graph node or feature")
    v: Value = b.value(name, mode)
    if mode == "rows" or v.sc:
        return v.node
    return b.method("expand", b.call(torch.unsqueeze, v.node, 0), b.S, *[-1] * v.ndim)


def call(gm, batch: Mapping[str, torch.Tensor]):
    """Run a program (or its `torch.compile`d wrapper) on a batch dict keyed as `gm.meta["inputs"]`."""
    keys = getattr(gm, "_orig_mod", gm).meta["inputs"]
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"batch lacks {', '.join(missing)}")
    return gm(*[batch[k] for k in keys])


def param_counts(source) -> dict[str, dict[str, int]]:
    """{node: {"shared": n, "scenario": n, "task": n}} for a `Lowered`, its `Params` or one program."""
    module = source.params if isinstance(source, Lowered) else getattr(source, "_orig_mod", source)
    roles = module.roles if isinstance(module, Params) else module.meta["param_roles"]
    out: dict[str, dict[str, int]] = {}
    for qual, p in module.named_parameters():
        node, role = roles[qual]
        out.setdefault(node, {"shared": 0, "scenario": 0, "task": 0})[role] += p.numel()
    return out


def maybe_compile(gm: fx.GraphModule, device, setting="auto"):
    """`torch.compile(gm)` when `setting` is True, or "auto" on a CUDA device (cold compiles take ≈ 20 s on CPU,
    DESIGN §7); the GraphModule itself otherwise."""
    if setting == "auto":
        setting = torch.device(device).type == "cuda"
    if setting not in (True, False):
        raise ValueError(f"compile must be true, false or auto, not {setting!r}")
    return torch.compile(gm) if setting else gm
