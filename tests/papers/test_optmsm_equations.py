"""OptMSM's equations on small hand-computed tensors: Eq. 4 (per-scenario tables), Eq. 5 (SE gate), Eq. 9
(orthogonality), Eq. 10–12 (hypernetwork scaling), and the all-scenario views of the new blocks."""

from __future__ import annotations

import math

import pytest
import torch

import compiler
from compiler.lower import call, lower
from compiler.lower.optmsm import field_matrices, pair_cosines
from compiler.papers.optmsm import field_sizes

S = 3
HEADER = """
spec t
data { source = synthetic(scenarios=3) }
features {
  a     = categorical(dim=2)
  p     = numeric()
  shop  = categorical(dim=2, partition=specific)
}
tasks { ctr = binary(label="click") }
"""


def _lowered(graph: str, objective: str = "", strategy: str = "auto", views=(), values=()):
    ir = compiler.check_text(f"{HEADER}graph {{\n{graph}\n}}\n{objective}")
    low = lower(ir, seed=0, strategy=strategy, views=views, values=values)
    low.params.double()
    return ir, low


def _batch(scenario, a=None, p=None, shop=None, ctr=None):
    n = len(scenario)
    g = torch.Generator().manual_seed(3)
    return {
        "a": torch.randint(0, 100, (n,), generator=g) if a is None else torch.tensor(a),
        "p": torch.randn(n, generator=g, dtype=torch.float64) if p is None else torch.tensor(p, dtype=torch.float64),
        "shop": torch.randint(0, 100, (n,), generator=g) if shop is None else torch.tensor(shop),
        "scenario": torch.tensor(scenario),
        "ctr": torch.randint(0, 2, (n,), generator=g).double() if ctr is None else torch.tensor(ctr).double(),
    }


def _set(low, node: str, name: str, value):
    param = getattr(getattr(low.params, low.params.attrs[node]), name)
    with torch.no_grad():
        param.copy_(torch.as_tensor(value, dtype=param.dtype))


# -- Eq. 4: a specific feature has one table per scenario ---------------------------------------------------------

def test_eq4_each_row_reads_its_own_scenarios_table():
    ir, low = _lowered("  e = embed(shop)\n  out = per task: head(per scenario: mlp(e, units=[2]))", values=["e"],
                       views=["e"])
    table = low.params.shop.table
    assert table.shape == (S * 100, 2) and low.params.roles["shop.table"] == ("shop", "scenario")
    _set(low, "shop", "table", torch.arange(S * 100 * 2, dtype=torch.float64).view(S * 100, 2))
    batch = _batch([0, 1, 2, 1], shop=[5, 5, 5, 7])
    out = call(low.predict, batch)
    expected = torch.tensor([[10, 11], [210, 211], [410, 411], [214, 215]], dtype=torch.float64)
    torch.testing.assert_close(out["value"]["e"], expected)
    for s in range(S):  # under every scenario: the id read in table s
        torch.testing.assert_close(out["view"]["e"][s], table.detach()[s * 100 + batch["shop"]])


def test_eq4_shared_features_read_one_table():
    _, low = _lowered("  e = embed(a)\n  out = per task: head(mlp(e, units=[2]))")
    assert low.params.a.table.shape == (100, 2) and low.params.roles["a.table"] == ("a", "shared")


# -- Eq. 5: the SE gate per scenario --------------------------------------------------------------------------------

GATE = "  x = embed(a, p)\n  g = se_gate(x)\n  out = per task: head(g)"


