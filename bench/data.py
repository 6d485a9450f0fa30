"""Throughput and memory of the DuckDB → tensor pipeline on synthetic Parquet, against the real training step.

    python bench/data.py [--rows 1000000 5000000] [--batch 2048] [--threads 2] [--memory-limit DEFAULT]

For each size a fresh subprocess (so that its peak RSS, `resource.getrusage`, is its own) runs `measure`: open the
data (load, checks, encoder fit, encoding: one-time work), stream one shuffled training epoch and the test split
without a model (reading alone), then train with the real step — `specs/quickstart.msd` lowered with the data's
vocabularies (a SharedBottom-like model: embeddings, MLP, per-scenario towers) and `Adam(fused=True)` — twice,
interleaved: an epoch fed by `Dataset.batches` (its background thread reads the next rows during the steps), and
the same number of steps on batches already in memory. The loading cost is the difference (target: under 10 % of
the step time); peak RSS at 1 M and 5 M rows should be flat (target: within 20 %). The data is generated in the
parent process, outside the measured one.
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

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import compiler  # noqa: E402
from compiler.lower import call, lower  # noqa: E402
from runtime.data import SCENARIO, DataConfig, Dataset, HashSplit, label_key  # noqa: E402
from runtime.encoders import FeatureConfig  # noqa: E402
from runtime.synthetic import write_synthetic  # noqa: E402
from runtime.spec_data import feature_configs  # noqa: E402
from runtime.train import program_batch  # noqa: E402

SYNTHETIC = dict(users=200_000, items=50_000, sequence=True)
SPEC = ROOT / "specs" / "quickstart.msd"
# the wide runs also read a bucketed numeric and a 20-long behaviour sequence, which the model does not use
EXTRA = [FeatureConfig("price_bucket", "numeric", column="price", buckets=16),
         FeatureConfig("hist_items", "sequence", max_len=20, vocab="item_id")]


def spec_features() -> list[FeatureConfig]:
    """The features `msdsl train specs/quickstart.msd` reads."""
    return feature_configs(compiler.check_file(str(SPEC)))


def model_step(ds: Dataset):
    """The real training step of `specs/quickstart.msd` over this data's vocabularies: step(batch) -> None."""
    torch.manual_seed(0)
    ir = compiler.check_file(str(SPEC))
    low = lower(ir, {e.config.name: e.size for e in ds.encoders if e.size is not None})
    program = low.program("train")
    opt = torch.optim.Adam(low.params.parameters(), lr=1e-3, fused=True)
    tasks = list(ir.tasks)

    def step(batch: dict) -> None:
        out = call(program, program_batch(batch, tasks, {}))
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()

    return step


