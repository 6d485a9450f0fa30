"""Feature encoders: fit on the training split with DuckDB SQL, apply as SQL, serialize to plain JSON.

Index 0 of every id-valued feature (categorical, sequence, bucketed numeric) is reserved: it is the OOV index for
values not in the vocabulary, the value of a missing (NULL) id, and the padding of sequences. So a feature with a
vocabulary of V values has `size = V + 1` embedding rows.

- categorical: a vocabulary of the values seen at least `min_count` times in training, most frequent first
  (ties by value), indices 1..V; or, with `hash > 0`, index 1 + hash(value) mod `hash` (no vocabulary, no OOV).
  Values are compared as text, so the same ids match whether a file stores them as numbers or strings.
- numeric: the value as float32, z-scored with the training mean and population stddev when `normalize` (a
  constant column keeps stddev 1); a missing value becomes 0 (the mean). With `buckets > 0`: quantile boundaries
  fit on training (`quantile_cont`, duplicates removed), index 1 + number of boundaries below the value.
- sequence: a list column, or a string column split on `sep`. The last `max_len` elements are kept (lists are
  taken as oldest first), each mapped like a categorical id (its own vocabulary fit on the training elements, or
  the vocabulary of the categorical feature named by `vocab`), right-padded with 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import duckdb

KINDS = ("categorical", "numeric", "sequence")
FORMAT_VERSION = 1


class DataError(Exception):
    """A problem with the data, naming the file, column and (where known) the row and value."""

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 row: int | None = None, value=None):
        where = ": ".join(str(x) for x in (file, f"column `{column}`" if column else None) if x)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.column, self.row, self.value = file, column, row, value


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value) -> str:
    """An SQL literal for a Python str, int, float or bool."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"no SQL literal for {value!r}")
    return repr(value)


@dataclass(frozen=True)
class FeatureConfig:
    """One input feature as the spec declares it (see the module docstring for each field's meaning)."""

    name: str
    type: str
    column: str | None = None  # data column; default: `name`
    min_count: int = 1
    hash: int = 0
    normalize: bool = True
    buckets: int = 0
    max_len: int = 20
    vocab: str | None = None  # sequence: share this categorical feature's vocabulary
    sep: str | None = None  # sequence stored as one string of ids joined by `sep`

    def __post_init__(self):
        if self.type not in KINDS:
            raise ValueError(f"feature `{self.name}`: type must be one of {KINDS}, got {self.type!r}")

    @property
    def source(self) -> str:
        return self.column or self.name


@dataclass
class Encoder:
    """A fitted feature: its vocabulary, hashing, or numeric statistics."""

    config: FeatureConfig
    vocab: list[str] | None = None  # value of index i + 1
    hash: int = 0
    mean: float = 0.0
    std: float = 1.0
    boundaries: list[float] = field(default_factory=list)

    @property
    def size(self) -> int | None:
        """Number of embedding rows (index 0 included), or None for a plain numeric feature."""
        if self.config.type == "numeric":
            return len(self.boundaries) + 2 if self.config.buckets else None
        return self.hash + 1 if self.hash else len(self.vocab) + 1

    @property
    def table(self) -> str:
        """The vocabulary table (a sequence with `vocab` uses its categorical feature's)."""
        return q(f"vocab:{self.config.vocab or self.config.name}")

    @property
    def looks_up(self) -> bool:
        """Whether encoding joins a vocabulary table."""
        return self.config.type != "numeric" and not self.hash

    def to_json(self) -> dict:
        vocab = None if self.config.vocab else self.vocab  # shared: stored once, with its categorical feature
        return {"config": asdict(self.config), "vocab": vocab, "hash": self.hash, "mean": self.mean,
                "std": self.std, "boundaries": self.boundaries}

    @classmethod
    def from_json(cls, d: dict) -> "Encoder":
        return cls(FeatureConfig(**d["config"]), d["vocab"], d["hash"], d["mean"], d["std"], d["boundaries"])


