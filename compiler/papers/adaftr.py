"""AdaFTR (Lin et al., KDD 2023, "Modeling Adaptive Fine-grained Task Relatedness for Joint CTR-CVR Estimation").

The backbone (Eq. 2–3: shared layers g, task towers f_k) is any multi-task spec with `per task:` towers:
SharedBottom, MMoE (`moe`), PLE (`ple`). This module adds the paper's pieces, each switchable on its own:

- `relatedness(v, units=[…])` — graph block, Eq. 8–9: ŷ_rel = σ(MLP(v_a ⊙ v_k)) on the towers' input v.
- `relatedness_bce(r)` — objective, Eq. 10–11: BCE of ŷ_rel against y_rel = 1[y_a = y_k] (weight α).
- `adaptive_temperature(r, lower, upper)` — graph block, Eq. 12: τ_r = (τU − τL)(1 − ŷ_rel) + τL.
- `temperature(value, learnable=…)` — graph block: one fixed or one learnable τ for every row (Table 5's
  "w/o learnable τ" and "w/o adaptive τ").
- `task_contrast(tower, tau, layer=1, negatives=in_batch|single)` — objective, Eq. 6 / 13 (in-batch negatives
  from the other task) and Eq. 7 (one negative) on layer `layer` of the towers (weight β).
- `task_align(tower, layer=1, distance=mse|mae)` — objective, Eq. 5 (Table 5's "w/o contrastive").

Tasks. The anchor is the first base task (the paper's click); every other base task k forms a pair (anchor, k)
("contrastive objectives are only conducted between Click and other tasks", §3.3.4). `tasks=[…]` on the alignment
objectives keeps some of the pairs. `relatedness` has one MLP per pair and one output column per pair, so a
three-task spec has two relatedness estimates and two temperatures per row.

Algorithm 1 (relatedness parameters Ω move by L_rel only; the task parameters Θ by L_ctr + L_cvr + β·L_cl) in one
backward pass: `relatedness` reads its input through a stop-gradient, so L_rel reaches no parameter of Θ, and
`adaptive_temperature` reads ŷ_rel through a stop-gradient, so L_cl reaches no parameter of Ω. The relatedness
network is a graph node (not hidden inside an objective) so that optimizer groups and `freeze` can name it; its
parameters are `shared`. The predict program never reads it: it is discarded at serving time as in §2.4.2.
"""

from __future__ import annotations

from compiler.blocks import block
from compiler.blocks.core import ACTIVATIONS, _vectors
from compiler.catalog import OBJECTIVES
from compiler.schema import BOOL, FLOAT, INT, REF, Param, enum, list_of
from compiler.types import VType

TEMPERATURES = ("temperature", "adaptive_temperature")


def _pairs(ctx) -> int:
    if ctx.tasks < 2:
        ctx.fail(f"AdaFTR relates tasks in pairs, but the spec has {ctx.tasks} base task", code="E0345",
                 label="needs at least two tasks", help="declare a second task, e.g. `cvr = binary(…)`")
    return ctx.tasks - 1


@block("relatedness", Param("x", REF, doc="the towers' input v (Eq. 3)"),
       Param("units", list_of(INT, 1), [32], "hidden layers of each pair's MLP (a 1-unit layer follows)"),
       Param("activation", enum(*ACTIVATIONS), "relu"), replicate=())
def relatedness(ctx, p, xs):
    """Relatedness logits of each (anchor, k) task pair, [B, pairs] (AdaFTR Eq. 8–9).

    v_rel = v_a ⊙ v_k (Eq. 8) with v the towers' input (per task after MMoE / PLE; one shared vector after a
    shared bottom, where v_a = v_k); logit = MLP_k(v_rel), ŷ_rel = σ(logit) (Eq. 9), one MLP per pair. The input
    passes a stop-gradient (Algorithm 1: L_rel updates only these parameters).
    """
    _vectors(ctx, xs, "relatedness")
    ctx.positive(p, "units")
    return VType(_pairs(ctx), scenario=xs[0].scenario)


def _bounds(ctx, p, *names):
    for name in names:
        if p[name] <= 0:
            ctx.fail(f"a temperature must be positive, got {name}={p[name]}", name, "not above 0", code="E0349")


@block("temperature", Param("value", FLOAT, 1.0, "τ (the initial τ when learnable)"),
       Param("learnable", BOOL, False, "learn τ = exp(θ), θ initialized to log(value)"), inputs=(), replicate=())
def temperature(ctx, p, xs):
    """One temperature τ for every row, fixed (Eq. 6) or learned by the contrastive loss (Table 5: w/o adaptive τ).

    A learnable τ is parametrized as exp(θ) so that it stays positive (the paper does not say how it is kept so).
    """
    _bounds(ctx, p, "value")
    return VType(1)


@block("adaptive_temperature", Param("r", REF, doc="a `relatedness` node"), Param("lower", FLOAT, 0.05, "τL"),
       Param("upper", FLOAT, 1.0, "τU"), inputs=("r",), replicate=())
