"""HC² on each backbone trains end to end on tiny synthetic data and lands its metrics in the store (the ablations,
which only remove lines, are compiled and lowered by the golden tests and trained by `bench/methods.py hc2`); a run
with HC²'s state (memory bank, k-means) killed mid-epoch resumes to exactly the uninterrupted result."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from test_train_resume import kill_when  # noqa: E402
from train_test_support import (assert_same_weights, cli, final_weights, outcome, rows, run_dirs,  # noqa: E402
                                same_metrics, write_spec)

SPECS = Path(__file__).resolve().parents[2] / "specs"
TINY = ["--set", "data.source=synthetic(rows=3000, scenarios=3, seed=7, users=200, items=50)",
        "--set", "train.epochs=1", "--set", "train.batch=512"]


@pytest.mark.parametrize("spec", ["hc2_shared_bottom.msd", "hc2_mmoe.msd", "hc2_star.msd"])
def test_hc2_spec_trains_and_stores_metrics(spec, tmp_path):
    store, runs = run_dirs(tmp_path, "run")
    assert cli("run", SPECS / spec, "-q", "--store", store, "--runs-dir", runs, *TINY) == 0
    terms = {t for (t,) in rows(store, "SELECT DISTINCT term FROM training_log")}
    assert {"loss", "loss[0]"} <= terms and len(terms) >= 3  # the contrastive terms are logged
    ((auc,),) = rows(store, "SELECT count(*) FROM metrics WHERE metric = 'auc' AND split = 'test'")
    assert auc > 0


OBJECTIVE = """objective {
  loss += 0.1 * generalized_contrastive(h, ctr, fine=kmeans(clusters=4, refresh=3), memory_bank=300,
                                        noise=diffusion(steps=100), weights=x)
  loss += 0.05 * individual_contrastive(tower)
}
"""


def test_resume_with_hc2_state_is_bit_identical(tmp_path):
    spec = write_spec(tmp_path, "  epochs = 2\n  seed = 1", objective=OBJECTIVE)
    ref_store, ref_runs = run_dirs(tmp_path, "ref")
    assert cli("run", spec, "-q", "--store", ref_store, "--runs-dir", ref_runs) == 0
    store, runs = run_dirs(tmp_path, "killed")
    kill_when(spec, store, runs, 3, lambda s: s["epoch"] == 1 and s["batch"] > 0)
    assert cli("run", spec, "-q", "--resume", "--store", store, "--runs-dir", runs, "--checkpoint-every", 3) == 0
    weights = final_weights(runs)
    assert any(k.endswith("contrast.centroids") for k in weights)  # the state is in the checkpoint
    assert_same_weights(weights, final_weights(ref_runs))
    resumed, uninterrupted = outcome(store), outcome(ref_store)
    assert resumed["predictions"] == uninterrupted["predictions"] and resumed["log"] == uninterrupted["log"]
    assert same_metrics(resumed["metrics"], uninterrupted["metrics"])
