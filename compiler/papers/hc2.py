"""HC² (Hybrid Contrastive Constrained multi-scenario ad ranking, seed 000): spec-level pieces.

Two objectives on a shared-specific backbone, each part a separate argument (`specs/hc2_*.msd`):

- `generalized_contrastive(z, task, …)` on the scenario-shared representation (Eq. 4): label-aware coarse samples
  (`across=true`: positives are other scenarios' rows with the anchor's label, negatives those with the opposite
  label), fine-grained selection `fine=kmeans(…)` over a `memory_bank` of past representations, diffusion-noise
  negatives `noise=diffusion(…)` (Eq. 5–6) and reciprocal similarity weights `weights=node` (Eq. 7).
- `individual_contrastive(h, …)` on a per-scenario representation (Eq. 9): dropout-augmented positives,
  `negatives=[other_scenarios, cross_scenario]` (the second is the cross-scenario encoding of Eq. 8).

Eq. 10 is `loss += λ1 * generalized_contrastive(…)` and `loss += λ2 * individual_contrastive(…)`. The torch side
is `compiler/lower/hc2.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler.catalog import OBJECTIVES
from compiler.diagnostics import Reporter
from compiler.schema import BOOL, FLOAT, INT, REF, Param, call_or_none, category, enum, list_of

if TYPE_CHECKING:
    from compiler.ir import IR

FINE = category("hc2 fine-grained selection")
NOISE = category("hc2 negative noise")
FORM = Param("form", enum("log", "ratio"), "log",
             "`log`: InfoNCE's −log of the ratio (default); `ratio`: −ratio, as Eq. 4 / Eq. 9 are printed")
TEMPERATURE = Param("temperature", FLOAT, 0.2, "τ")
SIMILARITY = Param("similarity", enum("dot", "cosine"), "dot",
                   "z_i · z_j as printed, or the cosine (representations L2-normalized first)")
NEGATIVES = ("other_scenarios", "cross_scenario")
ANCHORS = Param("anchors", INT, 0,
                "rows drawn at random as anchors each step (0: every row): an unbiased estimate of the mean over "
                "anchors, at anchors / batch of the cost")


@FINE.register("kmeans", Param("clusters", INT, 64, "K of faiss k-means"),
               Param("refresh", INT, 100, "training steps between two k-means fits on the memory bank"),
               Param("iterations", INT, 20, "k-means iterations per fit"))
def kmeans():
    """Fine-grained selection (HC² §3.2.2): keep only candidates in the anchor's k-means cluster."""


@NOISE.register("diffusion", Param("steps", INT, 1000, "T, the length of the forward diffusion"),
                Param("beta_start", FLOAT, 1e-4, "β_1 of the linear variance schedule"),
                Param("beta_end", FLOAT, 0.02, "β_T of the linear variance schedule"))
def diffusion():
    """Diffusion-noise negatives (HC² Eq. 5–6): each negative's copy at a random step t of the forward process."""


def _positive(report: Reporter, data: dict, where: dict, spans: dict, names, strict: bool = True) -> None:
    for name in names:
        value = where[name]
        if value < 0 or (strict and value == 0):
            report.error("E0331", f"`{name}` must be {'positive' if strict else 'at least 0'}, got {value}",
                         spans.get(name, data["span"]), "out of range", f"`{name}`: give a value above 0")


def _two_scenarios(ir: IR, data: dict, report: Reporter) -> None:
    if len(ir.scenarios) < 2:
        report.error("E0332", f"`{data['kind']}` contrasts scenarios, but the spec has {len(ir.scenarios)}",
                     data["name_span"], "needs at least two scenarios",
                     "declare two or more scenarios, or remove this term")


