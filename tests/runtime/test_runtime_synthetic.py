import duckdb
import numpy as np
import pytest

import runtime.synthetic
from runtime.synthetic import make_world, synthetic, write_synthetic


def table(**params):
    return synthetic(**params).fetchnumpy()


def test_deterministic_for_a_seed():
    a, b = table(rows=5000, seed=3, sequence=True), table(rows=5000, seed=3, sequence=True)
    c = table(rows=5000, seed=4, sequence=True)
    for col in ("scenario", "user_id", "item_id", "click", "purchase", "price", "ts"):
        assert np.array_equal(a[col], b[col]), col
    assert [list(x) for x in a["hist_items"]] == [list(x) for x in b["hist_items"]]
    assert not np.array_equal(a["click"], c["click"])


def test_columns_and_types():
    t = table(rows=1000, scenarios=4, sequence=True, truth=True)
    assert set(t["scenario"]) <= {"s0", "s1", "s2", "s3"}
    assert t["hour"].min() >= 0 and t["hour"].max() <= 23
    assert (np.diff(t["ts"]) >= 0).all()
    assert set(np.unique(t["click"])) <= {0, 1}
    assert ((t["p_purchase"] <= t["p_click"]) & (t["p_click"] > 0) & (t["p_click"] < 1)).all()
    assert "hist_items" not in table(rows=10)


def test_funnel_purchase_implies_click():
    t = table(rows=20000)
    assert t["purchase"].sum() > 0
    assert (t["click"][t["purchase"] == 1] == 1).all()
    assert 0.02 < t["click"].mean() < 0.5


def test_scenarios_imbalanced_by_sparse():
    counts = np.unique(table(rows=30000, scenarios=5, sparse=1.5)["scenario"], return_counts=True)[1]
    shares = np.sort(counts)[::-1] / counts.sum()
    assert shares[0] > 5 * shares[-1]  # Zipf(1.5): 1 : 5^-1.5 ≈ 11×
    balanced = np.unique(table(rows=30000, scenarios=5, sparse=0.0)["scenario"], return_counts=True)[1]
    assert balanced.max() < 1.1 * balanced.min()


@pytest.mark.parametrize("shared", [0.1, 0.5, 0.9])
def test_shared_knob_sets_cross_scenario_correlation(shared):
    world = make_world(scenarios=2, shared=shared, users=2000, items=1000)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, 2000, 20000), rng.integers(0, 1000, 20000)
    p0, p1 = world.preference(u, i, np.zeros_like(u)), world.preference(u, i, np.ones_like(u))
    expected = shared**2 / (shared**2 + (1 - shared) ** 2)
    assert np.corrcoef(p0, p1)[0, 1] == pytest.approx(expected, abs=0.05)
    assert p0.std() == pytest.approx(1.0, abs=0.1)  # difficulty does not depend on the knob


def test_history_is_the_users_earlier_clicks():
    t = table(rows=3000, users=50, items=200, sequence=True, max_hist=5)
    for r in range(0, 3000, 97):
        earlier = (t["user_id"][:r] == t["user_id"][r]) & (t["click"][:r] == 1)
        assert list(t["hist_items"][r]) == list(t["item_id"][:r][earlier][-5:])


def test_write_synthetic_parquet(tmp_path):
    path = write_synthetic(tmp_path / "s.parquet", rows=500, sequence=True)
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*), typeof(any_value(hist_items)) FROM '{path}'").fetchone() == (500, "BIGINT[]")


def test_chunked_generation_continues_time_and_history(monkeypatch):
    monkeypatch.setattr(runtime.synthetic, "CHUNK_ROWS", 700)  # 5 chunks
    t = table(rows=3000, users=50, items=200, sequence=True, max_hist=5)
    assert (np.diff(t["ts"]) >= 0).all()
    for r in range(0, 3000, 37):  # histories reach back across chunk boundaries
        earlier = (t["user_id"][:r] == t["user_id"][r]) & (t["click"][:r] == 1)
        assert list(t["hist_items"][r]) == list(t["item_id"][:r][earlier][-5:])
    again = table(rows=3000, users=50, items=200, sequence=True, max_hist=5)
    assert all(np.array_equal(t[c], again[c]) for c in ("user_id", "click", "ts"))
    monkeypatch.setattr(runtime.synthetic, "CHUNK_ROWS", 1 << 18)
    head = table(rows=700, users=50, items=200, sequence=True, max_hist=5)  # the first chunk's draws, over all time
    assert np.array_equal(head["user_id"], t["user_id"][:700]) and np.array_equal(head["item_id"], t["item_id"][:700])
