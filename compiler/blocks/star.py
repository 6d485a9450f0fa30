"""STAR (Sheng et al. 2021): star-topology FCN and partitioned normalization."""

from __future__ import annotations

from compiler.blocks import block
from compiler.blocks.core import ACTIVATIONS, _vectors
from compiler.schema import FLOAT, INT, REF, Param, enum, list_of
from compiler.types import VType


@block(
    "star",
    Param("x", REF),
    Param("units", list_of(INT, 1), doc="layer sizes of the FCN"),
    Param("activation", enum(*ACTIVATIONS), "relu"),
    replicate=(), scenario_aware=True,
)
def star(ctx, p, xs):
    """Star-topology fully connected network (STAR Eq. 3–4).

    For scenario p, each layer uses W*_p = W_p ⊗ W (element-wise product of the scenario's and the shared
    weights) and b*_p = b_p + b; out = φ((W*_p)ᵀ · in + b*_p). Scenario weights start at 1 and biases at 0, so
    training starts from the shared network.
    """
    _vectors(ctx, xs, "star")
    ctx.positive(p, "units")
    return VType(p["units"][-1], per_task=xs[0].per_task, scenario=True)


@block(
    "pn",
    Param("x", REF),
    Param("momentum", FLOAT, 0.1, "update rate of each scenario's moving statistics"),
    Param("eps", FLOAT, 1e-5),
    replicate=(), scenario_aware=True,
)
def pn(ctx, p, xs):
    """Partitioned normalization (STAR Eq. 2).

    z' = (γ · γ_p) · (z − E) / √(Var + ε) + (β + β_p). Training normalizes each scenario's rows by that
    scenario's batch moments (computed for all scenarios at once with scatter sums) and updates per-scenario
    moving averages; evaluation uses the row's scenario moving averages.
    """
    _vectors(ctx, xs, "pn")
    return VType(xs[0].dim, per_task=xs[0].per_task, scenario=True)
