"""Helpers for the training tests: tiny specs on synthetic data, in-process runs, reading the store and checkpoints.

The data is 3000 synthetic rows (200 users, 50 items) split by user 60/20/20: 1800 training rows, so 8 batches of
256 per epoch, and a run takes about a second after the first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import torch

from msdsl.cli import main
from runtime import checkpoint

DATA = """
data {
  source = synthetic(rows=3000, scenarios=3, seed=7, users=200, items=50)
  split  = hash(column="user_id", valid=0.2, test=0.2)
  %USER%
}
"""

FEATURES = """
features {
  user_id  = categorical(dim=8, field=user)
  item_id  = categorical(dim=8, field=item)
  hour     = categorical(dim=4, field=context)
  price    = numeric(normalize=true, field=item)
}

tasks {
  ctr = binary(label="click")
}
"""

GRAPH = """
graph {
  x     = embed(all)
  h     = mlp(x, units=[32], dropout=0.2)
  tower = per scenario: mlp(h, units=[16], dropout=0.1)
  out   = per task: head(tower)
}
"""

STEPS_PER_EPOCH = 8


def spec_text(train: str, *, objective: str = "", user: bool = True, name: str = "t") -> str:
    """A complete spec: the shared data, features, task and graph, plus the given `train { … }` body."""
    data = DATA.replace("%USER%", 'user   = "user_id"' if user else "")
    return f"spec {name}\n{data}{FEATURES}{GRAPH}{objective}\ntrain {{\n  batch = 256\n{train}\n}}\n"


def write_spec(tmp_path, train: str, **kw) -> str:
    path = tmp_path / "spec.msd"
    path.write_text(spec_text(train, **kw))
    return str(path)


def cli(*args) -> int:
    """`msdsl ARGS` in this process (the same code path as the command, without paying its start-up again)."""
    return main([str(a) for a in args])


def run_dirs(tmp_path, tag: str) -> tuple[str, str]:
    """(store, runs dir) of one run, under tmp_path."""
    return str(tmp_path / f"{tag}.duckdb"), str(tmp_path / f"{tag}-runs")


def rows(store: str, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(store, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def final_weights(runs_dir: str) -> dict[str, torch.Tensor]:
    """The weights of the newest checkpoint of the only run directory under `runs_dir`."""
    (run_dir,) = Path(runs_dir).iterdir()
    return checkpoint.read_weights(checkpoint.latest(run_dir))


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def outcome(store: str) -> dict:
    """Everything a run leaves in its store that must not depend on interruptions, in a comparable form."""
    (run,) = [r[0] for r in rows(store, "SELECT run FROM runs")]
    return {
        "predictions": rows(store, 'SELECT split, task, "row", scenario, label, score, "user" FROM predictions '
                                   'WHERE run = ? ORDER BY ALL', [run]),
        "metrics": rows(store, "SELECT split, scenario, task, metric, value FROM metrics WHERE run = ? ORDER BY ALL",
                        [run]),
        "log": rows(store, "SELECT stage, step, epoch, term, value FROM training_log WHERE run = ? ORDER BY ALL",
                    [run]),
    }


def same_metrics(a: list[tuple], b: list[tuple]) -> bool:
    """Metric rows equal, values to 1e-12: DuckDB's parallel `avg` (logloss) may add in another order."""
    return [r[:-1] for r in a] == [r[:-1] for r in b] and all(
        x[-1] == y[-1] or (x[-1] is not None and y[-1] is not None and abs(x[-1] - y[-1]) <= 1e-12 * abs(y[-1]))
        for x, y in zip(a, b))
