import multiprocessing as mp

import duckdb
import numpy as np
import pytest

from runtime.store import Store, metric_macros


def brute_auc(y, s):
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def brute_gauc(y, s, u):
    num = den = 0.0
    for user in np.unique(u):
        m = u == user
        a = brute_auc(y[m], s[m])
        if a is not None:
            num, den = num + m.sum() * a, den + m.sum()
    return num / den if den else None


def brute_logloss(y, s):
    p = np.clip(s, 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def random_predictions(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    s = np.round(rng.random(n) * 0.6 + 0.3 * y, 1)  # few distinct scores: many ties
    return {"label": y, "score": s, "u": rng.integers(0, 80, n), "g": rng.integers(0, 3, n)}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(metric_macros())
    yield c
    c.close()


def test_macros_match_brute_force_with_ties(con):
    d = random_predictions()
    con.register("d", d)
    rows = con.execute("SELECT g, auc(label, score), gauc(label, score, u), logloss(label, score), "
                       "pcoc(label, score) FROM d GROUP BY ALL ORDER BY g").fetchall()
    assert len(rows) == 3
    for g, auc, gauc, logloss, pcoc in rows:
        m = d["g"] == g
        y, s, u = d["label"][m], d["score"][m], d["u"][m]
        assert auc == pytest.approx(brute_auc(y, s), abs=1e-9)
        assert gauc == pytest.approx(brute_gauc(y, s, u), abs=1e-9)
        assert logloss == pytest.approx(brute_logloss(y, s), abs=1e-9)
        assert pcoc == pytest.approx(s.sum() / y.sum(), abs=1e-9)


def test_gauc_macro_with_extreme_user_ids(con):
    d = random_predictions(3000, seed=1)
    ids = np.array([-(2**63), -5, 0, 7, 2**62, 2**63 - 1])  # packed as 2·user + label: must not overflow
    d["u"] = ids[d["u"] % len(ids)]
    con.register("d", d)
    for g, gauc in con.execute('SELECT g, gauc(label, score, u) FROM d GROUP BY g ORDER BY g').fetchall():
        m = d["g"] == g
        assert gauc == pytest.approx(brute_gauc(d["label"][m], d["score"][m], d["u"][m]), abs=1e-9)


def test_single_class_slices_give_null(con):
    con.execute("CREATE TABLE t AS SELECT i % 2 AS g, (i % 2)::DOUBLE AS label, i / 10 AS score, i % 3 AS u "
                "FROM range(20) r(i)")
    assert con.execute("SELECT g, auc(label, score), gauc(label, score, u) FROM t GROUP BY g ORDER BY g"
                       ).fetchall() == [(0, None, None), (1, None, None)]
    assert con.execute("SELECT auc(label, score) FROM t WHERE false").fetchone() == (None,)
    # users with one class are skipped; NULL labels and scores are ignored
    con.execute("INSERT INTO t VALUES (2, 1, 0.9, 7), (2, 0, 0.1, 7), (2, 1, 0.2, 8), (2, 0, 0.5, 8), (2, 1, 0.3, 9), "
                "(2, NULL, 0.5, 7), (2, 0, NULL, 7)")
    auc, gauc = con.execute("SELECT auc(label, score), gauc(label, score, u) FROM t WHERE g = 2").fetchone()
    assert (auc, gauc) == (pytest.approx(4 / 6), 0.5)  # user 9 (positives only) is not in GAUC


def fill(store, seed=0, n=3000):
    d = random_predictions(n, seed)
    run = store.start_run(name="r", spec="spec s", data_fingerprint="f", seed=seed)
    for split in ("valid", "test"):
        store.add_predictions(run, split, "ctr", scenario=d["g"], label=d["label"], score=d["score"],
                              scenarios=["a", "b", "c"], user=d["u"])
    return run, d


def test_compute_metrics_matches_brute_force(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    run, d = fill(store)
    assert store.compute_metrics(run) == []
    _, rows = store.query(f"SELECT scenario, metric, value FROM metrics WHERE run = '{run}' AND split = 'test'")
    got = {(sc, m): v for sc, m, v in rows}
    for sc, mask in [("a", d["g"] == 0), ("c", d["g"] == 2), ("*", np.ones_like(d["g"], dtype=bool))]:
        y, s, u = d["label"][mask], d["score"][mask], d["u"][mask]
        assert got[(sc, "auc")] == pytest.approx(brute_auc(y, s), abs=1e-9)
        assert got[(sc, "gauc")] == pytest.approx(brute_gauc(y, s, u), abs=1e-9)
        assert got[(sc, "logloss")] == pytest.approx(brute_logloss(y, s), abs=1e-9)
        assert (got[(sc, "count")], got[(sc, "positives")]) == (mask.sum(), y.sum())
    assert len(rows) == 4 * 6


def test_slice_without_positives_gives_null_and_a_warning(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    run = store.start_run(name="r", spec="", data_fingerprint="f", seed=0)
    store.add_predictions(run, "test", "cvr", scenario=np.array([0, 0, 1, 1]), label=np.array([0, 0, 1, 0]),
                          score=np.array([0.1, 0.2, 0.15, 0.1]), scenarios=["a", "b"])
    warnings = store.compute_metrics(run)
    assert warnings == ["test split, scenario a, task cvr: no positives among 2 rows, so AUC is NULL"]
    _, rows = store.query("SELECT scenario, value FROM metrics WHERE metric = 'auc' ORDER BY scenario")
    assert rows == [("*", pytest.approx(2 / 3)), ("a", None), ("b", 1.0)]
    assert store.query("SELECT message FROM warnings")[1] == [(warnings[0],)]


def test_runs_logs_and_read_only_queries(tmp_path):
    store = Store(tmp_path / "s.duckdb")
    run = store.start_run(name="r", spec="spec s {}", data_fingerprint="f", seed=3, versions={"torch": "2.13"})
    store.append("training_log", run, [("main", 1, 0, "loss", 0.5, 1000.0)])
    store.append("oov", run, [("test", "user_id", "*", 0.25)])
    store.append("warnings", run, [("careful",)])
    store.finish_run(run, timings={"train_s": 1.5})
    _, rows = store.query("SELECT status, seed, timings->>'train_s', versions->>'torch', finished IS NOT NULL FROM runs")
    assert rows == [("ok", 3, "1.5", "2.13", True)]
    assert store.query("SELECT rate FROM oov")[1] == [(0.25,)]
    for bad in ("DELETE FROM runs", "CREATE TABLE x (a INT)", "SELECT 1; DROP TABLE runs"):
        with pytest.raises(ValueError):
            store.query(bad)


def _writer(path, seed, n_batches):
    store = Store(path)
    run = store.start_run(name=f"w{seed}", spec="", data_fingerprint="f", seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(n_batches):
        store.add_predictions(run, "test", "ctr", scenario=rng.integers(0, 2, 500), label=rng.integers(0, 2, 500),
                              score=rng.random(500), scenarios=["a", "b"])
        store.append("training_log", run, [("main", 0, 0, "loss", 1.0, 1.0)])
    store.finish_run(run)


def test_concurrent_writers_both_land_all_rows(tmp_path):
    path = str(tmp_path / "s.duckdb")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, seed, 8)) for seed in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    _, rows = Store(path).query("SELECT r.name, count(*) FROM predictions p JOIN runs r USING (run) GROUP BY ALL "
                                "ORDER BY 1")
    assert rows == [("w1", 4000), ("w2", 4000)]
    assert Store(path).query("SELECT count(*) FROM training_log")[1] == [(16,)]
