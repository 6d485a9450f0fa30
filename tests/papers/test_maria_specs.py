"""MARIA's specs: the full model, its backbone and the Table 3 ablations compile and differ as documented; the
predict program has no objective code; maria trains end to end on tiny synthetic data with the behaviour sequence,
and taobao_maria on the Taobao ad sample (skipped when ../shared/data is absent)."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler.lower import lower
from msdsl.cli import main

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs"
TAOBAO = REPO.parent / "shared" / "data" / "taobao_ad"
TINY = ["--set", "data.source=synthetic(rows=3000, scenarios=3, seed=7, users=200, items=50, sequence=true)",
        "--set", 'data.split=hash(column="user_id", valid=0.2, test=0.2)', "--set", "train.epochs=1",
        "--set", "train.batch=512"]

# ablation → (nodes it removes from maria.msd, kinds of nodes it switches)
ABLATIONS = {
    "no_st": {"shared", "hf"},
    "no_fcm": {"qc"},
    "no_fr": {"qr"},
    "no_fs": {"qs"},
    "no_nl": {"h"},
    "no_gs": set(),
}


def _blocks(name: str) -> dict:
    ir = compiler.check_file(SPECS / f"{name}.msd")
    return {n: d for n, d in ir.graph.nodes(data=True) if d["op"] == "block"}


def test_ablations_remove_exactly_their_part():
    full = _blocks("maria")
    for ablation, removed in ABLATIONS.items():
        nodes = _blocks(f"maria_{ablation}")
        assert set(full) - set(nodes) == removed, ablation
        assert set(nodes) <= set(full), ablation
    assert _blocks("maria_no_gs")["qr"]["params"]["selector"] == "sigmoid"
    assert full["qr"]["params"]["selector"] == "gumbel"
    assert "scenario_moe" not in {d["kind"] for d in _blocks("maria_backbone").values()}


@pytest.mark.parametrize("spec", ["maria", "taobao_maria"])
def test_predict_has_no_objective_code(spec):
    ir = compiler.check_file(SPECS / f"{spec}.msd")
    low = lower(ir)
    targets = {n.target for n in low.predict.graph.nodes}
    assert not targets & {F.binary_cross_entropy, F.binary_cross_entropy_with_logits, torch.square}
    assert F.binary_cross_entropy_with_logits in {n.target for n in low.train.graph.nodes}
    assert torch.square in {n.target for n in low.train.graph.nodes}  # the L2 term (Eq. 23)


def _run(spec: Path, tmp_path, *extra) -> str:
    store = str(tmp_path / "m.duckdb")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", str(spec), "-q", "--store", store, "--runs-dir", str(tmp_path / "runs"), *extra]) == 0
    return store


def _metrics(store: str) -> dict:
    import duckdb

    con = duckdb.connect(store, read_only=True)
    try:
        return {(s, m): v for s, m, v in con.execute(
            "SELECT scenario, metric, value FROM metrics WHERE split = 'test' AND task = 'ctr'").fetchall()}
    finally:
        con.close()


def test_maria_trains_end_to_end_with_the_sequence(tmp_path):
    metrics = _metrics(_run(SPECS / "maria.msd", tmp_path, *TINY))
    assert {s for s, _ in metrics} == {"s0", "s1", "s2", "*"}
    assert 0.0 <= metrics[("*", "auc")] <= 1.0 and metrics[("*", "logloss")] > 0


@pytest.mark.skipif(not (TAOBAO / "train_sample.csv").exists(), reason=f"no shared data at {TAOBAO}")
def test_taobao_maria_trains_on_the_sample(tmp_path):
    metrics = _metrics(_run(SPECS / "taobao_maria.msd", tmp_path, "--set", "train.epochs=1"))
    assert {s for s, _ in metrics} == {"p1007_548", "p1007_539", "*"}
    assert metrics[("*", "logloss")] > 0


def test_taobao_maria_reads_its_data_relative_to_the_spec(tmp_path):
    """The same run through a copy of the spec beside a `shared` link (what the repository looks like when it sits
    next to ../shared), so the sample is exercised wherever it can be found."""
    data = next((p for p in (TAOBAO, Path("/work/shared/data/taobao_ad")) if (p / "train_sample.csv").exists()), None)
    if data is None:
        pytest.skip("no Taobao sample")
    (tmp_path / "repo" / "specs").mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "taobao_ad").symlink_to(data)
    shutil.copy(SPECS / "taobao_maria.msd", tmp_path / "repo" / "specs")
    metrics = _metrics(_run(tmp_path / "repo" / "specs" / "taobao_maria.msd", tmp_path, "--set", "train.epochs=1"))
    assert metrics[("*", "logloss")] > 0
