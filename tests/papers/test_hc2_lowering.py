"""HC² in the programs: no objective code at inference, cross-scenario encoding through the other scenarios'
parameters, the memory bank's ring buffer and the k-means refresh schedule."""

from __future__ import annotations

import torch

import compiler
from compiler.lower import call, lower
from compiler.lower.hc2 import GeneralizedContrastive, individual_logits

SPEC = """
spec t
data { source = synthetic(scenarios=3) }
features {
  user = categorical(dim=8, field=user)
  hour = categorical(dim=4, field=context)
}
tasks { ctr = binary(label="click") }
graph {
  x       = embed(all)
  context = embed(all, field=context)
  h       = mlp(x, units=[8])
  tower   = per scenario: mlp(h, units=[4])
  out     = per task: head(tower)
}
objective {
  loss += 0.1 * generalized_contrastive(h, ctr, fine=kmeans(clusters=2, refresh=3), memory_bank=5,
                                        noise=diffusion(steps=10), weights=context)
  loss += 0.05 * individual_contrastive(tower, %NEG%)
}
"""
B = 12


def _batch(scenario=None):
    g = torch.Generator().manual_seed(0)
    return {"user": torch.randint(0, 100, (B,), generator=g), "hour": torch.randint(0, 100, (B,), generator=g),
            "scenario": torch.randint(0, 3, (B,), generator=g) if scenario is None else torch.full((B,), scenario),
            "ctr": (torch.rand(B, generator=g) < 0.5).double()}


def _lowered(neg="negatives=[other_scenarios, cross_scenario]", **kw):
    low = lower(compiler.check_text(SPEC.replace("%NEG%", neg)), seed=0, **kw)
    low.params.double()
    return low


def test_predict_program_holds_no_objective_code():
    low = _lowered()
    for gm, has in ((low.predict, False), (low.train, True)):
        code = gm.code
        assert ("hc2" in code) is has and ("contrast" in code) is has and ("loss_" in code) is has
        targets = {str(n.target) for n in gm.graph.nodes if n.op == "call_module"}
        assert any("contrast" in t for t in targets) is has
        assert any("dropout" in t for t in targets) is has


def test_cross_scenario_encoding_uses_the_other_scenarios_parameters():
    """All rows in scenario 0, hard negatives only: the term reads scenarios 1 and 2's tower, not 0's."""
    low = _lowered("negatives=[cross_scenario], dropout=0.0", views=["tower"])
    train = low.train.eval()
    batch = _batch(scenario=0)
    w = low.params.get_parameter("tower.w0")
    initial = w.detach().clone()

    def run():
        out = call(train, batch)
        return out["terms"]["loss[2]"].item(), out["view"]["tower"].detach().clone()

    base, view = run()
    h = view[0]  # the anchors: every row is in scenario 0
    with torch.no_grad():
        w[1] += 0.3
    moved, view1 = run()
    assert moved != base and not torch.equal(view1[1], view[1])
    with torch.no_grad():
        w.copy_(initial)
        w[0] += 0.3
    _, view0 = run()
    assert torch.equal(view0[1:], view[1:])  # the hard negatives g^(k')(z), k' ≠ 0, did not move
    _, before, mask = individual_logits(h, h, batch["scenario"], view, ("cross_scenario",), "dot", 0.2)
    _, after, _ = individual_logits(h, h, batch["scenario"], view0, ("cross_scenario",), "dot", 0.2)
    assert mask.any() and torch.equal(before[mask], after[mask])


def _bank(size=5, clusters=2, refresh=3):
    ir = compiler.check_text(SPEC.replace("memory_bank=5", f"memory_bank={size}")
                             .replace("clusters=2, refresh=3", f"clusters={clusters}, refresh={refresh}")
                             .replace("%NEG%", "dropout=0.1"))
    return GeneralizedContrastive(ir.graph.nodes["loss[1]"]["params"], dim=2, context_dim=0, seed=0)


