"""The predict / train programs: dispatch failures, objectives, parameter bookkeeping, initialization, compile."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler.lower import BLOCKS, LowerError, call, lower, maybe_compile, param_counts

SPECS = Path(__file__).resolve().parents[2] / "specs"
B = 32


def _ir(name):
    return compiler.check_file(SPECS / f"{name}.msd")


def _batch(ir, scenario=None, **labels):
    g = torch.Generator().manual_seed(0)
    batch = {f: torch.randint(0, 100, (B,), generator=g) for f in ir.features}
    batch["price"] = torch.randn(B, generator=g)
    batch["scenario"] = torch.arange(B) % len(ir.scenarios) if scenario is None else scenario
    for t in ir.base_tasks:
        batch[t] = labels.get(t, torch.randint(0, 2, (B,), generator=g).float())
    return batch


def test_unknown_block_kind_fails_loudly():
    ir = _ir("quickstart")
    ir.graph.nodes["h"]["kind"] = "hypernet"
    with pytest.raises(LowerError, match="block `hypernet`"):
        lower(ir)


def test_unknown_objective_kind_fails_loudly():
    ir = _ir("quickstart")
    ir.graph.nodes[ir.objectives["loss"][0]]["kind"] = "contrastive"
    with pytest.raises(LowerError, match="objective `contrastive`"):
        lower(ir)


def test_every_catalogue_block_has_a_lowering():
    from compiler.blocks import BLOCKS as CATALOGUE

    assert set(CATALOGUE.entries) <= set(BLOCKS)


@pytest.mark.parametrize("spec", ["esmm", "shared_bottom", "star"])
def test_predict_has_no_objective_code(spec):
    ir = _ir(spec)
    low = lower(ir)
    targets = {n.target for n in low.predict.graph.nodes}
    assert not targets & {F.binary_cross_entropy, F.binary_cross_entropy_with_logits, torch.mean, torch.square}
    assert low.predict.meta["inputs"] == ir.features + ["scenario"]
    assert set(low.train.meta["inputs"]) == set(ir.features) | {"scenario"} | set(ir.base_tasks)
    assert F.binary_cross_entropy_with_logits in {n.target for n in low.train.graph.nodes}


def test_predict_gives_every_task_and_base_logits():
    ir = _ir("esmm")
    low = lower(ir)
    out = call(low.predict.eval(), _batch(ir))
    assert set(out["prob"]) == {"ctr", "cvr", "ctcvr"} and set(out["logit"]) == {"ctr", "cvr"}
    torch.testing.assert_close(out["prob"]["ctcvr"], out["prob"]["ctr"] * out["prob"]["cvr"])


def test_train_reports_each_term_and_their_weighted_sum():
    text = 'spec t extends "shared_bottom.msd"  objective { loss = bce(ctr) + 0.5 * bce(cvr) + 1e-3 * l2(h, user_id) }'
    ir = compiler.check_text(text, SPECS / "t.msd")
    low = lower(ir)
    out = call(low.train, _batch(ir))
    terms = out["terms"]
    assert list(terms) == ["loss[0]", "loss[1]", "loss[2]"]
    l2 = sum((p ** 2).sum() for n, p in low.params.named_parameters() if n.startswith(("h.", "user_id.")))
    torch.testing.assert_close(terms["loss[2]"], l2)
    torch.testing.assert_close(out["loss"], terms["loss[0]"] + 0.5 * terms["loss[1]"] + 1e-3 * l2)


def test_within_task_without_parent_positives_is_zero_and_safe():
    ir = _ir("shared_bottom")
    low = lower(ir)
    out = call(low.train, _batch(ir, ctr=torch.zeros(B)))
    assert out["terms"]["loss[1]"].item() == 0.0
    out["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in low.params.parameters() if p.grad is not None)


def test_scenario_weights_scale_their_rows():
    text = (SPECS / "quickstart.msd").read_text()
    weighted = text.replace("train {", "scenarios { s0 = scenario(weight=2)  s1 = scenario()  s2 = scenario(weight=0) }"
                                       "\ntrain {")
    batch = _batch(_ir("quickstart"))
    plain = call(lower(_ir("quickstart"), seed=1).train, batch)
    heavy = call(lower(compiler.check_text(weighted, SPECS / "w.msd"), seed=1).train, batch)
    logit, y, s = plain["logit"]["ctr"], batch["ctr"], batch["scenario"]
    w = torch.tensor([2.0, 1.0, 0.0])[s]
    expected = (F.binary_cross_entropy_with_logits(logit, y, reduction="none") * w).mean()
    torch.testing.assert_close(heavy["loss"], expected)


def test_param_roles_and_counts():
    low = lower(_ir("star"))
    counts = param_counts(low)
    assert counts["h"]["shared"] > 0 and counts["h"]["scenario"] > 0 and counts["h"]["task"] == 0
    assert counts["h__pn"] == {"shared": 2 * 49, "scenario": 2 * 3 * 49, "task": 0}
    assert counts["out"] == {"shared": 0, "scenario": 0, "task": 33}
    assert counts["aux__mlp__scenario_embed"]["scenario"] == 3 * 8
    total = sum(p.numel() for p in low.params.parameters())
    assert sum(sum(c.values()) for c in counts.values()) == total
    assert param_counts(low.predict) == counts  # every parameter is used by predict
    quick = param_counts(lower(_ir("quickstart")))
    assert quick["tower"] == {"shared": 0, "scenario": 3 * (64 * 32 + 32), "task": 0}


def test_initialization_is_seeded_and_independent_of_views():
    ir = _ir("quickstart")
    a, b = lower(ir).params.state_dict(), lower(ir, views=["tower"], values=["h"]).params.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    c = lower(ir, seed=123).params.state_dict()
    assert not torch.equal(a["h.w0"], c["h.w0"])


def test_programs_share_parameters_and_buffers():
    ir = _ir("mix")
    low = lower(ir)
    assert low.predict.h is low.train.h is low.params.h
    low.params.double()  # converts what both programs hold
    out = call(low.predict.eval(), {k: (v.double() if v.is_floating_point() else v) for k, v in _batch(ir).items()})
    assert out["prob"]["ctr"].dtype == torch.float64


def test_vocab_sizes_set_table_rows():
    ir = _ir("quickstart")
    sizes = {"user_id": 7, "item_id": 9, "item_category": 3, "hour": 25, "device": 4}
    low = lower(ir, sizes)
    assert low.params.user_id.table.shape == (7, 16) and low.params.hour.table.shape == (25, 4)
    with pytest.raises(LowerError, match="user_id"):
        lower(ir, {"item_id": 9})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside torch when torch.compile loads
def test_maybe_compile():
    gm = lower(_ir("quickstart")).predict
    assert maybe_compile(gm, "cpu", "auto") is gm and maybe_compile(gm, "cpu", False) is gm
    compiled = maybe_compile(gm, "cpu", True)
    assert compiled is not gm and compiled._orig_mod is gm
    with pytest.raises(ValueError):
        maybe_compile(gm, "cpu", "yes")


def test_more_programs_share_the_parameters():
    text = 'spec t extends "shared_bottom.msd"  objective { warmup = bce(ctr) }  train { objective = loss }'
    ir = compiler.check_text(text, SPECS / "t.msd")
    low = lower(ir)
    assert list(call(low.train, _batch(ir))["terms"]) == ["loss[0]", "loss[1]"]
    before = dict(low.params.named_parameters())
    warmup = low.program("train", objective="warmup", views=["tower"])
    out = call(warmup, _batch(ir))
    assert list(out["terms"]) == ["warmup[0]"] and out["view"]["tower"].shape == (3, 2, B, 16)
    assert dict(low.params.named_parameters()) == before and warmup.h is low.params.h
    with pytest.raises(LowerError, match="no objective `pretrain`"):
        low.program("train", objective="pretrain")
