"""Reading the data through DuckDB: splits, checks, encoders fit on training, and streamed tensor batches.

`Dataset(config, features)` does the one-time work, all in SQL inside a scratch DuckDB file (on disk, so that
memory stays bounded by `memory_limit` whatever the number of rows; DuckDB's buffer pool fills up to its limit, so
the limit is what bounds the process's memory: measured by `bench/data.py`, 256 MB keeps peak RSS at 5 M rows
within 10 % of 1 M rows (1.09×; 1.05× with a sequence column), where 2 GB let it grow 1.6–2.3×):

1. loads the needed columns of the sources (Parquet/CSV paths or globs, or the synthetic generator) and assigns
   each row to train/valid/test (separate files, a hash of a column, or a time cutoff);
2. checks the data: missing columns, non-numeric values in numeric features, labels or weight, NULL/NaN labels,
   empty or unknown scenarios — each a `DataError` naming the file, column, row and value. Rows whose scenario is
   not listed are an error in train/valid, and skipped with a recorded warning in test; a scenario seen in test
   but not in train is a recorded warning;
3. fits the encoders on the training split (`runtime.encoders`), or installs given ones (from a checkpoint);
4. encodes every split into a table of ids and floats, recording the OOV rate per split, feature and scenario.

`Dataset.batches(split, batch_size, seed=, epoch=)` then streams dicts of tensors (under `stream_memory_limit`,
set once the one-time work is done: sequential reads need little cache), read in chunks of 64 Ki rows by row-id
range (row-group pruning makes each read proportional to its size, so memory does not grow with rows).
Shuffling is two-level: the encoded training table is stored once in a fixed pseudo-random order (an external
sort on a hash of the row id), so that any chunk is a random sample of the rows whatever order the files were in
(by time, by scenario); each epoch then visits the chunks in an order drawn from (seed, epoch) and reads every 4
consecutive chunks in one query, in the order of hash(row, seed, epoch) (a 256 Ki-row shuffle window: the hashes
sorted by numpy, each column gathered in that order). A full permutation per epoch (copying the
table in a new order) was measured at ≈ 40 % of a 2048-row training step on 1 M rows; this scheme costs a plain
sequential read, and a background thread reads the next window while the caller trains on the current one
(DuckDB releases the GIL while it works).

Batch keys: each feature's name (int64 ids, float32 numerics, [B, max_len] int64 sequences), ":scenario" (int64
index into `scenarios`), ":row" (int64 row number within the split), ":user" (int64 hash of the user column, if
any), ":weight" (float32, if any) and "label:<task>" (float32).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import duckdb
import numpy as np
import torch

from runtime.encoders import DataError, Encoders, FeatureConfig, lit, q

SPLITS = ("train", "valid", "test")
SCENARIO, ROW, USER, WEIGHT = ":scenario", ":row", ":user", ":weight"
CHUNK_ROWS = 1 << 16  # rows fetched from DuckDB per query
MIX_CHUNKS = 4  # chunks shuffled together per epoch
BASE_SEED = 0x5EED  # the fixed permutation the training table is stored in
HASH_RESOLUTION = 1_000_000


def label_key(task: str) -> str:
    return f"label:{task}"


@dataclass(frozen=True)
class SeparateSplit:
    """Each split is its own files (paths or globs); `valid` may be omitted."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    valid: tuple[str, ...] = ()


@dataclass(frozen=True)
class HashSplit:
    """Hold out fractions of rows by a hash of `column` (e.g. the user: no user is in two splits)."""

    column: str
    valid: float = 0.1
    test: float = 0.1


@dataclass(frozen=True)
class TimeSplit:
    """Rows with `column` >= `valid` go to valid, >= `test` to test (NULL goes to train)."""

    column: str
    valid: int | float | str
    test: int | float | str


