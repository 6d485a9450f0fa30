"""The store: one DuckDB file with runs, predictions, metrics, training logs, OOV rates and warnings.

Tables (created on first use):

    runs(run, name, spec, spec_hash, data_fingerprint, seed, versions JSON, started, finished, timings JSON, status)
    predictions(run, split, "row", scenario, task, label, score, "user")
    metrics(run, split, scenario, task, metric, value)          -- scenario '*' = all scenarios
    training_log(run, stage, step, epoch, term, value, rows_per_s)
    oov(run, split, feature, scenario, rate)
    warnings(run, message)

DuckDB lets one process at a time open a file for writing, so every write opens the file for one transaction and
closes it, retrying with jittered exponential backoff while another process holds it: two runs writing at once
both land all their rows. Predictions go in as one bulk INSERT from numpy arrays (DuckDB scans them directly).
The metric macros of `metrics.sql` (auc, gauc, logloss, pcoc) exist in every connection, read-only ones included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import duckdb
import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run VARCHAR PRIMARY KEY, name VARCHAR, spec VARCHAR, spec_hash VARCHAR, data_fingerprint VARCHAR, seed BIGINT,
    versions JSON, started TIMESTAMP, finished TIMESTAMP, timings JSON, status VARCHAR);
CREATE TABLE IF NOT EXISTS predictions (
    run VARCHAR, split VARCHAR, "row" BIGINT, scenario VARCHAR, task VARCHAR, label DOUBLE, score DOUBLE,
    "user" BIGINT);
CREATE TABLE IF NOT EXISTS metrics (
    run VARCHAR, split VARCHAR, scenario VARCHAR, task VARCHAR, metric VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS training_log (
    run VARCHAR, stage VARCHAR, step BIGINT, epoch BIGINT, term VARCHAR, value DOUBLE, rows_per_s DOUBLE);
CREATE TABLE IF NOT EXISTS oov (run VARCHAR, split VARCHAR, feature VARCHAR, scenario VARCHAR, rate DOUBLE);
CREATE TABLE IF NOT EXISTS warnings (run VARCHAR, message VARCHAR);
"""

# Columns of the tables written through `Store.append`.
COLUMNS = {
    "training_log": ("stage", "step", "epoch", "term", "value", "rows_per_s"),
    "oov": ("split", "feature", "scenario", "rate"),
    "warnings": ("message",),
}

METRICS = ("auc", "gauc", "logloss", "pcoc", "count", "positives")

READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}


def metric_macros() -> str:
    """The SQL text that creates the metric macros."""
    return Path(__file__).with_name("metrics.sql").read_text()


def spec_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StoreBusy(Exception):
    """The store file stayed locked by another process for longer than the timeout."""


def _locked(error: duckdb.Error) -> bool:
    text = str(error).lower()
    return "lock" in text or "conflict" in text


class Store:
    """A DuckDB store file. Each method opens the file, does its work in one transaction, and closes it."""

    def __init__(self, path: str | Path, *, timeout: float = 60.0):
        self.path = str(path)
        self.timeout = timeout

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the metric macros (retrying while another process holds the file)."""
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                con = duckdb.connect(self.path, read_only=read_only)
                break
            except duckdb.Error as e:
                if not _locked(e) or time.monotonic() > deadline:
                    if _locked(e):
                        raise StoreBusy(f"{self.path}: still locked by another process after {self.timeout} s") from e
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        try:
            con.execute("SET enable_progress_bar = false")
            if not read_only:
                con.execute(SCHEMA)
            con.execute(metric_macros())
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- runs ------------------------------------------------------------------------------------------------

    def start_run(self, *, name: str, spec: str, data_fingerprint: str, seed: int,
                  versions: Mapping[str, str] | None = None, run: str | None = None) -> str:
        """Record a new run (status 'running') and return its id."""
        run = run or uuid.uuid4().hex[:12]
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, NULL, NULL, 'running')",
                [run, name, spec, spec_hash(spec), data_fingerprint, seed, json.dumps(dict(versions or {}))],
            )
        return run

    def finish_run(self, run: str, *, status: str = "ok", timings: Mapping[str, float] | None = None) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET finished = now()::TIMESTAMP, status = ?, timings = ? WHERE run = ?",
                        [status, json.dumps(dict(timings or {})), run])

    # -- rows ------------------------------------------------------------------------------------------------

    def add_predictions(self, run: str, split: str, task: str, *, scenario: np.ndarray, label: np.ndarray,
                        score: np.ndarray, scenarios: Sequence[str], row: np.ndarray | None = None,
                        user: np.ndarray | None = None) -> None:
        """Append one task's predictions over a split, in bulk.

        `scenario` holds scenario indices (positions in `scenarios`); arrays may be numpy arrays or CPU tensors.
        """
        n = len(score)
        cols = {
            "scenario_idx": np.asarray(scenario, dtype=np.int64),
            "label": np.asarray(label, dtype=np.float64),
            "score": np.asarray(score, dtype=np.float64),
            "row_": np.arange(n, dtype=np.int64) if row is None else np.asarray(row, dtype=np.int64),
        }
        user_sql = "NULL"
        if user is not None:
            cols["user_"] = np.asarray(user, dtype=np.int64)
            user_sql = "user_"
        if any(len(v) != n for v in cols.values()):
            raise ValueError("add_predictions: arrays of different lengths")
        with self.transaction() as con:
            con.register("batch_predictions", cols)
            con.execute(
                f"""INSERT INTO predictions
                    SELECT $run, $split, row_, list_extract($scenarios, scenario_idx + 1), $task, label, score,
                           {user_sql}
                    FROM batch_predictions""",
                {"run": run, "split": split, "task": task, "scenarios": list(scenarios)},
            )

    def append(self, table: str, run: str, rows: Sequence[Sequence]) -> None:
        """Append rows (tuples in the order of `COLUMNS[table]`, or objects with those attributes)."""
        columns = COLUMNS[table]
        values = [tuple(getattr(r, c) for c in columns) if not isinstance(r, (tuple, list)) else tuple(r)
                  for r in rows]
        if not values:
            return
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        with self.transaction() as con:
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", [(run, *v) for v in values])

    # -- metrics ---------------------------------------------------------------------------------------------

    def compute_metrics(self, run: str) -> list[str]:
        """Fill `metrics` for the run; return (and record) the warnings for slices without both classes."""
        with self.transaction() as con:
            return compute_metrics(con, run)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one read-only statement (SELECT, EXPLAIN) on a read-only connection: (column names, rows)."""
        with self.connect(read_only=True) as con:
            return query(con, sql)


