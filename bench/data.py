"""Throughput and memory of the DuckDB → tensor pipeline on synthetic Parquet, against a training step.

    python bench/data.py [--rows 1000000 5000000] [--batch 2048]

For each size, a fresh subprocess (so that its peak RSS, from `resource.getrusage`, is its own) runs `measure`:
open the data (load, checks, encoder fit, encoding: one-time work), stream one shuffled training epoch and the
test split, then train one epoch with a step. The step is a callable taking the batch dict — by default
`dense_mlp_step`, a dense MLP on 2048 rows; call `measure(path, batch, step=model_step)` to plug in the model.
Printed: rows/s of each phase, peak RSS, loading time per batch as a fraction of the step time, and the time the
training loop actually waited for data (target: under 10 % of step time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runtime.data import SCENARIO, DataConfig, Dataset, HashSplit, label_key  # noqa: E402
from runtime.encoders import FeatureConfig  # noqa: E402
from runtime.synthetic import write_synthetic  # noqa: E402

FEATURES = [
    FeatureConfig("user_id", "categorical"),
    FeatureConfig("item_id", "categorical"),
    FeatureConfig("item_category", "categorical"),
    FeatureConfig("hour", "categorical"),
    FeatureConfig("device", "categorical"),
    FeatureConfig("price", "numeric"),
    FeatureConfig("price_bucket", "numeric", column="price", buckets=16),
    FeatureConfig("hist_items", "sequence", max_len=20, vocab="item_id"),
]
SYNTHETIC = dict(users=200_000, items=50_000, sequence=True)


def dense_mlp_step(batch_size: int = 2048, width: int = 10 * 16) -> Callable[[dict], None]:
    """A reference training step: a 3-layer MLP with Adam over [batch_size, width] dense inputs."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(width, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch_size, width), torch.randint(0, 2, (batch_size, 1)).float()

    def step(batch: dict) -> None:
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()

    return step


def step_rate(step: Callable[[dict], None] | None = None, batch: dict | None = None, *, batch_size: int = 2048,
              warmup: int = 5, steps: int = 30) -> float:
    """Seconds per training step of `step(batch)` (default: `dense_mlp_step`)."""
    step = step or dense_mlp_step(batch_size)
    batch = batch or {}
    for _ in range(warmup):
        step(batch)
    t = time.perf_counter()
    for _ in range(steps):
        step(batch)
    return (time.perf_counter() - t) / steps


def measure(path: str, batch_size: int, step: Callable[[dict], None] | None = None) -> dict:
    """Open the data, stream it, and train one epoch with `step` (default: `dense_mlp_step`)."""
    config = DataConfig(split=HashSplit("user_id", 0.05, 0.1), labels={"ctr": "click", "cvr": "purchase"},
                        sources=(path,), user="user_id")
    out = {}
    t = time.perf_counter()
    with Dataset(config, FEATURES, memory_limit="1GB") as ds:
        out["open_s"] = time.perf_counter() - t
        out["rows"] = sum(ds.rows.values())
        for split in ("train", "test"):
            t = time.perf_counter()
            n = 0
            for b in ds.batches(split, batch_size, seed=0, epoch=0):
                n += len(b[SCENARIO])
            out[f"{split}_s"], out[f"{split}_rows"] = time.perf_counter() - t, n
        assert b["hist_items"].shape[1] == 20 and b[label_key("ctr")].dtype == torch.float32
        step = step or dense_mlp_step(batch_size)
        out["step_s"] = step_rate(step, b)
        t = time.perf_counter()
        steps = 0
        for b in ds.batches("train", batch_size, seed=0, epoch=1):
            step(b)
            steps += 1
        out["epoch_with_steps_s"], out["steps"] = time.perf_counter() - t, steps
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run `measure` on this file, print JSON
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.batch)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = os.path.join(tmp, f"synthetic_{rows}.parquet")
            t = time.perf_counter()
            write_synthetic(path, rows=rows, **SYNTHETIC)
            gen_s = time.perf_counter() - t
            proc = subprocess.run([sys.executable, __file__, "--measure", path, "--batch", str(args.batch)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            train_rate = r["train_rows"] / r["train_s"]
            load_per_batch = args.batch / train_rate
            step_s = r["step_s"]
            waiting = r["epoch_with_steps_s"] - r["steps"] * step_s
            print(f"\n{rows:,} rows (generated in {gen_s:.1f} s, {os.path.getsize(path) / 2**20:.0f} MiB Parquet)")
            print(f"  open (load, check, fit, encode): {r['open_s']:6.1f} s  {r['rows'] / r['open_s']:12,.0f} rows/s")
            print(f"  train epoch, shuffled:           {r['train_s']:6.1f} s  {train_rate:12,.0f} rows/s")
            print(f"  test, in order:                  {r['test_s']:6.1f} s  {r['test_rows'] / r['test_s']:12,.0f} rows/s")
            print(f"  peak RSS: {r['peak_rss_mb']:,.0f} MiB")
            print(f"  reference step (dense MLP, batch {args.batch}): {step_s * 1e3:.1f} ms")
            print(f"  loading per batch / step time: {load_per_batch * 1e3:.2f} ms / {step_s * 1e3:.1f} ms = "
                  f"{load_per_batch / step_s:.1%} (reading alone)")
            print(f"  epoch of {r['steps']} steps: {r['epoch_with_steps_s']:.1f} s, of which waiting for data "
                  f"{max(waiting, 0):.2f} s = {max(waiting, 0) / (r['steps'] * step_s):.1%} of step time "
                  "(reads overlap the steps)")


if __name__ == "__main__":
    main()
