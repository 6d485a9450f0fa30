"""HC²'s equations on small hand-computed tensors (float64): Eq. 4, 6, 7, 9 and the label-aware masks."""

from __future__ import annotations

import math

import torch

from compiler.lower.hc2 import (alpha_bar, diffuse, diffusion_negatives, generalized_per_anchor, individual_loss,
                                label_aware_masks, mean_over, reciprocal_weights, same_cluster)

D = torch.float64


def t(*rows):
    return torch.tensor(rows, dtype=D)


def test_eq6_uses_the_cumulative_alpha_bar():
    ab = alpha_bar(3, 0.1, 0.3)  # β = 0.1, 0.2, 0.3
    assert torch.allclose(ab, t(0.9, 0.72, 0.504))
    z, m = t([1.0, 2.0]), t([0.5, -1.0])
    out = diffuse(z, ab, torch.tensor([2]), m)
    expected = math.sqrt(0.72) * z + math.sqrt(0.28) * m
    assert torch.allclose(out, expected)
    literal = math.sqrt(0.8) * z + math.sqrt(0.2) * m  # Eq. 6 as printed, with α_2 = 0.8
    assert not torch.allclose(out, literal)


def test_eq6_at_a_fixed_seed_draws_steps_then_noise():
    ab, z = alpha_bar(1000, 1e-4, 0.02), torch.randn(5, 3, generator=torch.Generator().manual_seed(3), dtype=D)
    torch.manual_seed(11)
    out = diffusion_negatives(z, ab)
    torch.manual_seed(11)
    steps = torch.randint(1, 1001, (5,))
    noise = torch.randn_like(z)
    a = ab[steps - 1, None]
    assert torch.equal(out, a.sqrt() * z + (1 - a).sqrt() * noise)
    assert steps.min() >= 1 and steps.max() <= 1000


def test_eq7_reciprocal_weights_are_guarded():
    e_c = t([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0])
    cosine = reciprocal_weights(t([3.0, 0.0]), e_c, "cosine", 0.05)  # cos 1, 0, −1 → (1+cos)/2 = 1, ½, 0
    assert torch.allclose(cosine, t([1.0, 2.0, 20.0]))
    clamp = reciprocal_weights(t([2.0, 0.0]), e_c, "clamp", 0.05)  # e·e = 2, 0, −2
    assert torch.allclose(clamp, t([0.5, 20.0, 20.0]))
    # unguarded 1/(e·e) would be inf and negative here; the guard keeps every weight in [1/…, 1/floor]
    assert torch.isfinite(clamp).all() and (clamp > 0).all()


def test_eq7_weights_carry_no_gradient():
    e = t([1.0, 2.0], [0.5, -1.0]).requires_grad_()
    assert not reciprocal_weights(e, e, "cosine", 0.05).requires_grad


def test_label_aware_masks_coarse_and_within():
    y_a, k_a = t(1.0, 0.0), torch.tensor([0, 1])
    y_c, k_c = t(1.0, 0.0, 1.0, 0.0), torch.tensor([0, 1, 1, 0])
    itself = torch.eye(2, 4, dtype=torch.bool)
    pos, neg = label_aware_masks(y_a, k_a, y_c, k_c, True, itself)
    assert pos.tolist() == [[False, False, True, False], [False, False, False, True]]
    assert neg.tolist() == [[False, True, False, False], [True, False, False, False]]
    pos, neg = label_aware_masks(y_a, k_a, y_c, k_c, False, itself)  # any scenario, not the anchor itself
    assert pos.tolist() == [[False, False, True, False], [False, False, False, True]]
    assert neg.tolist() == [[False, True, False, True], [True, False, True, False]]


def test_fine_grained_selection_keeps_the_anchors_cluster():
    centroids = t([0.0, 0.0], [10.0, 10.0])
    keep = same_cluster(t([1.0, 0.0]), t([0.0, 1.0], [9.0, 9.0], [11.0, 10.0]), centroids)
    assert keep.tolist() == [[True, False, False]]


def _eq4(z, cand, pos, neg, w, form="log", noised=None):
    loss, has = generalized_per_anchor(t(z), t(*cand), torch.tensor([pos]), torch.tensor([neg]),
                                       torch.log(t(w)), 1.0, "dot", form, None if noised is None else t(*noised))
    return loss.item(), has.item()


