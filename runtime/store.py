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


def auc_sql(source: str, where: str = "true", by: str | None = None) -> str:
    """SQL: rows `n`, positives `pos` and exact `auc` (NULL without both classes) of the (label, score) rows of
    `source` matching `where`: one row, or with `by` (an integer column, e.g. the user) one row per value of `by`.

    Mann–Whitney with midranks from one window sort: a tie group at sorted positions f..l has rank() = f and
    cume_dist() · rows = l, so each of its rows has midrank (f + l) / 2, and AUC = (Σ_positives midrank −
    P (P + 1) / 2) / (P N), exact with ties (a tied positive–negative pair counts ½). With `by`, the rows are
    sorted by (by, score) in one sort — one partition, which DuckDB sorts with all threads — and each group's
    positions are offset by its first position − 1 = min(rank()) − 1. Sort keys should be numbers: sorting on
    VARCHAR keys was measured several times slower than on integers.
    """
    keys = f"{by}, score" if by else "score"
    select, group = (f"{by}, ", f" GROUP BY {by}") if by else ("", "")
    return f"""SELECT {select}count(*) AS n, sum(label) AS pos,
        (sum(f + l) FILTER (WHERE label = 1) / 2 - sum(label) * (min(f) - 1) - sum(label) * (sum(label) + 1) / 2)
            / nullif(sum(label) * (count(*) - sum(label)), 0) AS auc
    FROM (SELECT {select}label, rank() OVER w AS f,
                 round(cume_dist() OVER w * (SELECT count(*) FROM {source} WHERE {where}))::BIGINT AS l
          FROM {source} WHERE {where} WINDOW w AS (ORDER BY {keys})){group}"""


def compute_metrics(con: duckdb.DuckDBPyConnection, run: str) -> list[str]:
    """Replace the run's rows in `metrics` (auc, gauc, logloss, pcoc, count, positives per slice).

    The slices: every (split, scenario, task), and every (split, task) over all scenarios as scenario '*'. AUC per
    slice, and per (slice, user) for GAUC = Σ_u n_u AUC_u / Σ_u n_u over the users with both classes. The run's
    rows are first copied with integer slice ids; then each slice is one `auc_sql` sort by score (and one by
    (user, score)): measured faster than one sort of all slices by (slice, score) or a PARTITION BY slice.

    Returns the warnings, also stored in `warnings`, for slices whose AUC is NULL (one class only).
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE metric_slices AS
           SELECT split, scenario, task, (row_number() OVER (ORDER BY split, task, scenario))::INTEGER AS sid,
                  (dense_rank() OVER (ORDER BY split, task))::INTEGER AS tid
           FROM (SELECT DISTINCT split, scenario, task FROM predictions
                 WHERE run = $run AND label IS NOT NULL AND score IS NOT NULL)""", {"run": run})
    con.execute(
        """CREATE OR REPLACE TEMP TABLE metric_rows AS
           SELECT sid, tid, label, score, "user" FROM predictions JOIN metric_slices USING (split, scenario, task)
           WHERE run = $run AND label IS NOT NULL AND score IS NOT NULL""", {"run": run})
    # key k of a slice: its sid, or −tid for a (split, task) over all scenarios
    slices = [(f"sid = {k}", k) for (k,) in con.execute("SELECT sid FROM metric_slices ORDER BY 1").fetchall()]
    slices += [(f"tid = {t}", -t) for (t,) in con.execute("SELECT DISTINCT tid FROM metric_slices ORDER BY 1").fetchall()]
    if not slices:  # nothing was predicted (e.g. empty valid and test splits)
        con.execute("DROP TABLE metric_rows")
        con.execute("DROP TABLE metric_slices")
        con.execute("DELETE FROM metrics WHERE run = ?", [run])
        return []
    aucs = " UNION ALL ".join(f"SELECT {k} AS k, * FROM ({auc_sql('metric_rows', where)})" for where, k in slices)
    gaucs = " UNION ALL ".join(
        f"""SELECT {k} AS k, sum(n * auc) / sum(n) AS gauc
            FROM ({auc_sql('metric_rows', where + ' AND "user" IS NOT NULL', by='"user"')}) WHERE auc IS NOT NULL"""
        for where, k in slices)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE slice_metrics AS
            WITH aucs AS ({aucs}), gaucs AS ({gaucs}),
            other AS (SELECT coalesce(sid, -tid) AS k, logloss(label, score) AS logloss, pcoc(label, score) AS pcoc
                      FROM metric_rows GROUP BY GROUPING SETS ((sid, tid), (tid))),
            names AS (SELECT sid AS k, split, scenario, task FROM metric_slices
                      UNION ALL SELECT DISTINCT -tid, split, '*', task FROM metric_slices)
            SELECT split, scenario, task, auc, gauc, logloss, pcoc, n::DOUBLE AS count, pos::DOUBLE AS positives
            FROM names JOIN aucs USING (k) JOIN other USING (k) LEFT JOIN gaucs USING (k)""")
    con.execute("DROP TABLE metric_rows")
    con.execute("DROP TABLE metric_slices")
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
