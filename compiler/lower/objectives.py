"""Objective terms, one lowering per kind: `fn(o: ObjectiveCtx, params) -> scalar fx node` (unweighted).

Row weighting (every loss): a row counts with its scenario's `weight` (`scenarios { s = scenario(weight=…) }`)
times the data's row weight column when the spec names one; a loss is the mean over its rows of weight × loss, so
weights scale a scenario's contribution instead of being normalized away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from compiler.lower.context import Builder, lowers_objective

EPS = 1e-7  # probability clamp for BCE on composed (product) tasks


class ObjectiveCtx:
    """What an objective lowering reads: tasks' logits, probabilities and labels (`label(task)`), row weights,
    parameters; node values in either mode through the program's builder (`o.b.value(node, "all")`)."""

    def __init__(self, b: Builder, logits: dict, probs: dict, labels):
        self.b, self.logits, self.probs, self.label = b, logits, probs, labels
        self.call, self.method = b.call, b.method

    def task(self, name: str) -> dict:
        return self.b.ir.graph.nodes[name]

    def weighted(self, loss):
        """loss [B] × the rows' weights (scenario weight × row weight), or loss itself when every weight is 1."""
        weights = [s["weight"] for s in self.b.ir.scenarios]
        if any(w != 1.0 for w in weights):
            table = self.b.attr(self.b.params.buffer(None, "scenario_weight", lambda: torch.tensor(weights)))
            loss = self.call(torch.mul, loss, self.call(torch.take, table, self.b.scenario))
        if "weight" in self.b.inputs:
            loss = self.call(torch.mul, loss, self.b.inputs["weight"])
        return loss

    def mean(self, loss):
        """The mean over the rows of loss [B] × the rows' weights."""
        return self.call(torch.mean, self.weighted(loss))

    def total(self, terms: list):
        """The sum of scalar nodes."""
        out = terms[0]
        for term in terms[1:]:
            out = self.call(torch.add, out, term)
        return out

    def parameters(self, node: str) -> list[str]:
        """Qualified names of `node`'s parameters (a vocab-sharing sequence: its table's owner's)."""
        self.b.value(node)  # creates them if no program output needed the node
        data = self.b.ir.graph.nodes[node]
        owner = data["params"]["vocab"].name if data["op"] == "feature" and data["params"].get("vocab") else node
        return [q for q, (n, _) in self.b.params.roles.items() if n in (node, owner)]


@lowers_objective("bce")
def bce(o: ObjectiveCtx, p: dict):
    """Binary cross-entropy of a task, with logits for a base task; on the clamped product probability for a
    composed task (ESMM's CTCVR loss, Ma et al. 2018 Eq. 3). A `within=` task averages only over rows whose parent
    label is 1 (zero when the batch has none)."""
    task = p["task"].name
    data, label = o.task(task), o.label(task)
    if data["kind"] == "binary":
        loss = o.call(F.binary_cross_entropy_with_logits, o.logits[task], label, reduction="none")
    else:
        prob = o.call(torch.clamp, o.probs[task], EPS, 1 - EPS)
        loss = o.call(F.binary_cross_entropy, prob, label, reduction="none")
    within = data["params"].get("within")
    if within is None:
        return o.mean(loss)
    loss = o.weighted(loss)
    keep = o.method("type_as", o.call(torch.gt, o.label(within.name), 0.5), loss)
    total = o.call(torch.sum, o.call(torch.mul, loss, keep))
    return o.call(torch.div, total, o.method("clamp_min", o.call(torch.sum, keep), 1))


@lowers_objective("l2")
def l2(o: ObjectiveCtx, p: dict):
    """Σ of squared parameters of the named nodes (or features' tables), e.g. MARIA Eq. 23."""
    return o.total([o.call(torch.sum, o.call(torch.square, o.b.attr(qual)))
                    for ref in p["nodes"] for qual in o.parameters(ref.name)])
