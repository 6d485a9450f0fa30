"""A paper method against its backbone(s) and each of its ablations, several seeds, one synthetic configuration.

    python bench/methods.py {hc2,optmsm,maria,adaftr} [--seeds 3] [--rows 60000] [--epochs 2] [--store FILE]

Every variant is a spec in `specs/` (an ablation differs from the full spec only by the removed or switched
lines); each is trained with the method's synthetic configuration (shared structure, Zipf-sparse scenarios) and
`train.seed` = 0, 1, …, through `msdsl.api.run`, into one DuckDB store. The table is then read from the store with
SQL: test AUC (and GAUC) per scenario (or per task) as mean ± sd over the seeds, and training rows/s of each
variant next to its backbone's (from the runs' timings, same invocation, so the ratio is what counts on a shared
machine). A finished run already in the store for a (variant, seed) with the same spec text and configuration is
reused, so a killed bench continues where it stopped (`--fresh` retrains everything).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from msdsl.api import run  # noqa: E402
from runtime.store import Store  # noqa: E402

SYNTHETIC = "synthetic(rows={rows}, scenarios=5, shared=0.6, sparse=1.2, users=3000, items=800, seed=11{extra})"

# method → (synthetic extras, slice: "scenario" | "task", [(variant, spec, backbone variant or None)])
METHODS: dict[str, tuple[str, str, list[tuple[str, str, str | None]]]] = {
    "hc2": ("", "scenario", [
        ("SharedBottom", "quickstart.msd", None),
        ("HC² on SharedBottom", "hc2_shared_bottom.msd", "SharedBottom"),
        ("  w/o g-loss", "hc2_no_gloss.msd", "SharedBottom"),
        ("  w/o noise", "hc2_no_noise.msd", "SharedBottom"),
        ("  w/o weight", "hc2_no_weight.msd", "SharedBottom"),
        ("  w/o s-loss", "hc2_no_sloss.msd", "SharedBottom"),
        ("MMoE", "mmoe_towers.msd", None),
        ("HC² on MMoE", "hc2_mmoe.msd", "MMoE"),
        ("STAR", "star.msd", None),
        ("HC² on STAR", "hc2_star.msd", "STAR"),
    ]),
    "optmsm": ("", "scenario", [
        ("STAR", "star.msd", None),
        ("OptMSM (FCN transfer)", "optmsm_fcn.msd", "STAR"),
        ("  w/o priors", "optmsm_no_priors.msd", "STAR"),
        ("  w/o constraint", "optmsm_no_constraint.msd", "STAR"),
        ("  w/o hypernetwork", "optmsm_no_hypernet.msd", "STAR"),
        ("MoE", "optmsm_moe_backbone.msd", None),
        ("OptMSM (MoE transfer)", "optmsm_moe.msd", "MoE"),
        ("CGC", "optmsm_cgc_backbone.msd", None),
        ("OptMSM (CGC transfer)", "optmsm_cgc.msd", "CGC"),
    ]),
    "maria": (", sequence=true", "scenario", [
        ("MMoE over scenarios", "maria_backbone.msd", None),
        ("MARIA", "maria.msd", "MMoE over scenarios"),
        ("  w/o ST", "maria_no_st.msd", "MMoE over scenarios"),
        ("  w/o FCM", "maria_no_fcm.msd", "MMoE over scenarios"),
        ("  w/o FR", "maria_no_fr.msd", "MMoE over scenarios"),
        ("  w/o FS", "maria_no_fs.msd", "MMoE over scenarios"),
        ("  w/o NL", "maria_no_nl.msd", "MMoE over scenarios"),
        ("  w/o GS", "maria_no_gs.msd", "MMoE over scenarios"),
    ]),
    "adaftr": (", view=true", "task", [
        ("MMoE", "mmoe.msd", None),
        ("AdaFTR on MMoE", "adaftr_mmoe.msd", "MMoE"),
        ("  w/o adaptive τ", "adaftr_no_adaptive_tau.msd", "MMoE"),
        ("  w/o learnable τ", "adaftr_no_learnable_tau.msd", "MMoE"),
        ("  w/o negative", "adaftr_no_negative.msd", "MMoE"),
        ("  w/o contrastive", "adaftr_no_contrastive.msd", "MMoE"),
        ("  three tasks (+ view)", "adaftr_three_tasks.msd", "MMoE"),
        ("SharedBottom", "shared_bottom.msd", None),
        ("AdaFTR on SharedBottom", "adaftr_shared_bottom.msd", "SharedBottom"),
        ("PLE", "ple.msd", None),
        ("AdaFTR on PLE", "adaftr_ple.msd", "PLE"),
    ]),
}


def synthetic_source(method: str, args) -> str:
    return SYNTHETIC.format(rows=args.rows, extra=METHODS[method][0])


def finished(con, variant: str, seed: int, config: str, text: str) -> bool:
    """Whether the store holds a finished run of this variant, seed, configuration and spec text."""
    return con.execute("SELECT count(*) FROM bench_runs JOIN runs USING (run) WHERE variant = ? AND seed = ? "
                       "AND config = ? AND spec = ? AND status = 'ok'", [variant, seed, config, text]).fetchone()[0] > 0


def train_all(method: str, args) -> None:
    variants = METHODS[method][2]
    source = synthetic_source(method, args)
    store = Store(args.store)
    with store.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS bench_runs (run VARCHAR, method VARCHAR, variant VARCHAR, "
                    "position INTEGER, backbone VARCHAR, config VARCHAR)")  # the seed is runs.seed
    with tempfile.TemporaryDirectory() as runs_dir:
        for position, (variant, spec, backbone) in enumerate(variants):
            path = ROOT / "specs" / spec
            for seed in range(args.seeds):
                overrides = [f"data.source={source}", f"train.seed={seed}", f"train.epochs={args.epochs}"]
                text = path.read_text() + "".join(f"\n# --set {o}" for o in overrides)  # what `run` stores
                with store.connect() as con:
                    if not args.fresh and finished(con, variant, seed, source, text):
                        continue
                print(f"{method}: {variant.strip()} (seed {seed})", flush=True)
                run_id = run(path, overrides, store=args.store, runs_dir=runs_dir, progress=False)
                with store.connect() as con:
                    con.execute("INSERT INTO bench_runs VALUES (?, ?, ?, ?, ?, ?)",
                                [run_id, method, variant, position, backbone, source])


TABLE = """
WITH latest AS (  -- the newest finished run of each (variant, seed)
    SELECT b.*, r.seed, r.timings FROM bench_runs b JOIN runs r USING (run)
    WHERE b.method = $method AND b.config = $config AND r.status = 'ok' AND r.seed < $seeds
    QUALIFY row_number() OVER (PARTITION BY b.variant, r.seed ORDER BY r.started DESC) = 1),