@dataclass(frozen=True)
class DataConfig:
    """What to read and how to split it. `labels` maps each task to its 0/1 label column.

    `scenarios` lists the scenario column's values in model order (as text); empty means the values found in
    training, shortest first, then alphabetical (so "s2" precedes "s10"). `scenario_names` optionally gives the
    spec's name of each of `scenarios` (same order), used in the OOV rows and warnings (default: the values).
    Give `sources` (paths or globs; ignored with a `SeparateSplit`) or `synthetic` (keyword arguments of
    `runtime.synthetic.synthetic`).
    """

    split: SeparateSplit | HashSplit | TimeSplit
    labels: Mapping[str, str]
    sources: tuple[str, ...] = ()
    synthetic: Mapping[str, Any] | None = None
    scenario: str = "scenario"
    scenarios: tuple[str, ...] = ()
    scenario_names: tuple[str, ...] = ()
    user: str | None = None
    weight: str | None = None
    format: str = "auto"  # auto (by extension), parquet, csv
    base_dir: str | None = None  # relative paths are relative to it


def _expand(patterns: Sequence[str], base_dir: str | None) -> list[str]:
    files = []
    for pattern in patterns:
        path = os.path.join(base_dir, pattern) if base_dir and not os.path.isabs(pattern) else pattern
        path = os.path.normpath(path)  # messages show data/x.csv, not specs/../data/x.csv
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else ([path] if os.path.exists(path) else [])
        if not matches:
            raise DataError("no file matches this path", file=path)
        files += matches
    return files


def _format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    name = path.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataError("unknown file type (expected .parquet or .csv; or set the format)", file=path)


