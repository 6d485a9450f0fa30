"""Synthetic multi-scenario impressions with a known ground truth.

Generative model (the world from `numpy.random.default_rng(seed)`, the rows a chunk of 256 Ki at a time from
generators seeded by (seed, chunk), so a seed fixes every row and memory does not grow with the rows):

- Users and items carry latent vectors: one pair in a *shared* space (`user_shared·item_shared`) and one pair per
  scenario in a *specific* space (`user_specific[s]·item_specific[s]`). Item vectors are drawn around their
  category's centroid, so `item_category` is informative. Each dot product has unit variance.
- Click preference of user u for item i in scenario s::

      pref = (shared · u·v + (1 − shared) · U_s·V_s) / sqrt(shared² + (1 − shared)²)

  The normalization keeps `pref` at unit variance whatever `shared` is, so the knob changes the structure, not the
  difficulty: the correlation of one (user, item) pair's preference across two scenarios is
  shared² / (shared² + (1 − shared)²) — 0 for `shared=0` (unrelated scenarios), 1 for `shared=1` (one model fits all).
- Click logit = scenario bias + `signal` · pref + hour effect (a per-scenario daily cycle) + device effect (per
  scenario) − 0.3 · standardized log price.
- Purchase (the funnel): only a clicked row can convert. Its logit has the same shared/specific structure over
  purchase item vectors (correlated 0.6 with the click ones) plus its own scenario bias and a stronger price effect.
- Scenario sizes are Zipf-like: scenario k gets a share ∝ (k + 1)^−`sparse` (0 = balanced; 1.5 makes the tail
  scenarios a few percent of the rows). Users and items are drawn with long-tailed popularity.
- Rows are in time order (`ts`, seconds over `days` days); `hour` is derived from `ts`.
- View (with `view=True`, AdaFTR's third task: a browse of the item's detail page): only a clicked row can be a
  view, and every purchase is one, so purchase ⊂ view ⊂ click. A clicked row without a purchase is a view with
  probability sigmoid(purchase logit + 2), drawn from its own generator (`[seed, 2, chunk]`), so turning it on
  changes no other column for a seed.
- `hist_items` (with `sequence=True`) lists the user's previously clicked items, oldest first, at most
  `max_hist` of them (empty for a user's first impressions): a behaviour sequence that carries real signal.

Columns: scenario ("s0", "s1", …), user_id, item_id, item_category, hour, device, price, [hist_items], click,
purchase, [view], ts, and with `truth=True` the true probabilities p_click and p_purchase (= P(click ∧ purchase)).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import itertools

import duckdb
import numpy as np
import pyarrow as pa

T0 = 1_700_000_000  # first timestamp (seconds)


@dataclass(frozen=True)
class World:
    """The latent parameters (ground truth) behind a synthetic data set."""

    shared: float
    signal: float
    scenario_share: np.ndarray  # [S] probabilities
    user_pop: np.ndarray  # [U] sampling probabilities
    item_pop: np.ndarray  # [I]
    item_category: np.ndarray  # [I]
    item_price: np.ndarray  # [I]
    user_device: np.ndarray  # [U]
    user_shared: np.ndarray  # [U, d]
    item_shared: np.ndarray  # [I, d] click
    user_specific: np.ndarray  # [S, U, d]
    item_specific: np.ndarray  # [S, I, d] click
    item_shared_buy: np.ndarray  # [I, d] purchase
    item_specific_buy: np.ndarray  # [S, I, d] purchase
    click_bias: np.ndarray  # [S]
    buy_bias: np.ndarray  # [S]
    hour_peak: np.ndarray  # [S]
    device_effect: np.ndarray  # [S, devices]

    def preference(self, users, items, scenario, task: str = "click") -> np.ndarray:
        """Unit-variance preference of `users` for `items` in `scenario` (arrays broadcast)."""
        item_sh, item_sp = (
            (self.item_shared, self.item_specific) if task == "click" else (self.item_shared_buy, self.item_specific_buy)
        )
        users, items, scenario = np.broadcast_arrays(users, items, scenario)
        d = item_sh.shape[1]
        a = np.einsum("nd,nd->n", self.user_shared.take(users, 0), item_sh.take(items, 0))
        b = np.einsum("nd,nd->n", self.user_specific.reshape(-1, d).take(scenario * len(self.user_shared) + users, 0),
                      item_sp.reshape(-1, d).take(scenario * len(item_sh) + items, 0))
        w = self.shared
        return (w * a + (1 - w) * b) / np.hypot(w, 1 - w)

    def logits(self, users, items, scenario, hour, device) -> tuple[np.ndarray, np.ndarray]:
        """(click logit, purchase-given-click logit) of each row."""
        log_price = np.log(self.item_price[items])
        z_price = (log_price - 3.0) / 1.0
        cycle = 0.4 * np.cos(2 * np.pi * (hour - self.hour_peak[scenario]) / 24)
        click = (
            self.click_bias[scenario]
            + self.signal * self.preference(users, items, scenario, "click")
            + cycle
            + self.device_effect[scenario, device]
            - 0.3 * z_price
        )
        buy = self.buy_bias[scenario] + self.signal * self.preference(users, items, scenario, "purchase") - 0.6 * z_price
        return click, buy


def _zipf(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities ∝ (rank + 1)^−exponent, assigned to a random permutation of 0..n−1."""
    p = (np.arange(n) + 1.0) ** -exponent
    p = p[rng.permutation(n)]
    return p / p.sum()