speed AS (
    SELECT variant, any_value(position) AS position, any_value(backbone) AS backbone,
           avg((timings->>'rows_per_s')::DOUBLE) AS rows_s, count(*) AS seeds
    FROM latest GROUP BY variant)
SELECT s.position, s.variant, s.seeds, m.{slice} AS slice, m.metric,
       avg(m.value) AS mean, stddev_samp(m.value) AS sd, s.rows_s, b.rows_s AS backbone_rows_s
FROM latest l JOIN metrics m USING (run) JOIN speed s USING (variant) LEFT JOIN speed b ON b.variant = s.backbone
WHERE m.split = 'test' AND m.metric IN ('auc', 'gauc') AND {where}
GROUP BY ALL ORDER BY s.position, slice, m.metric
"""


def print_table(method: str, args) -> None:
    _, by, variants = METHODS[method]
    where = "m.task = (SELECT min(task) FROM metrics WHERE run = m.run)" if by == "scenario" else "m.scenario = '*'"
    sql = TABLE.format(slice=by, where=where)
    with Store(args.store).connect(read_only=True) as con:
        params = {"method": method, "seeds": args.seeds, "config": synthetic_source(method, args)}
        rows = con.execute(sql, params).fetchall()
    slices = sorted({r[3] for r in rows}, key=lambda s: (s == "*", s))
    metrics = sorted({r[4] for r in rows})
    cells = {(r[1], r[3], r[4]): (r[5], r[6]) for r in rows}
    info = {r[1]: (r[2], r[7], r[8]) for r in rows}
    print(f"\n{method}: test {' / '.join(m.upper() for m in metrics)} per {by} (mean ± sd over seeds), "
          f"{args.rows:,} synthetic rows, {args.epochs} epochs\n")
    print("SQL:" + sql.replace("$method", repr(method)).replace("$seeds", str(args.seeds))
          .replace("$config", repr(synthetic_source(method, args))))
    for metric in metrics:
        head = f"{metric.upper():26s} seeds " + "".join(f"{'all' if s == '*' else s:>16s}" for s in slices)
        print(head + f"{'rows/s':>10s}{'vs backbone':>13s}")
        for variant, *_ in variants:
            if variant not in info:
                print(f"{variant:26s}  (no finished run)")
                continue
            n, rate, base = info[variant]
            line = f"{variant:26s} {n:5d} "
            for s in slices:
                mean, sd = cells.get((variant, s, metric), (None, None))
                line += f"{'—':>16s}" if mean is None else f"{mean:9.4f} ± {sd or 0:.4f}"[-16:].rjust(16)
            ratio = f"{rate / base:12.2f}×" if base else " " * 13
            print(line + f"{rate or 0:10,.0f}" + ratio)
        print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("method", choices=sorted(METHODS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--store", default=str(ROOT / "bench" / "methods.duckdb"))
    ap.add_argument("--table-only", action="store_true", help="print the table from the store without training")
    ap.add_argument("--fresh", action="store_true", help="retrain variants that already have a finished run")
    args = ap.parse_args()
    if not args.table_only:
        train_all(args.method, args)
    print_table(args.method, args)


if __name__ == "__main__":
    main()
