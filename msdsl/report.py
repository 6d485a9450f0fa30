"""Tables printed by the CLI from the store: the metrics of a run, and the list of runs."""

from __future__ import annotations

from runtime.store import Store

COLUMNS = ("auc", "gauc", "logloss", "pcoc", "count")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(c).rjust(w) if i >= 2 else str(c).ljust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def _cell(value, metric: str) -> str:
    if value is None:
        return "NULL"
    return f"{int(value):,}" if metric == "count" else f"{value:.4f}"


def metrics_table(store: Store, run: str, split: str = "test") -> str:
    """Scenario × task rows with AUC, GAUC, logloss, PCOC and row count of one split ('*' = all scenarios)."""
    _, rows = store.query(
        f"SELECT scenario, task, metric, value FROM metrics WHERE run = '{run}' AND split = '{split}' "
        f"AND metric IN ({', '.join(repr(c) for c in COLUMNS)}) ORDER BY scenario = '*', scenario, task")
    cells: dict[tuple[str, str], dict[str, float]] = {}
    for scenario, task, metric, value in rows:
        cells.setdefault((scenario, task), {})[metric] = value
    body = [[scenario, task, *(_cell(m.get(c), c) for c in COLUMNS)] for (scenario, task), m in cells.items()]
    return table(["scenario", "task", *COLUMNS], body)


def runs_table(store: Store) -> str:
    _, rows = store.query(
        "SELECT run, name, seed, status, strftime(started, '%Y-%m-%d %H:%M:%S'), "
        "round(epoch(finished - started), 1), "
        "(SELECT round(value, 4) FROM metrics m WHERE m.run = r.run AND split = 'test' AND scenario = '*' "
        " AND metric = 'auc' ORDER BY task LIMIT 1) "
        "FROM runs r ORDER BY started")
    return table(["run", "spec", "seed", "status", "started", "seconds", "test auc"],
                 [["" if v is None else str(v) for v in r] for r in rows])
