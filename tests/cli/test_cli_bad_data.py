"""Bad data through `msdsl run`: each problem is a clear error naming the file and the column (exit 2, no
traceback), or, where going on is safe, a warning recorded in the store.

The data are small CSV and Parquet files written in a tmp dir, read by a spec with `files(…)` and a time split:
`train.parquet` (days 0–9) and `test.csv` (day 20 on). Each case swaps one file for a broken variant with
`--set data.source=files(…)`; the cases run one after another in one interpreter (`run_batch`).
"""

from __future__ import annotations

import csv
import random

import duckdb
import pytest

from cli_support import no_traceback, run_batch

SPEC = """\
spec logs

data {
  source   = files("train.parquet", "test.csv")
  split    = time(column="day", valid=15, test=20)
  scenario = "channel"
  user     = "uid"
}

scenarios {
  search = scenario()
  feed   = scenario()
  promo  = scenario()     # declared, but the training files have no promo rows
}

features {
  uid   = categorical(dim=4, field=user)
  item  = categorical(dim=4, column="item_id", field=item)
  price = numeric(normalize=true, field=item)
}

tasks {
  ctr = binary(label="click")
}

graph {
  h   = mlp(embed(all), units=[8])
  out = per task: head(h)
}

train {
  batch  = 128
  epochs = 1
}
"""

HEADER = ["uid", "item_id", "channel", "price", "click", "day"]


def _rows(n: int, rng: random.Random, *, day0: int, items: range, channels=("search", "feed")) -> list[list]:
    return [[rng.randint(1, 40), rng.choice(items), rng.choice(channels), round(rng.uniform(1, 100), 2),
             rng.randint(0, 1), day0 + rng.randint(0, 9)] for _ in range(n)]


def _csv(path, rows, header=HEADER) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _parquet(path, rows, header=HEADER) -> None:
    con = duckdb.connect()
    _csv(str(path) + ".csv", rows, header)
    con.execute(f"COPY (SELECT * FROM read_csv('{path}.csv')) TO '{path}' (FORMAT parquet)")
    con.close()


def _source(*files: str) -> list[str]:
    return ["--set", "data.source=files(" + ", ".join(f'"{f}"' for f in files) + ")"]


CASES = {
    "missing_column": _source("train.parquet", "test_no_price.csv"),
    "non_numeric": _source("train_bad_price.csv", "test.csv"),
    "null_label": _source("train.parquet", "test_null_label.csv"),
    "nan_label": _source("train_nan_label.parquet", "test.csv"),
    "no_file": _source("train.parquet", "tset.csv"),
    "new_in_test": _source("train.parquet", "test_new.csv"),  # new items, a new scenario, an undeclared one
    "empty_test": _source("train.parquet", "test_empty.csv"),  # a header-only CSV
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad_data")
    rng = random.Random(0)
    (d / "logs.msd").write_text(SPEC)
    train = _rows(600, rng, day0=0, items=range(1, 60))
    test = _rows(200, rng, day0=20, items=range(1, 60))
    _parquet(d / "train.parquet", train)
    _csv(d / "test.csv", test)
    _csv(d / "test_no_price.csv", [r[:3] + r[4:] for r in test], HEADER[:3] + HEADER[4:])
    _csv(d / "train_bad_price.csv", [r if i != 16 else r[:3] + ["cheap"] + r[4:] for i, r in enumerate(train)])
    _csv(d / "test_null_label.csv", [r if i != 4 else r[:4] + [""] + r[5:] for i, r in enumerate(test)])
    _parquet(d / "train_nan_label.parquet",
             [r if i != 9 else r[:4] + ["nan"] + r[5:] for i, r in enumerate(train)])
    _csv(d / "test_new.csv", _rows(200, rng, day0=20, items=range(1000, 1100),
                                   channels=("search", "feed", "promo", "video")))
    _csv(d / "test_empty.csv", [])
    results = run_batch({name: ["run", "logs.msd", "-q", "--store", f"{name}.duckdb", "--runs-dir", f"runs_{name}",
                              *args] for name, args in CASES.items()}, cwd=d)
    return d, results


def _error(bad, case: str) -> str:
    _, results = bad
    r = results[case]
    assert r.returncode == 2, str(r)
    no_traceback(r)
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: "), str(r)
    return r.stderr


def _store(bad, case: str) -> duckdb.DuckDBPyConnection:
    d, results = bad
    r = results[case]
    assert r.returncode == 0, str(r)
    no_traceback(r)
    return duckdb.connect(str(d / f"{case}.duckdb"), read_only=True)


def test_missing_column_names_file_and_column(bad):
    err = _error(bad, "missing_column")
    assert "test_no_price.csv" in err and "`price`" in err and "missing column" in err


def test_non_numeric_value_names_file_column_row_and_value(bad):
    err = _error(bad, "non_numeric")
    assert "train_bad_price.csv" in err and "`price`" in err and "'cheap'" in err and "row 17" in err


def test_null_and_nan_labels_name_file_column_and_row(bad):
    err = _error(bad, "null_label")
    assert "test_null_label.csv" in err and "`click`" in err and "missing label of task `ctr`" in err
    assert "row 5" in err
    err = _error(bad, "nan_label")
    assert "train_nan_label.parquet" in err and "`click`" in err and "missing label" in err and "row 10" in err


def test_missing_file(bad):
    err = _error(bad, "no_file")
    assert "tset.csv" in err and "no file matches" in err


def test_unseen_ids_at_test_time_are_recorded_as_oov(bad):
    con = _store(bad, "new_in_test")
    rates = dict(((scenario, feature), rate) for scenario, feature, rate in con.execute(
        "SELECT scenario, feature, rate FROM oov WHERE split = 'test'").fetchall())
    assert rates[("*", "item")] == 1.0  # every test item is new
    assert rates[("search", "item")] == rates[("feed", "item")] == rates[("promo", "item")] == 1.0
    assert rates[("*", "uid")] == 0.0  # the users are the training users
    train = con.execute("SELECT max(rate) FROM oov WHERE split = 'train'").fetchone()[0]
    assert train == 0.0


def test_scenario_in_test_but_not_in_train_is_a_recorded_warning(bad):
    d, results = bad
    con = _store(bad, "new_in_test")
    warnings = [m for (m,) in con.execute("SELECT message FROM warnings").fetchall()]
    assert "scenario `promo` has no training rows and appears in test" in warnings
    assert any("`video`" in w and "skipped" in w for w in warnings)  # not declared: its rows are skipped
    assert "warning: scenario `promo` has no training rows" in results["new_in_test"].stdout
    scenarios = {s for (s,) in con.execute("SELECT DISTINCT scenario FROM predictions WHERE split = 'test'").fetchall()}
    assert scenarios == {"search", "feed", "promo"}
    n = con.execute("SELECT count(*) FROM predictions WHERE split = 'test'").fetchone()[0]
    assert 0 < n < 200  # the `video` rows are not predicted
    assert con.execute("SELECT value FROM metrics WHERE split = 'test' AND scenario = 'promo' AND task = 'ctr' "
                       "AND metric = 'count'").fetchone()[0] > 0


def test_empty_test_split_is_a_warning(bad):
    con = _store(bad, "empty_test")
    warnings = [m for (m,) in con.execute("SELECT message FROM warnings").fetchall()]
    assert any("test split has no rows" in w for w in warnings), warnings
    assert con.execute("SELECT count(*) FROM predictions WHERE split = 'test'").fetchone()[0] == 0