def adaptive_temperature(ctx, p, xs):
    """Instance-level temperature τ_r = (τU − τL)·(1 − ŷ_rel) + τL per row and task pair (AdaFTR Eq. 12).

    ŷ_rel = σ(r) is read through a stop-gradient (Algorithm 1: the contrastive loss does not move the relatedness
    network), so τ_r ∈ [τL, τU]: a row whose tasks look related gets a small temperature, a strict alignment.
    """
    _vectors(ctx, xs, "adaptive_temperature")
    _bounds(ctx, p, "lower")
    if p["lower"] >= p["upper"]:
        ctx.fail(f"`lower` ({p['lower']}) must be below `upper` ({p['upper']})", "lower", "not below upper",
                 code="E0349")
    if xs[0].dim != _pairs(ctx):
        ctx.fail(f"`adaptive_temperature` reads one relatedness logit per task pair ({ctx.tasks - 1}), got "
                 f"{xs[0].dim}", "r", "not relatedness logits", "read a `relatedness(…)` node", code="E0345")
    return VType(xs[0].dim, scenario=xs[0].scenario)


# -- objectives ------------------------------------------------------------------------------------------------


def _kind_error(report, ref, data, needs: str, help: str):
    report.error("E0346", f"`{ref.name}` must be {needs}", ref.span, f"`{ref.name}` is a `{data.get('kind')}`"
                 + (" per task" if data.get("replicate") == "task" else ""), help)


def _check_tower(ir, params, report):
    ref = params["h"]
    data = ir.graph.nodes[ref.name]
    if data["op"] != "block" or data["kind"] != "mlp" or data.get("replicate") != "task":
        _kind_error(report, ref, data, "a task tower (`per task: mlp(…)`)",
                    "align the towers, e.g. `tower = per task: mlp(h, units=[32, 16])`")
        return
    layers = len(data["params"]["units"])
    if not 1 <= params["layer"] <= layers:
        report.error("E0347", f"`layer` must name one of the {layers} layers of `{ref.name}`, got {params['layer']}",
                     params["layer_span"] or ref.span, f"`{ref.name}` has {layers} layers",
                     "layer 1 is the first tower layer (the paper's choice)")


def _check_pairs(ir, params, report):
    anchor = ir.base_tasks[0] if ir.base_tasks else None
    for ref in params["tasks"]:
        if ref.name == anchor or ref.name not in ir.base_tasks:
            why = "the anchor task" if ref.name == anchor else "composed from other tasks"
            report.error("E0348", f"`{ref.name}` cannot be paired with the anchor task `{anchor}`", ref.span, why,
                         f"pairs are (`{anchor}`, k) for the other base tasks k (the first task is the anchor)")


def _check_alignment(ir, term, report):
    params = dict(ir.graph.nodes[term]["params"], layer_span=ir.graph.nodes[term]["spans"].get("layer"))
    _check_tower(ir, params, report)
    _check_pairs(ir, params, report)
    tau = params.get("tau")
    if tau is not None and ir.graph.nodes[tau.name].get("kind") not in TEMPERATURES:
        _kind_error(report, tau, ir.graph.nodes[tau.name], "a `temperature(…)` or `adaptive_temperature(…)` node",
                    "e.g. `tau = adaptive_temperature(rel)` in `graph`")


def _check_relatedness(ir, term, report):
    ref = ir.graph.nodes[term]["params"]["r"]
    data = ir.graph.nodes[ref.name]
    if data.get("kind") != "relatedness":
        _kind_error(report, ref, data, "a `relatedness(…)` node", "e.g. `rel = relatedness(h)` in `graph`")


TOWER = Param("h", REF, doc="the task towers, a `per task: mlp(…)`")
LAYER = (Param("layer", INT, 1, "which tower layer's output is h_r (1 = first, the paper's choice)"),
         Param("tasks", list_of(REF), [], "pair the anchor (first task) only with these tasks (default: all)"))


@OBJECTIVES.register("relatedness_bce", Param("r", REF, doc="a `relatedness` node"), roles={"r": "params"},
                     check=_check_relatedness)
def relatedness_bce():
    """L_rel: binary cross-entropy of each pair's ŷ_rel against y_rel = 1[y_a = y_k] (AdaFTR Eq. 10–11), mean over
    rows and pairs. Only the relatedness network receives its gradient."""


@OBJECTIVES.register("task_contrast", TOWER, Param("tau", REF, None, "a temperature node (default: τ = 1)"), *LAYER,
                     Param("negatives", enum("in_batch", "single"), "in_batch",
                           "`in_batch`: InfoNCE (Eq. 6/13); `single`: one negative (Eq. 7)"),
                     roles={"h": "params", "tau": "node", "tasks": "task"}, check=_check_alignment)
def task_contrast():
    """L_cl: inter-task contrastive alignment of the towers' layer-`layer` outputs (AdaFTR Eq. 6, 13; Eq. 7).

    Summed over the task pairs, mean over rows."""


@OBJECTIVES.register("task_align", TOWER, *LAYER, Param("distance", enum("mse", "mae"), "mse", "ℓ of Eq. 5"),
                     roles={"h": "params", "tasks": "task"}, check=_check_alignment)
def task_align():
    """L_reg: regularization-based alignment ℓ(h_a, h_k) of the towers' layer-`layer` outputs (AdaFTR Eq. 5)."""