def measure(path: str, batch_size: int, memory_limit: str | None, wide: bool, rounds: int = 5,
            max_steps: int = 800) -> dict:
    """Open `path`, read it without a model, then train: `rounds` alternations of up to `max_steps` steps fed by
    `Dataset.batches` (a fresh epoch each time: its first read is not overlapped, as in training) and as many
    steps on batches already in memory. Returns timings (seconds), the median of the per-round ratios, peak RSS."""
    config = DataConfig(split=HashSplit("user_id", 0.05, 0.1), labels={"ctr": "click", "cvr": "purchase"},
                        sources=(path,), user="user_id")
    out: dict = {}
    t = time.perf_counter()
    kw = {"memory_limit": memory_limit} if memory_limit else {}
    with Dataset(config, spec_features() + (EXTRA if wide else []), **kw) as ds:
        out["open_s"] = time.perf_counter() - t
        out["rows"] = sum(ds.rows.values())
        out["open_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for split in ("train", "test"):  # reading alone
            t, n = time.perf_counter(), 0
            for b in ds.batches(split, batch_size, seed=0, epoch=0):
                n += len(b[SCENARIO])
            out[f"{split}_s"], out[f"{split}_rows"] = time.perf_counter() - t, n
        assert b[label_key("ctr")].dtype == torch.float32 and b["user_id"].dtype == torch.int64
        step = model_step(ds)
        cached = [b for b, _ in zip(ds.batches("train", batch_size, seed=0, epoch=99), range(8))]
        for b in cached[:3]:  # warm-up
            step(b)
        ratios, fed, mem = [], [], []
        for r in range(rounds):
            t, steps = time.perf_counter(), 0
            for b in ds.batches("train", batch_size, seed=0, epoch=1 + r, drop_last=True):
                step(b)
                steps += 1
                if steps == max_steps:
                    break
            fed.append((time.perf_counter() - t) / steps)
            t = time.perf_counter()
            for i in range(steps):
                step(cached[i % len(cached)])
            mem.append((time.perf_counter() - t) / steps)
            ratios.append(fed[-1] / mem[-1])
        out.update(steps=steps, fed_step_s=min(fed), mem_step_s=min(mem), ratio=sorted(ratios)[rounds // 2],
                   ratios=ratios)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--memory-limit", default=None, help="Dataset memory_limit (default: Dataset's default)")
    ap.add_argument("--kinds", nargs="+", default=["spec", "wide"], choices=["spec", "wide"],
                    help="spec: the quickstart features; wide: plus a bucketed numeric and a 20-long sequence")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run `measure` on this file, print JSON
    ap.add_argument("--wide", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure:
        print(json.dumps(measure(args.measure, args.batch, args.memory_limit, args.wide)))
        return

    peaks: dict[str, dict[int, float]] = {"spec": {}, "wide": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            path = os.path.join(tmp, f"synthetic_{rows}.parquet")
            t = time.perf_counter()
            write_synthetic(path, rows=rows, **SYNTHETIC)
            print(f"\n{rows:,} rows (generated in {time.perf_counter() - t:.1f} s, "
                  f"{os.path.getsize(path) / 2**20:.0f} MiB Parquet)")
            for kind in args.kinds:
                cmd = [sys.executable, __file__, "--measure", path, "--batch", str(args.batch),
                       "--threads", str(args.threads)] + (["--wide"] if kind == "wide" else [])
                if args.memory_limit:
                    cmd += ["--memory-limit", args.memory_limit]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode:
                    sys.exit(proc.stderr)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                peaks[kind][rows] = r["peak_rss_mb"]
                read_rate = r["train_rows"] / r["train_s"]
                mem = r["mem_step_s"]
                print(f"  {'quickstart features' if kind == 'spec' else 'wide: + bucketed price + 20-long sequence'}")
                print(f"    open (load, check, fit, encode): {r['open_s']:6.1f} s  {r['rows'] / r['open_s']:10,.0f} rows/s")
                print(f"    train epoch, shuffled, no model: {r['train_s']:6.2f} s  {read_rate:10,.0f} rows/s  "
                      f"= {args.batch / read_rate * 1e3:.2f} ms a batch = {args.batch / read_rate / mem:.1%} of a step")
                print(f"    test, in order, no model:        {r['test_s']:6.2f} s  {r['test_rows'] / r['test_s']:10,.0f} rows/s")
                print(f"    real step (quickstart, Adam fused, batch {args.batch}, {args.threads} torch threads): "
                      f"{mem * 1e3:.2f} ms from memory, {r['fed_step_s'] * 1e3:.2f} ms fed by the pipeline")
                print(f"    loading cost in training (fed / memory − 1, median of {len(r['ratios'])} rounds of "
                      f"{r['steps']} steps): {r['ratio'] - 1:+.1%}  <- target: under 10 %  "
                      f"(rounds: {', '.join(f'{x - 1:+.0%}' for x in r['ratios'])})")
                print(f"    peak RSS: {r['peak_rss_mb']:,.0f} MiB (after open: {r['open_rss_mb']:,.0f} MiB)")
    for kind, by_rows in peaks.items():
        if len(by_rows) > 1:
            lo, hi = min(by_rows), max(by_rows)
            print(f"peak RSS ({kind}) {hi:,} / {lo:,} rows: {by_rows[hi]:,.0f} / {by_rows[lo]:,.0f} MiB = "
                  f"{by_rows[hi] / by_rows[lo]:.2f}x  <- target: within 1.20x")


if __name__ == "__main__":
    main()
