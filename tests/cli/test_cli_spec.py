"""`check`, `compile` and `diagram`: diagnostics on stderr with exit 2 and no traceback; summaries and emitted text;
a diagram of every spec in specs/ (DOT, Mermaid, and SVG when Graphviz is installed)."""

from __future__ import annotations

import json
import shutil

import pytest

from cli_support import QUICKSTART, SPECS, msdsl, no_traceback, run_batch

# Two mistakes of the same stage: both are reported, each with its file, line, column and a hint.
BAD = """\
spec search

data { source = synthetic(rows=10_000) }

features {
  price   = numeric(field=item)
  user_id = categorical(dimm=16, field=user)
}

tasks { ctr = binary(label="click") }

graph {
  h   = per scenario: mlp(prce, units=[64, 32])
  out = per task: head(h)
}
"""

ALL_SPECS = sorted(SPECS.glob("*.msd"))
FORMATS = ["dot", "mmd"] + (["svg"] if shutil.which("dot") else [])


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every command of this file that needs no process of its own, run in one interpreter (see `run_batch`)."""
    d = tmp_path_factory.mktemp("spec")
    (d / "search.msd").write_text(BAD)
    commands = {
        "bad_compile": ["compile", "search.msd"],
        "bad_run": ["run", "search.msd", "-q"],
        "bad_diagram": ["diagram", "search.msd", "-o", "bad.dot"],
        "missing_compile": ["compile", "nope.msd"],
        "missing_run": ["run", "nope.msd", "-q"],
        "missing_diagram": ["diagram", "nope.msd", "-o", "nope.dot"],
        "set_typo": ["run", QUICKSTART, "-q", "--set", "train.epoch=1"],
        "set_no_value": ["run", QUICKSTART, "-q", "--set", "train.epochs"],
        "set_bad_value": ["compile", QUICKSTART, "--set", "train.epochs=many"],
        "summary": ["compile", SPECS / "esmm.msd"],
        "fx": ["compile", QUICKSTART, "--emit", "fx"],
        "ir": ["compile", QUICKSTART, "--emit", "ir"],
        "json": ["compile", QUICKSTART, "--emit", "json", "-o", "ir.json"],
        "onnx": ["compile", QUICKSTART, "--emit", "onnx"],
        "diagram_txt": ["diagram", SPECS / "star.msd", "-o", "star.txt"],
    }
    for spec in ALL_SPECS:
        for ext in FORMATS:
            commands[f"{spec.stem}.{ext}"] = ["diagram", spec, "-o", f"{spec.stem}.{ext}"]
    return d, run_batch(commands, cwd=d)


def _failed(batch, name: str):
    r = batch[1][name]
    assert r.returncode == 2, str(r)
    no_traceback(r)
    return r


def test_check_bad_spec_prints_every_diagnostic_and_exits_2(tmp_path):
    (tmp_path / "search.msd").write_text(BAD)
    r = msdsl("check", "search.msd", cwd=tmp_path)
    assert r.returncode == 2, str(r)
    no_traceback(r)
    assert r.stdout == ""
    err = r.stderr
    assert "error[E0101]: unknown parameter `dimm`" in err and "search.msd:7:25" in err
    assert "did you mean `dim`?" in err
    assert "error[E0204]: unknown name `prce`" in err and "search.msd:13:27" in err
    assert "did you mean `price`?" in err
    assert "^^^^" in err and "2 errors found" in err


def test_check_several_specs_reports_each(tmp_path):
    (tmp_path / "bad.msd").write_text(BAD)
    r = msdsl("check", QUICKSTART, "bad.msd", "nope.msd", cwd=tmp_path)
    assert r.returncode == 2, str(r)
    assert f"{QUICKSTART}: ok (4 nodes, 3 scenarios, 1 task)" in r.stdout
    assert "bad.msd:7:25" in r.stderr
    assert "cannot read `nope.msd`" in r.stderr
    no_traceback(r)

    r = msdsl("check", *ALL_SPECS, cwd=tmp_path)
    assert r.returncode == 0, str(r)
    assert r.stdout.count(": ok (") == len(ALL_SPECS)


def test_compile_run_and_diagram_of_a_bad_spec_print_its_diagnostics(batch):
    for name in ("bad_compile", "bad_run", "bad_diagram"):
        r = _failed(batch, name)
        assert "error[E0101]" in r.stderr and "error[E0204]" in r.stderr and "2 errors found" in r.stderr
    d, _ = batch
    assert not (d / "bad.dot").exists() and not (d / "msdsl.duckdb").exists()


def test_missing_spec_file_is_a_clean_error(batch):
    for name in ("missing_compile", "missing_run", "missing_diagram"):
        r = _failed(batch, name)
        assert "nope.msd" in r.stderr and ("No such file" in r.stderr or "cannot read" in r.stderr), str(r)


def test_override_mistakes_are_diagnostics(batch):
    r = _failed(batch, "set_typo")
    assert "unknown setting `epoch`" in r.stderr and "did you mean `epochs`?" in r.stderr
    assert "train { epoch = 1 }" in r.stderr  # the override's text, with a caret under it
    r = _failed(batch, "set_no_value")
    assert "not KEY=VALUE" in r.stderr
    r = _failed(batch, "set_bad_value")
    assert "epochs" in r.stderr


def test_compile_prints_the_summary(batch):
    r = batch[1]["summary"]
    assert r.returncode == 0, str(r)
    out = r.stdout
    assert out.startswith("spec esmm: 3 scenarios (s0, s1, s2), tasks ctr, cvr, ctcvr")
    assert "parameters" in out.splitlines()[0]
    for node in ("user_id", "x", "h", "tower", "out", "total"):
        assert any(line.split()[:1] == [node] for line in out.splitlines()), node
    assert "objectives: loss" in out


def test_compile_emits_fx_ir_and_json(batch):
    d, results = batch
    fx = results["fx"]
    assert fx.returncode == 0, str(fx)
    assert "# predict" in fx.stdout and "# train" in fx.stdout and "def forward(self" in fx.stdout
    compile(fx.stdout.split("# train")[0].replace("# predict", ""), "fx", "exec")  # valid Python

    ir = results["ir"]
    assert ir.returncode == 0 and ir.stdout.startswith("spec quickstart"), str(ir)
    assert "feature user_id = categorical(" in ir.stdout

    js = results["json"]
    assert js.returncode == 0 and "wrote ir.json" in js.stdout, str(js)
    doc = json.loads((d / "ir.json").read_text())
    assert doc["spec"] == "quickstart" and [s["name"] for s in doc["scenarios"]] == ["s0", "s1", "s2"]

    onnx = _failed(batch, "onnx")
    assert "invalid choice" in onnx.stderr  # argparse's own usage error


def test_diagram_through_the_cli(tmp_path, batch):
    r = msdsl("diagram", SPECS / "star.msd", "-o", "star.mmd", cwd=tmp_path)  # a process of its own
    assert r.returncode == 0 and "wrote star.mmd" in r.stdout, str(r)
    assert "flowchart" in (tmp_path / "star.mmd").read_text()
    r = _failed(batch, "diagram_txt")
    assert "star.txt" in r.stderr and ".dot" in r.stderr


@pytest.mark.parametrize("spec", ALL_SPECS, ids=[p.stem for p in ALL_SPECS])
def test_diagram_of_every_spec(spec, batch):
    d, results = batch
    for ext in FORMATS:
        r = results[f"{spec.stem}.{ext}"]
        assert r.returncode == 0 and r.stderr == "", str(r)
        text = (d / f"{spec.stem}.{ext}").read_text()
        assert len(text) > 200
        if ext == "dot":
            assert text.lstrip().startswith(("digraph", "strict digraph")) and "->" in text
        elif ext == "mmd":
            assert "flowchart" in text and "-->" in text
        else:
            assert "<svg" in text


def test_svg_needs_graphviz():
    if not shutil.which("dot"):
        pytest.skip("Graphviz `dot` is not installed: SVG and PNG diagrams are not drawn")
    assert "svg" in FORMATS
