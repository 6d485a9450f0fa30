"""`passes/bind_params.py` (with the IR builder, which reports together with it): sections, settings, every call
bound to its schema, scenarios."""

from __future__ import annotations

import pytest

from compiler.passes.bind_params import MAX_SCENARIOS
from compiler.schema import Bound, Ref
from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_ir_golden, codes, error, ir_after, minimal_spec,
)

GRAPH = "h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)"


@pytest.mark.parametrize("bad", bad_specs_of("bind_params"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("bind_params", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_dump_golden(good):
    check_ir_golden("bind_params", good)


def test_docstring_example():
    d = error(minimal_spec(GRAPH, features="user_id = categorical(dimm=16)"))
    assert (d.code, d.message, d.help) == (
        "E0101", "unknown parameter `dimm` for feature type `categorical`", "did you mean `dim`?")
    assert d.span.text == "dimm"


def test_params_and_spans_are_written_onto_nodes():
    ir = ir_after("good/full.msd", "bind_params")
    h = ir.graph.nodes["h"]
    assert h["params"] == {"x": Ref("n", h["params"]["x"].span), "units": [64, 32], "activation": "relu"}
    assert h["spans"]["units"].text == "[64, 32]" and h["spans"]["units[1]"].text == "32"
    shop = ir.graph.nodes["shop"]["params"]
    assert shop["partition"] == "specific" and shop["dim"] == 8 and shop["min_count"] == 1


def test_settings_sections_get_defaults_and_typed_values():
    ir = ir_after("good/minimal.msd", "bind_params")
    assert ir.settings["train"]["batch"] == 2048 and ir.settings["train"]["optimizer"] is None
    assert ir.settings["evaluate"]["metrics"] == ["auc", "gauc", "logloss", "pcoc"]
    ir = ir_after("good/full.msd", "bind_params")
    opt = ir.settings["train"]["optimizer"]
    assert isinstance(opt, Bound) and opt.kind == "adamw" and opt.params["betas"] == [0.9, 0.98]
    assert ir.settings["train"]["compile"] is False and ir.settings["train"]["device"] == "cpu"
    assert [s["name"] for s in ir.stages] == ["warmup", "finetune"]
    assert ir.stages[0]["epochs"] == 1 and ir.stages[1]["epochs"] is None
    assert ir.groups[0]["optimizer"].params["lr"] == 0.05


def test_synthetic_scenarios_are_named_by_the_generator():
    ir = ir_after("good/minimal.msd", "bind_params")
    assert [s["name"] for s in ir.scenarios] == ["s0", "s1", "s2"]
    ir = check(minimal_spec(GRAPH, scenarios=5))
    assert [s["value"] for s in ir.scenarios] == ["s0", "s1", "s2", "s3", "s4"]


def test_declared_scenarios_keep_their_order_values_and_weights():
    ir = ir_after("good/full.msd", "bind_params")
    assert [(s["name"], s["value"], s["weight"], s["group"]) for s in ir.scenarios] == [
        ("search", "search", 2.0, "app"), ("feed", 2, 1.0, "app"), ("mall", "shop", 1.0, None)]


@pytest.mark.parametrize("count", [0, -1, MAX_SCENARIOS + 1])
def test_synthetic_scenario_count_is_bounded(count):
    d = error(minimal_spec(GRAPH).replace("scenarios=2", f"scenarios={count}"))
    assert d.code == "E0015" and d.span.text == str(count)


def test_several_errors_of_building_and_binding_come_together():
    text = minimal_spec("h = mlp(embed(all), unit=[8])\n  out = head(h, task=ctr)",
                        features="user = categorical(dim=8)\n  user = numeric()",
                        extra="train { batch = 1.5  optimzer = adam() }\nfoo { }\n")
    assert sorted(codes(text)) == ["E0010", "E0011", "E0101", "E0101", "E0105"]  # no E0104 for `units`


def test_duplicate_settings_stages_and_objectives():
    text = minimal_spec(GRAPH, extra="train {\n  batch = 1\n  batch = 2\n  stage a { }\n  stage a { }\n}\n"
                                     "objective {\n  loss = bce(ctr)\n  loss = bce(ctr)\n}\n")
    assert codes(text) == ["E0011", "E0011", "E0011"]
    # `loss` starts as the bce of every task and `+=` adds to it: two `+=` make three terms.
    text = minimal_spec(GRAPH, extra="objective {\n  loss += bce(ctr)\n  loss += 0.1 * l2(h)\n}\n")
    ir = check(text)
    assert ir.objectives["loss"] == ["loss[0]", "loss[1]", "loss[2]"]


def test_anonymous_nodes_do_not_take_a_later_node_name():
    text = minimal_spec("out = head(h__concat, task=ctr)\n  h = mlp(concat(embed(user)), units=[4])\n"
                        "  h__concat = mlp(embed(price), units=[4])")
    ir = check(text)
    assert ir.graph.nodes["h__concat"]["kind"] == "mlp"
    assert ir.graph.nodes["h__concat_"]["kind"] == "concat" and ir.owner("h__concat_") == "h"
    assert [w.message for w in ir.warnings] == ["`user` is never used", "`h` is never used"]


def test_positional_argument_after_keyword_is_given_twice():
    d = error(minimal_spec("h = mlp(embed(all), units=[8], [4])\n  out = head(h, task=ctr)"))
    assert d.code == "E0103" and d.span.text == "[4]"
    assert d.labels[0].span.text == "units=[8]"


def test_wrong_type_points_at_the_bad_list_item_and_suggests():
    d = error(minimal_spec(GRAPH, extra="evaluate { metrics = [auc, gaucc] }\n"))
    assert (d.code, d.span.text, d.help) == ("E0105", "gaucc", "did you mean `gauc`?")
    d = error(minimal_spec(GRAPH, extra="evaluate { slices = [] }\n"))
    assert d.span.text == "[]" and "non-empty list" in d.message
    d = error(minimal_spec(GRAPH, extra="train { compile = aut }\n"))
    assert d.message == "`compile` in `train` must be `true` or `false` or `auto`"
    assert d.help == "did you mean `auto`?"


def test_section_names_and_misplaced_statements():
    assert error(minimal_spec(GRAPH, extra="evaluate all { }\n")).message == "section `evaluate` takes no name"
    assert error(minimal_spec(GRAPH, extra="grph { }\n")).help == "did you mean `graph`?"
    d = error(minimal_spec(GRAPH, extra="train { stage { } }\n"))
    assert (d.code, d.span.text) == ("E0014", "stage")
    d = error(minimal_spec(GRAPH, extra="data { source = synthetic() }\n"))
    assert d.code == "E0011" and d.labels[0].message == "first here"


def test_no_scenarios_anywhere():
    text = "spec t\nfeatures { u = categorical() }\ntasks { ctr = binary(label=\"c\") }\n" \
           "graph { out = head(embed(u), task=ctr) }\n"
    d = error(text)
    assert d.code == "E0015" and d.span.line == 1


def test_replication_axes():
    assert codes(minimal_spec("h = per tsak: mlp(embed(all), units=[8])\n  out = head(h, task=ctr)")) == ["E0202"]
    d = error(minimal_spec("h = per task: moe(embed(all), units=[8])\n  out = per task: head(h)"))
    assert d.code == "E0203" and d.help == "remove `per task:`; `moe` decides its own axes"


def test_objective_terms():
    ir = check(minimal_spec(GRAPH, extra="objective { loss = -bce(ctr) + 2 * l2(h) - l2(h) / 4 }\n"))
    weights = [ir.graph.nodes[t]["weight"] for t in ir.objectives["loss"]]
    assert weights == [-1.0, 2, -0.25]
    for bad in ("bce(ctr) * 2 * 3", "bce(ctr) / 0", "per task: bce(ctr)", '"loss"', "bce(ctr) * l2(h)"):
        assert codes(minimal_spec(GRAPH, extra=f"objective {{ loss = {bad} }}\n")) == ["E0401"], bad


def test_default_objective_is_bce_of_every_task():
    ir = check(minimal_spec("h = mlp(embed(all), units=[8])\n  out = per task: head(h)",
                            tasks='ctr = binary(label="c")\n  cvr = binary(label="p", within=ctr)'))
    assert [ir.graph.nodes[t]["params"]["task"].name for t in ir.objectives["loss"]] == ["ctr", "cvr"]
