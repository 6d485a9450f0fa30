"""MARIA (Tian et al., SIGIR 2023, "Multi-Scenario Ranking with Adaptive Feature Learning"): the spec-level blocks.

The model, one block per part so that each ablation of Table 3 is a spec edit:

    hb  = trigger_attention(seq_encoder(hist), trigger=xi)        # Eq. 3–6 (sequence encoder, trigger attention)
    q   = fields(hb, u, xi, c)                                     # Eq. 7 (u, xi, c: `embed(all, field=…)`, Eq. 2)
    qs  = feature_scaling(q, user=user_id, item=item_id, scenario=se)   # FS, Eq. 8–10
    qr  = feature_refine(qs, scenario=se, refiners=[1, 2, 1, 1])        # FR (+ GS), Eq. 11–13
    qc  = field_correlation(qs, dim=10)                                 # FCM, Eq. 14
    h   = scenario_moe(concat(qr, qc), scenario=se)                     # Eq. 15; NL, Eq. 16–17
    hf  = couple(per-scenario tower, shared tower, scenario=se)         # ST, Eq. 18–21

`fields(…)` gives a value whose type remembers the field boundaries (`FieldsType`), so the field-wise blocks
(`feature_scaling`, `feature_refine`, `field_correlation`) can check their per-field parameters at compile time.
The scenario embedding e_s is a `scenario_embed` node (its table has the scenario role). Lowerings are in
`compiler/lower/maria.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.blocks import block
from compiler.blocks.core import ACTIVATIONS, _vectors
from compiler.schema import FLOAT, INT, REF, Param, enum, list_of
from compiler.types import VType


@dataclass(frozen=True)
class FieldsType(VType):
    """A vector that is the concatenation of fields of sizes `fields` (Eq. 7's Q = [h_b ‖ u ‖ x_i ‖ t ‖ c])."""

    fields: tuple = ()

    def __str__(self) -> str:
        return f"{VType.__str__(self)} fields[{', '.join(map(str, self.fields))}]"


def _fields_of(ctx, x: VType, what: str) -> tuple:
    if not isinstance(x, FieldsType):
        ctx.fail(f"`{what}` reads the fields of Eq. 7, got {x}", "x", "not a `fields(…)` value",
                 "group the fields first: `q = fields(hb, u, xi, c)`", code="E0340")
    return x.fields


def _no_task(ctx, xs: list, what: str) -> None:
    if any(x.per_task for x in xs):
        ctx.fail(f"`{what}` reads values without a task axis", label="per task",
                 help="MARIA's feature learning and network layer come before the task heads")


def _scenario_vector(ctx, x: VType, param: str) -> None:
    if x.seq is not None or x.logit or x.per_task or not x.scenario:
        ctx.fail(f"`{param}` must be the scenario embedding, got {x}", param, "not a scenario embedding",
                 "give it a `scenario_embed(dim=…)` node")


@block("fields", Param("inputs", REF, variadic=True, doc="the field representations, in order"),
       inputs=("inputs",), replicate=())
def fields(ctx, p, xs):
    """MARIA Eq. 7: Q = [h_b ‖ u ‖ x_i ‖ t ‖ c], the concatenation of field vectors that remembers each field's
    size, for `feature_scaling`, `feature_refine` and `field_correlation`."""
    _vectors(ctx, xs, "fields")
    _no_task(ctx, xs, "fields")
    return FieldsType(sum(x.dim for x in xs), scenario=any(x.scenario for x in xs), fields=tuple(x.dim for x in xs))


@block(
    "seq_encoder",
    Param("x", REF),
    Param("layers", INT, 1, "stacked Transformer encoder layers"),
    Param("heads", INT, 2, "attention heads (must divide the item size)"),
    Param("ff", INT, 0, "feed-forward size (0: 4 × the item size)"),
    Param("dropout", FLOAT, 0.0, "dropout on attention weights and sub-layer outputs"),
    Param("positions", enum("learned", "none"), "learned", "position embeddings added to the items"),
    replicate=(),
)
def seq_encoder(ctx, p, xs):
    """MARIA Eq. 3: H_u = Trans(B_u), a post-norm Transformer encoder (Vaswani et al. 2017) over the behaviour
    sequence [B, L, d] → [B, L, d]; padded positions are masked out as keys."""
    x = xs[0]
    _no_task(ctx, xs, "seq_encoder")
    if x.seq is None:
        ctx.fail(f"`seq_encoder` reads a sequence, got {x}", "x", f"this is {x}",
                 "declare the feature with `pool=none`")
    ctx.positive(p, "layers", "heads")
    if x.dim % p["heads"]:
        ctx.fail(f"{p['heads']} heads do not divide the item size {x.dim}", "heads", "does not divide")
    return x


@block("trigger_attention", Param("x", REF), Param("trigger", REF, doc="the trigger t (recommendation: x_i)"),
       inputs=("x", "trigger"), replicate=())
def trigger_attention(ctx, p, xs):
    """MARIA Eq. 4–6: h_b = Σ_i α_i h_{x_i}, α = softmax_i(FC([t ‖ h_{x_i}])) over the non-padded positions."""
    x, t = xs
    _no_task(ctx, xs, "trigger_attention")
    if x.seq is None:
        ctx.fail(f"`trigger_attention` reads a sequence, got {x}", "x", f"this is {x}",
                 "give it a `seq_encoder` node or a feature with `pool=none`")
    _vectors(ctx, [t], "trigger_attention")
    return VType(x.dim, scenario=x.scenario or t.scenario)


@block(
    "feature_scaling",
    Param("x", REF),
    Param("user", REF, doc="e_u: the user id feature"),
    Param("item", REF, doc="e_{x_i}: the target item id feature"),
    Param("scenario", REF, doc="e_s: a `scenario_embed` node"),
    Param("units", list_of(INT), [], "hidden sizes of the FCN before its N_Q outputs"),
    Param("lam", FLOAT, 2.0, "λ: the largest factor (above 1 magnifies a feature)"),
    inputs=("x", "user", "item", "scenario"), replicate=(),
)
def feature_scaling(ctx, p, xs):
    """MARIA Eq. 8–10: α = λ·sigmoid(FCN([freeze(Q) ‖ e_u ‖ e_{x_i} ‖ e_s])) ∈ R^{N_Q}, one factor per feature
    element of Q (each feature embedding of an `embed` field, or a whole other field); Q_S = [α_1 Q_1 ‖ …]."""
    x, user, item, scenario = xs
    _fields_of(ctx, x, "feature_scaling")
    _vectors(ctx, [user, item], "feature_scaling")
    _scenario_vector(ctx, scenario, "scenario")
    ctx.positive(p, "units")
    if p["lam"] <= 0:
        ctx.fail("`lam` must be positive", "lam", "not positive")
    return FieldsType(x.dim, scenario=True, fields=x.fields)


@block(
    "feature_refine",
    Param("x", REF),
    Param("scenario", REF, doc="e_s: a `scenario_embed` node"),
    Param("refiners", list_of(INT, 1), [1], "refiners per field, in field order (one entry: every field)"),
    Param("ratio", FLOAT, 0.5, "each refiner's output size as a fraction of its field's size"),
    Param("units", list_of(INT), [], "hidden sizes of the selector FCN"),
    Param("temperature", FLOAT, 0.01, "Gumbel-softmax temperature τ"),
    Param("selector", enum("gumbel", "sigmoid"), "gumbel", "`sigmoid`: β without the Gumbel softmax (w/o GS)"),
    Param("activation", enum(*ACTIVATIONS), "relu", "refiner activation"),
    inputs=("x", "scenario"), replicate=(),
)
def feature_refine(ctx, p, xs):
    """MARIA Eq. 11–13: per field f, β = GS(sigmoid(FCN([f̂ ‖ e_s]))) ∈ R^{N_f} and f̃ = [β_1 FC_1(f̂) ‖ … ‖
    β_{N_f} FC_{N_f}(f̂)]; Q_R = [h̃_b ‖ ũ ‖ x̃_i ‖ t̃ ‖ c̃]."""
    x, scenario = xs
    sizes = _fields_of(ctx, x, "feature_refine")
    _scenario_vector(ctx, scenario, "scenario")
    ctx.positive(p, "refiners", "units")
    counts = refiner_counts(p, len(sizes))
    if counts is None:
        ctx.fail(f"`refiners` lists {len(p['refiners'])} counts for {len(sizes)} fields", "refiners",
                 f"{len(sizes)} fields", "give one count per field, or a single count for every field",
                 code="E0341")
    if not 0 < p["ratio"] <= 1 or p["temperature"] <= 0:
        ctx.fail("`ratio` must be in (0, 1] and `temperature` positive",
                 "ratio" if not 0 < p["ratio"] <= 1 else "temperature", "out of range")
    out = tuple(n * refined_size(d, p["ratio"]) for n, d in zip(counts, sizes))
    return FieldsType(sum(out), scenario=True, fields=out)


def refiner_counts(p: dict, fields: int) -> list[int] | None:
    """N_f for every field: `refiners` as given, one count broadcast to every field, or None on a mismatch."""
    counts = p["refiners"] * fields if len(p["refiners"]) == 1 else p["refiners"]
    return counts if len(counts) == fields else None


def refined_size(field: int, ratio: float) -> int:
    """Each refiner's output size for a field of `field` units (the paper compresses by 50–85 %, §4.1)."""
    return max(1, round(ratio * field))


@block("field_correlation", Param("x", REF), Param("dim", INT, 10, "d_r: the projection size"), replicate=())
def field_correlation(ctx, p, xs):
    """MARIA Eq. 14: project every field to d_r (one FC each), then the dot product of every pair of fields,
    Q_C = [h̄_b·ū ‖ h̄_b·x̄_i ‖ … ‖ t̄·c̄] ∈ R^{F(F−1)/2}."""
    x = xs[0]
    sizes = _fields_of(ctx, x, "field_correlation")
    ctx.positive(p, "dim")
    if len(sizes) < 2:
        ctx.fail("`field_correlation` needs at least two fields", "x", "one field", code="E0341")
    return VType(len(sizes) * (len(sizes) - 1) // 2, scenario=x.scenario)


@block(
    "scenario_moe",
    Param("x", REF),
    Param("scenario", REF, doc="e_s: a `scenario_embed` node"),
    Param("experts", INT, 4, "N_e: shared experts"),
    Param("units", list_of(INT, 1), doc="layer sizes of every expert MLP"),
    Param("activation", enum(*ACTIVATIONS), "relu"),
    inputs=("x", "scenario"), replicate=(),
)
def scenario_moe(ctx, p, xs):
    """MARIA Eq. 16–17: h_N = Σ_j g_j f_j(Q_f) with g = softmax(W_g e_s): shared experts, a gate on the scenario
    embedding (not on the input, unlike `moe`)."""
    x, scenario = xs
    _vectors(ctx, [x], "scenario_moe")
    _no_task(ctx, xs, "scenario_moe")
    _scenario_vector(ctx, scenario, "scenario")
    ctx.positive(p, "experts", "units")
    return VType(p["units"][-1], scenario=True)


@block("couple", Param("specific", REF, doc="h_sp^s: the scenario's tower"), Param("shared", REF, doc="h_sh"),
       Param("scenario", REF, doc="e_s: a `scenario_embed` node"),
       inputs=("specific", "shared", "scenario"), replicate=())
def couple(ctx, p, xs):
    """MARIA Eq. 18 and 21: h_f = h_sp^s + α_s h_sh with α_s = 1/(S−1) Σ_{j≠s} e_s·e_{s_j}, the mean similarity of
    the row's scenario embedding to the other scenarios'."""
    specific, shared, scenario = xs
    _vectors(ctx, [specific, shared], "couple")
    _no_task(ctx, xs, "couple")
    _scenario_vector(ctx, scenario, "scenario")
    if specific.dim != shared.dim:
        ctx.fail(f"the towers' sizes differ: {specific.dim} and {shared.dim}", "shared", "sizes differ",
                 "end both towers with the same number of units")
    if ctx.scenarios < 2:
        ctx.fail("α_s compares a scenario with the others: `couple` needs at least two scenarios", "scenario",
                 "one scenario", "use the towers without `couple`", code="E0342")
    return VType(specific.dim, scenario=True)
