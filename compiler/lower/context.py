"""What every lowering function works with: the value layout, the dispatch tables, parameters and the fx graph.

Layout. A lowered value is an fx node holding a tensor `[S?, T?, B, …]`: a scenario axis (only when the value is
evaluated under every scenario, "all" mode), then a task axis (`per task:` values), then the batch rows, then the
value's own axes (`[d]`, `[L, d]` for sequences, nothing for logits). `Value` records which leading axes are there;
a value without the scenario axis broadcasts over it, one without the task axis over tasks.

Modes. Every node can be lowered in two modes:
- `rows`: each row under its own scenario (`scenario` input) — what `predict` and the losses use;
- `all`: each row under every scenario, `[S, …]`, where `[s, b]` is the value row b would have in scenario s.
  Only nodes that depend on the scenario are recomputed; the others are lowered once in `rows` mode and broadcast.

Parameters. `Params` is the one `nn.Module` holding every parameter and buffer, one child module per IR node
(attribute = the node's name, made safe); each parameter is tagged `shared`, `scenario` or `task`. Parameters are
created lazily by the lowering functions and initialized from a generator seeded by (seed, qualified name), so a
parameter's initial value does not depend on which programs or views were built.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
from dataclasses import dataclass
from typing import Callable

import networkx as nx
import torch
import torch.fx as fx
from torch import nn

from compiler.blocks import BLOCKS as CATALOG
from compiler.blocks import is_scenario_aware
from compiler.ir import IR

ROLES = ("shared", "scenario", "task")
RESERVED = {"self", "torch", "operator", "math", "inf", "nan"}  # names the generated `forward` relies on


class LowerError(Exception):
    """The IR cannot be lowered (an unknown block kind, a missing vocabulary size, …)."""


@dataclass(frozen=True)
class Value:
    """An fx node and the layout of its tensor `[S?, T?, B, …]`: which leading axes it has, and how many own
    trailing axes follow the rows (1 for vectors, 2 for sequences, 0 for logits)."""

    node: fx.Node
    sc: bool = False
    task: bool = False
    own: int = 1

    @property
    def ndim(self) -> int:
        return int(self.sc) + int(self.task) + 1 + self.own


# Dispatch tables: kind → lowering function. Blocks: fn(ctx, inputs: list[Value]) -> Value. Features:
# fn(ctx) -> Value. Objectives: fn(octx, params) -> scalar fx node.
BLOCKS: dict[str, Callable] = {}
FEATURES: dict[str, Callable] = {}
OBJECTIVES: dict[str, Callable] = {}


def _registrar(table: dict, what: str):
    def register(kind: str):
        def deco(fn):
            if kind in table:
                raise ValueError(f"{what} `{kind}` has two lowerings")
            table[kind] = fn
            return fn

        return deco

    return register


lowers_block = _registrar(BLOCKS, "block")
lowers_feature = _registrar(FEATURES, "feature type")
lowers_objective = _registrar(OBJECTIVES, "objective")


def dispatch(table: dict, what: str, kind: str) -> Callable:
    fn = table.get(kind)
    if fn is None:
        raise LowerError(f"no lowering for {what} `{kind}` (known: {', '.join(sorted(table))})")
    return fn


def safe_name(name: str, taken=()) -> str:
    """A Python identifier for `name` that is no keyword, builtin or reserved word, and not in `taken`."""
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "_"
    if out[0].isdigit():
        out = "_" + out
    while (keyword.iskeyword(out) or keyword.issoftkeyword(out) or hasattr(builtins, out) or out in RESERVED
           or out in taken):
        out += "_"
    return out


def uniform(bound: float):
    return lambda t, g: t.uniform_(-bound, bound, generator=g)


def normal(std: float):
    return lambda t, g: t.normal_(0.0, std, generator=g)


def constant(value: float):
    return lambda t, g: t.fill_(value)


def fan_in(fan: int):
    """torch's `nn.Linear` default for weights and biases: U(−1/√fan_in, 1/√fan_in)."""
    return uniform(fan ** -0.5)


