"""Whole runs of a small spec: determinism under a seed, the progress bar, the training log and the runs row."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from train_test_support import STEPS_PER_EPOCH, cli, outcome, rows, run_dirs, same_metrics, write_spec

TRAIN = """
  optimizer = adam(lr=0.01)
  epochs    = 2
  seed      = %SEED%
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs with seeds 1, 1 and 2: {tag: (store, stderr)}; the first shows its progress bar."""
    out = {}
    for tag, seed in (("a", 1), ("b", 1), ("c", 2)):
        tmp = tmp_path_factory.mktemp(tag)
        spec = write_spec(tmp, TRAIN.replace("%SEED%", str(seed)))
        store, runs_dir = run_dirs(tmp, tag)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli("run", spec, *(["-q"] if tag != "a" else []), "--store", store, "--runs-dir", runs_dir) == 0
        out[tag] = store, err.getvalue()
    return out


def test_same_seed_same_result_other_seed_other_result(runs):
    a, b, c = (outcome(runs[tag][0]) for tag in "abc")
    assert a["predictions"] == b["predictions"]
    assert same_metrics(a["metrics"], b["metrics"])
    assert a["log"] == b["log"]
    assert [r[:4] for r in a["predictions"]] == [r[:4] for r in c["predictions"]]  # same rows, same order
    assert [r[5] for r in a["predictions"]] != [r[5] for r in c["predictions"]]
    assert [r[-1] for r in a["metrics"]] != [r[-1] for r in c["metrics"]]


def test_progress_bar_shows_loss_and_throughput(runs):
    shown, quiet = runs["a"][1], runs["b"][1]
    assert "train epoch 1/2" in shown and "train epoch 2/2" in shown
    assert "loss=0." in shown and "rows_s=" in shown
    assert quiet == ""


def test_training_log_has_every_term_and_the_throughput(runs):
    log = rows(runs["a"][0], "SELECT stage, step, epoch, term, value, rows_per_s FROM training_log ORDER BY ALL")
    # every 10 steps, and the last step of each epoch: 2 epochs of 8 steps
    assert {r[1] for r in log} == {8, 10, 16}
    assert {r[3] for r in log} == {"loss", "loss[0]"}
    assert all(r[0] == "train" and r[4] > 0 and r[5] > 0 for r in log)
    assert {r[2] for r in log if r[1] == 8} == {0} and {r[2] for r in log if r[1] == 16} == {1}


def test_runs_row_has_versions_and_timings(runs):
    ((status, versions, timings, seed),) = rows(runs["a"][0], "SELECT status, versions, timings, seed FROM runs")
    versions, timings = json.loads(versions), json.loads(timings)
    assert status == "ok" and seed == 1
    assert {"msdsl", "torch", "duckdb", "numpy", "python", "device", "spec_ir_hash"} <= versions.keys()
    steps = 2 * STEPS_PER_EPOCH
    assert timings["steps"] == steps and 2 * (STEPS_PER_EPOCH - 1) * 256 < timings["rows"] <= steps * 256
    assert timings["rows_per_s"] == pytest.approx(timings["rows"] / timings["train_s"])
    for key in ("data_s", "train_s", "evaluate_s", "total_s"):
        assert timings[key] > 0, key
    assert timings["total_s"] >= timings["data_s"] + timings["train_s"] + timings["evaluate_s"]
