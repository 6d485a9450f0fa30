"""`passes/check_roles.py`: objective arguments must play the role their objective declares."""

from __future__ import annotations

import pytest

from compiler.catalog import OBJECTIVES
from compiler.passes.check_roles import ROLES
from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_ir_unchanged, codes, error, ir_after, minimal_spec,
)


@pytest.mark.parametrize("bad", bad_specs_of("check_roles"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("check_roles", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_is_only_checked(good):
    check_ir_unchanged("check_roles", good)


def test_docstring_example():
    text = minimal_spec("a = linear(embed(user), units=4)\n  b = linear(embed(price), units=4)\n  x = concat(a, b)\n"
                        "  out = head(x, task=ctr)", extra="objective { loss = bce(ctr) + 0.1 * l2(x) }\n")
    d = error(text)
    assert (d.code, d.message) == ("E0320", "`l2` reads `x` as `nodes`, which must be a node with parameters")
    assert (d.span.text, d.label) == ("x", "`x` is a `concat`")


def test_every_declared_role_is_known():
    for entry in OBJECTIVES.entries.values():
        assert set(entry.meta["roles"].values()) <= set(ROLES), entry.name


@pytest.mark.parametrize("arg,ok", [("user", True), ("price", False), ("h", True), ("out", True)])
def test_params_role(arg, ok):
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)",
                        extra=f"objective {{ loss = bce(ctr) + l2({arg}) }}\n")
    assert codes(text) == ([] if ok else ["E0320"])


def test_roles_of_the_shared_and_scenario_kinds():
    g = ir_after("good/full.msd").graph
    shared, scenario, per_scenario = (ROLES[r][0] for r in ("shared", "scenario", "per_scenario"))
    assert shared(g.nodes["x"]) and not shared(g.nodes["h"])
    assert scenario(g.nodes["h"]) and scenario(g.nodes["shop"]) and scenario(g.nodes["m"])  # m reads per-scenario h
    assert not scenario(g.nodes["x"])
    assert per_scenario(g.nodes["h"]) and per_scenario(g.nodes["n"]) and not per_scenario(g.nodes["sx"])
    assert not per_scenario(g.nodes["shop"])


def test_bucketed_numeric_features_have_parameters():
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = head(h, task=ctr)",
                        features="user = categorical()\n  price = numeric(buckets=8)",
                        extra="objective { loss = bce(ctr) + l2(price) }\n")
    check(text)