def fingerprint(config: DataConfig) -> str:
    """A stable hash of the data: file names, sizes and mtimes, or the synthetic parameters."""
    h = hashlib.sha256()
    if config.synthetic is not None:
        h.update(b"synthetic" + json.dumps(dict(config.synthetic), sort_keys=True).encode())
    else:
        for path in sorted(set(_all_files(config))):
            st = os.stat(path)
            h.update(f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _all_files(config: DataConfig) -> list[str]:
    s = config.split
    if isinstance(s, SeparateSplit):
        return [f for part in (s.train, s.valid, s.test) for f in _expand(part, config.base_dir)]
    return _expand(config.sources, config.base_dir)


def _scan(files: list[str], fmt: str, as_text: set[str]) -> str:
    """SQL reading `files` (mixed formats allowed), with a `@file` column; `as_text` CSV columns stay VARCHAR."""
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(_format(f, fmt), []).append(f)
    scans = []
    for kind, paths in groups.items():
        args = f"{paths!r}, filename = '@file', union_by_name = true"
        if kind == "csv":
            types = {c: "VARCHAR" for c in sorted(as_text)}
            scans.append(f"SELECT * FROM read_csv({args}, types = {types!r})" if types else
                         f"SELECT * FROM read_csv({args})")
        else:
            scans.append(f"SELECT * FROM read_parquet({args})")
    return " UNION ALL BY NAME ".join(scans)


def describe(config: DataConfig) -> dict[str, str]:
    """Column name → DuckDB type of the data, read from file metadata (no rows are loaded)."""
    if config.synthetic is not None:
        from runtime.synthetic import synthetic

        rel = synthetic(**dict(config.synthetic, rows=1))
        return dict(zip(rel.columns, (str(t) for t in rel.types)))
    con = duckdb.connect()
    try:
        rel = con.sql(f"SELECT * EXCLUDE {q('@file')} FROM ({_scan(_all_files(config), config.format, set())})")
        return dict(zip(rel.columns, (str(t) for t in rel.types)))
    finally:
        con.close()


@dataclass
class OOVRow:
    split: str
    feature: str
    scenario: str  # a scenario name, or "*" for all
    rate: float


class Dataset:
    """Opened data: checked, split, encoded (see the module docstring). Use as a context manager or `close()`."""

    def __init__(self, config: DataConfig, features: Sequence[FeatureConfig], *, encoders: Encoders | None = None,
                 workdir: str | None = None, memory_limit: str = "256MB", stream_memory_limit: str = "96MB",
                 threads: int | None = None):
        self.config = config
        self.features = list(features)
        self.warnings: list[str] = []
        self.oov: list[OOVRow] = []
        self.fingerprint = fingerprint(config)
        self._part_of: dict[str, str] = {}  # file → its load table
        self._dir = tempfile.mkdtemp(prefix="msdsl-data-", dir=workdir)
        self.con = duckdb.connect()
        try:
            self.con.execute(f"SET memory_limit = {lit(memory_limit)}")
            self.con.execute(f"SET temp_directory = {lit(os.path.join(self._dir, 'spill'))}")
            self.con.execute("SET enable_progress_bar = false")
            if threads:
                self.con.execute(f"SET threads = {int(threads)}")
            self.con.execute(f"ATTACH {lit(os.path.join(self._dir, 'scratch.duckdb'))} AS scratch")
            self._load()
            self.splits = [s for s in SPLITS if self._count(f"raw:{s}")]
            if "test" not in self.splits:
                self.warnings.append("the test split has no rows: nothing is evaluated on test")
            self._check()
            self.scenarios = self._scenarios()
            if encoders is None:
                self.encoders = Encoders.fit(self.con, q("raw:train"), self.features, self.scenarios)
            else:
                self.encoders = encoders
                self.encoders.install(self.con)
            self.rows = {s: self._encode(s) for s in self.splits}
            self.con.execute(f"SET memory_limit = {lit(stream_memory_limit)}")
        except BaseException:
            self.close()
            raise

    # -- loading ---------------------------------------------------------------------------------------------

    def _columns_needed(self) -> tuple[set[str], set[str]]:
        """(all needed columns, those that must be numeric)."""
        c = self.config
        numeric = set(c.labels.values()) | ({c.weight} if c.weight else set())
        numeric |= {f.source for f in self.features if f.type == "numeric"}
        needed = numeric | {c.scenario} | {f.source for f in self.features}
        if c.user:
            needed.add(c.user)
        if isinstance(c.split, (HashSplit, TimeSplit)):
            needed.add(c.split.column)
        return needed, numeric

    def _parts(self) -> dict[str, list[str]]:
        """Load name → files: one per split for separate files, else one `all`."""
        c = self.config
        if c.synthetic is not None:
            from runtime.synthetic import write_synthetic

            if isinstance(c.split, SeparateSplit):
                raise ValueError("a synthetic source needs a hash or time split")
            return {"all": [str(write_synthetic(os.path.join(self._dir, "synthetic.parquet"), **c.synthetic))]}
        if isinstance(c.split, SeparateSplit):
            parts = {"train": c.split.train, "valid": c.split.valid, "test": c.split.test}
            return {k: _expand(v, c.base_dir) for k, v in parts.items() if v}
        return {"all": _expand(c.sources, c.base_dir)}

    def _load(self) -> None:
        needed, numeric = self._columns_needed()
        split = self.config.split
        for part, files in self._parts().items():
            for f in files:  # a missing column, per file (union_by_name would silently fill NULLs)
                cols = set(self.con.sql(_scan([f], self.config.format, set())).columns)
                for col in sorted(needed - cols):
                    raise DataError("missing column", file=f, column=col)
            select = ", ".join(q(c) for c in sorted(needed)) + f", {q('@file')}"
            if isinstance(split, HashSplit):
                h = f"hash(CAST({q(split.column)} AS VARCHAR)) % {HASH_RESOLUTION}"
                t, v = (round(x * HASH_RESOLUTION) for x in (split.test, split.test + split.valid))
                select += f", CASE WHEN {h} < {t} THEN 'test' WHEN {h} < {v} THEN 'valid' ELSE 'train' END AS split"
            elif isinstance(split, TimeSplit):
                col = q(split.column)
                if not isinstance(split.valid, str) and not isinstance(split.test, str):
                    col = f"CAST({col} AS DOUBLE)"  # numbers also where a file reads as text (a header-only CSV)
                select += (f", CASE WHEN {col} >= {lit(split.test)} THEN 'test' WHEN {col} >= {lit(split.valid)} "
                           "THEN 'valid' ELSE 'train' END AS split")
            else:
                select += f", {lit(part)} AS split"
            scan = _scan(files, self.config.format, numeric)
            try:
                self.con.execute(f"CREATE TABLE scratch.{q('load:' + part)} AS SELECT {select} FROM ({scan})")
            except duckdb.Error as e:
                raise DataError(f"cannot read: {e}", file=", ".join(files)) from None
            self._part_of.update(dict.fromkeys(files, part))
        loads = [f"SELECT rowid AS rid, * FROM scratch.{q('load:' + p)}" for p in sorted(set(self._part_of.values()))]
        for s in SPLITS:
            body = " UNION ALL ".join(f"({x} WHERE split = {lit(s)})" for x in loads)
            self.con.execute(f"CREATE TEMP VIEW {q('raw:' + s)} AS {body}")

    def _count(self, view: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {q(view)}").fetchone()[0]

    def _error(self, split: str, column: str, condition: str, message: str) -> None:
        """Raise a DataError for the first row of `split` where `condition` holds, naming its file and row."""
        hit = self.con.execute(
            f"SELECT {q('@file')}, rid, CAST({q(column)} AS VARCHAR) FROM {q('raw:' + split)} "
            f"WHERE {condition} ORDER BY {q('@file')}, rid LIMIT 1"
        ).fetchone()
        if hit is None:
            return
        file, rid, value = hit
        # rows of one file are contiguous in its load table: its row number is the offset from its first row
        load = f"scratch.{q('load:' + self._part_of[file])}"
        (first,) = self.con.execute(f"SELECT min(rowid) FROM {load} WHERE {q('@file')} = ?", [file]).fetchone()
        row = rid - first + 1
        shown = "NULL" if value is None else repr(value)
        raise DataError(f"{message}: {shown} at row {row} ({split} split)", file=file, column=column, row=row,
                        value=value)

    def _check(self) -> None:
        c = self.config
        if "train" not in self.splits:
            raise DataError("the training split is empty")
        _, numeric = self._columns_needed()
        for split in self.splits:
            for col in sorted(numeric):
                self._error(split, col, f"{q(col)} IS NOT NULL AND TRY_CAST({q(col)} AS DOUBLE) IS NULL",
                            "non-numeric value")
            for task, col in sorted(c.labels.items()):
                x = f"TRY_CAST({q(col)} AS DOUBLE)"
                self._error(split, col, f"{x} IS NULL OR isnan({x})", f"missing label of task `{task}`")
                self._error(split, col, f"{x} < 0 OR {x} > 1", f"label of task `{task}` outside [0, 1]")
            if c.weight:
                x = f"TRY_CAST({q(c.weight)} AS DOUBLE)"
                self._error(split, c.weight, f"{x} IS NULL OR isnan({x}) OR {x} < 0", "missing or negative weight")
            for f in self.features:
                if f.type == "sequence" and f.sep is None:
                    kind = self.con.execute(f"SELECT typeof({q(f.source)}) FROM {q('raw:' + split)} LIMIT 1").fetchone()
                    if kind and not kind[0].endswith("[]"):
                        raise DataError(f"sequence feature `{f.name}` reads a {kind[0]} column: give `sep` to split "
                                        "it into ids", column=f.source)

    def _scenarios(self) -> list[str]:
        c = self.config
        col = f"NULLIF(trim(CAST({q(c.scenario)} AS VARCHAR)), '')"
        for split in self.splits:
            if split != "test":
                self._error(split, c.scenario, f"{col} IS NULL", "empty scenario")
        seen = {s: [v for (v,) in self.con.execute(
            f"SELECT DISTINCT {col} AS v FROM {q('raw:' + s)} WHERE v IS NOT NULL ORDER BY length(v), v").fetchall()]
            for s in self.splits}
        names = list(c.scenarios) or seen["train"]
        for split in self.splits:
            unknown = [v for v in seen[split] if v not in names]
            if unknown and split != "test":
                self._error(split, c.scenario, f"{col} = {lit(unknown[0])}",
                            f"scenario value not in the scenarios list {names} (declare it in `scenarios`, "
                            "or give a scenario this value with `scenario(value=…)`)")
            self.warnings += [f"test rows with scenario `{v}` (not in the scenarios list) are skipped"
                              for v in unknown]
        if "test" in seen:
            empty = self._count_where("test", f"{col} IS NULL")
            if empty:
                self.warnings.append(f"{empty} test rows with an empty scenario are skipped")
        for v in names:
            if v not in seen["train"]:
                where = " and appears in test" if v in seen.get("test", []) else ""
                self.warnings.append(f"scenario {self._name(v, True)} has no training rows{where}")
        self.con.execute("CREATE OR REPLACE TEMP TABLE scenario_index AS "
                         "SELECT unnest($v) AS value, generate_subscripts($v, 1)::BIGINT - 1 AS idx", {"v": names})
        return names

    def _name(self, value: str, long: bool = False) -> str:
        """The spec's name of the scenario with this value (with `long`: "`name` (value `v`)" where they differ)."""
        c = self.config
        names = dict(zip(c.scenarios, c.scenario_names)) if len(c.scenario_names) == len(c.scenarios) else {}
        name = names.get(value, value)
        if not long:
            return name
        return f"`{name}`" + (f" (value `{value}`)" if name != value else "")

    def _count_where(self, split: str, condition: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {q('raw:' + split)} WHERE {condition}").fetchone()[0]

    # -- encoding --------------------------------------------------------------------------------------------

    def _encode(self, split: str) -> int:
        c = self.config
        source = q("raw:" + split)
        selects, joins, ctes = self.encoders.encode_sql(source)
        selects = [f"r.rid AS {q(ROW)}", f"si.idx AS {q(SCENARIO)}"] + selects
        selects += [f"CAST({q(col)} AS DOUBLE)::FLOAT AS {q(label_key(task))}" for task, col in c.labels.items()]
        if c.weight:
            selects.append(f"CAST({q(c.weight)} AS DOUBLE)::FLOAT AS {q(WEIGHT)}")
        if c.user:
            selects.append(f"(hash(CAST(r.{q(c.user)} AS VARCHAR)) >> 1)::BIGINT AS {q(USER)}")
        table = f"scratch.{q('enc:' + split)}"
        self.con.execute(
            f"""CREATE TABLE {table} AS {("WITH " + ", ".join(ctes)) if ctes else ""}
                SELECT {", ".join(selects)} FROM {source} r
                JOIN scenario_index si ON si.value = NULLIF(trim(CAST(r.{q(c.scenario)} AS VARCHAR)), '')
                {" ".join(joins)}
                ORDER BY {f"hash(r.rid, {BASE_SEED})" if split == "train" else "r.rid"}"""
        )
        self._record_oov(split, table)
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def _record_oov(self, split: str, table: str) -> None:
        rates = []
        for enc in self.encoders:
            f = enc.config
            if f.type == "categorical":
                rates.append(f"avg({q('oov:' + f.name)})")
            elif f.type == "sequence":
                rates.append(f"sum({q('oov:' + f.name)}) / nullif(sum({q('len:' + f.name)}), 0)")
        if not rates:
            return
        names = [e.config.name for e in self.encoders if e.config.type != "numeric"]
        rows = self.con.execute(
            f"SELECT {q(SCENARIO)}, {', '.join(rates)} FROM {table} "
            f"GROUP BY GROUPING SETS (({q(SCENARIO)}), ()) ORDER BY {q(SCENARIO)} NULLS FIRST"
        ).fetchall()
        for sc, *values in rows:
            scenario = "*" if sc is None else self._name(self.scenarios[sc])
            self.oov += [OOVRow(split, n, scenario, float(v)) for n, v in zip(names, values) if v is not None]

    # -- streaming -------------------------------------------------------------------------------------------

    def _outputs(self) -> list[tuple[str, list[str] | str]]:
        """(batch key, encoded column, or the max_len columns of a sequence stacked into [B, max_len])."""
        c = self.config
        out: list[tuple[str, list[str] | str]] = [(SCENARIO, SCENARIO)]
        for enc in self.encoders:
            f = enc.config
            out.append((f.name, [f"f:{f.name}:{k}" for k in range(f.max_len)] if f.type == "sequence"
                        else f"f:{f.name}"))
        out += [(label_key(t), label_key(t)) for t in c.labels]
        out += [(key, key) for key, col in ((WEIGHT, c.weight), (USER, c.user)) if col]
        return out

    def batches(self, split: str, batch_size: int, *, seed: int = 0, epoch: int = 0, shuffle: bool | None = None,
                drop_last: bool = False, rank: int = 0, world: int = 1) -> Iterator[dict[str, torch.Tensor]]:
        """Stream `split` as dicts of tensors (keys in the module docstring), `batch_size` rows each.

        Training is shuffled by default, fixed by (seed, epoch); `rank`/`world` give each process of a distributed
        run its own contiguous share of the stored rows.
        """
        if split not in self.splits:
            raise KeyError(f"no {split} split (have {self.splits})")
        shuffle = split == "train" if shuffle is None else shuffle
        con = self.con.cursor()
        outputs = self._outputs()
        # ids are read as INTEGER (half the bytes to scan, convert and shuffle: ≈ 35 % less reading time) and
        # widened to int64 after the shuffle
        narrow = {SCENARIO} | {e.config.name for e in self.encoders if e.size is not None and e.size < 2**31}
        cols = ", ".join(f"CAST({q(c)} AS INTEGER) AS {q(c)}" if key in narrow else q(c)
                         for key, names in outputs for c in ([names] if isinstance(names, str) else names))
        table = f"scratch.{q('enc:' + split)}"
        n = self.rows[split]
        lo, hi = n * rank // world, n * (rank + 1) // world
        chunks = [(s, min(s + CHUNK_ROWS, hi)) for s in range(lo, hi, CHUNK_ROWS)]
        if shuffle:
            rng = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
            chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=rng).tolist()]
        groups = [chunks[i:i + MIX_CHUNKS] for i in range(0, len(chunks), MIX_CHUNKS)] if shuffle else \
            [[c] for c in chunks]

        key = f", hash({q(ROW)}, {int(seed)}, {int(epoch)}) AS {q(':key')}" if shuffle else ""

        def fetch(group: list[tuple[int, int]]) -> dict[str, torch.Tensor]:
            if os.environ.get("XNICE"):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), int(os.environ["XNICE"]))
            arrays = con.execute(" UNION ALL ".join(
                f"SELECT {q(ROW)}, {cols}{key} FROM {table} WHERE rowid >= {a} AND rowid < {b}" for a, b in group
            )).fetchnumpy()
            # shuffled: rows in the order of their hash, as an ORDER BY would give, but sorting only the hashes
            # and gathering each column (an ORDER BY sorted the wide rows: it doubled the cost of a read)
            order = torch.from_numpy(np.argsort(arrays[":key"])) if shuffle else None
            out = {}
            for k, names in [(ROW, ROW), *outputs]:
                if isinstance(names, str):
                    x = torch.from_numpy(arrays[names])
                else:  # a sequence: its max_len columns stacked into [rows, max_len]
                    x = torch.from_numpy(np.stack([arrays[c] for c in names], axis=1))
                x = x if order is None else x.index_select(0, order)
                out[k] = x.long() if k in narrow else x
            return out

        pool = ThreadPoolExecutor(1)  # reads the next group while the caller trains on this one
        pending = pool.submit(fetch, groups[0]) if groups else None
        try:
            carry: dict[str, torch.Tensor] | None = None  # a partial batch, completed from the next group
            for i in range(len(groups)):
                block = pending.result()
                pending = pool.submit(fetch, groups[i + 1]) if i + 1 < len(groups) else None
                size, start = len(block[ROW]), 0
                if carry is not None:
                    start = min(batch_size - len(carry[ROW]), size)
                    carry = {k: torch.cat([carry[k], v[:start]]) for k, v in block.items()}
                    if len(carry[ROW]) < batch_size:
                        continue
                    yield carry
                    carry = None
                full = start + (size - start) // batch_size * batch_size
                for b in range(start, full, batch_size):
                    yield {k: v[b:b + batch_size] for k, v in block.items()}
                if full < size:
                    carry = {k: v[full:] for k, v in block.items()}
            if carry is not None and not drop_last:
                yield carry
        finally:
            if pending is not None:
                pending.cancel()
            pool.shutdown(wait=True)
            con.close()

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
