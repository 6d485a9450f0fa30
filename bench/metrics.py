"""Per-scenario AUC and GAUC over 10 M predictions: DuckDB SQL against exact numpy references, in one run.

    python bench/metrics.py [--rows 10000000] [--scenarios 3] [--users 200000] [--repeats 3] [--macro-rows 1000000]

Scores are float32 model-like outputs (mostly distinct, some ties), scenarios Zipf-sized, 10 % positives. Timed
side by side, interleaved (numpy, SQL, numpy, SQL, ...), best of `--repeats`, ratios printed as numpy / SQL (> 1:
SQL is faster):
- AUC per scenario. numpy reference: per scenario a mask, `argsort` (quicksort) and midranks of tied runs
  (`flatnonzero` + `add.reduceat`). SQL: `runtime.store.auc_sql`, one query per scenario as `compute_metrics` runs
  it. Also shown: numpy without an argsort (sort each class, `searchsorted` the positives among the negatives),
  which is the fastest numpy exact AUC we know.
- GAUC per scenario. numpy: `lexsort` by (user, score), midranks of tied runs, per-user sums with `add.reduceat`.
  SQL: `auc_sql(..., by="user")` per scenario, as `compute_metrics` runs it.
- `compute_metrics` as a whole on a store holding the predictions (every slice and metric, '*' slices included).
- The `auc()` and `gauc()` aggregate macros that users call in GROUP BY queries, on the first `--macro-rows` rows.
Every result is checked against the numpy reference to 1e-9.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from runtime.store import Store, auc_sql, metric_macros  # noqa: E402


def numpy_auc(label: np.ndarray, score: np.ndarray) -> float:
    """Exact AUC with ties counted 1/2: the positives' midrank sum (Mann–Whitney) after one argsort."""
    order = np.argsort(score)
    s, y = score[order], label[order]
    bounds = np.flatnonzero(np.r_[True, s[1:] != s[:-1], True])  # starts of tied runs, then len(s)
    midrank = (bounds[:-1] + bounds[1:] + 1) / 2  # of each run, 1-based
    p = y.sum()
    return float(((np.add.reduceat(y, bounds[:-1]) * midrank).sum() - p * (p + 1) / 2) / (p * (len(y) - p)))


def numpy_auc_searchsorted(label: np.ndarray, score: np.ndarray) -> float:
    """Exact AUC without an argsort: sort each class, count the negatives below and tied with each positive."""
    pos, neg = np.sort(score[label == 1]), np.sort(score[label == 0])
    below, upto = np.searchsorted(neg, pos, "left"), np.searchsorted(neg, pos, "right")
    return float((below.sum() + upto.sum()) / 2 / (len(pos) * len(neg)))


