"""Structural blocks (embed, concat, sum, product), dense layers (linear, mlp) and task heads."""

from __future__ import annotations

from compiler.blocks import InferCtx, block
from compiler.schema import BOOL, FLOAT, INT, REF, Param, enum, list_of
from compiler.types import FIELDS, VType

ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "silu", "none")


def _vectors(ctx: InferCtx, xs: list[VType], what: str) -> None:
    for i, x in enumerate(xs):
        if x.seq is not None or x.logit:
            span = ctx.input_spans[i] if i < len(ctx.input_spans) else ctx.span
            from compiler.blocks import ShapeError

            raise ShapeError(f"`{what}` takes vectors, got {x}", span, f"this is {x}",
                             "pool the sequence (`pool=mean`) or give it to a sequence block")


def _merge(xs: list[VType], dim: int) -> VType:
    return VType(dim, per_task=any(x.per_task for x in xs), scenario=any(x.scenario for x in xs))


@block(
    "embed",
    Param("features", REF, variadic=True, doc="feature names, or `all`"),
    Param("field", enum(*FIELDS), "any", "keep only features of this field (MARIA's grouping)"),
    Param("partition", enum("shared", "specific", "any"), "any", "keep only features of this partition"),
    inputs=("features",), replicate=(),
)
def embed(ctx, p, xs):
    """Concatenated embeddings of the named features ([B, Σ dim]).

    A `shared` feature reads its one table; a `specific` feature reads the table of the row's scenario
    (OptMSM Eq. 4), so the result then depends on the scenario. `all` selects every feature that passes the
    `field` / `partition` filters.
    """
    _vectors(ctx, xs, "embed")
    return _merge(xs, sum(x.dim for x in xs))


@block("scenario_embed", Param("dim", INT, 8, "embedding size"), inputs=(), replicate=(), scenario_aware=True)
def scenario_embed(ctx, p, xs):
    """A learned embedding of the row's scenario indicator ([B, dim]); STAR's auxiliary network reads it."""
    ctx.positive(p, "dim")
    return VType(p["dim"], scenario=True)


@block("concat", Param("inputs", REF, variadic=True), inputs=("inputs",), replicate=())
def concat(ctx, p, xs):
    """Concatenation along the feature axis."""
    _vectors(ctx, xs, "concat")
    return _merge(xs, sum(x.dim for x in xs))


def _same_dims(ctx, xs, what):
    _vectors(ctx, xs, what)
    dims = {x.dim for x in xs}
    if len(dims) > 1:
        ctx.fail(f"`{what}` needs inputs of one size, got {', '.join(str(x.dim) for x in xs)}", "inputs",
                 "sizes differ", "project them first, e.g. `linear(x, units=64)`")
    return _merge(xs, xs[0].dim)


@block("sum", Param("inputs", REF, variadic=True), inputs=("inputs",), replicate=())
def sum_(ctx, p, xs):
    """Element-wise sum of inputs of one size."""
    return _same_dims(ctx, xs, "sum")


@block("product", Param("inputs", REF, variadic=True), inputs=("inputs",), replicate=())
def product(ctx, p, xs):
    """Element-wise (Hadamard) product of inputs of one size."""
    return _same_dims(ctx, xs, "product")


@block("linear", Param("x", REF), Param("units", INT, doc="output size"), Param("bias", BOOL, True))
def linear(ctx, p, xs):
    """One affine map x·W + b."""
    _vectors(ctx, xs, "linear")
    ctx.positive(p, "units")
    return _merge(xs, p["units"])


MLP_PARAMS = (
    Param("units", list_of(INT, 1), doc="sizes of the hidden layers, e.g. [256, 128]"),
    Param("activation", enum(*ACTIVATIONS), "relu"),
    Param("dropout", FLOAT, 0.0, "dropout after each hidden activation"),
    Param("norm", enum("none", "batch", "layer"), "none", "normalization before each activation"),
)


@block("mlp", Param("x", REF), *MLP_PARAMS)
def mlp(ctx, p, xs):
    """A stack of fully connected layers: (linear → norm → activation → dropout) per entry of `units`.

    `per scenario:` holds one stack per scenario (the separate-DNN baseline); `per task:` one per task
    (task towers in SharedBottom / MMoE / PLE).
    """
    _vectors(ctx, xs, "mlp")
    ctx.positive(p, "units")
    return _merge(xs, p["units"][-1])


@block(
    "head",
    Param("x", REF),
    Param("task", REF, None, "the task this head predicts; `per task:` heads predict every base task"),
    Param("scenarios", list_of(REF), None, "restrict the head to these scenarios (default: all)"),
    Param("offset", REF, None, "a node of size 1 added to the logit (STAR's auxiliary network)"),
    replicate=("task",), inputs=("x", "offset"),
)
def head(ctx, p, xs):
    """A task output: logit = x·w + b (+ offset); probability = sigmoid(logit)."""
    x = xs[0]
    _vectors(ctx, [x], "head")
    if p["offset"] is not None and xs[1].dim != 1:
        ctx.fail(f"`offset` must have size 1, got {xs[1].dim}", "offset", "not a logit",
                 "end the auxiliary network with a layer of 1 unit")
    return VType(1, logit=True, per_task=any(x.per_task for x in xs), scenario=any(x.scenario for x in xs))