def query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """Run `sql` if it is a single read-only statement: (column names, rows); else ValueError."""
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")
    kind = statements[0].type.name
    if kind not in READ_ONLY_STATEMENTS:
        raise ValueError(f"only read-only statements (SELECT, EXPLAIN) are allowed, not {kind}")
    result = con.execute(sql)
    return [d[0] for d in result.description], result.fetchall()


def midrank(partition: str, order: str = "score") -> str:
    """SQL for each row's midrank (rank + half its ties) of `order` within `partition`: one window sort.

    A tie group at sorted positions f..l has rank() = f and cume_dist() · rows = l; its midrank is (f + l) / 2.
    """
    w = f"(PARTITION BY {partition} ORDER BY {order})"
    return f"(rank() OVER {w} + round(cume_dist() OVER {w} * count(*) OVER (PARTITION BY {partition}))) / 2"


def auc_of_midranks(r: str) -> str:
    """SQL aggregate: exact AUC from the positives' midrank sum (Mann–Whitney), NULL without both classes."""
    return (f"(sum({r}) FILTER (WHERE label = 1) - sum(label) * (sum(label) + 1) / 2) "
            "/ nullif(sum(label) * (count(*) - sum(label)), 0)")


# The slices: every (split, scenario, task), and every (split, task) over all scenarios as scenario '*'; AUC per
# slice, and per (slice, user) for GAUC = Σ_u n_u AUC_u / Σ_u n_u over the users with both classes.
_METRICS_SQL = f"""
WITH p AS (
    SELECT split, scenario, task, label, score, "user" FROM predictions
    WHERE run = $run AND label IS NOT NULL AND score IS NOT NULL),
s AS (SELECT * FROM p UNION ALL SELECT split, '*', task, label, score, "user" FROM p),
ranked AS (
    SELECT split, scenario, task, "user", label, score,
           {midrank("split, scenario, task")} AS r, {midrank('split, scenario, task, "user"')} AS ru
    FROM s),
users AS (
    SELECT split, scenario, task, count(*) AS n, {auc_of_midranks("ru")} AS auc
    FROM ranked WHERE "user" IS NOT NULL GROUP BY split, scenario, task, "user"),
slices AS (
    SELECT split, scenario, task, count(*) AS n, sum(label) AS pos, {auc_of_midranks("r")} AS auc,
           logloss(label, score) AS logloss, pcoc(label, score) AS pcoc
    FROM ranked GROUP BY ALL)
SELECT split, scenario, task, s.auc, g.gauc, logloss, pcoc, n::DOUBLE AS count, pos::DOUBLE AS positives
FROM slices s
LEFT JOIN (SELECT split, scenario, task, sum(n * auc) / sum(n) AS gauc FROM users WHERE auc IS NOT NULL GROUP BY ALL) g
USING (split, scenario, task)
"""


def compute_metrics(con: duckdb.DuckDBPyConnection, run: str) -> list[str]:
    """Replace the run's rows in `metrics` (auc, gauc, logloss, pcoc, count, positives per slice).

    Returns the warnings, also stored in `warnings`, for slices whose AUC is NULL (one class only).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE slice_metrics AS {_METRICS_SQL}", {"run": run})
    con.execute("DELETE FROM metrics WHERE run = ?", [run])
    con.execute(
        """INSERT INTO metrics
           SELECT $run, split, scenario, task, metric, value FROM slice_metrics
           UNPIVOT INCLUDE NULLS (value FOR metric IN (auc, gauc, logloss, pcoc, count, positives))""",
        {"run": run},
    )
    rows = con.execute(
        "SELECT split, scenario, task, count::BIGINT, positives FROM slice_metrics WHERE auc IS NULL ORDER BY ALL"
    ).fetchall()
    warnings = [
        f"{split} split, scenario {scenario}, task {task}: "
        f"{'no positives' if pos == 0 else 'no negatives'} among {n} rows, so AUC is NULL"
        for split, scenario, task, n, pos in rows
    ]
    con.execute("INSERT INTO warnings SELECT $run, unnest($w::VARCHAR[])", {"run": run, "w": warnings})
    con.execute("DROP TABLE slice_metrics")
    return warnings