def _feed(bank, z, y, k):
    return bank(torch.tensor(z, dtype=torch.float), torch.tensor(y, dtype=torch.float), torch.tensor(k))


def test_memory_bank_is_a_ring_buffer():
    bank = _bank()
    _feed(bank, [[1, 1], [2, 2], [3, 3]], [1, 0, 1], [0, 1, 2])
    assert (bank.bank_ptr.item(), bank.bank_count.item()) == (3, 3)
    assert bank.bank_z[:3, 0].tolist() == [1, 2, 3]
    _feed(bank, [[4, 4], [5, 5], [6, 6]], [0, 0, 1], [2, 2, 0])
    assert (bank.bank_ptr.item(), bank.bank_count.item()) == (1, 5)
    assert bank.bank_z[:, 0].tolist() == [6, 2, 3, 4, 5]  # slot 0 overwritten by the oldest-first wrap
    assert bank.bank_y.tolist() == [1, 0, 1, 0, 0] and bank.bank_k.tolist() == [0, 1, 2, 2, 2]
    _feed(bank, [[float(i)] * 2 for i in range(10, 17)], [0] * 7, [1] * 7)  # larger than the bank: its last 5
    assert sorted(bank.bank_z[:, 0].tolist()) == [12, 13, 14, 15, 16] and bank.bank_count.item() == 5


def test_bank_entries_are_candidates():
    """A lone anchor has no positive in its batch; the bank's row of another scenario with its label is one."""
    bank = _bank()
    loss, has = _feed(bank, [[1.0, 0.0]], [1], [0])
    assert not has.item()
    _feed(bank, [[0.0, 1.0]], [1], [1])
    loss, has = _feed(bank, [[1.0, 0.0]], [1], [0])  # bank: [1, 0] (scenario 0, itself: not across), [0, 1]
    assert has.item() and loss.item() == 0.0  # one positive, no negative: −log 1


def test_kmeans_refits_on_schedule_and_deterministically():
    banks = [_bank(size=8, clusters=2, refresh=3) for _ in range(2)]
    g = torch.Generator().manual_seed(5)
    history = []
    for step in range(1, 7):
        z = torch.randn(4, 2, generator=g) + torch.tensor([[8.0, 0.0]] * 2 + [[-8.0, 0.0]] * 2)
        for bank in banks:
            bank(z, torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0, 1, 2, 0]))
        history.append((banks[0].fitted.item(), banks[0].centroids.clone()))
        assert torch.equal(banks[0].centroids, banks[1].centroids)
    assert [f for f, _ in history] == [False, False, True, True, True, True]
    assert torch.equal(history[2][1], history[3][1]) and torch.equal(history[3][1], history[4][1])
    assert not torch.equal(history[4][1], history[5][1])  # refit at step 6
    assert sorted(history[2][1][:, 0].sign().tolist()) == [-1.0, 1.0]  # one centroid per blob
    assert banks[0].steps.item() == 6 and "bank_z" in banks[0].state_dict() and "alpha_bar" not in banks[0].state_dict()


def test_sampled_anchors_keep_their_full_batch_loss():
    """With `anchors`, a drawn row's Eq. 4 term equals its term with every row an anchor (candidates unchanged)."""
    g = torch.Generator().manual_seed(1)
    z, y, k = torch.randn(10, 2, generator=g), (torch.rand(10, generator=g) < 0.5).float(), torch.arange(10) % 3
    full_bank, sampled_bank = _bank(), _bank()
    for bank in (full_bank, sampled_bank):
        bank.alpha_bar = None  # no diffusion copies: they draw from the RNG that also draws the anchors
    full, has = full_bank(z, y, k)
    sampled_bank.anchors = 4
    torch.manual_seed(0)
    sampled, sampled_has = sampled_bank(z, y, k)
    drawn = sampled != 0
    assert 0 < int(sampled_has.sum()) <= 4 and torch.allclose(sampled[drawn], full[drawn])
    assert not sampled_has[~has].any()