def test_se_gate_fields_are_the_concatenated_features():
    ir = compiler.check_text(f"{HEADER}graph {{\n  h = mlp(embed(a), units=[3])\n  x = concat(embed(a, p), h)\n"
                             "  g1 = se_gate(x)\n  g2 = se_gate(h)\n  out = per task: head(sum(g2, per scenario: "
                             "linear(concat(g1, embed(shop)), units=3)))\n}\n")
    assert field_sizes(ir, "x") == [2, 1, 3] and field_sizes(ir, "h") == [3]
    average, spread = field_matrices([2, 1])
    torch.testing.assert_close(average, torch.tensor([[0.5, 0.0], [0.5, 0.0], [0.0, 1.0]]))
    torch.testing.assert_close(spread, torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_eq5_gate_on_hand_computed_tensors(strategy):
    _, low = _lowered(GATE, strategy=strategy, values=["g"], views=["g"])
    table = torch.zeros(100, 2, dtype=torch.float64)
    table[4] = torch.tensor([1.0, 3.0])  # field a: mean 2
    _set(low, "a", "table", table)
    # W^m [in = fields, out = fields], b^m [1, F]: scenario 0 gives logits [1, 0]; 1 gives [-2, 3]; 2 gives 0
    _set(low, "g", "w", [[[0.5, 0.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, -3.0]], [[0.0, 0.0], [0.0, 0.0]]])
    _set(low, "g", "b", [[[0.0, 1.0]], [[0.0, 0.0]], [[0.0, 0.0]]])
    batch = _batch([0, 1, 2], a=[4, 4, 4], p=[-1.0, -1.0, -1.0])  # field p: mean -1
    out = call(low.predict, batch)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = torch.tensor([[sig(1), 3 * sig(1), -0.5],
                             [sig(-2), 3 * sig(-2), -sig(3)],
                             [0.5, 1.5, -0.5]], dtype=torch.float64)
    torch.testing.assert_close(out["value"]["g"], expected)
    for s in range(S):
        torch.testing.assert_close(out["view"]["g"][s, s], expected[s])


# -- Eq. 9: orthogonality -----------------------------------------------------------------------------------------

def test_eq9_pairwise_cosines_by_hand():
    r = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[-1.0, 1.0]]], dtype=torch.float64)  # [S=3, B=1, d=2]
    cos = pair_cosines(r)  # pairs (0,1), (0,2), (1,2)
    h = 1 / math.sqrt(2)
    torch.testing.assert_close(cos, torch.tensor([[0.0, -h, h]], dtype=torch.float64))
    assert cos.sum().item() == pytest.approx(0.0, abs=1e-12)  # the signed Eq. 9: cancels
    assert cos.abs().sum().item() == pytest.approx(math.sqrt(2))  # |cos|: both non-orthogonal pairs count
    assert cos.square().sum().item() == pytest.approx(1.0)


def _loop(r: torch.Tensor) -> torch.Tensor:
    """Eq. 9 as printed, one scenario pair and one row at a time: [..., B, pairs]."""
    out = []
    for i in range(r.shape[0]):
        for j in range(i + 1, r.shape[0]):
            out.append(torch.nn.functional.cosine_similarity(r[i], r[j], dim=-1, eps=0))
    return torch.stack(out, -1)


