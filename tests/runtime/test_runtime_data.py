import os
from pathlib import Path

import duckdb
import numpy as np
import pytest
import torch

from runtime.data import (ROW, SCENARIO, USER, DataConfig, Dataset, HashSplit, SeparateSplit, TimeSplit,
                          describe, fingerprint, label_key)
from runtime.encoders import DataError, Encoders, FeatureConfig

SHARED = Path(os.environ.get("MSDSL_SHARED", Path(__file__).parents[2] / ".." / "shared"))
DATA = SHARED / "data"
needs_shared = pytest.mark.skipif(not DATA.is_dir(), reason="shared data samples not available")

SYNTH = dict(rows=6000, users=300, items=200, sequence=True, max_hist=8)
FEATURES = [
    FeatureConfig("user_id", "categorical", min_count=2),
    FeatureConfig("item_id", "categorical"),
    FeatureConfig("device", "categorical", hash=16),
    FeatureConfig("price", "numeric"),
    FeatureConfig("price_q", "numeric", column="price", buckets=4),
    FeatureConfig("hist", "sequence", column="hist_items", max_len=5, vocab="item_id"),
]


def synthetic_config(**kw):
    return DataConfig(split=HashSplit("user_id", 0.1, 0.2), labels={"ctr": "click", "cvr": "purchase"},
                      synthetic=SYNTH, user="user_id", **kw)


@pytest.fixture(scope="module")
def ds():
    with Dataset(synthetic_config(), FEATURES) as d:
        yield d


def write(path: Path, sql: str) -> str:
    duckdb.connect().execute(f"COPY ({sql}) TO '{path}'")
    return str(path)


def rows(n=40, scenario="'s' || (i % 2)"):
    return (f"SELECT i AS user_id, i % 7 AS item, {scenario} AS scenario, (i % 3 = 0)::INT AS click, "
            f"i * 1.5 AS price, i AS t FROM range({n}) r(i)")


def test_batches_have_the_declared_dtypes_and_shapes(ds):
    b = next(ds.batches("train", 256))
    assert b[SCENARIO].dtype == torch.int64 and b["user_id"].dtype == torch.int64
    assert b["price"].dtype == torch.float32 and b[label_key("ctr")].dtype == torch.float32
    assert b["hist"].shape == (256, 5) and b["hist"].dtype == torch.int64
    assert b["price_q"].max() <= ds.encoders["price_q"].size - 1
    assert b["device"].max() <= 16 and b[USER].dtype == torch.int64
    assert ds.encoders["hist"].size == ds.encoders["item_id"].size  # shared vocabulary
    assert abs(float(torch.cat([x["price"] for x in ds.batches("train", 4096)]).mean())) < 1e-3  # z-scored


def test_every_row_once_and_shuffle_fixed_by_seed_and_epoch(ds):
    def order(**kw):
        return torch.cat([b[ROW] for b in ds.batches("train", 1000, **kw)]).tolist()

    a = order(seed=1, epoch=0)
    stored = order(shuffle=False)
    assert len(a) == len(set(a)) == ds.rows["train"] and sorted(a) == sorted(stored)
    assert a == order(seed=1, epoch=0)
    assert a != order(seed=1, epoch=1) and a != order(seed=2, epoch=0) and a != stored
    assert stored != sorted(stored)  # stored in a fixed pseudo-random order, whatever the file order
    test_rows = torch.cat([b[ROW] for b in ds.batches("test", 1000)]).tolist()
    assert test_rows == sorted(test_rows)  # evaluation splits stream in file order
    assert sum(len(b[ROW]) for b in ds.batches("train", 1000, drop_last=True)) == ds.rows["train"] // 1000 * 1000
    shards = [order(seed=1, rank=r, world=3) for r in range(3)]
    assert sorted(sum(shards, [])) == sorted(a) and len(set(shards[0]) & set(shards[1])) == 0


def test_hash_split_keeps_users_apart(ds):
    users = {s: set(torch.cat([b[USER] for b in ds.batches(s, 4096)]).tolist()) for s in ds.splits}
    assert not users["train"] & users["test"] and not users["valid"] & users["test"]
    assert sum(ds.rows.values()) == SYNTH["rows"]
    assert 0.1 < ds.rows["test"] / SYNTH["rows"] < 0.3


def test_oov_rates_recorded_per_split_feature_and_scenario(ds):
    rates = {(r.split, r.feature, r.scenario): r.rate for r in ds.oov}
    assert rates[("train", "item_id", "*")] == 0.0
    assert rates[("test", "user_id", "*")] == 1.0  # hash split by user: every test user is unseen
    assert 0 < rates[("train", "user_id", "*")] < 0.2  # min_count=2
    assert {("valid", "hist", s) for s in ("s0", "s1", "s2", "*")} <= rates.keys()
    assert rates[("train", "device", "*")] == 0.0  # hashed: no OOV


