"""MARIA's blocks (compiler/papers/maria.py, compiler/lower/maria.py), each equation on small hand-made tensors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler import CompileError
from compiler.lower import call, lower
from compiler.lower.maria import (GumbelSoftmax, coupling, feature_elements, masked_softmax, pair_dots,
                                  self_attention, trigger_weights)

SPECS = Path(__file__).resolve().parents[2] / "specs"
B, L = 6, 5


def _maria(extra: str = ""):
    return compiler.check_text(f'spec t extends "maria.msd"\n{extra}', SPECS / "t.msd")


def _batch(ir, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = {f: torch.randint(1, 100, (B,), generator=g) for f in ir.features}
    batch["price"] = torch.randn(B, generator=g)
    hist = torch.randint(1, 100, (B, 20), generator=g)
    hist[:, 3:] = 0  # three real positions, the rest padding
    hist[0] = 0  # an empty sequence
    batch["hist"] = hist
    batch["scenario"] = torch.arange(B) % 3
    batch["ctr"] = torch.randint(0, 2, (B,), generator=g).float()
    return batch


def _values(low, batch, *nodes):
    gm = low.program("predict", values=nodes).eval()
    return call(gm, batch)["value"]


# -- Eq. 3–6: sequence encoder and trigger attention ---------------------------------------------------------------


def test_masked_softmax_gives_padding_no_weight_and_empty_rows_zero():
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 9.0]])
    keep = torch.tensor([[True, True, False], [False, False, False]])
    w = masked_softmax(scores, keep)
    e1, e2 = math.exp(1.0), math.exp(2.0)
    assert torch.allclose(w[0], torch.tensor([e1 / (e1 + e2), e2 / (e1 + e2), 0.0]))
    assert torch.equal(w[1], torch.zeros(3))


def test_trigger_weights_are_a_softmax_of_fc_over_trigger_and_item():
    t = torch.tensor([[1.0, -1.0]])  # d_t = 2
    h = torch.tensor([[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [5.0, 5.0, 5.0]]])  # L = 3, d = 3
    keep = torch.tensor([[True, True, False]])
    w, b = torch.tensor([[0.5, 0.25, 1.0, -1.0, 0.5]]), torch.tensor([0.1])
    alpha = trigger_weights(t, h, keep, w, b)
    # FC([t ‖ h_i]) = 0.5·1 + 0.25·(−1) + h_i·[1, −1, 0.5] + 0.1
    s = torch.tensor([0.25 + 2.0 + 0.1, 0.25 - 1.0 + 0.1])
    assert torch.allclose(alpha[0, :2], torch.softmax(s, 0)) and alpha[0, 2] == 0


def test_self_attention_ignores_padded_positions():
    g = torch.Generator().manual_seed(1)
    d, heads = 4, 2
    weights = [torch.randn(d, d, generator=g) if i % 2 == 0 else torch.randn(d, generator=g) for i in range(8)]
    x = torch.randn(2, L, d, generator=g)
    keep = torch.tensor([[True, True, True, False, False], [True, False, False, False, False]])
    out = self_attention(x, keep, *weights, heads)
    noisy = x.clone()
    noisy[~keep] = torch.randn(int((~keep).sum()), d, generator=g)
    again = self_attention(noisy, keep, *weights, heads)
    assert out.shape == (2, L, d)
    assert torch.allclose(out[keep], again[keep], atol=1e-6)


def test_encoder_and_trigger_attention_shapes_masking_and_empty_sequence():
    ir = _maria()
    low = lower(ir, seed=0)
    batch = _batch(ir)
    v = _values(low, batch, "hb__seq_encoder", "hb", "xi")
    enc, hb = v["hb__seq_encoder"], v["hb"]
    assert enc.shape == (B, 20, 16) and hb.shape == (B, 16)
    assert torch.all(enc[:, 3:] == 0) and torch.all(enc[0] == 0)  # padded outputs are zeroed
    assert torch.all(hb[0] == 0)  # the empty sequence: h_b = 0
    # h_b is the α-weighted sum of the real positions (Eq. 4), with α from Eq. 5–6
    p = low.params.hb
    alpha = trigger_weights(v["xi"], enc, batch["hist"] != 0, p.w, p.b)
    assert torch.allclose(hb, (alpha.unsqueeze(-1) * enc).sum(-2), atol=1e-6)
    assert torch.all(alpha[:, 3:] == 0) and torch.allclose(alpha[1:].sum(-1), torch.ones(B - 1))


# -- Eq. 8–10: feature scaling ------------------------------------------------------------------------------------


def test_feature_elements_follow_the_fields_features():
    ir = _maria()
    # hb, then user_id | item_id, item_category, price | hour, device
    assert feature_elements(ir, "q") == feature_elements(ir, "qs") == [16, 16, 16, 8, 1, 4, 4]


def test_feature_scaling_is_lambda_sigmoid_of_an_fcn_per_element():
    ir = _maria()
    low = lower(ir, seed=0)
    batch = _batch(ir)
    v = _values(low, batch, "q", "qs", "user_id", "item_id", "se")
    p = low.params.qs
    z = torch.cat([v["q"], v["user_id"], v["item_id"], v["se"]], -1)
    alpha = 2.0 * torch.sigmoid(F.linear(torch.relu(F.linear(z, p.fcn_w0, p.fcn_b0)), p.fcn_w1, p.fcn_b1))
    assert alpha.shape == (B, 7)  # N_Q = 7 feature elements
    spread = torch.repeat_interleave(alpha, torch.tensor([16, 16, 16, 8, 1, 4, 4]), -1)
    assert torch.allclose(v["qs"], v["q"] * spread, atol=1e-6)


def test_feature_scaling_passes_no_gradient_into_q_through_alpha():
    # `price` is a feature element of Q only (not e_u, e_x or e_s): d Σ(Q_S[price]) / d price must be α_price
    # alone; without the stop-gradient it would add price · ∂α/∂price.
    ir = _maria()
    low = lower(ir, seed=0)
    batch = _batch(ir)
    price = batch["price"].clone().requires_grad_(True)
    batch["price"] = price
    qs = _values(low, batch, "qs")["qs"]
    column = 16 + 16 + 16 + 8  # hb, user_id, item_id, item_category
    qs[:, column].sum().backward()
    alpha = qs[:, column].detach() / price.detach()
    assert torch.allclose(price.grad, alpha, atol=1e-6)
    assert alpha.max() > 1.0 or alpha.min() < 1.0  # λ = 2: the factors range over (0, 2)


def test_lambda_lets_factors_exceed_one():
    ir = _maria("graph { qs = feature_scaling(q, user=user_id, item=item_id, scenario=se, units=[32], lam=8.0) }")
    low = lower(ir, seed=0)
    with torch.no_grad():
        low.params.qs.fcn_b1.fill_(30.0)  # sigmoid ≈ 1: α ≈ λ
    v = _values(low, _batch(ir), "q", "qs")
    assert torch.allclose(v["qs"], 8.0 * v["q"], rtol=1e-3, atol=1e-6)


# -- Eq. 11–13: feature refinement --------------------------------------------------------------------------------


def test_gumbel_softmax_at_low_temperature_picks_the_argmax_refiner():
    z = torch.tensor([[0.3, 1.2, -0.5], [1.0, -2.0, 0.2]])
    gs = GumbelSoftmax(0.01).eval()
    beta = gs(z)
    assert torch.allclose(beta, F.one_hot(z.argmax(-1), 3).float(), atol=1e-3)
    # training: Gumbel noise makes the pick a sample with probability π_i / Σ π, π = sigmoid(z)
    gs.train()
    torch.manual_seed(0)
    picks = gs(z[:1].expand(4000, 3)).argmax(-1)
    frequency = torch.bincount(picks, minlength=3) / 4000
    pi = torch.sigmoid(z[0])
    assert torch.allclose(frequency, pi / pi.sum(), atol=0.03)


def test_gumbel_softmax_without_noise_is_softmax_of_log_sigmoid():
    z = torch.tensor([[0.3, -0.7]])
    beta = GumbelSoftmax(0.5).eval()(z)
    p = torch.sigmoid(z)
    assert torch.allclose(beta, torch.softmax(torch.log(p) / 0.5, -1))


@pytest.mark.parametrize("selector", ["gumbel", "sigmoid"])
def test_feature_refine_weights_each_fields_refiners_by_its_selector(selector):
    ir = _maria("graph { qr = feature_refine(qs, scenario=se, refiners=[1, 2, 1, 1], ratio=0.5, temperature=0.1, "
                f"selector={selector}) }}")
    low = lower(ir, seed=0)
    v = _values(low, _batch(ir), "qs", "qr", "se")
    p = low.params.qr
    parts, start = [], 0
    for k, (d, n) in enumerate(zip([16, 16, 25, 8], [1, 2, 1, 1])):
        field = v["qs"][:, start:start + d]
        start += d
        scores = F.linear(torch.cat([field, v["se"]], -1), getattr(p, f"f{k}_sel_w0"), getattr(p, f"f{k}_sel_b0"))
        beta = (torch.softmax(F.logsigmoid(scores) / 0.1, -1) if selector == "gumbel" else torch.sigmoid(scores))
        u = round(0.5 * d)
        refined = torch.relu(F.linear(field, getattr(p, f"f{k}_w"), getattr(p, f"f{k}_b"))).view(B, n, u)
        parts.append((refined * beta.unsqueeze(-1)).flatten(1))
    assert torch.allclose(v["qr"], torch.cat(parts, -1), atol=1e-6)
    assert v["qr"].shape == (B, 8 + 16 + 12 + 4)


# -- Eq. 14: feature correlation ----------------------------------------------------------------------------------


def test_pair_dots_by_hand():
    p = torch.tensor([[[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]])  # three fields, d_r = 2
    assert torch.equal(pair_dots(p), torch.tensor([[1.0, 1.5, 1.0]]))


def test_field_correlation_projects_every_field_then_dots_pairs():
    ir = _maria()
    low = lower(ir, seed=0)
    v = _values(low, _batch(ir), "qs", "qc")
    p = low.params.qc
    fields = torch.split(v["qs"], [16, 16, 25, 8], -1)
    bars = [F.linear(f, getattr(p, f"f{k}_w"), getattr(p, f"f{k}_b")) for k, f in enumerate(fields)]
    expected = torch.stack([(bars[i] * bars[j]).sum(-1) for i in range(4) for j in range(i + 1, 4)], -1)
    assert torch.allclose(v["qc"], expected, atol=1e-5)


# -- Eq. 16–21: network layer and prediction ----------------------------------------------------------------------


def test_scenario_moe_gates_on_the_scenario_embedding():
    ir = _maria()
    low = lower(ir, seed=0)
    v = _values(low, _batch(ir), "x", "h", "se")
    p = low.params.h
    gate = torch.softmax(v["se"] @ p.gate, -1)  # Eq. 17: g = softmax(W_g e_s)
    experts = torch.relu(v["x"].unsqueeze(0) @ p.expert_w0 + p.expert_b0)  # [E, B, h]
    assert torch.allclose(v["h"], torch.einsum("ebh,be->bh", experts, gate), atol=1e-6)


def test_coupling_is_the_mean_dot_product_with_the_other_scenarios():
    table = torch.tensor([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]])
    scenario = torch.tensor([0, 1, 2, 1])
    alpha = coupling(table[scenario], table[:, None, :].expand(3, 4, 2))
    # α_0 = (e0·e1 + e0·e2)/2 = (0.5 − 1)/2; α_1 = (0.5 + 1.5)/2; α_2 = (−1 + 1.5)/2
    assert torch.allclose(alpha, torch.tensor([-0.25, 1.0, 0.25, 1.0]))


def test_couple_adds_the_shared_tower_scaled_by_alpha_s():
    ir = _maria()
    low = lower(ir, seed=0)
    batch = _batch(ir)
    v = _values(low, batch, "tower", "shared", "hf")
    table = low.params.se.table
    dots = table @ table.T
    alpha = (dots.sum(1) - dots.diagonal()) / 2  # mean over the two other scenarios
    expected = v["tower"] + alpha[batch["scenario"]].unsqueeze(-1) * v["shared"]
    assert torch.allclose(v["hf"], expected, atol=1e-6)


def test_every_block_evaluates_under_every_scenario_as_in_rows_mode():
    ir = _maria()
    low = lower(ir, seed=0)
    batch = _batch(ir)
    gm = low.program("predict", views=["hf"], values=["hf"]).eval()
    out = call(gm, batch)
    view, rows = out["view"]["hf"], out["value"]["hf"]
    assert view.shape == (3, B, 16)
    assert torch.allclose(view[batch["scenario"], torch.arange(B)], rows, atol=1e-6)


# -- compile-time checks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("graph, code", [
    ("qc = field_correlation(u, dim=4)", "E0340"),
    ("qr = feature_refine(qs, scenario=se, refiners=[1, 2])", "E0341"),
    ("hb = trigger_attention(seq_encoder(hist, heads=3), trigger=xi)", "E0301"),
    ("hf = couple(tower, mlp(h, units=[8]), scenario=se)", "E0301"),
    ("h = scenario_moe(x, scenario=u, units=[8])", "E0301"),
])
def test_shape_rules_reject_misuse(graph, code):
    with pytest.raises(CompileError) as err:
        _maria(f"graph {{ {graph} }}")
    assert code in {d.code for d in err.value.diagnostics}
