"""Runs that stop: a non-finite loss (an error naming the term), early stopping on AUC and GAUC (best weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import msdsl
from runtime import checkpoint
from runtime.train import Options, Stage, Trainer, TrainingError, _better
from train_test_support import assert_same_weights, cli, final_weights, rows, run_dirs, write_spec

HUGE_LR = """
  optimizer = sgd(lr=1e30)
  epochs    = 1
"""


def test_nan_loss_raises_training_error_naming_the_term(tmp_path):
    spec = write_spec(tmp_path, HUGE_LR)
    store, runs = run_dirs(tmp_path, "nan")
    with pytest.raises(TrainingError) as err:
        msdsl.run(spec, store=store, runs_dir=runs, progress=False)
    message = str(err.value)
    assert "the loss became" in message and "`loss[0]` = bce(ctr) (line" in message
    assert "Lower the learning rate" in message
    assert rows(store, "SELECT status FROM runs") == [("failed",)]


def test_nan_loss_through_the_cli_is_exit_2_without_traceback(tmp_path, capsys):
    spec = write_spec(tmp_path, HUGE_LR)
    store, runs = run_dirs(tmp_path, "nan")
    assert cli("run", spec, "-q", "--store", store, "--runs-dir", runs) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the loss became") and "bce(ctr)" in err
    assert "Traceback" not in err


def early_stop_run(tmp_path, metric: str, user: bool = True):
    """Adam at a learning rate that overfits the tiny data within a few epochs: the validation metric peaks."""
    train = f"""
  optimizer  = adam(lr=0.05)
  early_stop = early_stop(metric={metric}, patience=1)
  epochs     = 12
  seed       = 3
"""
    spec = write_spec(tmp_path, train, user=user)
    store, runs = run_dirs(tmp_path, metric)
    return cli("run", spec, "-q", "--store", store, "--runs-dir", runs), store, runs


@pytest.mark.parametrize("metric", ["auc", "gauc"])
def test_early_stop_ends_with_the_best_weights(tmp_path, capsys, metric):
    code, store, runs = early_stop_run(tmp_path, metric)
    assert code == 0
    assert "early stop in stage train after epoch" in capsys.readouterr().out
    history = [v for (v,) in rows(store, "SELECT value FROM training_log WHERE term = ? ORDER BY step",
                                  [f"valid_{metric}"])]
    assert 2 <= len(history) < 12
    assert history[-1] <= history[-2]  # patience 1: stopped after the first epoch without improvement
    (run_dir,) = Path(runs).iterdir()
    assert_same_weights(final_weights(runs), checkpoint.load_weights(run_dir / "best"))
    # the stored validation predictions are the best epoch's: their metric is the best one seen
    ((value,),) = rows(store, "SELECT value FROM metrics WHERE split = 'valid' AND scenario = '*' AND metric = ?",
                       [metric])
    assert value == pytest.approx(max(history), abs=1e-12)


def test_gauc_early_stop_without_a_user_column_is_a_clear_error(tmp_path, capsys):
    code, store, _ = early_stop_run(tmp_path, "gauc", user=False)
    assert code == 2
    err = capsys.readouterr().err
    assert "early_stop(metric=gauc)" in err and 'data { user = "…" }' in err and "Traceback" not in err


def test_better_knows_each_metrics_direction():
    assert _better("auc", 0.7, 0.6) and not _better("auc", 0.6, 0.7)
    assert _better("logloss", 0.4, 0.5) and not _better("logloss", 0.5, 0.4)
    assert _better("pcoc", 0.95, 1.1) and not _better("pcoc", 1.2, 0.9)
    assert _better("auc", 0.5, None) and not _better("auc", None, 0.5) and not _better("auc", float("nan"), None)


def test_clip_bounds_the_gradient_norm(tmp_path):
    spec = write_spec(tmp_path, "  epochs = 1")
    program = msdsl.compile(spec)
    low = program.lowered
    trainer = Trainer(program.ir, Path(spec), "", Options(runs_dir=tmp_path))
    trainer.low = low
    generator = torch.Generator().manual_seed(0)
    batch = {"user_id": torch.randint(0, 100, (64,), generator=generator),
             "item_id": torch.randint(0, 100, (64,), generator=generator),
             "hour": torch.randint(0, 24, (64,), generator=generator), "price": torch.randn(64, generator=generator),
             "scenario": torch.randint(0, 3, (64,), generator=generator),
             "ctr": (torch.rand(64, generator=generator) < 0.3).float()}
    optimizer = torch.optim.SGD(low.params.parameters(), lr=0.0)

    def grad_norm(clip: float) -> float:
        stage = Stage("train", 1, "loss", None, None, None, clip)
        trainer.step(low.train, [optimizer], stage, batch, {"global_step": 0, "epoch": 0})
        return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in low.params.parameters()])).item()

    assert grad_norm(0.0) > 0.01
    assert grad_norm(0.01) == pytest.approx(0.01, rel=1e-4)