def test_encoders_round_trip_through_json_and_give_the_same_batches(ds):
    text = ds.encoders.to_json()
    assert "hist" in text and Encoders.from_json(text).to_json() == text
    with Dataset(synthetic_config(), FEATURES, encoders=Encoders.from_json(text)) as again:
        a, b = next(ds.batches("test", 512)), next(again.batches("test", 512))
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_fingerprint_stable_and_sensitive(tmp_path):
    assert fingerprint(synthetic_config()) == fingerprint(synthetic_config())
    other = DataConfig(split=HashSplit("user_id"), labels={}, synthetic=dict(SYNTH, seed=1))
    assert fingerprint(other) != fingerprint(synthetic_config())
    f = write(tmp_path / "a.parquet", rows())
    cfg = DataConfig(split=HashSplit("user_id"), labels={"ctr": "click"}, sources=(f,))
    before = fingerprint(cfg)
    os.utime(f, ns=(1, 1))
    assert fingerprint(cfg) != before


def test_time_split_and_sequence_truncation(tmp_path):
    f = write(tmp_path / "t.parquet", rows(30).replace(
        "i AS t", "i AS t, [x for x in range(i % 6)] AS seq"))
    cfg = DataConfig(split=TimeSplit("t", valid=20, test=25), labels={"ctr": "click"}, sources=(f,))
    feats = [FeatureConfig("seq", "sequence", max_len=3), FeatureConfig("item", "categorical")]
    with Dataset(cfg, feats) as d:
        assert d.rows == {"train": 20, "valid": 5, "test": 5}
        b = next(d.batches("train", 20, shuffle=False))
        b = {k: v[torch.argsort(b[ROW])] for k, v in b.items()}  # back to file order
        vocab = d.encoders["seq"].vocab
        decoded = [[vocab[i - 1] for i in row if i] for row in b["seq"].tolist()]
        assert decoded[5] == ["2", "3", "4"]  # [0..4] keeps the 3 most recent
        assert decoded[2] == ["0", "1"] and b["seq"][2, 2] == 0 and decoded[0] == []


def test_string_sequences_need_sep(tmp_path):
    f = write(tmp_path / "s.csv", rows().replace("i AS t", "i AS t, (i || '^' || (i + 1)) AS seq"))
    cfg = DataConfig(split=HashSplit("user_id"), labels={"ctr": "click"}, sources=(f,))
    with pytest.raises(DataError, match="sep"):
        Dataset(cfg, [FeatureConfig("seq", "sequence")])
    with Dataset(cfg, [FeatureConfig("seq", "sequence", sep="^", max_len=2)]) as d:
        assert (next(d.batches("train", 8))["seq"] > 0).all()


def test_missing_column_names_the_file(tmp_path):
    good = write(tmp_path / "a.parquet", rows())
    bad = write(tmp_path / "b.parquet", rows().replace("i * 1.5 AS price,", ""))
    cfg = DataConfig(split=HashSplit("user_id"), labels={"ctr": "click"}, sources=(str(tmp_path / "*.parquet"),))
    with pytest.raises(DataError) as e:
        Dataset(cfg, [FeatureConfig("price", "numeric")])
    assert e.value.file == bad and e.value.column == "price" and good != bad
    assert "b.parquet" in str(e.value) and "missing column" in str(e.value)


def test_non_numeric_value_reports_file_row_and_value(tmp_path):
    f = write(tmp_path / "a.csv", rows().replace("i * 1.5 AS price", "CASE WHEN i = 37 THEN 'n/a' ELSE i::VARCHAR END AS price"))
    cfg = DataConfig(split=HashSplit("user_id", 0.0, 0.0), labels={"ctr": "click"}, sources=(f,))
    with pytest.raises(DataError) as e:
        Dataset(cfg, [FeatureConfig("price", "numeric")])
    assert (e.value.file, e.value.column, e.value.row, e.value.value) == (f, "price", 38, "n/a")


def test_missing_label_is_an_error(tmp_path):
    f = write(tmp_path / "a.parquet", rows().replace("(i % 3 = 0)::INT AS click", "CASE WHEN i = 5 THEN NULL ELSE 1 END AS click"))
    cfg = DataConfig(split=HashSplit("user_id", 0.0, 0.0), labels={"ctr": "click"}, sources=(f,))
    with pytest.raises(DataError, match=r"missing label of task `ctr`: NULL at row 6") as e:
        Dataset(cfg, [])
    assert e.value.column == "click"


def test_unknown_scenario_is_an_error_in_train_and_skipped_in_test(tmp_path):
    train = write(tmp_path / "train.parquet", rows())
    test = write(tmp_path / "test.parquet", rows(scenario="['s0', 's1', 's9'][1 + i % 3]"))
    split = SeparateSplit(train=(train,), test=(test,))
    cfg = DataConfig(split=split, labels={"ctr": "click"}, scenarios=("s0", "s1"))
    with Dataset(cfg, [FeatureConfig("item", "categorical")]) as d:
        assert d.rows["test"] == 27 and any("`s9`" in w for w in d.warnings)
    cfg = DataConfig(split=SeparateSplit(train=(test,), test=(train,)), labels={"ctr": "click"}, scenarios=("s0", "s1"))
    with pytest.raises(DataError, match="s9") as e:
        Dataset(cfg, [])
    assert e.value.file == test and e.value.column == "scenario"


