"""Lowered programs against plain eager references: same parameters, same batch, equal outputs and gradients.

Each reference below is written the obvious way — a Python loop or a boolean mask per scenario, one linear layer
per tower, `F.batch_norm` on each scenario's rows — reading fresh float64 copies of the GraphModule's parameters
(slices of the stacked tensors), so its gradients land in the GraphModule's layout and compare one to one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import compiler
from compiler.lower import call, lower

SPECS = Path(__file__).resolve().parents[2] / "specs"
B, S, V = 64, 3, 100
QUICK_FEATURES = ["user_id", "item_id", "item_category", "hour", "device", "price"]


def make_batch(ir, seed=0, scenario=None):
    g = torch.Generator().manual_seed(seed)
    batch = {}
    for f in ir.features:
        d = ir.graph.nodes[f]
        if d["kind"] == "numeric" and not d["params"]["buckets"]:
            batch[f] = torch.randn(B, generator=g, dtype=torch.float64)
        elif d["kind"] == "sequence":
            ids = torch.randint(0, V, (B, d["params"]["max_len"]), generator=g)
            batch[f] = ids * (torch.rand(ids.shape, generator=g) < 0.6)
        else:
            high = d["params"]["buckets"] + 1 if d["kind"] == "numeric" else V
            batch[f] = torch.randint(0, high, (B,), generator=g)
    batch["scenario"] = torch.arange(B) % S if scenario is None else scenario
    for t in ir.base_tasks:
        batch[t] = torch.randint(0, 2, (B,), generator=g).double()
    return batch


# -- eager building blocks -------------------------------------------------------------------------------------


class Ref(torch.nn.Module):
    """Fresh float64 leaves copied from the program's parameters (and moving statistics), keyed by name."""

    def __init__(self, low, training):
        super().__init__()
        self.p = {n: t.detach().double().clone().requires_grad_() for n, t in low.params.named_parameters()}
        self.buf = {n: t.detach().double().clone() for n, t in low.params.named_buffers()
                    if n.endswith(("running_mean", "running_var"))}
        self.training = training

    def __getitem__(self, name):
        return self.p[name]


def embed(P, batch, names):
    parts = []
    for f in names:
        x = batch[f]
        parts.append(x[:, None] if x.is_floating_point() else F.embedding(x, P[f"{f}.table"]))
    return torch.cat(parts, -1)


def batch_norm(P, name, h, index=()):
    """`F.batch_norm` with the block's scale/shift (and moving statistics, updated in training) at `index`."""
    rm, rv = P.buf[f"{name}.running_mean"][index], P.buf[f"{name}.running_var"][index]
    return F.batch_norm(h, rm, rv, P[f"{name}.weight"][index], P[f"{name}.bias"][index], P.training)


def mlp(P, node, x, layers, norm=False):
    for i in range(layers):
        x = F.linear(x, P[f"{node}.w{i}"], P[f"{node}.b{i}"])
        x = torch.relu(batch_norm(P, f"{node}.norm{i}", x) if norm else x)
    return x


def stacked_mlp(P, node, x, layers, g):
    """Slice g of a per-scenario / per-task MLP."""
    for i in range(layers):
        x = torch.relu(x @ P[f"{node}.w{i}"][g] + P[f"{node}.b{i}"][g, 0])
    return x


def per_scenario(fn, scenario):
    """out[b] = fn(s, rows of s)[…] for s = scenario[b], by a loop over scenarios."""
    out = None
    for s in range(S):
        rows = (scenario == s).nonzero().squeeze(1)
        y = fn(s, rows)
        out = y.new_zeros(scenario.shape[0], *y.shape[1:]) if out is None else out
        out = out.index_put((rows,), y)
    return out


def head(P, node, x, t=None):
    if t is None:
        return F.linear(x, P[f"{node}.w0"], P[f"{node}.b0"]).squeeze(-1)
    return (x @ P[f"{node}.w0"][t] + P[f"{node}.b0"][t, 0]).squeeze(-1)


def bce(logit, y, keep=None):
    loss = F.binary_cross_entropy_with_logits(logit, y, reduction="none")
    return loss.mean() if keep is None else (loss * keep).sum() / keep.sum().clamp_min(1)


# -- references, one per spec: batch → ({task: logit or prob}, loss) ------------------------------------------------


def ref_quickstart(P, batch):
    h = mlp(P, "h", embed(P, batch, QUICK_FEATURES), 2)
    tower = per_scenario(lambda s, rows: stacked_mlp(P, "tower", h[rows], 1, s), batch["scenario"])
    logit = head(P, "out", tower, 0)
    return {"ctr": logit}, bce(logit, batch["ctr"])


def ref_mix(P, batch):
    h = mlp(P, "h", embed(P, batch, QUICK_FEATURES), 3, norm=True)
    logit = head(P, "out", h, 0)
    return {"ctr": logit}, bce(logit, batch["ctr"])


