"""Learning-rate schedules, as applied to every parameter group at every step of a real run."""

from __future__ import annotations

import math

import pytest
from torch.optim.optimizer import register_optimizer_step_pre_hook

import msdsl
from train_test_support import STEPS_PER_EPOCH, run_dirs, write_spec

GROUP = """
  group emb {
    nodes     = [user_id, item_id]
    optimizer = adagrad(lr=0.05)
  }
"""


def learning_rates(tmp_path, schedule: str) -> dict[str, list[float]]:
    """{optimizer class: its learning rate at each step} over a 2-epoch run with `schedule`."""
    seen: dict[str, list[float]] = {}

    def record(opt, args, kwargs):
        seen.setdefault(type(opt).__name__, []).append(opt.param_groups[0]["lr"])

    spec = write_spec(tmp_path, f"  optimizer = adam(lr=0.01)\n  schedule = {schedule}\n  epochs = 2\n{GROUP}")
    store, runs = run_dirs(tmp_path, "lr")
    handle = register_optimizer_step_pre_hook(record)
    try:
        msdsl.run(spec, store=store, runs_dir=runs, progress=False)
    finally:
        handle.remove()
    return seen


def test_cosine_warms_up_then_decays_to_min_lr_in_every_group(tmp_path):
    total, warmup, floor = 2 * STEPS_PER_EPOCH, 3, 0.001

    def expected(base: float, step: int) -> float:
        if step < warmup:
            return base * (step + 1) / warmup
        return floor + (base - floor) * (1 + math.cos(math.pi * (step - warmup) / (total - 1 - warmup))) / 2

    seen = learning_rates(tmp_path, f"cosine(warmup={warmup}, min_lr={floor})")
    for name, base in (("Adam", 0.01), ("Adagrad", 0.05)):
        assert seen[name] == pytest.approx([expected(base, s) for s in range(total)], rel=1e-12)
        assert seen[name][warmup - 1] == pytest.approx(base) and seen[name][-1] == pytest.approx(floor)


def test_step_schedule_decays_every_epoch(tmp_path):
    seen = learning_rates(tmp_path, "step(every=1, gamma=0.5)")
    assert seen["Adam"] == pytest.approx([0.01] * STEPS_PER_EPOCH + [0.005] * STEPS_PER_EPOCH)
    assert seen["Adagrad"] == pytest.approx([0.05] * STEPS_PER_EPOCH + [0.025] * STEPS_PER_EPOCH)
