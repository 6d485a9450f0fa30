"""Two `msdsl run` processes writing to one store at the same time both land all their rows."""

from __future__ import annotations

import duckdb

from cli_support import QUICKSTART, SMALL, no_traceback, run_all, run_id


def _counts(store, run: str) -> dict[str, int]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table} WHERE run = ?", [run]).fetchone()[0]
                for table in ("predictions", "metrics", "oov", "training_log")}
    finally:
        con.close()


def test_two_runs_at_once_land_every_row(trained, tmp_path):
    # each process has its own checkpoint directory: only the store is shared
    results = run_all({name: ["run", QUICKSTART, "-q", *SMALL, "--store", "shared.duckdb", "--runs-dir",
                              f"runs_{name}", "--checkpoint-every", "1"] for name in ("a", "b")}, cwd=tmp_path)
    for r in results.values():
        assert r.returncode == 0, str(r)
        no_traceback(r)
    a, b = (run_id(r) for r in results.values())
    assert a != b

    single = _counts(trained.dir / "msdsl.duckdb", trained.run)
    assert single["predictions"] > 0 and single["metrics"] > 0
    assert _counts(tmp_path / "shared.duckdb", a) == single
    assert _counts(tmp_path / "shared.duckdb", b) == single

    con = duckdb.connect(str(tmp_path / "shared.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 2 * single["predictions"]
    assert sorted(con.execute("SELECT run, status FROM runs").fetchall()) == sorted([(a, "ok"), (b, "ok")])
    # the same seed and data: the two runs predict the same scores
    diff = con.execute("SELECT max(abs(x.score - y.score)) FROM predictions x JOIN predictions y "
                       "USING (split, task, \"row\") WHERE x.run = ? AND y.run = ?", [a, b]).fetchone()[0]
    assert diff is not None and diff < 1e-6