def make_world(
    scenarios: int = 3,
    seed: int = 0,
    users: int = 20_000,
    items: int = 5_000,
    shared: float = 0.7,
    sparse: float = 1.0,
    dim: int = 8,
    categories: int = 50,
    devices: int = 3,
    signal: float = 2.0,
) -> World:
    """Draw the latent parameters of a synthetic data set."""
    if not 0.0 <= shared <= 1.0:
        raise ValueError(f"shared must be in [0, 1], got {shared}")
    rng = np.random.default_rng(seed)
    S = scenarios
    scale = dim**-0.25  # entries of variance 1/√d: a dot product of two vectors has variance 1

    def vectors(*shape):
        return (rng.standard_normal((*shape, dim)) * scale).astype(np.float32)

    def around(centroids, category):  # item vectors near their category centroid, same variance
        return 0.8 * centroids[..., category, :] + 0.6 * vectors(*centroids.shape[:-2], len(category))

    def correlated(x):  # purchase-side vectors, correlation 0.6 with the click-side ones
        return 0.6 * x + 0.8 * vectors(*x.shape[:-1])

    share = (np.arange(S) + 1.0) ** -sparse
    category = rng.integers(0, categories, items)
    item_shared = around(vectors(categories), category)
    item_specific = around(vectors(S, categories), category)
    return World(
        shared=shared,
        signal=signal,
        scenario_share=share / share.sum(),
        user_pop=_zipf(users, 0.8, rng),
        item_pop=_zipf(items, 1.0, rng),
        item_category=category,
        item_price=np.round(np.exp(rng.normal(3.0, 1.0, items)), 2) + 0.01,
        user_device=rng.integers(0, devices, users),
        user_shared=vectors(users),
        item_shared=item_shared,
        user_specific=vectors(S, users),
        item_specific=item_specific,
        item_shared_buy=correlated(item_shared),
        item_specific_buy=correlated(item_specific),
        click_bias=rng.normal(-2.2, 0.4, S),
        buy_bias=rng.normal(-2.5, 0.4, S),
        hour_peak=rng.uniform(0, 24, S),
        device_effect=rng.normal(0, 0.3, (S, devices)),
    )


