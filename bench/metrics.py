"""Per-scenario AUC over 10 M predictions: DuckDB SQL against an exact numpy reference, in one run.

    python bench/metrics.py [--rows 10000000] [--scenarios 3]

Scores are float32 model-like outputs (mostly distinct, some ties), scenarios Zipf-sized. Timed:
- numpy: per scenario, a boolean mask, an argsort and midranks of tied runs (the exact reference);
- SQL, compute_metrics' formulation (`runtime.store.midrank`): midranks from one window sort per scenario;
- SQL, the `auc(label, score)` aggregate macro (two ordered list aggregates) that users call in GROUP BY queries.
Every result is checked against the reference to 1e-9.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runtime.store import auc_of_midranks, metric_macros, midrank  # noqa: E402

WINDOW_SQL = (f"SELECT scenario, {auc_of_midranks('r')} FROM (SELECT scenario, label, {midrank('scenario')} AS r "
              "FROM p) GROUP BY scenario ORDER BY scenario")
MACRO_SQL = "SELECT scenario, auc(label, score) FROM p GROUP BY scenario ORDER BY scenario"


def numpy_auc(label: np.ndarray, score: np.ndarray) -> float:
    """Exact AUC with ties counted 1/2: midranks of the sorted scores."""
    order = np.argsort(score, kind="stable")
    s, y = score[order], label[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, len(s)])
    midrank = np.repeat(starts + (counts + 1) / 2, counts)
    pos = y.sum()
    return float((midrank[y == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def best_of(repeats: int, fn):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    share = 1.0 / np.arange(1, args.scenarios + 1)
    scenario = rng.choice(args.scenarios, args.rows, p=share / share.sum())
    label = (rng.random(args.rows) < 0.1).astype(np.float64)
    score = (1 / (1 + np.exp(-(rng.normal(size=args.rows) + 1.5 * label - 2)))).astype(np.float32)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(metric_macros())
    con.register("arrays", {"scenario": scenario, "label": label, "score": score})
    con.execute("CREATE TABLE p AS SELECT 's' || scenario AS scenario, label, score::DOUBLE AS score FROM arrays")
    score64 = score.astype(np.float64)
    distinct = len(np.unique(score))
    print(f"{args.rows:,} predictions, {args.scenarios} scenarios, {distinct:,} distinct scores, "
          f"{duckdb.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]} DuckDB threads")

    t_np, ref = best_of(args.repeats, lambda: [numpy_auc(label[scenario == k], score64[scenario == k])
                                               for k in range(args.scenarios)])
    t_win, win = best_of(args.repeats, lambda: con.execute(WINDOW_SQL).fetchall())
    t_mac, mac = best_of(args.repeats, lambda: con.execute(MACRO_SQL).fetchall())
    for name, rows in (("window", win), ("macro", mac)):
        got = [v for _, v in rows]
        assert np.allclose(got, ref, atol=1e-9, rtol=0), (name, got, ref)
    print(f"numpy argsort reference      {t_np:7.3f} s")
    print(f"SQL midrank window           {t_win:7.3f} s   numpy/SQL = {t_np / t_win:.2f}x   (compute_metrics)")
    print(f"SQL auc() aggregate macro    {t_mac:7.3f} s   numpy/SQL = {t_np / t_mac:.2f}x   (user queries)")


if __name__ == "__main__":
    main()