def numpy_gauc(label: np.ndarray, score: np.ndarray, user: np.ndarray) -> float:
    """Σ_u n_u AUC_u / Σ_u n_u over the users with both classes: one lexsort, midranks, per-user sums."""
    order = np.lexsort((score, user))
    u, s, y = user[order], score[order], label[order]
    n = len(u)
    new_user = np.r_[True, u[1:] != u[:-1]]
    ties = np.flatnonzero(np.r_[new_user | np.r_[True, s[1:] != s[:-1]], True])
    midrank = np.repeat((ties[:-1] + ties[1:] + 1) / 2, np.diff(ties))  # global positions
    starts = np.flatnonzero(new_user)
    rows = np.diff(np.r_[starts, n])
    pos = np.add.reduceat(y, starts)
    rank_sum = np.add.reduceat(y * (midrank - np.repeat(starts, rows)), starts)  # within-user midranks
    both = (pos > 0) & (pos < rows)
    auc = (rank_sum[both] - pos[both] * (pos[both] + 1) / 2) / (pos[both] * (rows[both] - pos[both]))
    return float((rows[both] * auc).sum() / rows[both].sum())


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--macro-rows", type=int, default=1_000_000)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    share = 1.0 / np.arange(1, args.scenarios + 1)
    scenario = rng.choice(args.scenarios, args.rows, p=share / share.sum())
    label = (rng.random(args.rows) < 0.1).astype(np.float64)
    score = (1 / (1 + np.exp(-(rng.normal(size=args.rows) + 1.5 * label - 2)))).astype(np.float32)
    user = rng.integers(0, args.users, args.rows)
    score64 = score.astype(np.float64)
    masks = [scenario == k for k in range(args.scenarios)]

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(metric_macros())
    con.register("arrays", {"sid": scenario, "label": label, "score": score, "user": user})
    # as compute_metrics' `metric_rows`: an integer slice id, DOUBLE label and score
    con.execute('CREATE TABLE p AS SELECT sid::INTEGER AS sid, label, score::DOUBLE AS score, "user" FROM arrays')
    con.unregister("arrays")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"{args.rows:,} predictions, {args.scenarios} scenarios, {len(np.unique(score)):,} distinct scores, "
          f"{args.users:,} users; DuckDB {duckdb.__version__} with {threads} threads, numpy {np.__version__} (1 thread)")

    sql_auc = [auc_sql("p", f"sid = {k}") for k in range(args.scenarios)]
    sql_gauc = [f"SELECT sum(n * auc) / sum(n) FROM ({auc_sql('p', f'sid = {k}', by='user')}) WHERE auc IS NOT NULL"
                for k in range(args.scenarios)]
    cases = {
        "auc numpy argsort": lambda: [numpy_auc(label[m], score64[m]) for m in masks],
        "auc SQL auc_sql": lambda: [con.execute(q).fetchone()[2] for q in sql_auc],
        "auc numpy sort+searchsorted": lambda: [numpy_auc_searchsorted(label[m], score64[m]) for m in masks],
        "gauc numpy lexsort": lambda: [numpy_gauc(label[m], score64[m], user[m]) for m in masks],
        "gauc SQL auc_sql by user": lambda: [con.execute(q).fetchone()[0] for q in sql_gauc],
    }
    best: dict[str, float] = {}
    results: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, fn in cases.items():
            t, results[name] = timed(fn)
            best[name] = min(best.get(name, t), t)
    for name, got in results.items():
        ref = results["auc numpy argsort" if name.startswith("auc") else "gauc numpy lexsort"]
        assert np.allclose(got, ref, atol=1e-9, rtol=0), (name, got, ref)

    # compute_metrics on a store file, and the aggregate macros on a prefix
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(os.path.join(tmp, "store.duckdb"))
        run = store.start_run(name="bench", spec="", data_fingerprint="", seed=0)
        store.add_predictions(run, "test", "ctr", scenario=scenario, label=label, score=score, user=user,
                              scenarios=[f"s{k}" for k in range(args.scenarios)])
        t_cm = min(timed(lambda: store.compute_metrics(run))[0] for _ in range(max(1, args.repeats - 1)))
        _, rows = store.query(f"SELECT scenario, metric, value FROM metrics WHERE run = '{run}' "
                              "AND metric IN ('auc', 'gauc') AND scenario <> '*' ORDER BY scenario, metric")
        got = {(sc, m): v for sc, m, v in rows}
        for k in range(args.scenarios):
            assert abs(got[(f"s{k}", "auc")] - results["auc numpy argsort"][k]) < 1e-9
            assert abs(got[(f"s{k}", "gauc")] - results["gauc numpy lexsort"][k]) < 1e-9

    m = min(args.macro_rows, args.rows)
    con.execute(f"CREATE TABLE pm AS SELECT * FROM p WHERE rowid < {m}")
    head = [mask[:m] for mask in masks]
    t_mauc, mauc = timed(lambda: con.execute("SELECT auc(label, score) FROM pm GROUP BY sid ORDER BY sid").fetchall())
    t_mgauc, mgauc = timed(lambda: con.execute(
        'SELECT gauc(label, score, "user") FROM pm GROUP BY sid ORDER BY sid').fetchall())
    assert np.allclose([v for (v,) in mauc], [numpy_auc(label[:m][h], score64[:m][h]) for h in head], atol=1e-9)
    assert np.allclose([v for (v,) in mgauc], [numpy_gauc(label[:m][h], score64[:m][h], user[:m][h]) for h in head],
                       atol=1e-9)

    def line(name: str, t: float, ref: str | None = None, note: str = "") -> None:
        ratio = f"numpy/SQL = {best[ref] / t:5.2f}x" if ref else " " * 18
        print(f"  {name:38s} {t:7.3f} s  {ratio}  {note}")

    print(f"\nper-scenario AUC over {args.rows:,} rows (best of {args.repeats}, interleaved):")
    line("numpy argsort (reference)", best["auc numpy argsort"])
    line("SQL auc_sql (compute_metrics)", best["auc SQL auc_sql"], "auc numpy argsort",
         "<- target: > 1 (SQL faster)")
    print(f"  {'numpy sort + searchsorted':38s} {best['auc numpy sort+searchsorted']:7.3f} s  "
          f"SQL/this  = {best['auc SQL auc_sql'] / best['auc numpy sort+searchsorted']:5.2f}x  "
          "(no argsort: the fastest numpy we know)")
    print(f"per-scenario GAUC over {args.rows:,} rows:")
    line("numpy lexsort (reference)", best["gauc numpy lexsort"])
    line("SQL auc_sql by user (compute_metrics)", best["gauc SQL auc_sql by user"], "gauc numpy lexsort")
    print(f"compute_metrics (auc, gauc, logloss, pcoc of {args.scenarios} scenarios + '*'): {t_cm:.2f} s = "
          f"{t_cm / args.rows * 1e6:.2f} s per million predictions")
    print(f"aggregate macros on {m:,} rows (GROUP BY scenario): auc() {t_mauc:.2f} s, gauc() {t_mgauc:.2f} s "
          f"= {t_mauc / m * 1e6:.2f} / {t_mgauc / m * 1e6:.2f} s per million")


if __name__ == "__main__":
    main()
