"""STAR (Sheng et al. 2021, "One Model to Serve All"): the star-topology FCN and partitioned normalization."""

from __future__ import annotations

import torch
from torch import nn

from compiler.lower.context import NodeCtx, Value, constant, fan_in, lowers_block
from compiler.lower.kernels import activation, dense, masked_moments, scenario_chain


@lowers_block("star")
def star(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Star-topology FCN (STAR Eq. 3–4): layer i of scenario p uses W*_p = W_p ⊙ W and b*_p = b_p + b.

    Parameters: shared `w{i}` [d, u], `b{i}` [1, u] (torch's linear init); per-scenario `w{i}_p` [S, d, u] = 1,
    `b{i}_p` [S, 1, u] = 0, so training starts from the shared network. The effective weights [S, d, u] are formed
    once per step and the layers run as a per-scenario chain (`kernels.scenario_chain`).
    """
    d, layers = ctx.in_dims[0], []
    for i, u in enumerate(ctx.params["units"]):
        w = ctx.param(f"w{i}", (d, u), fan_in(d))
        b = ctx.param(f"b{i}", (1, u), fan_in(d))
        w_p = ctx.param(f"w{i}_p", (ctx.S, d, u), constant(1.0), "scenario")
        b_p = ctx.param(f"b{i}_p", (ctx.S, 1, u), constant(0.0), "scenario")

        def layer(h, sc, task, mask, w=w, b=b, w_p=w_p, b_p=b_p):
            out = dense(ctx, h, ctx.call(torch.mul, w_p, w), ctx.call(torch.add, b_p, b), sc, task, "scenario")
            return activation(ctx, out, ctx.params["activation"])

        layers.append(layer)
        d = u
    return scenario_chain(ctx, inputs[0], layers)


def scenario_moments(x: torch.Tensor, scenario: torch.Tensor, scenarios: int):
    """Per-scenario mean and biased variance of the rows of x [T?, B, h] (two scatter passes), and row counts."""
    count = torch.bincount(scenario, minlength=scenarios).to(x.dtype)
    denom = count.clamp_min(1)[:, None]
    zeros = x.new_zeros(*x.shape[:-2], scenarios, x.shape[-1])
    mean = zeros.index_add(-2, scenario, x) / denom
    centered = x - mean.index_select(-2, scenario)
    return mean, zeros.index_add(-2, scenario, centered.square()) / denom, count


class PartitionedNorm(nn.Module):
    """Partitioned normalization (STAR Eq. 2): z' = (γ·γ_p)·(z − E)/√(Var + ε) + (β + β_p).

    Training, rows mode: E, Var are the moments of the row's scenario's rows in the batch, computed for every
    scenario at once with `index_add`; the per-scenario moving averages are updated (unbiased variance, like
    `nn.BatchNorm1d`; scenarios absent from the batch keep theirs; a task axis is averaged). Training, all mode:
    slice s is the batch with every row in scenario s, so its moments are the whole slice's (no update).
    Evaluation: scenario p's moving averages.
    """

    def __init__(self, dim: int, scenarios: int, momentum: float, eps: float):
        super().__init__()
        self.scenarios, self.momentum, self.eps = scenarios, momentum, eps
        self.gamma = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.gamma_p = nn.Parameter(torch.ones(scenarios, dim))
        self.beta_p = nn.Parameter(torch.zeros(scenarios, dim))
        self.register_buffer("running_mean", torch.zeros(scenarios, dim))
        self.register_buffer("running_var", torch.ones(scenarios, dim))
        self.param_roles = {"gamma": "shared", "beta": "shared", "gamma_p": "scenario", "beta_p": "scenario"}

    def forward(self, x, scenario, task: bool):
        scale, shift = self.gamma * self.gamma_p, self.beta + self.beta_p  # [S, h]
        if scenario is not None:  # rows mode: x [T?, B, h]
            if self.training:
                mean, var, count = scenario_moments(x, scenario, self.scenarios)
                self._update(mean, var, count, task)
                mean, var = mean.index_select(-2, scenario), var.index_select(-2, scenario)
            else:
                mean, var = self.running_mean[scenario], self.running_var[scenario]
            return (x - mean) * torch.rsqrt(var + self.eps) * scale[scenario] + shift[scenario]

        def view(p):  # [S, h] → [S, 1?, 1, h] against x [S?, T?, B, h]
            return p.view(p.shape[0], *[1] * task, 1, p.shape[-1])

        if self.training:
            mean, var, _ = masked_moments(x, None)
        else:
            mean, var = view(self.running_mean), view(self.running_var)
        return (x - mean) * torch.rsqrt(var + self.eps) * view(scale) + view(shift)

    @torch.no_grad()
    def _update(self, mean, var, count, task: bool):
        var = var * (count / (count - 1).clamp_min(1))[:, None]
        if task:
            mean, var = mean.mean(0), var.mean(0)
        seen, m = (count > 0)[:, None], self.momentum
        self.running_mean.copy_(torch.where(seen, (1 - m) * self.running_mean + m * mean, self.running_mean))
        self.running_var.copy_(torch.where(seen, (1 - m) * self.running_var + m * var, self.running_var))


@lowers_block("pn")
def pn(ctx: NodeCtx, inputs: list[Value]) -> Value:
    """Partitioned normalization (STAR Eq. 2), a `PartitionedNorm` module called with the rows' scenarios (rows
    mode) or without (all mode)."""
    x, p = inputs[0], ctx.params
    norm = ctx.submodule("norm", lambda: PartitionedNorm(ctx.in_dims[0], ctx.S, p["momentum"], p["eps"]))
    if ctx.rows:
        return Value(ctx.module(norm, x.node, ctx.b.scenario, x.task), task=x.task)
    return Value(ctx.module(norm, x.node, None, x.task), True, x.task)