class Params(nn.Module):
    """Every parameter and buffer of a lowered spec; one child module per IR node (see the module docstring).

    Initialization (seeded, order-independent): dense weights and biases U(−1/√fan_in, 1/√fan_in) (torch's
    `nn.Linear` default, also for stacked per-scenario/per-task/per-expert slices); embedding tables N(0, 0.01²);
    normalization scales 1 and shifts 0; STAR's scenario weights 1 and biases 0.
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed
        self.roles: dict[str, tuple[str, str]] = {}  # qualified parameter name → (IR node, role)
        self.attrs: dict[str, str] = {}  # IR node → child attribute
        self.add_module("spec", nn.Module())  # spec-wide buffers (scenario weights)

    def child(self, node: str) -> tuple[str, nn.Module]:
        if node not in self.attrs:
            attr = safe_name(node, set(self._modules) | set(vars(self)) | set(dir(type(self))))
            self.attrs[node] = attr
            self.add_module(attr, nn.Module())
        return self.attrs[node], self._modules[self.attrs[node]]

    def generator(self, qualname: str) -> torch.Generator:
        digest = hashlib.blake2b(f"{self.seed}:{qualname}".encode(), digest_size=8).digest()
        return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2 ** 63 - 1))

    def parameter(self, node: str, name: str, shape: tuple, init, role: str) -> str:
        attr, mod = self.child(node)
        qual = f"{attr}.{name}"
        if name not in mod._parameters:
            if role not in ROLES:
                raise LowerError(f"unknown parameter role `{role}`")
            mod.register_parameter(name, nn.Parameter(init(torch.empty(shape), self.generator(qual))))
            self.roles[qual] = (node, role)
        return qual

    def buffer(self, node: str | None, name: str, make: Callable[[], torch.Tensor]) -> str:
        attr, mod = ("spec", self.spec) if node is None else self.child(node)
        if name not in mod._buffers:
            mod.register_buffer(name, make(), persistent=False)
        return f"{attr}.{name}"

    def module(self, node: str, name: str, make: Callable[[], nn.Module]) -> str:
        attr, mod = self.child(node)
        if name not in mod._modules:
            sub = make()
            mod.add_module(name, sub)
            for pname, _ in sub.named_parameters():
                self.roles[f"{attr}.{name}.{pname}"] = (node, sub.param_roles[pname])
        return f"{attr}.{name}"


def scenario_dependent(ir: IR) -> dict[str, bool]:
    """Which features and blocks depend on the row's scenario (their own parameters or any ancestor's)."""
    g, out = ir.graph, {}
    for name in nx.topological_sort(g):
        d = g.nodes[name]
        if d["op"] == "feature":
            out[name] = d["params"]["partition"] == "specific"
        elif d["op"] == "block":
            entry = CATALOG.entries.get(d["kind"])  # an unknown kind fails at its lowering, by name
            own = d["replicate"] == "scenario" or (entry is not None and is_scenario_aware(d["kind"], d["params"]))
            out[name] = own or any(out[i] for i in d["inputs"])
    return out


class Builder:
    """One program under construction: an `fx.Graph` plus the memo of lowered values and helper nodes."""

    def __init__(self, ir: IR, params: Params, strategy: str, vocab: Callable[[str], int]):
        self.ir, self.params, self.strategy, self.vocab = ir, params, strategy, vocab
        self.graph = fx.Graph()
        self.S, self.T = len(ir.scenarios), len(ir.base_tasks)
        self.depends = scenario_dependent(ir)
        self.inputs: dict[str, fx.Node] = {}  # batch key → placeholder, in signature order
        self.values: dict[tuple[str, str], Value] = {}
        self.memo: dict[str, object] = {}
        self.named: set[fx.Node] = set()

    # -- graph emission ---------------------------------------------------------------------------------------
    def placeholder(self, key: str, name: str) -> fx.Node:
        self.inputs[key] = self.graph.placeholder(safe_name(name))
        return self.inputs[key]

    def call(self, fn, *args, **kwargs) -> fx.Node:
        return self.graph.call_function(fn, args, kwargs)

    def method(self, name: str, *args, **kwargs) -> fx.Node:
        return self.graph.call_method(name, args, kwargs)

    def attr(self, qualname: str) -> fx.Node:
        key = "attr:" + qualname
        if key not in self.memo:
            self.memo[key] = self.graph.get_attr(qualname)
        return self.memo[key]

    def module(self, qualname: str, *args) -> fx.Node:
        return self.graph.call_module(qualname, args)

    def once(self, key: str, make: Callable[[], object]):
        """A helper node (or tuple of nodes) emitted once per program."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    @property
    def scenario(self) -> fx.Node:
        return self.inputs["scenario"]

    def batch_size(self) -> fx.Node:
        return self.once("batch", lambda: self.method("size", self.scenario, 0))

    # -- values -----------------------------------------------------------------------------------------------
    def value(self, name: str, mode: str = "rows") -> Value:
        """The lowered value of IR node `name` in `mode` (memoized)."""
        if mode == "all" and not self.depends[name]:
            mode = "rows"
        key = (name, mode)
        if key not in self.values:
            data = self.ir.graph.nodes[name]
            ctx = NodeCtx(self, name, mode)
            if data["op"] == "feature":
                out = dispatch(FEATURES, "feature type", data["kind"])(ctx)
            elif data["op"] == "block":
                inputs = [self.value(i, mode) for i in data["inputs"]]
                out = dispatch(BLOCKS, "block", data["kind"])(ctx, inputs)
            else:
                raise LowerError(f"`{name}` is a {data['op']}, not a feature or graph node")
            node = out.node
            if node.op in ("call_function", "call_method", "call_module") and node not in self.named:
                node._rename(safe_name(name if mode == "rows" else f"{name}_all"))
                self.named.add(node)
            self.values[key] = out
        return self.values[key]


class NodeCtx:
    """What a lowering function sees: its node's bound params, the mode, and helpers bound to the node."""

    def __init__(self, b: Builder, name: str, mode: str):
        self.b, self.name, self.mode = b, name, mode
        data = b.ir.graph.nodes[name]
        self.data, self.params = data, data["params"]
        self.rep = data.get("replicate")
        self.in_dims = [b.ir.graph.nodes[i]["type"].dim for i in data.get("inputs", ())]
        self.S, self.T = b.S, b.T
        self.call, self.method = b.call, b.method

    @property
    def rows(self) -> bool:
        return self.mode == "rows"

    def param(self, name: str, shape: tuple, init, role: str = "shared") -> fx.Node:
        return self.b.attr(self.b.params.parameter(self.name, name, tuple(shape), init, role))

    def rep_param(self, name: str, shape: tuple, init) -> fx.Node:
        """A parameter stacked over this node's replication axis: [S, …] per scenario, [T, …] per task."""
        lead = {"scenario": (self.S,), "task": (self.T,), None: ()}[self.rep]
        return self.param(name, lead + tuple(shape), init, self.rep or "shared")

    def buffer(self, name: str, make) -> fx.Node:
        return self.b.attr(self.b.params.buffer(self.name, name, make))

    def submodule(self, name: str, make) -> str:
        return self.b.params.module(self.name, name, make)

    def module(self, qualname: str, *args) -> fx.Node:
        return self.b.module(qualname, *args)
