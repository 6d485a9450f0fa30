"""The everyday path: `run` prints the scenario × task table, then `query`, `runs` and `plot` read the store."""

from __future__ import annotations

import csv
import io
import json

import duckdb

from cli_support import msdsl, no_traceback, run_batch

AUC_BY_SCENARIO = "SELECT scenario, task, auc(label, score) FROM predictions WHERE split = 'test' GROUP BY ALL"


def test_run_prints_the_scenario_by_task_table(trained):
    lines = trained.result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"run {trained.run}: test metrics"))
    header, rule, *body = lines[start + 1:]
    assert header.split() == ["scenario", "task", "auc", "gauc", "logloss", "pcoc", "count"]
    assert set(rule) <= {"-", " "}
    rows = [line.split() for line in body if line.strip()]
    assert [(r[0], r[1]) for r in rows] == [("s0", "ctr"), ("s1", "ctr"), ("s2", "ctr"), ("*", "ctr")]
    for r in rows:
        assert 0.0 <= float(r[2]) <= 1.0  # auc
        assert int(r[6].replace(",", "")) > 0  # count
    assert sum(int(r[6].replace(",", "")) for r in rows[:3]) == int(rows[3][6].replace(",", ""))
    no_traceback(trained.result)


def test_query_table_csv_and_json_agree(trained):
    table = msdsl("query", AUC_BY_SCENARIO, cwd=trained.dir)  # a process of its own
    results = run_batch({
        "csv": ["query", AUC_BY_SCENARIO + " ORDER BY scenario", "--csv"],
        "json": ["query", f"SELECT scenario, task, auc(label, score) AS auc FROM predictions "
                 f"WHERE split = 'test' AND run = '{trained.run}' GROUP BY ALL ORDER BY scenario", "--json"],
        "stored": ["query", f"SELECT scenario, value FROM metrics WHERE run = '{trained.run}' AND split = 'test' "
                   "AND metric = 'auc' AND scenario != '*' ORDER BY scenario", "--json"],
        "both": ["query", "SELECT 1", "--csv", "--json"],
    }, cwd=trained.dir)
    as_csv, as_json, stored = results["csv"], results["json"], results["stored"]
    for r in (table, as_csv, as_json):
        assert r.returncode == 0, str(r)
        no_traceback(r)
    assert table.stdout.split()[:2] == ["scenario", "task"] and "s0" in table.stdout

    assert "\r" not in as_csv.stdout  # plain \n line ends, for shell pipes
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0][:2] == ["scenario", "task"] and len(rows) == 4
    assert [r[0] for r in rows[1:]] == ["s0", "s1", "s2"]
    records = json.loads(as_json.stdout)
    assert [r["scenario"] for r in records] == ["s0", "s1", "s2"]
    for rec, row in zip(records, rows[1:]):
        assert abs(rec["auc"] - float(row[2])) < 1e-9
    assert results["both"].returncode == 2 and "not allowed with argument" in results["both"].stderr

    # the macros agree with the metrics the run stored
    assert [round(r["value"], 9) for r in json.loads(stored.stdout)] == [round(r["auc"], 9) for r in records]


def test_query_refuses_writes_and_reports_sql_errors(trained):
    store = trained.dir / "msdsl.duckdb"
    before = duckdb.connect(str(store), read_only=True).execute("SELECT count(*) FROM predictions").fetchone()[0]
    r = msdsl("query", "DELETE FROM predictions", cwd=trained.dir)  # a process of its own
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "read-only" in r.stderr, str(r)
    no_traceback(r)
    cases = {
        "DROP TABLE runs": "read-only",
        "CREATE TABLE t AS SELECT 1": "read-only",
        "COPY runs TO 'out.csv'": "read-only",
        "ATTACH 'other.duckdb' AS o": "read-only",
        "SELECT 1; DELETE FROM predictions": "one SQL statement",
        "SELEC 1": "syntax error",
        "SELECT * FROM no_such_table": "no_such_table",
    }
    results = run_batch({sql: ["query", sql] for sql in cases}, cwd=trained.dir)
    for sql, message in cases.items():
        r = results[sql]
        assert r.returncode == 2, str(r)
        assert r.stderr.startswith("error: ") and message in r.stderr, str(r)
        no_traceback(r)
    after = duckdb.connect(str(store), read_only=True).execute("SELECT count(*) FROM predictions").fetchone()[0]
    assert after == before > 0
    assert not (trained.dir / "out.csv").exists() and not (trained.dir / "other.duckdb").exists()


def test_query_and_runs_without_a_store(tmp_path):
    results = run_batch({"query": ["query", "SELECT 1"], "runs": ["runs"], "plot": ["plot", "abc", "-o", "p.png"]},
                        cwd=tmp_path)
    for r in results.values():
        assert r.returncode == 2 and r.stderr.startswith("error: no store at msdsl.duckdb"), str(r)
        no_traceback(r)
    assert list(tmp_path.iterdir()) == []  # reading never creates a store


def test_runs_lists_the_run(trained):
    r = msdsl("runs", cwd=trained.dir)
    assert r.returncode == 0, str(r)
    header, _, *rows = r.stdout.splitlines()
    assert header.split()[:4] == ["run", "spec", "seed", "status"]
    row = next(line.split() for line in rows if line.startswith(trained.run))
    assert row[1:4] == ["quickstart", "42", "ok"]


def test_plot_writes_a_png_and_names_unknown_runs(trained):
    r = msdsl("plot", trained.run, "-o", "runs.png", cwd=trained.dir)
    assert r.returncode == 0 and "wrote runs.png" in r.stdout, str(r)
    png = (trained.dir / "runs.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000

    results = run_batch({
        "svg": ["plot", trained.run, "--metric", "logloss", "--split", "valid", "-o", "valid.svg"],
        "unknown": ["plot", trained.run, "deadbeef0000", "-o", "bad.png"],
        "metric": ["plot", trained.run, "--metric", "acu", "-o", "bad.png"],
        "format": ["plot", trained.run, "-o", "bad.xyz"],
    }, cwd=trained.dir)
    r = results["svg"]
    assert r.returncode == 0, str(r)
    assert (trained.dir / "valid.svg").read_text().lstrip().startswith("<?xml")
    for name, expected in (("unknown", "deadbeef0000"), ("metric", "acu"), ("format", "xyz")):
        r = results[name]
        assert r.returncode == 2 and r.stderr.startswith("error: ") and expected in r.stderr, str(r)
        no_traceback(r)
    assert "auc" in results["metric"].stderr  # the metrics the run has
    assert not (trained.dir / "bad.png").exists() and not (trained.dir / "bad.xyz").exists()
