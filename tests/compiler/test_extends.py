"""`compiler/extend.py`: `spec child extends "base.msd"` — overrides in place, `= none`, `+=`, cycles, missing
bases, and spans that keep pointing into the file each statement came from."""

from __future__ import annotations

from pathlib import Path

import pytest

import compiler
from compiler.diagnostics import CompileError
from compiler.ir import dump
from compiler_test_support import bad_specs_of, check_diagnostics_golden, compile_rel, render

BASE = """spec base

data { source = synthetic(scenarios=2) }

features {
  user  = categorical(dim=8, field=user)
  item  = categorical(dim=8, field=item)
  price = numeric(field=item)
}

tasks { ctr = binary(label="click") }

graph {
  x   = embed(all)
  h   = mlp(x, units=[16])
  out = head(h, task=ctr)
}

objective { loss = bce(ctr) }

train {
  batch = 256
  epochs = 3
  stage warm { epochs = 1  freeze = [user] }
}
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def compile_child(tmp_path: Path, child: str, **more: str):
    write(tmp_path, **{"base.msd": BASE, "child.msd": child, **more})
    return compiler.check_file(tmp_path / "child.msd")


def errors(tmp_path: Path, child: str, **more: str):
    with pytest.raises(CompileError) as err:
        compile_child(tmp_path, child, **more)
    for d in err.value.diagnostics:
        d.render()
    return err.value.diagnostics


@pytest.mark.parametrize("bad", bad_specs_of("extends"))
def test_diagnostics_golden(bad):
    check_diagnostics_golden("extends", bad)


def test_override_replaces_in_place_and_keeps_spans_per_file(tmp_path):
    ir = compile_child(tmp_path, 'spec child extends "base.msd"\n'
                                 "features { item = categorical(dim=32, field=item) }\n"
                                 "graph { h = mlp(x, units=[64, 8]) }\n")
    assert ir.name == "child"
    assert ir.features == ["user", "item", "price"]  # `item` stays where the base declared it
    g = ir.graph
    assert g.nodes["item"]["params"]["dim"] == 32 and str(g.nodes["h"]["type"]) == "vec[8]"
    assert g.nodes["item"]["span"].source.path.endswith("child.msd")
    assert g.nodes["user"]["span"].source.path.endswith("base.msd")
    assert (g.nodes["h"]["name_span"].line, g.nodes["user"]["name_span"].line) == (3, 6)


def test_none_removes_a_statement_and_a_nested_setting(tmp_path):
    ir = compile_child(tmp_path, 'spec child extends "base.msd"\n'
                                 "features { price = none }\n"
                                 "train { stage warm { freeze = none } }\n")
    assert ir.features == ["user", "item"]
    assert ir.graph.nodes["x"]["inputs"] == ["user", "item"]
    (warm,) = ir.stages
    assert warm["epochs"] == 1 and warm["freeze"] is None


def test_plus_assign_appends_terms_and_assign_replaces_them(tmp_path):
    ir = compile_child(tmp_path, 'spec child extends "base.msd"\nobjective { loss += 0.5 * l2(h) }\n')
    assert [(ir.graph.nodes[t]["kind"], ir.graph.nodes[t]["weight"]) for t in ir.objectives["loss"]] == [
        ("bce", 1.0), ("l2", 0.5)]
    ir = compile_child(tmp_path, 'spec child extends "base.msd"\nobjective { loss = 2 * bce(ctr) }\n')
    assert [ir.graph.nodes[t]["weight"] for t in ir.objectives["loss"]] == [2]


def test_new_sections_stages_and_statements_are_appended(tmp_path):
    ir = compile_child(tmp_path, 'spec child extends "base.msd"\n'
                                 "evaluate { metrics = [auc] }\n"
                                 "graph {\n  extra = mlp(h, units=[4])\n"
                                 "  out2 = head(extra, task=ctr, scenarios=[s1])\n"
                                 "  out = head(h, task=ctr, scenarios=[s0])\n}\n"
                                 "train { stage tune { epochs = 2 } }\n")
    assert ir.settings["evaluate"]["metrics"] == ["auc"]
    assert [s["name"] for s in ir.stages] == ["warm", "tune"]
    assert ir.blocks[-2:] == ["extra", "out2"]


def test_three_levels(tmp_path):
    write(tmp_path, **{"mid.msd": 'spec mid extends "base.msd"\ntrain { batch = 512 }\n'})
    ir = compile_child(tmp_path, 'spec child extends "mid.msd"\ntrain { epochs = 9 }\n')
    assert (ir.settings["train"]["batch"], ir.settings["train"]["epochs"]) == (512, 9)


def test_base_in_another_folder_resolves_relative_to_the_child(tmp_path):
    write(tmp_path, **{"lib/base.msd": BASE, "app/child.msd": 'spec c extends "../lib/base.msd"\n'})
    assert compiler.check_file(tmp_path / "app" / "child.msd").name == "c"


def test_cycles(tmp_path):
    (d,) = errors(tmp_path, 'spec child extends "child.msd"\n')
    assert (d.code, d.message) == ("E0003", "specs extend each other in a cycle: child.msd → child.msd")
    write(tmp_path, **{"a.msd": 'spec a extends "b.msd"\n', "b.msd": 'spec b extends "c.msd"\n',
                       "c.msd": 'spec c extends "a.msd"\n'})
    with pytest.raises(CompileError) as err:
        compiler.check_file(tmp_path / "a.msd")
    (d,) = err.value.diagnostics
    assert d.message == "specs extend each other in a cycle: a.msd → b.msd → c.msd → a.msd"
    assert d.span.source.path.endswith("c.msd") and d.span.text == '"a.msd"'


def test_missing_or_unreadable_base(tmp_path):
    (d,) = errors(tmp_path, 'spec child extends "nowhere.msd"\n')
    assert (d.code, d.label, d.span.text) == ("E0002", "no such file", '"nowhere.msd"')
    (tmp_path / "folder.msd").mkdir()
    (d,) = errors(tmp_path, 'spec child extends "folder.msd"\n')
    assert d.code == "E0002"
    (tmp_path / "binary.msd").write_bytes(b"spec x\xff\xfe\n")
    (d,) = errors(tmp_path, 'spec child extends "binary.msd"\n')
    assert (d.code, d.label) == ("E0002", "not UTF-8 text")


def test_errors_in_the_base_point_into_the_base(tmp_path):
    write(tmp_path, **{"base.msd": BASE.replace("mlp(x, units=[16])", "mlp(xx, units=[16])")})
    write(tmp_path, **{"child.msd": 'spec child extends "base.msd"\nfeatures { user = categorical(dimm=4) }\n'})
    with pytest.raises(CompileError) as err:
        compiler.check_file(tmp_path / "child.msd")
    by_file = [(Path(d.span.source.path).name, d.code, d.span.line) for d in err.value.diagnostics]
    assert by_file == [("base.msd", "E0204", 15), ("child.msd", "E0101", 2)]  # together, sorted by file
    text = render(err.value.diagnostics)
    assert "15 |   h   = mlp(xx, units=[16])" in text and "2 | features { user = categorical(dimm=4) }" in text


def test_syntax_error_in_the_base(tmp_path):
    write(tmp_path, **{"base.msd": "spec base\ngraph { h = }\n"})
    write(tmp_path, **{"child.msd": 'spec child extends "base.msd"\n'})
    with pytest.raises(CompileError) as err:
        compiler.check_file(tmp_path / "child.msd")
    (d,) = err.value.diagnostics
    assert d.code == "E0001" and d.span.source.path.endswith("base.msd")


def test_remove_nothing_and_set_twice(tmp_path):
    ds = errors(tmp_path, 'spec child extends "base.msd"\nfeatures { age = none }\n'
                          "train { stage warm { clip = none } }\n")
    assert [(d.code, d.span.text) for d in ds] == [("E0005", "age"), ("E0005", "clip")]
    ds = errors(tmp_path, 'spec child extends "base.msd"\ngraph { h = mlp(x, units=[4])\n h = mlp(x, units=[8]) }\n'
                          "train { stage s { } stage s { } }\n")
    assert [(d.code, d.message) for d in ds] == [("E0011", "`h` appears twice in this spec"),
                                                  ("E0011", "`stage s` appears twice in this spec")]


def test_byte_order_mark_is_ignored(tmp_path):
    (tmp_path / "base.msd").write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    (tmp_path / "child.msd").write_bytes(b'\xef\xbb\xbfspec child extends "base.msd"\n')
    assert compiler.check_file(tmp_path / "child.msd").name == "child"


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.mkdir(), lambda p: p.write_bytes(b"\x80\x81")])
def test_unreadable_spec_file(tmp_path, make):
    path = tmp_path / "spec.msd"
    make(path)
    with pytest.raises(CompileError) as err:
        compiler.check_file(path)
    (d,) = err.value.diagnostics
    assert d.code == "E0000" and d.span is None and d.message.startswith(f"cannot read `{path}`")
    assert d.render().startswith("error[E0000]: cannot read")


def test_child_spec_in_the_good_table():
    ir = compile_rel("good/child.msd")
    assert [s["name"] for s in ir.stages] == ["warmup", "finetune", "extra"]
    assert "age" not in ir.features and ir.graph.nodes["m"]["params"]["experts"] == 6
    assert dump(ir).splitlines()[0] == "spec child"