def test_scenario_only_in_test_is_a_warning(tmp_path):
    train = write(tmp_path / "train.parquet", rows(scenario="'s0'"))
    test = write(tmp_path / "test.parquet", rows())
    cfg = DataConfig(split=SeparateSplit(train=(train,), test=(test,)), labels={"ctr": "click"},
                     scenarios=("s0", "s1"))
    with Dataset(cfg, [FeatureConfig("item", "categorical")]) as d:
        assert d.warnings == ["scenario `s1` has no training rows and appears in test"]
        assert d.rows["test"] == 40


def test_describe_reads_columns_without_loading(tmp_path):
    f = write(tmp_path / "a.parquet", rows())
    cols = describe(DataConfig(split=HashSplit("user_id"), labels={}, sources=(f,)))
    assert list(cols) == ["user_id", "item", "scenario", "click", "price", "t"] and cols["t"] == "BIGINT"
    assert "scenario" in describe(synthetic_config())


@needs_shared
def test_ali_ccp_sample():
    base = DATA / "ali-ccp" / "scenario-wise-rec"
    split = SeparateSplit(train=("ali_ccp_train_sample.csv",), valid=("ali_ccp_val_sample.csv",),
                          test=("ali_ccp_test_sample.csv",))
    ids = ["101", "121", "205", "206", "216", "508", "853"]
    feats = [FeatureConfig(f"f{c}", "categorical", column=c) for c in ids]
    feats += [FeatureConfig("d508", "numeric", column="D508"), FeatureConfig("d853", "numeric", column="D853", buckets=4)]
    cfg = DataConfig(split=split, labels={"ctr": "click", "cvr": "purchase"}, scenario="301", user="101",
                     base_dir=str(base))
    with Dataset(cfg, feats) as d:
        assert d.rows == {"train": 100, "valid": 50, "test": 50}
        assert d.scenarios == ["1", "2", "3"]
        b = next(d.batches("test", 64))
        assert b[SCENARIO].max() <= 2 and b["f205"].shape == (50,)
        rates = {(r.split, r.feature, r.scenario): r.rate for r in d.oov}
        assert rates[("test", "f205", "*")] > 0  # real sparsity: unseen ids at test time


@needs_shared
def test_douban_sample():
    cfg = DataConfig(split=HashSplit("user_id", 0.1, 0.2), labels={"like": "rating"}, scenario="domain",
                     user="user_id", sources=(str(DATA / "douban" / "douban_sample.csv"),))
    feats = [FeatureConfig("user_id", "categorical"), FeatureConfig("item_id", "categorical"),
             FeatureConfig("living_place", "categorical"), FeatureConfig("time_bin", "numeric", buckets=5)]
    with Dataset(cfg, feats) as d:
        assert d.scenarios == ["book", "movie", "music"] and sum(d.rows.values()) == 3000
        ys = torch.cat([b[label_key("like")] for b in d.batches("train", 500)])
        assert set(ys.tolist()) <= {0.0, 1.0}


@needs_shared
def test_taobao_sample_with_string_sequences():
    base = DATA / "taobao_ad"
    split = SeparateSplit(train=(str(base / "train_sample.csv"),), test=(str(base / "test_sample.csv"),))
    cfg = DataConfig(split=split, labels={"ctr": "clk"}, scenario="pid", user="userid")
    feats = [FeatureConfig("adgroup_id", "categorical"), FeatureConfig("pvalue_level", "categorical"),
             FeatureConfig("price", "numeric"),
             FeatureConfig("click_sequence", "sequence", sep="^", max_len=6)]
    with Dataset(cfg, feats) as d:
        assert d.splits == ["train", "test"] and len(d.scenarios) == 2
        b = next(d.batches("train", 100))
        seq = b["click_sequence"]
        assert seq.shape == (100, 6) and (seq > 0).any()
        assert ((seq == 0).cumsum(1) * (seq > 0)).sum() == 0  # padding only after the ids
        assert (b["pvalue_level"] == 0).any()  # empty CSV fields are missing ids → index 0


def test_streaming_runs_under_its_own_smaller_memory_limit():
    """The one-time work runs under `memory_limit`; once done, streaming runs under `stream_memory_limit` (DuckDB's
    buffer pool fills up to its limit, so this is what keeps memory flat as rows grow: bench/data.py)."""
    def limit(d):
        return d.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    with Dataset(synthetic_config(), FEATURES, memory_limit="300MB", stream_memory_limit="40MB") as d:
        assert limit(d).startswith("38") and sum(1 for _ in d.batches("train", 4096)) > 0  # 40 MB = 38.1 MiB