def ref_separate(P, batch):
    x = embed(P, batch, QUICK_FEATURES)
    logit = per_scenario(lambda s, rows: head(P, f"out{s}", stacked_mlp(P, "h", x[rows], 3, s)), batch["scenario"])
    return {"ctr": logit}, bce(logit, batch["ctr"])


def _two_tasks(P, batch, towers_in):
    logits = {t: head(P, "out", stacked_mlp(P, "tower", towers_in[i], 2, i), i) for i, t in enumerate(["ctr", "cvr"])}
    return logits, bce(logits["ctr"], batch["ctr"]) + bce(logits["cvr"], batch["cvr"], batch["ctr"])


def ref_shared_bottom(P, batch):
    h = mlp(P, "h", embed(P, batch, QUICK_FEATURES), 2)
    return _two_tasks(P, batch, [h, h])


def expert(P, prefix, x, index):
    for i in range(2):
        x = torch.relu(x @ P[f"{prefix}_w{i}"][index] + P[f"{prefix}_b{i}"][index][0])
    return x


def ref_mmoe(P, batch):
    x = embed(P, batch, QUICK_FEATURES)
    experts = [expert(P, "h.expert", x, e) for e in range(4)]
    outs = []
    for t in range(2):
        gate = torch.softmax(x @ P["h.gate"][t], -1)
        outs.append(sum(gate[:, e:e + 1] * experts[e] for e in range(4)))
    return _two_tasks(P, batch, outs)


def ref_ple(P, batch):
    x = embed(P, batch, QUICK_FEATURES)
    inputs, shared_in = [x, x], x
    for k in range(2):
        specific = [[expert(P, f"h.l{k}_specific", inputs[t], (t, 0))] for t in range(2)]
        shared = [expert(P, f"h.l{k}_shared", shared_in, e) for e in range(2)]
        outs = []
        for t in range(2):
            gate = torch.softmax(inputs[t] @ P[f"h.l{k}_gate"][t], -1)
            pool = specific[t] + shared
            outs.append(sum(gate[:, e:e + 1] * pool[e] for e in range(len(pool))))
        if k == 0:
            gate = torch.softmax(shared_in @ P["h.l0_shared_gate"], -1)
            pool = specific[0] + specific[1] + shared
            shared_in = sum(gate[:, e:e + 1] * pool[e] for e in range(len(pool)))
        inputs = outs
    return _two_tasks(P, batch, inputs)


def ref_star(P, batch):
    x = embed(P, batch, QUICK_FEATURES)

    def pn(s, rows):
        name = "h__pn.norm"
        rm, rv = P.buf[f"{name}.running_mean"][s], P.buf[f"{name}.running_var"][s]
        scale, shift = P[f"{name}.gamma"] * P[f"{name}.gamma_p"][s], P[f"{name}.beta"] + P[f"{name}.beta_p"][s]
        return F.batch_norm(rows, rm, rv, scale, shift, P.training)

    def fcn(s, rows):
        for i in range(3):
            w = P[f"h.w{i}_p"][s] * P[f"h.w{i}"]
            rows = torch.relu(rows @ w + P[f"h.b{i}_p"][s, 0] + P[f"h.b{i}"][0])
        return rows

    h = per_scenario(lambda s, rows: fcn(s, pn(s, x[rows])), batch["scenario"])
    aux = mlp(P, "aux__mlp", F.embedding(batch["scenario"], P["aux__mlp__scenario_embed.table"]), 1)
    logit = head(P, "out", h, 0) + F.linear(aux, P["aux.w0"], P["aux.b0"]).squeeze(-1)
    return {"ctr": logit}, bce(logit, batch["ctr"])


def ref_esmm(P, batch):
    logits, _ = ref_shared_bottom(P, batch)
    ctcvr = torch.sigmoid(logits["ctr"]) * torch.sigmoid(logits["cvr"])
    loss = bce(logits["ctr"], batch["ctr"]) + F.binary_cross_entropy(ctcvr.clamp(1e-7, 1 - 1e-7),
                                                                     batch["ctr"] * batch["cvr"])
    return {**logits, "ctcvr": ctcvr}, loss


SPECIFIC = """
spec specific
data { source = synthetic(scenarios=3, sequence=true) }
features {
  user_id = categorical(dim=8)
  item_id = categorical(dim=8, partition=specific)
  hist    = sequence(max_len=5, dim=8, vocab=item_id, partition=specific)
  tags    = sequence(max_len=4, dim=4, pool=sum)
  price   = numeric(buckets=10, dim=4)
}
tasks { ctr = binary(label="click") }
graph {
  h   = per scenario: mlp(embed(all), units=[16, 8], norm=batch)
  out = per task: head(h)
}
"""


