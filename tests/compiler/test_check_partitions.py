"""`passes/check_partitions.py`: a `specific` feature may only reach per-scenario blocks."""

from __future__ import annotations

import pytest

from compiler_test_support import (
    GOOD, bad_specs_of, check, check_diagnostics_golden, check_ir_unchanged, codes, error, minimal_spec,
)

FEATURES = "user = categorical(dim=8)\n  shop = categorical(dim=8, partition=specific)"


@pytest.mark.parametrize("bad", bad_specs_of("check_partitions"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("check_partitions", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_is_only_checked(good):
    check_ir_unchanged("check_partitions", good)


def test_docstring_example():
    d = error(minimal_spec("h = mlp(embed(shop), units=[8])\n  out = head(h, task=ctr)", features=FEATURES))
    assert (d.code, d.message) == ("E0310", "specific feature `shop` reaches the shared block `h`")
    assert d.span.text == "embed(shop)"
    assert d.help == "make `h` per scenario (`h = per scenario: mlp(…)`), or declare `shop` with `partition=shared`"


@pytest.mark.parametrize("graph", [
    "h = per scenario: mlp(concat(embed(user), embed(shop)), units=[8])\n  out = head(h, task=ctr)",
    "h = star(sum(embed(shop), embed(user)), units=[8])\n  out = head(h, task=ctr)",
    "n = pn(product(embed(shop), embed(user)))\n  h = mlp(n, units=[8])\n  out = head(h, task=ctr)",
])
def test_per_scenario_blocks_may_read_specific_features(graph):
    check(minimal_spec(graph, features=FEATURES))


def test_the_first_block_with_parameters_must_be_per_scenario():
    text = minimal_spec("h = linear(concat(embed(shop), embed(user)), units=8)\n"
                        "  g = per scenario: mlp(h, units=[8])\n  out = head(g, task=ctr)", features=FEATURES)
    d = error(text)
    assert d.message == "specific feature `shop` reaches the shared block `h`"
    text = minimal_spec("h = head(embed(shop), task=ctr)", features=FEATURES)
    assert codes(text) == ["E0310"]


def test_each_shared_reader_is_reported():
    text = minimal_spec("e = embed(shop)\n  a = mlp(e, units=[8])\n  b = linear(e, units=8)\n"
                        "  out = head(sum(a, b), task=ctr)", features=FEATURES)
    assert codes(text) == ["E0310", "E0310"]
