"""The real-data specs (specs/ali_ccp.msd, specs/douban.msd) train end to end on the samples in ../shared/data.

Skipped when the shared data is not beside the repository. The samples are tiny: slices with one class only get
a NULL AUC and a recorded warning, never a crash.
"""

from __future__ import annotations

import duckdb
import pytest

from cli_support import SHARED_DATA, SPECS, no_traceback, run_all, run_id

NEEDS = [SHARED_DATA / "ali-ccp" / "scenario-wise-rec" / "ali_ccp_train_sample.csv",
         SHARED_DATA / "douban" / "douban_sample.csv"]
pytestmark = pytest.mark.skipif(not all(p.exists() for p in NEEDS), reason=f"no shared data at {SHARED_DATA}")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    # douban runs through a spec in another folder that extends it: the inherited data path stays relative to
    # specs/douban.msd, where it is written
    (d / "douban_child.msd").write_text(f'spec douban extends "{SPECS / "douban.msd"}"\n\ntrain {{ epochs = 1 }}\n')
    specs = {"ali_ccp": [SPECS / "ali_ccp.msd", "--set", "train.epochs=1"], "douban": ["douban_child.msd"]}
    results = run_all({name: ["run", *spec, "-q", "--store", f"{name}.duckdb", "--runs-dir", f"runs_{name}"]
                       for name, spec in specs.items()}, cwd=d)
    return d, results


def _table(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if ": test metrics" in line)
    return [line.split() for line in lines[start + 3:] if line.strip()]


def test_ali_ccp_trains_with_null_metrics_as_warnings(real):
    d, results = real
    r = results["ali_ccp"]
    assert r.returncode == 0, str(r)
    no_traceback(r)
    rows = _table(r.stdout)
    assert {(row[0], row[1]) for row in rows} == {(s, t) for s in ("s1", "s2", "s3", "*")
                                                  for t in ("ctr", "cvr", "ctcvr")}
    assert any(row[2] == "NULL" for row in rows)  # scenarios without positives in the sample
    assert "warning: " in r.stdout

    con = duckdb.connect(str(d / "ali_ccp.duckdb"), read_only=True)
    run = run_id(r)
    nulls = con.execute("SELECT count(*) FROM metrics WHERE run = ? AND metric = 'auc' AND value IS NULL",
                        [run]).fetchone()[0]
    warnings = con.execute("SELECT count(*) FROM warnings WHERE run = ? AND message LIKE '%AUC is NULL%'",
                           [run]).fetchone()[0]
    assert nulls == warnings > 0
    counts = dict(con.execute("SELECT task, count(*) FROM predictions WHERE run = ? AND split = 'test' GROUP BY task",
                              [run]).fetchall())
    assert counts["ctr"] == counts["ctcvr"] == 50 and 0 < counts["cvr"] < 50  # cvr only on clicked rows
    # OOV rows are named by the spec's scenarios (s1…), like predictions, not by the column's values (1…)
    oov = {s for (s,) in con.execute("SELECT DISTINCT scenario FROM oov WHERE run = ?", [run]).fetchall()}
    assert oov == {"s1", "s2", "s3", "*"}
    assert con.execute("SELECT max(rate) FROM oov WHERE run = ? AND split = 'test' AND feature = 'item_id'",
                       [run]).fetchone()[0] > 0


def test_douban_trains(real):
    d, results = real
    r = results["douban"]
    assert r.returncode == 0, str(r)
    no_traceback(r)
    rows = _table(r.stdout)
    assert [(row[0], row[1]) for row in rows] == [("book", "like"), ("movie", "like"), ("music", "like"),
                                                  ("*", "like")]
    assert all(0.0 <= float(row[2]) <= 1.0 for row in rows)
    con = duckdb.connect(str(d / "douban.duckdb"), read_only=True)
    run = run_id(r)
    n = con.execute("SELECT count(*) FROM predictions WHERE run = ? AND split = 'test'", [run]).fetchone()[0]
    assert 300 < n < 900  # about 20 % of 3,000 rows, held out by user
    # test users are not in training: their ids are OOV
    assert con.execute("SELECT rate FROM oov WHERE run = ? AND split = 'test' AND feature = 'user_id' "
                       "AND scenario = '*'", [run]).fetchone()[0] == 1.0
