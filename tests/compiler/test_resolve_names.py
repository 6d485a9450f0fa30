"""`passes/resolve_names.py`: every name resolves to a node of the right kind; edges are added; `all` expands."""

from __future__ import annotations

import pytest

from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_ir_golden, codes, error, ir_after, minimal_spec,
)


@pytest.mark.parametrize("bad", bad_specs_of("resolve_names"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("resolve_names", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_dump_golden(good):
    check_ir_golden("resolve_names", good)


def test_docstring_example():
    d = error(minimal_spec("h = mlp(prce, units=[8])\n  out = head(h, task=ctr)"))
    assert (d.code, d.message, d.help, d.span.text) == (
        "E0204", "unknown name `prce` in graph node `h`", "did you mean `price`?", "prce")
    assert d.label == "not declared in `features` or `graph`"


def test_edges_record_the_reference_and_the_parameter():
    ir = ir_after("good/full.msd", "resolve_names")
    g = ir.graph
    assert g.edges["aux", "out"]["param"] == "offset" and g.edges["aux", "out"]["span"].text == "aux"
    assert g.edges["ctr", "cvr"]["param"] == "within"
    assert g.edges["ctr", "loss[0]"]["param"] == "task"
    assert g.nodes["out"]["inputs"] == ["t", "aux"]
    assert set(g.predecessors("ctcvr")) == {"ctr", "cvr"}


def test_all_expands_to_the_features_that_pass_the_filters():
    ir = ir_after("good/full.msd", "resolve_names")
    assert ir.graph.nodes["x"]["inputs"] == ["user_id", "item_id", "price", "age", "hist"]  # not `shop`
    text = minimal_spec("u = embed(all, field=user)\n  out = head(u, task=ctr)",
                        features="a = categorical(field=user)\n  b = categorical(field=item)\n"
                                 "  c = numeric(field=user)\n  s = sequence(pool=none, field=user)")
    ir = check(text)
    assert ir.graph.nodes["u"]["inputs"] == ["a", "c"]  # unpooled sequences are never in `all`


def test_wrong_kind_of_name():
    d = error(minimal_spec("h = mlp(embed(all), units=[8])\n  e = embed(h)\n  out = head(h, task=ctr)"))
    assert d.message == "`h` in graph node `e` is a graph node, not a feature"
    assert d.label == "expected a feature" and d.help == "declared: user, price"
    d = error(minimal_spec("h = mlp(embed(all), units=[8])\n  out = head(h, task=user)"))
    assert d.message == "`user` in graph node `out` is a feature, not a task"


def test_names_in_settings_stages_and_groups():
    graph = "h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)"
    extra = ("train {\n  objective = los\n  early_stop = early_stop(task=ctrr)\n"
             "  stage a { freeze = [hh] }\n  group g { nodes = [usr] }\n}\n")
    assert codes(minimal_spec(graph, extra=extra)) == ["E0204"] * 4


def test_within_and_product_tasks_resolve_to_tasks():
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = per task: head(h)",
                        tasks='ctr = binary(label="c")\n  cvr = binary(label="p", within=crt)\n'
                              "  both = product(ctr, price)")
    assert codes(text) == ["E0204", "E0204"]


def test_nested_call_errors_name_the_statement():
    d = error(minimal_spec("h = mlp(concat(embed(all, partition=specific)), units=[8])\n  out = head(h, task=ctr)"))
    assert (d.code, d.message) == ("E0207", "`all` selects no feature in node `h`")


def test_unbound_features_do_not_make_all_select_nothing():
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)",
                        features="user = categorical(dimm=8)")
    assert codes(text) == ["E0101"]


def test_head_scenarios_and_composed_tasks():
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr, scenarios=[s0, s9])")
    d = error(text)
    assert (d.code, d.help) == ("E0206", "scenarios: s0, s1")