CAND = ([1.0, 0.0], [0.0, 1.0], [0.5, 0.5])  # logits with z = [1, 0]: 1, 0, 0.5


def test_eq4_weighted_by_hand():
    e = math.e
    loss, has = _eq4([1.0, 0.0], CAND, [True, False, False], [False, True, True], [2.0, 1.0, 3.0])
    assert has and math.isclose(loss, -math.log(2 * e / (2 * e + 1 + 3 * math.exp(0.5))))
    ratio, _ = _eq4([1.0, 0.0], CAND, [True, False, False], [False, True, True], [2.0, 1.0, 3.0], form="ratio")
    assert math.isclose(ratio, -(2 * e / (2 * e + 1 + 3 * math.exp(0.5))))


def test_eq4_several_positives_average_and_noised_negatives_join_the_denominator():
    e = math.e
    loss, _ = _eq4([1.0, 0.0], CAND, [True, False, True], [False, True, False], [1.0, 1.0, 1.0])
    by_hand = (-math.log(e / (e + 1)) - math.log(math.exp(0.5) / (math.exp(0.5) + 1))) / 2
    assert math.isclose(loss, by_hand)
    noised = ([9.0, 9.0], [0.0, -1.0], [1.0, 1.0])  # noised copy of candidate 1 has logit 0; only negatives count
    loss, _ = _eq4([1.0, 0.0], CAND, [True, False, False], [False, True, False], [1.0, 1.0, 1.0], noised=noised)
    assert math.isclose(loss, -math.log(e / (e + 1 + 1)))


def test_eq4_anchor_without_positive_has_no_term_and_no_negatives_gives_zero():
    loss, has = _eq4([1.0, 0.0], CAND, [False, False, False], [True, True, True], [1.0, 1.0, 1.0])
    assert not has and loss == 0.0
    loss, has = _eq4([1.0, 0.0], CAND, [True, False, False], [False, False, False], [1.0, 1.0, 1.0])
    assert has and loss == 0.0
    assert mean_over(t(2.0, 0.0, 4.0), torch.tensor([True, False, True])).item() == 3.0


def test_eq9_by_hand():
    h = t([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    h_aug = t([0.5, 0.0], [0.0, 0.5], [1.0, 0.0])
    h_all = torch.stack([t([1.0, 0.0], [0.0, 1.0], [2.0, 2.0]), t([3.0, 0.0], [0.0, 3.0], [1.0, 1.0])])
    scenario = torch.tensor([0, 0, 1])
    both, chosen = individual_loss(h, h_aug, scenario, h_all, ("other_scenarios", "cross_scenario"), "dot", 1.0,
                                   "log")
    assert chosen.all()
    # row 0: positive .5; other scenario: row 2 (1); cross: row 1 under scenario 1 (h·[0, 3] = 0)
    row0 = -math.log(math.exp(0.5) / (math.exp(0.5) + math.e + 1))
    # row 2: positive 1; other scenario: rows 0 and 1 (1, 1); no other row of scenario 1 to encode
    assert torch.allclose(both, t(row0, row0, math.log(3)))
    cross, _ = individual_loss(h, h_aug, scenario, h_all, ("cross_scenario",), "dot", 1.0, "ratio")
    assert torch.allclose(cross, t(-math.exp(0.5) / (math.exp(0.5) + 1), -math.exp(0.5) / (math.exp(0.5) + 1), -1.0))


def test_eq9_on_sampled_anchors_equals_the_full_loss_on_those_rows():
    g = torch.Generator().manual_seed(3)
    h, h_aug = torch.randn(12, 4, generator=g), torch.randn(12, 4, generator=g)
    h_all, scenario = torch.randn(3, 12, 4, generator=g), torch.randint(0, 3, (12,), generator=g)
    args = (h, h_aug, scenario, h_all, ("other_scenarios", "cross_scenario"), "dot", 0.5, "log")
    full, _ = individual_loss(*args)
    torch.manual_seed(0)
    sampled, chosen = individual_loss(*args, anchors=5)
    assert chosen.sum() == 5 and torch.allclose(sampled[chosen], full[chosen]) and (sampled[~chosen] == 0).all()
    assert torch.equal(individual_loss(*args, anchors=12)[0], full)  # as many anchors as rows: every row