@pytest.mark.parametrize("shape", [(4, 5, 3), (3, 2, 6, 4)], ids=["rows", "tasks"])
def test_eq9_vectorized_equals_loop_over_pairs(shape):
    r = torch.randn(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(pair_cosines(r), _loop(r))


def test_eq9_zero_vector_has_cosine_zero():
    r = torch.zeros(2, 1, 3, dtype=torch.float64)
    r[0, 0, 0] = 1.0
    assert pair_cosines(r).tolist() == [[0.0]]


ORTH = "  h = per scenario: mlp(embed(a, p), units=[4], activation=tanh)\n  out = per task: head(h)"


@pytest.mark.parametrize("form,f", [("signed", lambda c: c), ("abs", torch.abs), ("square", torch.square)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_eq9_objective_reads_every_scenarios_value(form, f, reduction):
    obj = f"objective {{ loss = orthogonal(h, form={form}, reduction={reduction}) }}"
    _, low = _lowered(ORTH, obj, views=["h"])
    batch = _batch([0, 1, 2, 0, 1])
    out = call(low.train, batch)
    per_row = f(_loop(out["view"]["h"])).sum(-1)
    expected = per_row.mean() if reduction == "mean" else per_row.sum()
    torch.testing.assert_close(out["terms"]["loss[0]"], expected)
    assert out["view"]["h"].shape == (S, 5, 4)


def test_eq9_default_is_abs_and_mean():
    _, low = _lowered(ORTH, "objective { loss = bce(ctr) + 0.5 * orthogonal(h) }", views=["h"])
    out = call(low.train, _batch([0, 1, 2, 2]))
    torch.testing.assert_close(out["terms"]["loss[1]"], _loop(out["view"]["h"]).abs().sum(-1).mean())
    torch.testing.assert_close(out["loss"], out["terms"]["loss[0]"] + 0.5 * out["terms"]["loss[1]"])


# -- Eq. 10–12: the hypernetwork scales every layer ---------------------------------------------------------------

HYPER = "  x = embed(a)\n  t = hyper_mlp(x, units=[2], hidden=1)\n  out = per task: head(t)"


def _plain_predictor(low, c0, c1):
    """Predictor weights I, 0; generators with zero weights and biases c_l, so ℝ_1l = 2·σ(c_l)."""
    _set(low, "t", "w0", torch.eye(2))
    _set(low, "t", "b0", torch.zeros(2))
    for layer, c in enumerate((c0, c1)):
        for part in ("in", "out"):
            _set(low, "t", f"gen{layer}_{part}_w0", torch.zeros_like(getattr(low.params.t, f"gen{layer}_{part}_w0")))
        _set(low, "t", f"gen{layer}_in_b0", torch.zeros(1))
        _set(low, "t", f"gen{layer}_out_b0", c)


def test_eq10_12_scaling_by_hand():
    _, low = _lowered(HYPER, values=["t"])
    table = torch.zeros(100, 2, dtype=torch.float64)
    table[1] = torch.tensor([1.0, 2.0])
    _set(low, "a", "table", table)
    _plain_predictor(low, [0.0, math.log(3)], [-math.log(3), 0.0])  # scales [1, 1.5] then [0.5, 1]
    out = call(low.predict, _batch([0], a=[1]))
    # R_0 = [1, 2] ⊙ [1, 1.5] = [1, 3]; R_1 = relu(I · R_0) ⊙ [0.5, 1] = [0.5, 3]
    torch.testing.assert_close(out["value"]["t"], torch.tensor([[0.5, 3.0]], dtype=torch.float64))


def test_eq11_scale_is_two_sigmoid_bounded_in_0_2():
    _, low = _lowered(HYPER, values=["t"])
    _plain_predictor(low, [0.0, 0.0], [0.0, 0.0])
    g = torch.Generator().manual_seed(0)
    for part in ("in", "out"):
        w = getattr(low.params.t, f"gen0_{part}_w0")
        _set(low, "t", f"gen0_{part}_w0", 4 * torch.randn(w.shape, generator=g, dtype=torch.float64))
    _set(low, "t", "gen0_out_b0", torch.tensor([0.0, 0.0]))
    table = torch.rand(100, 2, generator=g, dtype=torch.float64) + 0.1  # positive: relu keeps R_0 ⊙ scale
    _set(low, "a", "table", table)
    batch = _batch(list(range(3)) * 20, a=list(range(60)))
    ratio = call(low.predict, batch)["value"]["t"] / table[batch["a"]]  # = ℝ_10 (ℝ_11 = 2σ(0) = 1)
    assert (ratio > 0).all() and (ratio < 2).all()
    assert ratio.max() > 1.8 and ratio.min() < 0.2  # the range is used, not a narrow band around 1
    _plain_predictor(low, [40.0, -40.0], [0.0, 0.0])
    torch.testing.assert_close(call(low.predict, batch)["value"]["t"][:, 0], 2 * table[batch["a"], 0])


def _reference(low, x: torch.Tensor, scenario: torch.Tensor) -> torch.Tensor:
    """Eq. 10–12 for a `per scenario:` hyper_mlp with units=[3, 2], written out row by row."""
    t = low.params.t
    out = []
    for row, s in zip(x, scenario.tolist()):
        def scale(layer, r0=row, s=s):
            hid = torch.relu(r0 @ getattr(t, f"gen{layer}_in_w0")[s] + getattr(t, f"gen{layer}_in_b0")[s, 0])
            return 2 * torch.sigmoid(hid @ getattr(t, f"gen{layer}_out_w0")[s] + getattr(t, f"gen{layer}_out_b0")[s, 0])

        h = row * scale(0)
        for i in range(2):
            h = torch.relu(h @ getattr(t, f"w{i}")[s] + getattr(t, f"b{i}")[s, 0]) * scale(i + 1)
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_eq10_12_per_scenario_matches_row_by_row_reference(strategy):
    graph = ("  x = concat(embed(a, p), embed(shop))\n  t = per scenario: hyper_mlp(x, units=[3, 2], hidden=4)\n"
             "  out = per task: head(t)")
    _, low = _lowered(graph, strategy=strategy, values=["t", "x"])
    batch = _batch([0, 1, 2, 2, 1, 0, 0])
    out = call(low.predict, batch)
    torch.testing.assert_close(out["value"]["t"], _reference(low, out["value"]["x"], batch["scenario"]).detach())


# -- the new blocks under every scenario ------------------------------------------------------------------------

VIEWS = """
  x  = embed(a, p)
  g  = se_gate(x)
  h  = star(g, units=[4])
  t  = per scenario: hyper_mlp(concat(h, embed(shop)), units=[3], hidden=2, norm=batch)
  u  = per task: hyper_mlp(g, units=[3], hidden=2)
  v  = hyper_mlp(sum(t, u), units=[2], hidden=2, dropout=0.5)
  out = per task: head(v)
"""


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_view_equals_rows_with_scenario_overwritten(strategy, training):
    nodes = ["g", "h", "t", "u", "v"]
    _, low = _lowered(VIEWS, strategy=strategy, views=nodes, values=nodes)
    program = low.predict.train(training)
    batch = _batch([0, 1, 2, 0, 1, 2, 2, 0])
    if training:  # dropout: the same mask for both calls
        torch.manual_seed(0)
    views = call(program, batch)["view"]
    for s in range(S):
        if training:
            torch.manual_seed(0)
        rows = call(program, {**batch, "scenario": torch.full((8,), s)})["value"]
        for node in nodes:
            if training and node == "v":
                continue  # dropout draws its mask over a different shape in the two calls
            torch.testing.assert_close(views[node][s], rows[node], rtol=0, atol=1e-9, msg=lambda m: f"{node}: {m}")