def check_generalized(ir: IR, term: str, report: Reporter) -> None:
    """Ranges (E0331), two scenarios (E0332), and a memory bank that can hold the k-means clusters (E0330)."""
    data = ir.graph.nodes[term]
    p, spans = data["params"], data["spans"]
    _positive(report, data, p, spans, ("temperature",))
    _positive(report, data, p, spans, ("memory_bank", "anchors"), strict=False)
    if not 0 < p["floor"] <= 1:
        report.error("E0331", f"`floor` must be in (0, 1], got {p['floor']}", spans.get("floor", data["span"]),
                     "out of range", "the weights are 1 / max(similarity, floor): a floor in (0, 1] bounds them")
    fine, noise = p["fine"], p["noise"]
    if fine is not None:
        _positive(report, data, fine.params, fine.spans, ("clusters", "refresh", "iterations"))
        if p["memory_bank"] < fine.params["clusters"]:
            report.error("E0330", f"k-means with {fine.params['clusters']} clusters needs a memory bank of at "
                         f"least {fine.params['clusters']} entries, got {p['memory_bank']}",
                         spans.get("fine", data["span"]), "fit on the memory bank",
                         "set `memory_bank` to a few batches' worth of rows, e.g. `memory_bank=4096`")
    if noise is not None:
        _positive(report, data, noise.params, noise.spans, ("steps",))
        if not 0 < noise.params["beta_start"] <= noise.params["beta_end"] < 1:
            report.error("E0331", "the variance schedule needs 0 < beta_start ≤ beta_end < 1",
                         spans.get("noise", data["span"]), "β_t must lie in (0, 1)",
                         "e.g. `diffusion(steps=1000, beta_start=0.0001, beta_end=0.02)`")
    _two_scenarios(ir, data, report)


def check_individual(ir: IR, term: str, report: Reporter) -> None:
    """Ranges (E0331) and two scenarios (E0332)."""
    data = ir.graph.nodes[term]
    p, spans = data["params"], data["spans"]
    _positive(report, data, p, spans, ("temperature",))
    _positive(report, data, p, spans, ("anchors",), strict=False)
    if not 0 <= p["dropout"] < 1:
        report.error("E0331", f"`dropout` must be in [0, 1), got {p['dropout']}", spans.get("dropout", data["span"]),
                     "out of range", "the positive view drops this fraction of the block's inputs")
    _two_scenarios(ir, data, report)


@OBJECTIVES.register(
    "generalized_contrastive",
    Param("x", REF, doc="the scenario-shared representation z (Eq. 2)"),
    Param("task", REF, doc="the task whose labels make the label-aware samples"),
    Param("across", BOOL, True, "coarse-grained: positives and negatives come from other scenarios only"),
    Param("fine", call_or_none(FINE), None, "fine-grained selection of the candidates, e.g. `kmeans(64)`"),
    Param("memory_bank", INT, 0, "past representations kept as extra candidates (0: in-batch only)"),
    Param("noise", call_or_none(NOISE), None, "diffusion-noise negatives, e.g. `diffusion(steps=1000)`"),
    Param("weights", REF, None, "the node of context-feature embeddings e for the reciprocal weights (Eq. 7)"),
    Param("guard", enum("cosine", "clamp"), "cosine",
          "s = 1/max((1 + cos)/2, floor), or 1/max(e_i · e_j, floor) (Eq. 7 clamped)"),
    Param("floor", FLOAT, 0.05, "lower bound of the similarity in Eq. 7: weights are at most 1/floor"),
    SIMILARITY, TEMPERATURE, FORM, ANCHORS,
    roles={"x": "shared", "task": "task", "weights": "shared"}, check=check_generalized,
)
def generalized_contrastive():
    """HC²'s generalized contrastive loss on the scenario-shared representation (Eq. 4, 5–7)."""


@OBJECTIVES.register(
    "individual_contrastive",
    Param("x", REF, doc="the scenario-specific representation h (Eq. 3)"),
    Param("dropout", FLOAT, 0.1, "rate of the dropout that makes the positive view h̃"),
    Param("negatives", list_of(enum(*NEGATIVES), 1), list(NEGATIVES),
          "other scenarios' rows, and within-scenario rows encoded by another scenario's block (Eq. 8)"),
    SIMILARITY, TEMPERATURE, FORM, ANCHORS,
    roles={"x": "per_scenario"}, check=check_individual,
)
def individual_contrastive():
    """HC²'s individual contrastive loss on the scenario-specific representation (Eq. 8–9)."""
