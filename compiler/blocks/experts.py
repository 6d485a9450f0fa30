"""Mixture-of-experts backbones: MMoE and CGC / PLE."""

from __future__ import annotations

from compiler.blocks import block
from compiler.blocks.core import ACTIVATIONS, _vectors
from compiler.schema import INT, REF, Param, enum, list_of
from compiler.types import VType

EXPERT_PARAMS = (
    Param("units", list_of(INT, 1), doc="layer sizes of every expert MLP"),
    Param("activation", enum(*ACTIVATIONS), "relu"),
)


def _over(p, dim: int, xs) -> VType:
    return VType(dim, per_task=p["over"] == "task" or any(x.per_task for x in xs),
                 scenario=p["over"] == "scenario" or any(x.scenario for x in xs))


@block(
    "moe",
    Param("x", REF),
    Param("experts", INT, 4, "number of shared experts"),
    *EXPERT_PARAMS,
    Param("over", enum("task", "scenario", "none"), "task", "one gate per task, per scenario, or a single gate"),
    replicate=(), scenario_aware=lambda p: p.get("over") == "scenario",
)
def moe(ctx, p, xs):
    """Multi-gate mixture of experts (MMoE, Ma et al. 2018, Eq. 5–6).

    f^k(x) = Σ_i g^k(x)_i · f_i(x) with g^k(x) = softmax(W_gk · x): every expert is shared; each task
    (`over=task`, output per task) or each scenario (`over=scenario`, the row's scenario's gate) has its own gate.
    """
    _vectors(ctx, xs, "moe")
    ctx.positive(p, "units")
    if p["experts"] < 1:
        ctx.fail("a mixture needs at least one expert", "experts")
    return _over(p, p["units"][-1], xs)


PLE_PARAMS = (
    Param("shared_experts", INT, 1, "experts shared by every task/scenario, per level"),
    Param("specific_experts", INT, 1, "experts owned by each task/scenario, per level"),
    *EXPERT_PARAMS,
    Param("over", enum("task", "scenario"), "task", "whose specific experts and gates: tasks' or scenarios'"),
)


def _ple(ctx, p, xs, levels):
    _vectors(ctx, xs, "ple")
    ctx.positive(p, "units")
    if levels < 1:
        ctx.fail("PLE needs at least one level", "levels")
    if p["shared_experts"] < 0 or p["specific_experts"] < 0 or p["shared_experts"] + p["specific_experts"] < 1:
        ctx.fail("each gate needs at least one expert", "shared_experts")
    return _over(p, p["units"][-1], xs)


@block("ple", Param("x", REF), Param("levels", INT, 2, "number of stacked extraction levels"), *PLE_PARAMS, replicate=(),
       scenario_aware=lambda p: p.get("over") == "scenario")
def ple(ctx, p, xs):
    """Progressive Layered Extraction (Tang et al. 2020, Eq. 2–6): `levels` stacked CGC levels.

    Level k: each task (or scenario) j mixes its own specific experts and the shared experts with the gate
    g_j(x) = softmax(W_j · x_j) (Eq. 3–4); every level but the last also has a shared gate over all experts whose
    output feeds the next level's shared experts (Eq. 5). The first level reads x for every group.
    """
    return _ple(ctx, p, xs, p["levels"])


@block("cgc", Param("x", REF), *PLE_PARAMS, replicate=(),
       scenario_aware=lambda p: p.get("over") == "scenario")
def cgc(ctx, p, xs):
    """Customized Gate Control (Tang et al. 2020, Eq. 2–4): one PLE level, task/scenario-specific plus shared experts."""
    return _ple(ctx, p, xs, 1)
