"""`passes/infer_shapes.py`: every node's value type, and the size and axis rules of each block."""

from __future__ import annotations

import pytest

from compiler.passes.infer_shapes import feature_type
from compiler.types import VType
from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_ir_golden, codes, error, ir_after, minimal_spec,
)


@pytest.mark.parametrize("bad", bad_specs_of("infer_shapes"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("infer_shapes", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_dump_golden(good):
    check_ir_golden("infer_shapes", good)


def test_docstring_example():
    d = error(minimal_spec("a = linear(embed(user), units=8)\n  b = linear(embed(user), units=4)\n  s = sum(a, b)\n"
                           "  out = head(s, task=ctr)"))
    assert (d.code, d.message) == ("E0301", "`sum` needs inputs of one size, got 8, 4")


def test_feature_types():
    base = {"partition": "shared", "dim": 8, "buckets": 0, "pool": "mean", "max_len": 5}
    assert feature_type(base, "categorical") == VType(8)
    assert feature_type(base, "numeric") == VType(1)
    assert feature_type({**base, "buckets": 4}, "numeric") == VType(8)
    assert feature_type({**base, "pool": "none"}, "sequence") == VType(8, seq=5)
    assert feature_type({**base, "partition": "specific"}, "categorical") == VType(8, scenario=True)
    assert str(VType(8, seq=5)) == "seq[5, 8]" and str(VType(1, logit=True, per_task=True, scenario=True)) == (
        "logit per scenario/task")


def test_types_through_the_full_spec():
    g = ir_after("good/full.msd", "infer_shapes").graph
    types = {n: str(g.nodes[n]["type"]) for n in ("x", "sx", "h", "m", "t", "out", "aux")}
    assert types == {"x": "vec[53]", "sx": "vec[61] per scenario", "h": "vec[32] per scenario",
                     "m": "vec[16] per scenario/task", "t": "vec[8] per scenario/task", "out": "logit per scenario/task",
                     "aux": "vec[1] per scenario"}


def test_replication_adds_axes():
    ir = check(minimal_spec("s = per scenario: mlp(embed(all), units=[8])\n  t = per task: mlp(s, units=[4])\n"
                            "  out = per task: head(t)"))
    assert str(ir.graph.nodes["s"]["type"]) == "vec[8] per scenario"
    assert str(ir.graph.nodes["t"]["type"]) == "vec[4] per scenario/task"


@pytest.mark.parametrize("graph,text", [
    ("h = linear(embed(all), units=0)", "0"),
    ("h = mlp(embed(all), units=[8, -1])", "-1"),
    ("h = star(embed(all), units=[0])", "0"),
    ("h = moe(embed(all), units=[0], over=none)", "0"),
    ("h = mlp(concat(embed(all), scenario_embed(dim=0)), units=[4])", "0"),
])
def test_sizes_below_one(graph, text):
    d = error(minimal_spec(graph + "\n  out = head(h, task=ctr)"))
    assert (d.code, d.span.text, d.label) == ("E0302", text, "below 1")


def test_feature_sizes():
    text = minimal_spec("out = head(embed(all), task=ctr)", features="u = categorical(dim=0, hash=-1)\n"
                        "  s = sequence(max_len=0)\n  n = numeric(buckets=-2)")
    assert codes(text) == ["E0302"] * 4


def test_axis_rules():
    assert codes(minimal_spec("m = moe(embed(all), units=[8])\n  out = head(m, task=ctr)")) == ["E0301"]
    assert codes(minimal_spec("m = moe(embed(all), units=[8])\n  p = ple(m, units=[8])\n"
                              "  out = per task: head(p)")) == ["E0301"]
    assert codes(minimal_spec("m = moe(embed(all), units=[8])\n  out = per task: head(m)")) == []
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  aux = linear(embed(user), units=2)\n"
                        "  out = head(h, task=ctr, offset=aux)")
    d = error(text)
    assert (d.message, d.span.text) == ("`offset` must have size 1, got 2", "aux")


def test_sequence_values_need_a_sequence_block():
    d = error(minimal_spec("h = mlp(hist, units=[8])\n  out = head(h, task=ctr)",
                           features="hist = sequence(max_len=4, dim=3, pool=none)"))
    assert (d.message, d.label, d.span.text) == ("`mlp` takes vectors, got seq[4, 3]", "this is seq[4, 3]", "hist")
