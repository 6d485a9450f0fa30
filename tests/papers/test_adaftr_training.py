"""AdaFTR's two-part update (Algorithm 1) in one backward pass, the view label, the specs, and end-to-end runs."""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler.lower import call, lower
from msdsl.cli import main
from runtime.synthetic import synthetic

SPECS = Path(__file__).resolve().parents[2] / "specs"
FULL = ["adaftr_mmoe", "adaftr_shared_bottom", "adaftr_ple", "adaftr_three_tasks"]
ABLATIONS = ["adaftr_no_adaptive_tau", "adaftr_no_learnable_tau", "adaftr_no_negative", "adaftr_no_contrastive"]
B = 32


def _batch(ir):
    g = torch.Generator().manual_seed(1)
    batch = {f: torch.randint(0, 100, (B,), generator=g) for f in ir.features}
    batch["price"] = torch.randn(B, generator=g)
    batch["scenario"] = torch.arange(B) % len(ir.scenarios)
    for t in ir.base_tasks:
        batch[t] = torch.randint(0, 2, (B,), generator=g).float()
    return batch


def _grads(low, loss) -> dict[str, torch.Tensor]:
    """d loss / d parameter, zeros where the loss does not reach a parameter."""
    params = dict(low.params.named_parameters())
    grads = torch.autograd.grad(loss, list(params.values()), retain_graph=True, allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g for (n, p), g in zip(params.items(), grads)}


@pytest.mark.parametrize("spec", ["adaftr_mmoe", "adaftr_three_tasks"])
def test_algorithm1_relatedness_moves_by_l_rel_only_and_tasks_by_the_rest(spec):
    ir = compiler.check_file(SPECS / f"{spec}.msd")
    low = lower(ir, seed=0)
    out = call(low.train, _batch(ir))
    terms = {ir.graph.nodes[t]["kind"]: (out["terms"][t], ir.graph.nodes[t]["weight"]) for t in out["terms"]
             if ir.graph.nodes[t]["kind"] != "bce"}
    bce = sum(out["terms"][t] for t in out["terms"] if ir.graph.nodes[t]["kind"] == "bce")
    (l_rel, alpha), (l_cl, beta) = terms["relatedness_bce"], terms["task_contrast"]
    rel = {n for n in dict(low.params.named_parameters()) if n.startswith("rel.")}
    assert rel
    g_rel, g_cl, g_model, g_total = (_grads(low, x) for x in (l_rel, l_cl, bce + beta * l_cl, out["loss"]))
    for name in g_total:
        if name in rel:  # Ω: only L_rel reaches it (line 10 of Algorithm 1)
            assert g_rel[name].abs().sum() > 0 and g_cl[name].abs().sum() == 0 and g_model[name].abs().sum() == 0
            assert torch.allclose(g_total[name], alpha * g_rel[name])
        else:  # Θ: L_rel does not reach it (line 17)
            assert g_rel[name].abs().sum() == 0, name
            assert torch.allclose(g_total[name], g_model[name], atol=1e-7), name
    tower = [n for n in g_cl if n.startswith(("tower.w0", "h."))]
    assert tower and all(g_cl[n].abs().sum() > 0 for n in tower)  # the contrast moves the towers and experts


def test_view_label_is_between_purchase_and_click_and_leaves_other_columns_alone():
    plain = synthetic(rows=4000, seed=5, users=300, items=80).fetchnumpy()
    three = synthetic(rows=4000, seed=5, users=300, items=80, view=True).fetchnumpy()
    assert "view" not in plain and set(three) == set(plain) | {"view"}
    for col in plain:
        assert np.array_equal(plain[col], three[col]), col
    click, view, buy = three["click"], three["view"], three["purchase"]
    assert ((buy <= view) & (view <= click)).all()
    assert buy.sum() < view.sum() < click.sum()
    again = synthetic(rows=4000, seed=5, users=300, items=80, view=True).fetchnumpy()["view"]
    assert np.array_equal(again, view)


@pytest.mark.parametrize("spec", FULL + ABLATIONS)
def test_predict_program_has_no_objective_code(spec):
    low = lower(compiler.check_file(SPECS / f"{spec}.msd"), seed=0)
    code = low.predict.code
    for word in ("self.rel", "self.tau", "info_nce", "single_negative", "distance", "cross_entropy", "log_tau"):
        assert word not in code, word


def _statements(spec: str) -> list[str]:
    lines = (SPECS / f"{spec}.msd").read_text().splitlines()
    return [ln.strip() for ln in lines if "=" in ln and not ln.startswith(("#", "spec "))]


@pytest.mark.parametrize("ablation, removed, added", [
    ("adaftr_no_adaptive_tau", {"rel", "tau", "loss"}, {"tau", "loss"}),
    ("adaftr_no_learnable_tau", {"rel", "tau", "loss"}, {"tau", "loss"}),
    ("adaftr_no_negative", {"rel", "tau", "loss"}, {"loss"}),
    ("adaftr_no_contrastive", {"rel", "tau", "loss"}, {"loss"}),
])
def test_ablations_differ_from_the_full_spec_only_by_removed_or_switched_lines(ablation, removed, added):
    diff = list(difflib.ndiff(_statements("adaftr_mmoe"), _statements(ablation)))
    target = lambda line: line[2:].split()[0]  # noqa: E731
    assert {target(d) for d in diff if d.startswith("- ")} == removed
    assert {target(d) for d in diff if d.startswith("+ ")} == added


def _rows(store: str, sql: str) -> list[tuple]:
    con = duckdb.connect(store, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("spec", FULL)  # the ablations only remove lines: bench/methods.py adaftr trains them
def test_spec_trains_end_to_end_and_stores_auc_and_gauc_per_task(spec, tmp_path):
    store = str(tmp_path / "s.duckdb")
    view = ", view=true" if spec == "adaftr_three_tasks" else ""
    args = ["run", str(SPECS / f"{spec}.msd"), "--store", store, "--runs-dir", str(tmp_path / "runs"), "-q",
            "--set", "train.epochs=1", "--set", "train.batch=512",
            "--set", f"data.source=synthetic(rows=3000, scenarios=3, seed=7, users=200, items=50{view})",
            "--set", 'data.split=hash(column="user_id", valid=0.2, test=0.2)']
    assert main(args) == 0
    tasks = ["ctr", "cvr", "view"] if view else ["ctr", "cvr"]
    got = _rows(store, "SELECT DISTINCT task, metric FROM metrics WHERE split = 'test' AND value IS NOT NULL")
    assert {(t, m) for t in tasks for m in ("auc", "gauc")} <= set(got)
    logged = {r[0] for r in _rows(store, "SELECT DISTINCT term FROM training_log")}
    assert len(logged) == len(compiler.check_file(SPECS / f"{spec}.msd").objectives["loss"]) + 1
    losses = [r[0] for r in _rows(store, "SELECT value FROM training_log WHERE term = 'loss'")]
    assert all(np.isfinite(losses))
