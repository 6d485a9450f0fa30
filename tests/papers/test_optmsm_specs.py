"""OptMSM's specs: the full method on three transfer modules and the Table 5–6 ablations compile, differ from the
full spec only where they say, keep objective code out of `predict`, and train end to end into the store."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import duckdb
import pytest
import torch

import compiler
from compiler.diagnostics import CompileError
from compiler.lower import lower
from compiler.lower.optmsm import pair_cosines
from msdsl.cli import main

SPECS = Path(__file__).resolve().parents[2] / "specs"
NAMES = sorted(p.stem for p in SPECS.glob("optmsm*.msd"))
FULL = ["optmsm_fcn", "optmsm_moe", "optmsm_cgc"]
ABLATIONS = ["optmsm_no_priors", "optmsm_no_constraint", "optmsm_no_hypernet"]
TRAINED = FULL + ["optmsm_no_constraint"]  # the other ablations and the backbones: bench/methods.py optmsm
TINY = ["--set", "data.source=synthetic(rows=3000, scenarios=3, seed=7, users=200, items=50)",
        "--set", 'data.split=hash(column="user_id", valid=0.2, test=0.2)',
        "--set", "train.epochs=1", "--set", "train.batch=512"]


def _ir(name):
    return compiler.check_file(SPECS / f"{name}.msd")


def test_every_paper_variant_and_ablation_has_a_spec():
    assert set(FULL + ABLATIONS) | {"optmsm_moe_backbone", "optmsm_cgc_backbone"} == set(NAMES)


def _kinds(ir) -> dict:
    return {n: (d["kind"], d.get("replicate")) for n, d in ir.graph.nodes(data=True) if d["op"] == "block"}


def test_full_method_has_every_part():
    ir = _ir("optmsm_fcn")
    kinds = _kinds(ir)
    assert kinds["gated"] == ("se_gate", None) and kinds["h"] == ("star", None)
    assert kinds["tower"] == ("hyper_mlp", "scenario")
    assert ir.graph.nodes["prior"]["inputs"] == ["hour", "device"]
    assert {ir.graph.nodes[f]["params"]["partition"] for f in ("hour", "device")} == {"specific"}
    assert [ir.graph.nodes[t]["kind"] for t in ir.objectives["loss"]] == ["bce", "orthogonal"]


@pytest.mark.parametrize("name,transfer", [("optmsm_moe", "moe"), ("optmsm_cgc", "cgc")])
def test_transfer_module_is_a_one_line_switch(name, transfer):
    ir, full = _ir(name), _ir("optmsm_fcn")
    assert _kinds(ir)["h"] == (transfer, None) and ir.graph.nodes["h"]["inputs"] == ["gated"]
    assert _kinds(ir)["tower"] == _kinds(full)["tower"]


def test_ablations_remove_one_part_each():
    full = _ir("optmsm_fcn")
    no_priors, no_constraint, no_hyper = (_ir(f"optmsm_no_{x}") for x in ("priors", "constraint", "hypernet"))
    assert {no_priors.graph.nodes[f]["params"]["partition"] for f in ("hour", "device")} == {"shared"}
    assert "prior" not in no_priors.graph and no_priors.graph.nodes["tower"]["inputs"] == ["h"]
    assert set(no_priors.graph.nodes["x"]["inputs"]) == set(full.graph.nodes["x"]["inputs"]) | {"hour", "device"}
    assert [no_constraint.graph.nodes[t]["kind"] for t in no_constraint.objectives["loss"]] == ["bce"]
    assert _kinds(no_constraint) == _kinds(full)
    assert _kinds(no_hyper)["tower"] == ("mlp", "scenario") and _kinds(no_hyper)["gated"] == ("se_gate", None)


def test_orthogonality_on_a_shared_node_says_what_it_needs():
    text = 'spec t extends "optmsm_fcn.msd"\nobjective { loss += orthogonal(x) }\n'
    with pytest.raises(CompileError) as err:
        compiler.check_text(text, SPECS / "t.msd")
    (d,) = err.value.diagnostics
    assert d.code == "E0320" and d.message == "`orthogonal` reads `x` as `x`, which must be a node that depends on " \
                                              "the scenario"
    assert d.span.text == "x"


@pytest.mark.parametrize("name", FULL)
def test_predict_has_no_objective_code(name):
    low = lower(_ir(name))
    predict = {n.target for n in low.predict.graph.nodes}
    train = {n.target for n in low.train.graph.nodes}
    assert pair_cosines in train and pair_cosines not in predict
    assert torch.nn.functional.binary_cross_entropy_with_logits not in predict
    assert "_all" not in low.predict.code  # nothing evaluated under every scenario for prediction


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optmsm")
    path = str(tmp / "runs.duckdb")
    for name in TRAINED:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", str(SPECS / f"{name}.msd"), "-q", "--store", path, "--runs-dir", str(tmp / "ckpt"),
                         *TINY])
        assert code == 0, name
    return path


def test_every_spec_trains_and_its_metrics_land_in_the_store(store):
    con = duckdb.connect(store, read_only=True)
    try:
        rows = con.execute("SELECT r.name, m.scenario, m.value FROM metrics m JOIN runs r USING (run) "
                           "WHERE m.metric = 'auc' AND m.split = 'test' AND m.task = 'ctr'").fetchall()
        terms = con.execute("SELECT DISTINCT r.name, l.term FROM training_log l JOIN runs r USING (run)").fetchall()
    finally:
        con.close()
    auc = {(name, scenario): value for name, scenario, value in rows}
    for name in TRAINED:
        for scenario in ("s0", "s1", "s2", "*"):
            assert 0.0 < auc[(name, scenario)] < 1.0, (name, scenario)
    logged = {}
    for name, term in terms:
        logged.setdefault(name, set()).add(term)
    assert all("loss[1]" in logged[n] for n in FULL) and "loss[1]" not in logged["optmsm_no_constraint"]