def list_expr(f: FeatureConfig, alias: str = "r") -> str:
    """SQL for a sequence feature's list of ids (as text)."""
    col = f"{alias}.{q(f.source)}"
    if f.sep is not None:
        return f"list_filter(string_split(CAST({col} AS VARCHAR), {lit(f.sep)}), lambda x: x <> '')"
    return f"CAST({col} AS VARCHAR[])"


def _fit_numeric(con, table: str, enc: Encoder) -> None:
    x = f"TRY_CAST({q(enc.config.source)} AS DOUBLE)"
    mean, std = con.execute(f"SELECT avg({x}), stddev_pop({x}) FROM {table}").fetchone()
    enc.mean = float(mean or 0.0)
    enc.std = float(std) if std else 1.0
    if enc.config.buckets:
        probs = [k / enc.config.buckets for k in range(1, enc.config.buckets)]
        (cuts,) = con.execute(f"SELECT quantile_cont({x}, {probs}) FROM {table}").fetchone()
        enc.boundaries = sorted(set(c for c in cuts or [] if c is not None))


def _fit_vocab(con, table: str, enc: Encoder) -> None:
    f = enc.config
    if f.type == "sequence":
        values = f"SELECT unnest({list_expr(f)}) AS v FROM {table} r"
    else:
        values = f"SELECT CAST({q(f.source)} AS VARCHAR) AS v FROM {table}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {enc.table} AS
            SELECT v AS key, row_number() OVER (ORDER BY c DESC, v) AS idx
            FROM (SELECT v, count(*) AS c FROM ({values}) WHERE v IS NOT NULL GROUP BY v HAVING count(*) >= ?)"""
        , [max(f.min_count, 1)])
    enc.vocab = [k for (k,) in con.execute(f"SELECT key FROM {enc.table} ORDER BY idx").fetchall()]


class Encoders:
    """The fitted encoders of all features, plus the scenario names (index = position)."""

    def __init__(self, encoders: dict[str, Encoder], scenarios: list[str]):
        self.encoders = encoders
        self.scenarios = scenarios

    def __getitem__(self, name: str) -> Encoder:
        return self.encoders[name]

    def __iter__(self):
        return iter(self.encoders.values())

    @classmethod
    def fit(cls, con: duckdb.DuckDBPyConnection, table: str, features: list[FeatureConfig],
            scenarios: list[str]) -> "Encoders":
        """Fit every feature on `table` (the training split) and leave its vocabulary table in `con`."""
        encoders = {f.name: Encoder(f, hash=f.hash) for f in features}
        for enc in encoders.values():
            f = enc.config
            if f.type == "sequence" and f.vocab:
                base = encoders.get(f.vocab)
                if base is None or base.config.type != "categorical":
                    raise ValueError(f"sequence `{f.name}`: vocab `{f.vocab}` is not a categorical feature")
                enc.hash = base.hash
        for enc in sorted(encoders.values(), key=lambda e: e.config.type == "sequence"):  # shared vocabs first
            f = enc.config
            if f.type == "numeric":
                _fit_numeric(con, table, enc)
            elif f.type == "sequence" and f.vocab:
                enc.vocab = encoders[f.vocab].vocab
            elif not enc.hash:
                _fit_vocab(con, table, enc)
        return cls(encoders, list(scenarios))

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the vocabulary tables in `con` (after `from_json`)."""
        for enc in self:
            if enc.looks_up and not enc.config.vocab:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {enc.table} AS "
                    "SELECT unnest($v) AS key, generate_subscripts($v, 1)::BIGINT AS idx",
                    {"v": enc.vocab},
                )

    def to_json(self) -> str:
        return json.dumps({"version": FORMAT_VERSION, "scenarios": self.scenarios,
                           "features": [e.to_json() for e in self]})

    @classmethod
    def from_json(cls, text: str) -> "Encoders":
        d = json.loads(text)
        if d.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported encoders format version {d.get('version')!r}")
        encoders = {e["config"]["name"]: Encoder.from_json(e) for e in d["features"]}
        for enc in encoders.values():
            if enc.config.vocab:
                enc.vocab = encoders[enc.config.vocab].vocab
        return cls(encoders, d["scenarios"])

    def encode_sql(self, source: str) -> tuple[list[str], list[str], list[str]]:
        """SQL pieces that encode the rows of `source` (a raw split with a `rid` column, aliased `r`).

        Returns (select expressions, join clauses, CTEs). Output columns: `f:<name>` (BIGINT ids or FLOAT
        numerics), `f:<name>:<k>` for k < max_len (sequences), and for OOV accounting `oov:<name>` (1/0, NULL
        when the value is missing) or, for sequences, `oov:<name>` and `len:<name>` (element counts).
        """
        selects, joins, ctes = [], [], []
        for enc in self:
            f = enc.config
            out = q(f"f:{f.name}")
            col = f"r.{q(f.source)}"
            if f.type == "numeric":
                x = f"TRY_CAST({col} AS DOUBLE)"
                if f.buckets:
                    above = " + ".join(f"({x} > {b!r})::BIGINT" for b in enc.boundaries) or "0"
                    selects.append(f"CASE WHEN {x} IS NULL THEN 0 ELSE 1 + {above} END AS {out}")
                elif f.normalize:
                    selects.append(f"coalesce(({x} - {enc.mean!r}) / {enc.std!r}, 0)::FLOAT AS {out}")
                else:
                    selects.append(f"coalesce({x}, 0)::FLOAT AS {out}")
            elif f.type == "categorical":
                text = f"CAST({col} AS VARCHAR)"
                if enc.hash:
                    selects.append(f"CASE WHEN {text} IS NULL THEN 0 ELSE 1 + hash({text}) % {enc.hash} END::BIGINT "
                                   f"AS {out}")
                    selects.append(f"CASE WHEN {text} IS NULL THEN NULL ELSE 0 END::TINYINT AS {q('oov:' + f.name)}")
                else:
                    v = q(f"v:{f.name}")
                    joins.append(f"LEFT JOIN {enc.table} {v} ON {text} = {v}.key")
                    selects.append(f"coalesce({v}.idx, 0)::BIGINT AS {out}")
                    selects.append(f"CASE WHEN {text} IS NULL THEN NULL ELSE ({v}.idx IS NULL)::TINYINT END "
                                   f"AS {q('oov:' + f.name)}")
            else:  # unnest the kept tail, look every id up in one join, pivot back into max_len columns
                s = q(f"s:{f.name}")
                tail = f"list_slice({list_expr(f)}, -{f.max_len}, -1)"
                lookup = f"1 + hash(e.v) % {enc.hash}" if enc.hash else "t.idx"
                vocab_join = "" if enc.hash else f"LEFT JOIN {enc.table} t ON e.v = t.key"
                slots = ", ".join(f"coalesce(max(idx) FILTER (WHERE pos = {k + 1}), 0)::BIGINT AS {q(str(k))}"
                                  for k in range(f.max_len))
                ctes.append(
                    f"""{s} AS (
                      SELECT rid, {slots}, count(*) FILTER (WHERE idx IS NULL) AS oov, count(*) AS n FROM (
                        SELECT e.rid, e.pos, {lookup} AS idx FROM (
                          SELECT r.rid, unnest({tail}) AS v, generate_subscripts({tail}, 1) AS pos
                          FROM {source} r) e {vocab_join})
                      GROUP BY rid)"""
                )
                joins.append(f"LEFT JOIN {s} ON {s}.rid = r.rid")
                selects += [f"coalesce({s}.{q(str(k))}, 0) AS {q(f'f:{f.name}:{k}')}" for k in range(f.max_len)]
                selects += [f"coalesce({s}.oov, 0) AS {q('oov:' + f.name)}",
                            f"coalesce({s}.n, 0) AS {q('len:' + f.name)}"]
        return selects, joins, ctes
