"""A run killed with SIGKILL and resumed ends exactly like an uninterrupted one; stages, freezing and groups.

The spec exercises everything a checkpoint must carry: two stages (SGD with momentum, then Adam), an Adagrad
parameter group, a cosine schedule with warm-up, dropout (the RNG), early stopping (its state and best weights),
gradient clipping and a frozen node. `pretrain` stops early, after its second of four epochs. The child process
is killed at three kinds of points: in the middle of an epoch, at an epoch boundary, and at the boundary between
the two stages (right after the early stop).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from msdsl.api import compile as compile_spec
from runtime import checkpoint
from runtime.optim import build_optimizers
from runtime.train import spec_hash
from train_test_support import (assert_same_weights, cli, final_weights, outcome, rows, run_dirs, same_metrics,
                                write_spec)

TRAIN = """
  optimizer  = adam(lr=0.01)
  schedule   = cosine(warmup=3, min_lr=0.0001)
  early_stop = early_stop(metric=auc, patience=2)
  seed       = 1

  group emb {
    nodes     = [user_id, item_id]
    optimizer = adagrad(lr=0.05)
  }

  stage pretrain {
    objective  = aux
    epochs     = 4
    optimizer  = sgd(lr=0.2, momentum=0.9)
    early_stop = early_stop(metric=logloss, patience=1)
  }

  stage finetune {
    epochs = 3
    freeze = [h]
    clip   = 1.0
  }
"""
OBJECTIVE = "objective {\n  aux = bce(ctr) + 0.001 * l2(h)\n}\n"
PRETRAIN_ONLY = TRAIN[:TRAIN.index("  stage finetune")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: (spec path, store, runs dir)."""
    tmp = tmp_path_factory.mktemp("reference")
    spec = write_spec(tmp, TRAIN, objective=OBJECTIVE)
    store, runs = run_dirs(tmp, "ref")
    assert cli("run", spec, "-q", "--store", store, "--runs-dir", runs) == 0
    assert len(rows(store, "SELECT * FROM training_log WHERE term = 'valid_logloss'")) == 2, "pretrain ran on"
    return spec, store, runs


def latest_state(runs_dir: Path) -> dict | None:
    """The training state in the newest checkpoint, or None while there is none (or it is being replaced)."""
    try:
        (run_dir,) = runs_dir.iterdir()
        return checkpoint.read_manifest(checkpoint.latest(run_dir))["state"]
    except (ValueError, TypeError, OSError, json.JSONDecodeError):
        return None