def ref_specific(P, batch):
    def table(name, ids, s):  # scenario s's block of a stacked [S·V, d] table
        return F.embedding(ids, P[f"{name}.table"].view(S, V, -1)[s])

    def tower(s, rows):
        hist, tags = batch["hist"][rows], batch["tags"][rows]
        mask = (hist != 0).double()[..., None]
        hist_mean = (table("item_id", hist, s) * mask).sum(1) / mask.sum(1).clamp_min(1)
        tags_sum = (F.embedding(tags, P["tags.table"]) * (tags != 0).double()[..., None]).sum(1)
        x = torch.cat([F.embedding(batch["user_id"][rows], P["user_id.table"]),
                       table("item_id", batch["item_id"][rows], s), hist_mean, tags_sum,
                       F.embedding(batch["price"][rows], P["price.table"])], -1)
        for k in range(2):
            x = x @ P[f"h.w{k}"][s] + P[f"h.b{k}"][s, 0]
            x = torch.relu(batch_norm(P, f"h.norm{k}", x, s))
        return x

    logit = head(P, "out", per_scenario(tower, batch["scenario"]), 0)
    return {"ctr": logit}, bce(logit, batch["ctr"])


MIXED = """
spec mixed extends "quickstart.msd"
tasks { cvr = binary(label="purchase") }
graph {
  h     = moe(x, experts=3, units=[16], over=scenario)
  tower = per task: mlp(concat(h, x), units=[16, 8], norm=batch)
  norm  = per scenario: mlp(tower, units=[8], norm=layer)
  out   = per task: head(norm)
}
"""


def ref_mixed(P, batch):
    x = embed(P, batch, QUICK_FEATURES)
    experts = torch.stack([torch.relu(x @ P["h.expert_w0"][e] + P["h.expert_b0"][e, 0]) for e in range(3)])

    def moe(s, rows):  # the rows' scenario's gate over shared experts
        gate = torch.softmax(x[rows] @ P["h.gate"][s], -1)
        return torch.einsum("be,ebh->bh", gate, experts[:, rows])

    h = per_scenario(moe, batch["scenario"])
    logits, loss = {}, 0
    for t, task in enumerate(["ctr", "cvr"]):
        z = torch.cat([h, x], -1)
        for i in range(2):
            z = torch.relu(batch_norm(P, f"tower.norm{i}", z @ P[f"tower.w{i}"][t] + P[f"tower.b{i}"][t, 0], t))

        def norm(s, rows, z=z):
            y = F.layer_norm(z[rows] @ P["norm.w0"][s] + P["norm.b0"][s, 0], (8,))
            return torch.relu(y * P["norm.ln_w0"][s, 0] + P["norm.ln_b0"][s, 0])

        logits[task] = head(P, "out", per_scenario(norm, batch["scenario"]), t)
        loss = loss + bce(logits[task], batch[task])
    return logits, loss


CASES = {
    "quickstart": ref_quickstart, "mix": ref_mix, "separate": ref_separate, "shared_bottom": ref_shared_bottom,
    "mmoe": ref_mmoe, "ple": ref_ple, "star": ref_star, "esmm": ref_esmm,
}


def _check(ir, reference, strategy, training):
    low = lower(ir, strategy=strategy, seed=3)
    low.params.double()
    batch = make_batch(ir)
    P = Ref(low, training)
    expected, expected_loss = reference(P, batch)
    expected_loss.backward()

    program = low.train.train(training)
    out = call(program, batch)
    out["loss"].backward()
    torch.testing.assert_close(out["loss"], expected_loss, rtol=0, atol=1e-5)
    for task, value in expected.items():
        got = out["logit"].get(task, out["prob"][task]) if task in ir.base_tasks else out["prob"][task]
        torch.testing.assert_close(got, value, rtol=0, atol=1e-5)
    for name, p in low.params.named_parameters():
        assert p.grad is not None, f"{name} has no gradient"
        torch.testing.assert_close(p.grad, P[name].grad, rtol=0, atol=1e-5, msg=lambda m: f"grad of {name}: {m}")
    for name, buf in P.buf.items():  # moving statistics updated alike
        torch.testing.assert_close(low.params.get_buffer(name), buf, rtol=0, atol=1e-5)

    predicted = call(low.predict.train(training), batch)
    for task in ir.tasks:
        torch.testing.assert_close(predicted["prob"][task], out["prob"][task], rtol=0, atol=0)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("strategy", ["gather", "grouped"])
@pytest.mark.parametrize("spec", sorted(CASES))
def test_backbone_matches_eager_reference(spec, strategy, training):
    _check(compiler.check_file(SPECS / f"{spec}.msd"), CASES[spec], strategy, training)


@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_specific_tables_and_sequences_match_eager_reference(strategy):
    _check(compiler.check_text(SPECIFIC), ref_specific, strategy, training=True)


@pytest.mark.parametrize("strategy", ["gather", "grouped"])
def test_scenario_gates_task_norms_and_layer_norms_match_eager_reference(strategy):
    _check(compiler.check_text(MIXED, SPECS / "mixed.msd"), ref_mixed, strategy, training=True)
