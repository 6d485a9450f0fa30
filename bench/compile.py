"""Compile-time and per-scenario-block benchmarks, measured side by side in one run (DESIGN §7).

    python bench/compile.py [--batch 2048] [--rounds 15]

1. parse → fx: `check_file` + `lower` (both programs, no torch.compile) per spec in specs/; target < 0.3 s.
2. forward + backward of a per-scenario MLP block (`per scenario: mlp(x, units=[128, 64])` on a 64-wide input)
   at 2, 8 and 32 scenarios: the lowered program (`auto` strategy, and each strategy) against the same model with
   the block written as a masked Python loop over scenarios. Variants run interleaved, round after round; each
   time is the minimum over rounds (the machine is shared: the minimum is the least disturbed run).
   Target: batched ≥ 1.5× faster than the loop at 32 scenarios, not slower at 2.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import compiler
from compiler.lower import call, lower
from compiler.lower.kernels import choose_strategy

ROOT = Path(__file__).resolve().parents[1]
BLOCK_SPEC = """
spec block
data {{ source = synthetic(scenarios={s}) }}
features {{ a = categorical(dim=16)  b = categorical(dim=16)  c = categorical(dim=16)  d = categorical(dim=16) }}
tasks {{ ctr = binary(label="click") }}
graph {{ x = embed(all)  h = per scenario: mlp(x, units=[128, 64])  out = per task: head(h) }}
"""


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_compile(rounds: int) -> None:
    print(f"parse → fx (check_file + lower, both programs; median of {rounds} runs)")
    for path in sorted((ROOT / "specs").glob("*.msd")):
        times = [_once(lambda: lower(compiler.check_file(path))) for _ in range(rounds)]
        print(f"  {path.name:<20} {statistics.median(times) * 1e3:7.1f} ms")


def _loop_model(low, scenarios: int):
    """The same model with the per-scenario block as a masked loop over scenarios (shares the parameters)."""
    p = low.params

    def forward(batch):
        x = torch.cat([F.embedding(batch[f], getattr(p, f).table) for f in "abcd"], -1)
        h = x.new_zeros(x.shape[0], 64)
        for s in range(scenarios):
            rows = (batch["scenario"] == s).nonzero().squeeze(1)
            t = x[rows]
            for i in range(2):
                t = torch.relu(torch.baddbmm(getattr(p.h, f"b{i}")[s], t[None], getattr(p.h, f"w{i}")[s][None])[0])
            h = h.index_put((rows,), t)
        return (h @ p.out.w0[0] + p.out.b0[0]).squeeze(-1)

    return forward


def bench_block(batch_size: int, rounds: int) -> None:
    print(f"\nper-scenario mlp [64 → 128 → 64], batch {batch_size}, forward + backward (min of {rounds} rounds)")
    print(f"  {'S':>3} {'auto':>8} {'gather':>9} {'grouped':>9} {'loop':>9}   loop/auto")
    for s in (2, 8, 32):
        ir = compiler.check_text(BLOCK_SPEC.format(s=s))
        g = torch.Generator().manual_seed(0)
        batch = {f: torch.randint(0, 100, (batch_size,), generator=g) for f in "abcd"}
        batch["scenario"] = torch.randint(0, s, (batch_size,), generator=g)
        programs = {name: lower(ir, strategy=name, seed=0) for name in ("gather", "grouped")}
        auto = choose_strategy("auto", s)
        loop = _loop_model(programs[auto], s)
        steps = {
            "gather": lambda: call(programs["gather"].predict, batch)["logit"]["ctr"].sum().backward(),
            "grouped": lambda: call(programs["grouped"].predict, batch)["logit"]["ctr"].sum().backward(),
            "loop": lambda: loop(batch).sum().backward(),
        }
        torch.testing.assert_close(loop(batch), call(programs[auto].predict, batch)["logit"]["ctr"])
        for step in steps.values():  # warm-up
            step(), step()
        times = {k: [] for k in steps}
        for _ in range(rounds):
            for k, step in steps.items():
                times[k].append(_once(step))
        ms = {k: min(v) * 1e3 for k, v in times.items()}
        print(f"  {s:>3} {ms[auto]:>6.2f}ms {ms['gather']:>7.2f}ms {ms['grouped']:>7.2f}ms {ms['loop']:>7.2f}ms"
              f"   {ms['loop'] / ms[auto]:8.2f}×  ({auto})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(2)
    bench_compile(max(3, args.rounds // 3))
    bench_block(args.batch, args.rounds)


if __name__ == "__main__":
    main()
