"""OptMSM (Tang et al., "OptMSM: Optimizing Multi-Scenario Modeling for CTR Prediction"): spec-level pieces.

The paper's parts and the spec lines that switch them (`specs/optmsm_*.msd`):

- Feature partition (Eq. 4): `partition=specific` on a feature gives it one embedding table per scenario (e^m),
  `embed(all, partition=shared)` reads the shared ones (e_c). The paper's "scenario priors" are this partition
  (§1, §4.1, §4.3: "prior scenario-specific features e^m"); Tables 5–6's "w/o priors" declares those features
  shared (they then go through the shared path) and drops e^m from Eq. 10.
- Adaptation gate (Eq. 5): `se_gate(x)`, an SE-Net gate per scenario on the shared field embeddings.
- Shared-information transfer (Eq. 6–8): any existing block on the gated embeddings — `mlp` (Eq. 6),
  `per scenario: mlp` (Eq. 7), `star` (Eq. 8), `moe(…, over=scenario)`, `cgc(…, over=scenario)`.
- Orthogonality constraint (Eq. 9): the objective `orthogonal(r)`.
- Scenario-aware hypernetwork (Eq. 10–12): `per scenario: hyper_mlp(concat(r, e), units=[…])`; the head on it is
  Eq. 13, and `loss += λ * orthogonal(r)` makes Eq. 14.
"""

from __future__ import annotations

from compiler.blocks import block
from compiler.blocks.core import MLP_PARAMS, _vectors
from compiler.catalog import OBJECTIVES
from compiler.schema import INT, REF, Param, enum
from compiler.types import VType

FIELD_NODES = ("embed", "concat")  # structural blocks whose inputs are the fields of an `se_gate`


@block("se_gate", Param("x", REF), replicate=(), scenario_aware=True)
def se_gate(ctx, p, xs):
    """SE-Net adaptation gate per scenario on the shared feature embeddings (OptMSM Eq. 5).

    z^m = σ(W^m · [avg(e_c1), …, avg(e_cF)] + b^m) and e_c^m = concat(z^m_1 · e_c1, …, z^m_F · e_cF), with
    W^m [F, F] and b^m [F] per scenario. The fields are the features (or nodes) concatenated by `x` when `x` is
    an `embed` / `concat` (recursively), else `x` itself is one field. Choice: Eq. 5's single affine layer is kept
    as printed (SE-Net's original has a two-layer bottleneck); the text's claim that the gate adds no learnable
    parameters contradicts W^m, b^m, and the equation wins.
    """
    _vectors(ctx, xs, "se_gate")
    return VType(xs[0].dim, per_task=xs[0].per_task, scenario=True)


@block("hyper_mlp", Param("x", REF), *MLP_PARAMS,
       Param("hidden", INT, 64, "hidden size of each layer's parameter generator (Eq. 11)"))
def hyper_mlp(ctx, p, xs):
    """Predictor whose every layer is scaled by a hypernetwork reading its input (OptMSM Eq. 10–12).

    With x = R_0 (Eq. 10: `concat(r, prior)`), layer l's output R_l (R_0 the input itself) is multiplied by
    2·σ(w_1l · ReLU(w_0l · R_0 + b_0l) + b_1l) ∈ (0, 2) (Eq. 11–12); the layers are those of `mlp`. A head on it
    is Eq. 13. `per scenario:` makes the predictor and its generators scenario-specific, as in the paper.
    """
    _vectors(ctx, xs, "hyper_mlp")
    ctx.positive(p, "units", "hidden")
    return VType(p["units"][-1], per_task=xs[0].per_task, scenario=xs[0].scenario)


@OBJECTIVES.register(
    "orthogonal",
    Param("x", REF),
    Param("form", enum("abs", "square", "signed"), "abs",
          "per pair: |cos| (default), cos², or the signed cosine printed in Eq. 9"),
    Param("reduction", enum("mean", "sum"), "mean", "over the batch rows: mean, or the sum printed in Eq. 9"),
    roles={"x": "scenario"},
)
def orthogonal():
    """Orthogonality of each row's representations under every pair of scenarios (OptMSM Eq. 9).

    L = Σ_b Σ_{i<j} f(cos(r_b^i, r_b^j)), with r_b^s the value of `x` for row b had it been in scenario s (the
    row's real scenario and its "contrastive representations"). Eq. 9 prints f = identity, whose minimum is
    opposite directions, not the orthogonality the text asks for; the default f = |cos| reaches its minimum
    exactly at orthogonality and is the form of the orthogonal projection loss the paper builds on ([21]);
    `square` is the smooth alternative, `signed` the literal form. `reduction=mean` divides by the batch size so
    that λ does not depend on it (`sum` is the literal Σ_b). Rows count with their weights, like every loss.
    """


def field_sizes(ir, node: str) -> list[int]:
    """Sizes of the fields an `se_gate` reading `node` gates: the inputs of `embed` / `concat`, recursively."""
    data = ir.graph.nodes[node]
    if data["op"] == "block" and data["kind"] in FIELD_NODES:
        return [size for i in data["inputs"] for size in field_sizes(ir, i)]
    return [data["type"].dim]