def kill_when(spec: str, store: str, runs: str, every: int, wanted) -> dict:
    """Start `msdsl run` in a child process, SIGKILL it as soon as its newest checkpoint's state is `wanted`, and
    return that state. The child runs on while we look, so a later checkpoint may land first (or the run may end):
    then start again, from scratch."""
    for _ in range(3):
        shutil.rmtree(runs, ignore_errors=True)
        Path(store).unlink(missing_ok=True)
        child = subprocess.Popen([sys.executable, "-m", "msdsl.cli", "run", spec, "-q", "--store", store,
                                  "--runs-dir", runs, "--checkpoint-every", str(every)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while child.poll() is None:
                state = latest_state(Path(runs))
                if state is not None and wanted(state):
                    os.kill(child.pid, signal.SIGKILL)
                    break
                time.sleep(0.002)
        finally:
            child.kill()
            _, err = child.communicate()
        assert child.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
        state = latest_state(Path(runs))
        if child.returncode == -signal.SIGKILL and wanted(state):
            return state
    pytest.fail("could not kill the child at the wanted point")


KILL_POINTS = {
    "mid-epoch": (3, lambda s: s["stage"] == 1 and s["batch"] > 0),
    "epoch-boundary": (10**6, lambda s: s["stage"] == 1 and s["epoch"] == 1 and not s["done"]),
    "stage-boundary": (10**6, lambda s: s["stage"] == 0 and s["done"]),
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_resume_after_sigkill_matches_uninterrupted_run(reference, tmp_path, point):
    spec, ref_store, ref_runs = reference
    store, runs = run_dirs(tmp_path, "killed")
    every, wanted = KILL_POINTS[point]
    kill_when(spec, store, runs, every, wanted)
    assert rows(store, "SELECT status FROM runs") == [("running",)]

    assert cli("run", spec, "-q", "--resume", "--store", store, "--runs-dir", runs,
               "--checkpoint-every", every) == 0

    assert_same_weights(final_weights(runs), final_weights(ref_runs))
    resumed, uninterrupted = outcome(store), outcome(ref_store)
    assert resumed["predictions"] == uninterrupted["predictions"]
    assert same_metrics(resumed["metrics"], uninterrupted["metrics"])
    assert resumed["log"] == uninterrupted["log"]  # every step once, with the same values
    assert len(set(resumed["log"])) == len(resumed["log"])
    ((status, timings),) = rows(store, "SELECT status, timings FROM runs")
    ((ref_timings,),) = rows(ref_store, "SELECT timings FROM runs")
    assert status == "ok"
    for key in ("steps", "rows"):  # the steps redone after the checkpoint count once
        assert json.loads(timings)[key] == json.loads(ref_timings)[key]


def test_resuming_a_finished_run_evaluates_again_without_duplicates(reference, tmp_path):
    """What a run killed while evaluating does: its last checkpoint is the final one, evaluation runs again."""
    spec, ref_store, ref_runs = reference
    store, runs = shutil.copy(ref_store, tmp_path / "copy.duckdb"), shutil.copytree(ref_runs, tmp_path / "runs")
    assert cli("run", spec, "-q", "--resume", "--store", store, "--runs-dir", runs) == 0
    again, uninterrupted = outcome(store), outcome(ref_store)
    assert again["predictions"] == uninterrupted["predictions"] and again["log"] == uninterrupted["log"]
    assert same_metrics(again["metrics"], uninterrupted["metrics"])
    assert rows(store, "SELECT status FROM runs") == [("ok",)]


def test_resume_refuses_a_checkpoint_from_another_store(reference, tmp_path, capsys):
    spec, _, ref_runs = reference
    store = str(tmp_path / "other.duckdb")
    assert cli("run", spec, "-q", "--resume", "--store", store, "--runs-dir", ref_runs) == 2
    assert "not in the store" in capsys.readouterr().err


def test_frozen_node_keeps_the_weights_of_the_stage_before(reference, tmp_path, capsys):
    """`h` is frozen in `finetune`: it ends exactly as `pretrain` left it (run alone with the same seed), which
    shows both that frozen parameters do not move and that the second stage starts from the first's weights."""
    spec, _, ref_runs = reference
    pretrain_spec = write_spec(tmp_path, PRETRAIN_ONLY, objective=OBJECTIVE)
    store, runs = run_dirs(tmp_path, "pretrain")
    assert cli("run", pretrain_spec, "-q", "--resume", "--store", store, "--runs-dir", runs) == 0
    assert "nothing to resume" in capsys.readouterr().out  # --resume without a checkpoint: a new run
    after_pretrain, after_both = final_weights(runs), final_weights(ref_runs)
    initial = dict(compile_spec(spec).lowered.params.state_dict())
    for name in ("h.w0", "h.b0"):
        assert not torch.equal(after_pretrain[name], initial[name])  # pretrain trained it
        assert torch.equal(after_both[name], after_pretrain[name])  # finetune did not
    for name in ("tower.w0", "user_id.table"):
        assert not torch.equal(after_both[name], after_pretrain[name])


def test_groups_get_their_own_optimizer_and_frozen_nodes_none(tmp_path):
    program = compile_spec(write_spec(tmp_path, TRAIN, objective=OBJECTIVE))
    ir, params = program.ir, program.lowered.params
    for qual, (node, _) in params.roles.items():
        params.get_parameter(qual).requires_grad_(node != "h")
    emb, rest = build_optimizers(params, params.roles, ir.stages[1]["optimizer"] or ir.settings["train"]["optimizer"],
                                 ir.groups)
    names = {id(p): q for q, p in params.named_parameters()}
    assert isinstance(emb, torch.optim.Adagrad) and emb.param_groups[0]["lr"] == 0.05
    assert {names[id(p)] for p in emb.param_groups[0]["params"]} == {"user_id.table", "item_id.table"}
    assert isinstance(rest, torch.optim.Adam) and rest.param_groups[0]["lr"] == 0.01
    assert {names[id(p)] for p in rest.param_groups[0]["params"]} == {
        "hour.table", "tower.w0", "tower.b0", "out.w0", "out.b0"}


def test_one_process_at_a_time_trains_into_a_run_directory(tmp_path, capsys):
    spec = write_spec(tmp_path, "  epochs = 1")
    store, runs = run_dirs(tmp_path, "busy")
    ir = compile_spec(spec).ir
    with checkpoint.lock(Path(runs) / f"{ir.name}-{spec_hash(ir)[:12]}"):
        assert cli("run", spec, "-q", "--store", store, "--runs-dir", runs) == 2
    assert "another process is training this spec" in capsys.readouterr().err
