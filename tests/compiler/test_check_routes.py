"""`passes/check_routes.py`: every (scenario, task) pair has exactly one head; unused nodes are warnings."""

from __future__ import annotations

import pytest

from compiler.passes.check_routes import heads_by_task
from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_golden, check_ir_unchanged, codes, compile_rel, error,
    ir_after, minimal_spec, render,
)

TWO_TASKS = 'ctr = binary(label="click")\n  cvr = binary(label="buy", within=ctr)'


@pytest.mark.parametrize("bad", bad_specs_of("check_routes"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("check_routes", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_is_only_checked(good):
    check_ir_unchanged("check_routes", good)


@pytest.mark.parametrize("good", GOOD)
def test_good_specs_warn_about_nothing(good):
    assert compile_rel(f"good/{good}").warnings == []


def test_docstring_example():
    d = error(minimal_spec("h = mlp(embed(all), units=[8])\n  y = head(h, task=ctr)", tasks=TWO_TASKS))
    assert (d.code, d.message, d.span.text) == ("E0501", "task `cvr` has no head", "cvr")


def test_heads_by_task():
    ir = ir_after("good/experts.msd")
    assert heads_by_task(ir) == {"ctr": ["main", "rare"], "cvr": ["main", "rare"]}
    ir = ir_after("good/full.msd")
    assert heads_by_task(ir) == {"ctr": ["out"], "cvr": ["out"]}


def test_heads_split_by_scenario():
    graph = ("h = mlp(embed(all), units=[8])\n  a = head(h, task=ctr, scenarios=[s0])\n"
             "  b = head(h, task=ctr, scenarios=[s1, s2])")
    check(minimal_spec(graph, scenarios=3))
    d = error(minimal_spec(graph, scenarios=4))
    assert (d.code, d.message) == ("E0503", "task `ctr` has no head for scenario `s3`")


def test_overlapping_heads_are_one_error_per_pair():
    graph = "h = mlp(embed(all), units=[8])\n  a = head(h, task=ctr)\n  b = head(h, task=ctr)"
    d = error(minimal_spec(graph, scenarios=3))
    assert (d.code, d.message) == ("E0502", "task `ctr` has two heads for scenarios `s0`, `s1`, `s2`")
    assert (d.span.text, d.labels[0].span.text, d.labels[0].message) == ("b", "a", "first head")


def test_a_scenario_listed_twice():
    graph = "h = mlp(embed(all), units=[8])\n  a = head(h, task=ctr, scenarios=[s0, s1, s0])"
    d = error(minimal_spec(graph))
    assert (d.code, d.message) == ("E0502", "head `a` lists scenario `s0` twice")
    line = d.span.source.line(d.span.line)
    assert (d.span.text, line.index("s0]") + 1) == ("s0", d.span.column)  # the second `s0`


def test_head_task_rules():
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  a = per task: head(h, task=ctr)\n  b = head(h)",
                        tasks=TWO_TASKS)
    assert codes(text) == ["E0504", "E0504"]  # no E0501 for `cvr`: the `per task:` head covers it


def test_unused_nodes_and_features_are_warnings_in_source_order():
    text = minimal_spec("spare = mlp(concat(embed(user), embed(price)), units=[4])\n"
                        "  h = mlp(embed(user), units=[8])\n  out = head(h, task=ctr)")
    ir = check(text, "warn.msd")
    assert [(w.code, w.severity, w.message) for w in ir.warnings] == [
        ("W0001", "warning", "`price` is never used"), ("W0001", "warning", "`spare` is never used")]
    check_golden("check_routes/warnings.txt", render(ir.warnings))


def test_objective_terms_count_as_uses():
    text = minimal_spec("h = mlp(embed(user), units=[8])\n  out = head(h, task=ctr)",
                        features="user = categorical()\n  item = categorical()",
                        extra="objective { loss = bce(ctr) + l2(item) }\n")
    assert check(text).warnings == []
