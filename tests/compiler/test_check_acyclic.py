"""`passes/check_acyclic.py`: no node may depend on itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compiler_test_support import (
    GOOD, HERE, bad_specs_of, check_diagnostics_golden, check_ir_unchanged, codes, error, minimal_spec,
)


@pytest.mark.parametrize("bad", bad_specs_of("check_acyclic"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("check_acyclic", bad)


@pytest.mark.parametrize("good", GOOD)
def test_ir_is_only_checked(good):
    check_ir_unchanged("check_acyclic", good)


def test_docstring_example():
    d = error(minimal_spec("a = mlp(b, units=[8])\n  b = mlp(a, units=[8])\n  out = head(b, task=ctr)"))
    assert (d.code, d.message) == ("E0208", "the graph has a cycle: b → a → b")
    assert (d.span.text, d.label) == ("b", "`a` reads `b`")
    (other,) = d.labels
    assert (other.span.text, other.message) == ("a", "`b` reads `a`")


def test_cycle_through_nested_calls_names_statements():
    d = error(minimal_spec("a = mlp(concat(b, embed(user)), units=[8])\n  b = linear(mlp(a, units=[4]), units=8)\n"
                           "  out = head(b, task=ctr)"))
    assert d.message == "the graph has a cycle: b → a → b"
    assert "__" not in d.render()


def test_self_loops_and_task_cycles():
    assert codes(minimal_spec("h = mlp(h, units=[8])\n  out = head(h, task=ctr)")) == ["E0208"]
    text = minimal_spec("h = mlp(embed(all), units=[8])\n  out = per task: head(h)",
                        tasks='ctr = binary(label="c", within=cvr)\n  cvr = binary(label="p", within=ctr)')
    assert error(text).message == "the graph has a cycle: cvr → ctr → cvr"


def test_two_cycles_are_two_errors():
    text = minimal_spec("a = mlp(a, units=[8])\n  b = mlp(c, units=[8])\n  c = mlp(b, units=[8])\n"
                        "  out = head(concat(a, b), task=ctr)")
    assert codes(text) == ["E0208", "E0208"]


def test_cycle_report_does_not_depend_on_hash_seed():
    code = ("import os, compiler\nos.chdir(%r)\ntry:\n    compiler.check_file('bad/cycle.msd')\n"
            "except compiler.CompileError as e:\n    print(e)\n" % str(HERE))
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1 and "cycle" in outs.pop()