def _history(user: np.ndarray, item: np.ndarray, click: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """[rows, max_hist] previously clicked items of each row's user (rows in time order), oldest first, 0 = none.

    Items are shifted by +1 so that 0 can mark an empty slot; the caller shifts back. `recent` [users, max_hist]
    holds each user's last clicks before these rows, in the same form, and is updated in place (chunks continue).
    Each user's clicks form one stream, its earlier clicks first: a row reads the max_hist entries before its
    position in its user's stream.
    """
    max_hist = recent.shape[1]
    order = np.argsort(user, kind="stable")  # by user, then time (rows are in time order)
    u, clicked = user[order], click[order].astype(bool)
    first = np.r_[True, u[1:] != u[:-1]]
    starts = np.flatnonzero(first)
    users = u[starts]
    prior = recent[users]
    n_prior = (prior > 0).sum(1)  # histories are right-aligned: the last n_prior slots
    n_clicks = np.add.reduceat(clicked, starts) if len(u) else np.zeros(0, np.int64)
    stream_end = np.cumsum(n_prior + n_clicks)
    stream_start = stream_end - n_prior - n_clicks
    stream = np.zeros(stream_end[-1] if len(u) else 0, np.int32)
    slot = np.arange(max_hist)
    mask = slot >= max_hist - n_prior[:, None]
    stream[(stream_start[:, None] + slot - (max_hist - n_prior[:, None]))[mask]] = prior[mask]
    block = np.cumsum(first) - 1  # each sorted row's user block
    before = np.cumsum(clicked) - clicked  # clicks strictly before each sorted row (all users)
    own = before - before[starts][block]  # ... of its own user in these rows
    end = stream_start[block] + n_prior[block] + own  # the row's position in its user's stream
    stream[end[clicked]] = item[order][clicked] + 1
    idx = end[:, None] - np.arange(max_hist, 0, -1)  # column max_hist − k: the k-th most recent click
    hist = np.where(idx >= stream_start[block][:, None], stream[np.clip(idx, 0, max(len(stream) - 1, 0))]
                    if len(stream) else 0, 0).astype(np.int32)
    last = stream_end[:, None] - np.arange(max_hist, 0, -1)
    recent[users] = np.where(last >= stream_start[:, None], stream[np.clip(last, 0, max(len(stream) - 1, 0))]
                             if len(stream) else 0, 0)
    out = np.empty_like(hist)
    out[order] = hist
    return out


CHUNK_ROWS = 1 << 18  # rows generated at a time: memory does not grow with `rows`


def _chunks(rows: int, world: World, seed: int, days: int, sequence: bool, max_hist: int, truth: bool,
            chunk_rows: int | None = None, view: bool = False):
    """The rows as dicts of numpy columns, `chunk_rows` at a time, in time order.

    Chunk c draws from `default_rng([seed, 1, c])` (the first from `[seed, 1]`) and covers the matching share of
    the time span, so a seed fixes every row whatever the memory, and data sets up to `chunk_rows` rows are those
    of the original single-chunk generator.
    """
    span = days * 86_400
    chunk_rows = chunk_rows or CHUNK_ROWS
    recent = np.zeros((len(world.user_pop), max_hist), np.int32) if sequence else None
    for c, lo in enumerate(range(0, rows, chunk_rows)):
        n = min(chunk_rows, rows - lo)
        rng = np.random.default_rng([seed, 1] if c == 0 else [seed, 1, c])
        t_lo, t_hi = lo * span // rows, (lo + n) * span // rows
        cols = _columns(n, world, rng, t_lo, max(t_hi, t_lo + 1), recent, truth)
        buy_logit = cols.pop("buy_logit")
        if view:
            cols["view"] = _views(cols["click"], cols["purchase"], buy_logit, np.random.default_rng([seed, 2, c]))
        yield cols


VIEW_SHIFT = 2.0  # P(view | click, no purchase) = sigmoid(purchase logit + VIEW_SHIFT): about one half


def _views(click: np.ndarray, purchase: np.ndarray, buy_logit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The `view` label: every purchase, plus each other click with probability sigmoid(buy logit + 2)."""
    browse = rng.random(len(click)) < 1 / (1 + np.exp(-(buy_logit + VIEW_SHIFT)))
    return purchase | (click * browse.astype(np.int64))


def _columns(rows: int, world: World, rng: np.random.Generator, t_lo: int, t_hi: int, recent: np.ndarray | None,
             truth: bool) -> dict:
    S = len(world.scenario_share)
    scenario = rng.choice(S, rows, p=world.scenario_share)
    user = rng.choice(len(world.user_pop), rows, p=world.user_pop)
    item = rng.choice(len(world.item_pop), rows, p=world.item_pop)
    ts = T0 + np.sort(rng.integers(t_lo, t_hi, rows))
    hour = (ts // 3600) % 24
    n_devices = world.device_effect.shape[1]
    device = np.where(rng.random(rows) < 0.8, world.user_device[user], rng.integers(0, n_devices, rows))
    click_logit, buy_logit = world.logits(user, item, scenario, hour, device)
    p_click = 1 / (1 + np.exp(-click_logit))
    p_buy = 1 / (1 + np.exp(-buy_logit))
    click = (rng.random(rows) < p_click).astype(np.int64)
    purchase = click * (rng.random(rows) < p_buy).astype(np.int64)
    cols = {
        "scenario_idx": scenario,
        "user_id": user,
        "item_id": item,
        "item_category": world.item_category[item],
        "hour": hour,
        "device": device,
        "price": world.item_price[item],
        "click": click,
        "purchase": purchase,
        "ts": ts,
    }
    if recent is not None:
        hist = _history(user, item, click, recent)
        keep = hist > 0  # the list of each row's previous clicks, oldest first
        offsets = np.zeros(rows + 1, np.int32)
        np.cumsum(keep.sum(1), out=offsets[1:])
        cols["hist_items"] = pa.ListArray.from_arrays(offsets, (hist[keep] - 1).astype(np.int64))
    cols["buy_logit"] = buy_logit  # for `_views`; `_chunks` takes it out
    if truth:
        cols["p_click"] = p_click
        cols["p_purchase"] = p_click * p_buy
    return cols


def synthetic(
    rows: int = 200_000,
    scenarios: int = 3,
    seed: int = 0,
    users: int = 20_000,
    items: int = 5_000,
    shared: float = 0.7,
    sparse: float = 1.0,
    sequence: bool = False,
    view: bool = False,
    *,
    dim: int = 8,
    categories: int = 50,
    devices: int = 3,
    signal: float = 2.0,
    days: int = 14,
    max_hist: int = 20,
    truth: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyRelation:
    """Generate `rows` impressions (see the module docstring) as a DuckDB relation.

    The relation streams the rows from the generator, a chunk at a time (memory does not grow with `rows`), through
    `con` (a new in-memory connection by default), so it can be read once: `.fetchnumpy()`, `.write_parquet(path)`,
    `.to_arrow_table()`, or SQL over it.
    """
    world = make_world(scenarios, seed, users, items, shared, sparse, dim, categories, devices, signal)
    chunks = (pa.RecordBatch.from_pydict(cols)
              for cols in _chunks(rows, world, seed, days, sequence, max_hist, truth, view=view))
    first = next(chunks)
    reader = pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], chunks))
    con = con or duckdb.connect()
    rel = con.from_arrow(reader)
    hist = "hist_items," if sequence else ""
    views = " view," if view else ""
    extra = ", p_click, p_purchase" if truth else ""
    return rel.project(f"""'s' || scenario_idx AS scenario, user_id, item_id, item_category, hour, device, price,
                           {hist} click, purchase,{views} ts{extra}""")


def write_synthetic(path: str | Path, **params) -> Path:
    """Write `synthetic(**params)` to a Parquet file at `path` and return the path (streamed: memory does not
    grow with the number of rows)."""
    path = Path(path)
    con = duckdb.connect()
    try:
        # one thread, one row group per chunk: more threads buffer row groups (RSS grew with the rows), and the
        # generator is the bottleneck anyway
        con.execute("SET threads = 1")
        synthetic(con=con, **params).write_parquet(str(path), row_group_size=CHUNK_ROWS)
    finally:
        con.close()
    return path
