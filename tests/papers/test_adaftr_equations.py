"""AdaFTR's equations on small hand-computed tensors, and their wiring in the lowered train program."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler.lower import call, lower
from compiler.lower.adaftr import distance, info_nce, relatedness_labels, single_negative

SPECS = Path(__file__).resolve().parents[2] / "specs"
B = 16
LOG2, SOFT2 = math.log(2.0), math.log1p(math.exp(-2.0))  # −log ½ and −log σ(2)

A = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # h^ctr of rows 0, 1
K = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)  # h^cvr of rows 0, 1
TAU = torch.tensor([1.0, 0.5], dtype=torch.float64)


def test_eq6_eq13_in_batch_infonce_with_a_temperature_per_row():
    # row 0: dots [1, 1] / 1 → −log(e / (e + e)); row 1: dots [0, 1] / 0.5 → −log(e² / (1 + e²))
    assert torch.allclose(info_nce(A, K, TAU), torch.tensor([LOG2, SOFT2], dtype=torch.float64))
    # one τ for every row (Eq. 6): row 1 with τ = 1 → −log(e / (1 + e))
    assert info_nce(A, K, 1.0)[1].item() == pytest.approx(math.log1p(math.exp(-1.0)))


def test_eq6_negatives_come_from_the_other_task():
    # swapping the anchor's own other rows changes nothing; swapping the other task's rows does
    same = info_nce(A, K, TAU)
    assert not torch.allclose(info_nce(A, K.flip(0), TAU), same)


def test_eq7_single_negative_in_bpr_form():
    # row 0: positive 1, negative (row 1) 1 → −log σ(0); row 1: positive 1, negative (row 0) 0, τ 0.5 → −log σ(2)
    assert torch.allclose(single_negative(A, K, TAU), torch.tensor([LOG2, SOFT2], dtype=torch.float64))
    assert torch.isfinite(single_negative(A, -K, 1.0)).all()  # a ≤ b: the literal −log(a − b) would be NaN


def test_eq5_regularization_mse_and_mae():
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    k = torch.tensor([[1.0, 2.0], [1.0, -2.0]], dtype=torch.float64)
    assert distance(a, k, "mse").tolist() == [0.0, 2.5]
    assert distance(a, k, "mae").tolist() == [0.0, 1.5]


def test_eq10_relatedness_label_is_agreement_of_the_labels():
    ctr, cvr, view = torch.tensor([0.0, 1.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0, 0.0]), torch.tensor([0.0, 1, 1, 0])
    assert relatedness_labels(ctr, [cvr, view]).tolist() == [[1, 1], [0, 1], [1, 1], [1, 1]]


def _ir(name: str, text: str | None = None):
    return compiler.check_text(text, str(SPECS / f"{name}.msd")) if text else compiler.check_file(SPECS / f"{name}.msd")


def _batch(ir, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    batch = {f: torch.randint(0, 100, (B,), generator=g) for f in ir.features}
    batch["price"] = torch.randn(B, generator=g)
    batch["scenario"] = torch.arange(B) % len(ir.scenarios)
    click = torch.randint(0, 2, (B,), generator=g).float()
    for t in ir.base_tasks:
        batch[t] = click if t == "ctr" else click * torch.randint(0, 2, (B,), generator=g).float()
    return batch


def _first_tower_layer(low, v):
    """relu(v · W0 + b0) of the `tower` node per task, from its parameters (the paper's h_r)."""
    t = low.params.tower
    return torch.relu(torch.baddbmm(t.b0, v, t.w0))


def _relatedness(low, v):
    """σ(MLP_k(v_ctr ⊙ v_k)) for each pair, [B, P] (Eq. 8–9), from the `rel` node's parameters."""
    r = low.params.rel
    h = torch.relu(torch.baddbmm(r.b0, v[:1] * v[1:], r.w0))
    return torch.sigmoid(torch.baddbmm(r.b1, h, r.w1).squeeze(-1).T)


def test_eq8_to_13_wired_in_the_mmoe_program():
    ir = _ir("adaftr_mmoe")
    low = lower(ir, seed=0, values=["h", "rel", "tau"])
    batch = _batch(ir)
    out = call(low.train, batch)
    v = out["value"]["h"]  # [T, B, d]: v^ctr, v^cvr (Eq. 3)
    rel = _relatedness(low, v)
    assert torch.allclose(torch.sigmoid(out["value"]["rel"]), rel, atol=1e-6)
    tau = 0.95 * (1 - rel) + 0.05  # Eq. 12 with τL = 0.05, τU = 1
    assert torch.allclose(out["value"]["tau"], tau, atol=1e-6)
    h = _first_tower_layer(low, v)
    assert torch.allclose(out["terms"]["loss[3]"], info_nce(h[0], h[1], tau[:, 0]).mean(), atol=1e-5)
    y_rel = (batch["ctr"] == batch["cvr"]).float()
    expected = F.binary_cross_entropy(rel[:, 0], y_rel)
    assert torch.allclose(out["terms"]["loss[2]"], expected, atol=1e-5)
    total = sum(out["terms"][f"loss[{i}]"] for i in range(3)) + 0.01 * out["terms"]["loss[3]"]
    assert torch.allclose(out["loss"], total)


def test_eq12_temperature_stays_in_its_range():
    ir = _ir("adaftr_mmoe", (SPECS / "adaftr_mmoe.msd").read_text().replace("lower=0.05, upper=1.0",
                                                                            "lower=0.2, upper=0.7"))
    low, batch = lower(ir, seed=0, values=["rel", "tau"]), _batch(ir)
    with torch.no_grad():  # logits c·(r − median r), c large: ŷ_rel saturates near 0 and near 1 in one batch
        r = call(low.predict, batch)["value"]["rel"]
        c = 100.0 / (r.max() - r.min())
        low.params.rel.w1.mul_(c)
        low.params.rel.b1.copy_(c * (low.params.rel.b1 - r.median()))
        out = call(low.predict, batch)
    tau, rel = out["value"]["tau"], torch.sigmoid(out["value"]["rel"])
    assert ((tau >= 0.2) & (tau <= 0.7)).all()
    assert tau.min() < 0.21 and tau.max() > 0.69
    assert torch.allclose(tau, 0.5 * (1 - rel) + 0.2)


def test_three_tasks_contrast_click_with_each_other_task():
    ir = _ir("adaftr_three_tasks")
    assert ir.base_tasks == ["ctr", "cvr", "view"]
    low = lower(ir, seed=0, values=["h", "rel", "tau"])
    batch = _batch(ir)
    out = call(low.train, batch)
    assert out["value"]["rel"].shape == (B, 2) and out["value"]["tau"].shape == (B, 2)
    h, tau = _first_tower_layer(low, out["value"]["h"]), out["value"]["tau"]
    pairs = info_nce(h[0], h[1], tau[:, 0]).mean() + info_nce(h[0], h[2], tau[:, 1]).mean()  # (ctr, cvr), (ctr, view)
    assert torch.allclose(out["terms"]["loss[4]"], pairs, atol=1e-5)
    y_rel = torch.stack([(batch["ctr"] == batch[t]).float() for t in ("cvr", "view")], -1)
    expected = F.binary_cross_entropy_with_logits(out["value"]["rel"], y_rel)
    assert torch.allclose(out["terms"]["loss[3]"], expected, atol=1e-6)


def test_tasks_option_keeps_only_the_named_pairs():
    text = (SPECS / "adaftr_three_tasks.msd").read_text() + """
objective { loss += 0.5 * task_contrast(tower, tau, tasks=[view], negatives=single) }
"""
    ir = _ir("adaftr_three_tasks", text)
    low = lower(ir, seed=0, values=["h", "tau"])
    out = call(low.train, _batch(ir))
    h, tau = _first_tower_layer(low, out["value"]["h"]), out["value"]["tau"]
    assert torch.allclose(out["terms"]["loss[5]"], single_negative(h[0], h[2], tau[:, 1]).mean(), atol=1e-5)


@pytest.mark.parametrize("spec, term, reference", [
    ("adaftr_no_contrastive", "loss[2]", lambda h, low: distance(h[0], h[1], "mse").mean()),
    ("adaftr_no_negative", "loss[2]", lambda h, low: single_negative(h[0], h[1], 1.0).mean()),
    ("adaftr_no_learnable_tau", "loss[2]", lambda h, low: info_nce(h[0], h[1], 0.05).mean()),
    ("adaftr_no_adaptive_tau", "loss[2]", lambda h, low: info_nce(h[0], h[1], low.params.tau.log_tau.exp()).mean()),
])
def test_ablation_terms(spec, term, reference):
    ir = _ir(spec)
    low = lower(ir, seed=0, values=["h"])
    out = call(low.train, _batch(ir))
    h = _first_tower_layer(low, out["value"]["h"])
    assert torch.allclose(out["terms"][term], reference(h, low), atol=1e-5)
