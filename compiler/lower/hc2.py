"""HC² (seed 000) objectives: the generalized (Eq. 4–7) and individual (Eq. 8–9) contrastive losses.

The equations are plain tensor functions (tested on hand-computed values); the lowerings wire them into the train
program. Choices where the paper is ambiguous or cannot be taken literally:

- Form (Eq. 4, 9): printed as −E[ratio]; the InfoNCE the text adapts is −E[log ratio]. `form=log` (default) is
  InfoNCE, `form=ratio` the printed one. Both are computed from log-space terms (logsumexp), so large logits
  neither overflow nor divide by zero.
- Several positives (Eq. 4 has one): each label-aware positive p of anchor i is a term with the denominator
  s_ip·e^{z_i·z_p/τ} + Σ_n s_in·e^{z_i·z_n/τ} (its own pair plus every negative); an anchor's terms are averaged,
  then the anchors that have at least one positive (the others have no term). A row's weight (scenario weight ×
  row weight) scales its anchor term, as in every loss.
- Candidates: the batch's rows (with gradient) and the memory bank's entries (past representations, no gradient).
- Fine-grained selection: "K-means in Faiss … in an offline way" is a faiss k-means fit on the memory bank every
  `refresh` training steps (seeded by the parameter seed and the step, so a resumed run refits identically);
  a candidate is kept when it falls in the anchor's cluster (nearest centroid). Before the first fit every
  candidate is kept.
- Diffusion noise (Eq. 5–6): Eq. 6 prints √α_t where the closed form of Eq. 5 needs the cumulative
  ᾱ_t = Π_{s≤t} α_s; we use ᾱ_t. β_t is linear from `beta_start` to `beta_end` over T steps (DDPM's schedule,
  the paper's ref. [14]); each candidate gets one noised copy at a step t drawn uniformly from 1…T, which is an
  extra negative wherever the candidate is one ("generate new negative samples"), with the same weight s.
- Reciprocal weights (Eq. 7): s_ij = 1/(e_i·e_j) is unbounded near 0 and negative when the dot product is, which
  would make log s undefined. Guard (`guard=cosine`, default): s_ij = 1/max((1 + cos(e_i, e_j))/2, floor), the
  same decreasing map of the similarity on a bounded, positive range [1, 1/floor]; `guard=clamp` keeps the
  printed dot product and clamps it from below: 1/max(e_i·e_j, floor). The weights carry no gradient: they
  re-weight pairs and follow the embeddings as they train ("dynamically updated"), but the loss does not move
  the embeddings through them.
- Dropout positives (§3.3.1, "a dropout module in each layer of the scenario-specific component"): the positive
  view h̃ is the per-scenario node evaluated a second time (same parameters, the row's scenario) on inputs
  passed through dropout(`dropout`); a block with its own dropout (`mlp(…, dropout=q)`) draws fresh masks in
  that pass, so every layer is perturbed. A block with batch normalization updates its statistics in both passes.
- Negatives of Eq. 9: `other_scenarios` are the batch's rows of another scenario k' (their own h^{k'});
  `cross_scenario` (Eq. 8) are the anchor's within-scenario batch rows encoded by every other scenario's block,
  h^{(k')} = g^{(k')}(z), read from the node's all-scenario view (`o.b.value(node, "all")`).
- A per-task value ([T, B, d], e.g. MMoE's per-task mixtures) is compared as the concatenation of its task slices.
- Cost: both losses are dense in (anchors × candidates): with the paper's batch of 2048 and a 4096-row bank the
  generalized loss compares 2048 × 6144 pairs (twice with noise), ≈ 2.8 s a step on 2 CPU cores against 6 ms for
  the backbone. `anchors=A` draws A rows at random as anchors each step (candidates stay every row and the
  bank), an unbiased estimate of the mean over anchors at A / B of the cost; 0 (default) keeps every row.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from compiler.lower.context import BLOCKS, NodeCtx, Value, dispatch, lowers_objective
from compiler.lower.objectives import ObjectiveCtx


# -- the equations, on tensors ------------------------------------------------------------------------------------
def alpha_bar(steps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """ᾱ_t = Π_{s≤t} (1 − β_s) for t = 1…T with β linear in [beta_start, beta_end] (Eq. 5–6), float64 [T]."""
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, 0)


def diffuse(z: torch.Tensor, alphas_bar: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 6 with the cumulative ᾱ_t: z^(t) = √ᾱ_t · z + √(1 − ᾱ_t) · m; z, noise [N, d], t [N] in 1…T."""
    a = alphas_bar.to(z)[t - 1].unsqueeze(-1)
    return a.sqrt() * z + (1 - a).sqrt() * noise


def diffusion_negatives(z: torch.Tensor, alphas_bar: torch.Tensor) -> torch.Tensor:
    """One noised copy of each row of z at a step drawn uniformly from 1…T (torch's global RNG)."""
    t = torch.randint(1, alphas_bar.shape[0] + 1, (z.shape[0],), device=z.device)
    return diffuse(z, alphas_bar, t, torch.randn_like(z))


def reciprocal_weights(e_a: torch.Tensor, e_c: torch.Tensor, guard: str, floor: float) -> torch.Tensor:
    """s_ij (Eq. 7, guarded; see the module docstring) for anchors e_a [B, c] and candidates e_c [N, c]: [B, N]."""
    e_a, e_c = e_a.detach(), e_c.detach()
    if guard == "cosine":
        sim = (F.normalize(e_a, dim=-1) @ F.normalize(e_c, dim=-1).T + 1) / 2
    elif guard == "clamp":
        sim = e_a @ e_c.T
    else:
        raise ValueError(f"unknown guard `{guard}`")
    return 1 / sim.clamp_min(floor)


def label_aware_masks(y_a, k_a, y_c, k_c, across: bool, itself: torch.Tensor):
    """Coarse-grained label-aware samples (§3.2.2): (positives, negatives) [B, N] for anchors (labels y_a,
    scenarios k_a) and candidates (y_c, k_c). Same label → positive, opposite → negative; `across`: only
    candidates from another scenario, else any candidate but the anchor itself (`itself` [B, N])."""
    same = y_a[:, None] == y_c[None, :]
    allowed = k_a[:, None] != k_c[None, :] if across else ~itself
    return same & allowed, ~same & allowed


def same_cluster(z_a: torch.Tensor, z_c: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Fine-grained selection: [B, N], true where anchor and candidate have the same nearest centroid."""
    return torch.cdist(z_a, centroids).argmin(-1)[:, None] == torch.cdist(z_c, centroids).argmin(-1)[None, :]


def logits(a: torch.Tensor, c: torch.Tensor, similarity: str, tau: float) -> torch.Tensor:
    """a·cᵀ/τ, on L2-normalized rows for `cosine`."""
    if similarity == "cosine":
        a, c = F.normalize(a, dim=-1), F.normalize(c, dim=-1)
    elif similarity != "dot":
        raise ValueError(f"unknown similarity `{similarity}`")
    return a @ c.transpose(-1, -2) / tau


def masked_logsumexp(x: torch.Tensor, mask: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
    """log Σ_{mask} e^x over the last axis; the dtype's lowest value (e^· = 0) where nothing is selected, with
    neither a NaN value nor a NaN gradient. Masked entries enter `exp` as 0, not as a huge negative number
    (`exp` of those takes the slow underflow path: ≈ 15× slower on CPU)."""
    lowest = torch.finfo(x.dtype).min
    some = mask.any(-1, keepdim=True)
    top = torch.where(some, torch.where(mask, x, lowest).amax(-1, keepdim=True), 0).detach()
    total = (torch.exp(torch.where(mask, x - top, 0)) * mask).sum(-1, keepdim=True)
    out = torch.where(some, torch.log(total.clamp_min(torch.finfo(x.dtype).tiny)) + top, lowest)
    return out if keepdim else out.squeeze(-1)


def info_nce(pos: torch.Tensor, neg_lse: torch.Tensor, form: str) -> torch.Tensor:
    """With p = log(weighted positive term) and n = log Σ(weighted negative terms): −log(e^p / (e^p + e^n))
    (`log`) or −e^p / (e^p + e^n) (`ratio`, as printed in Eq. 4 / 9)."""
    denom = torch.logaddexp(pos, neg_lse)
    if form == "log":
        return denom - pos
    if form == "ratio":
        return -torch.exp(pos - denom)
    raise ValueError(f"unknown form `{form}`")


def generalized_per_anchor(z, cand, pos, neg, log_w, tau: float, similarity: str, form: str, noised=None):
    """Eq. 4 per anchor: z [B, d], candidates [N, d], masks [B, N], log s [B, N], diffusion copies of the
    candidates [N, d] (extra negatives where `neg`). Returns (loss [B], has a positive [B])."""
    pair = logits(z, cand, similarity, tau) + log_w
    negs, masks = [pair], [neg]
    if noised is not None:
        negs.append(logits(z, noised, similarity, tau) + log_w)
        masks.append(neg)
    neg_lse = masked_logsumexp(torch.cat(negs, -1), torch.cat(masks, -1), keepdim=True)
    per_pair = torch.where(pos, info_nce(pair, neg_lse, form), torch.zeros_like(pair))
    count = pos.sum(-1)
    return per_pair.sum(-1) / count.clamp_min(1), count > 0


def pick_anchors(batch: int, anchors: int, device) -> torch.Tensor | None:
    """`anchors` distinct rows of a batch drawn at random (torch's global RNG), sorted; None when every row is an
    anchor (`anchors` is 0 or at least the batch)."""
    if not anchors or anchors >= batch:
        return None
    return torch.randperm(batch, device=device)[:anchors].sort().values


def spread(values: torch.Tensor, rows: torch.Tensor | None, batch: int) -> torch.Tensor:
    """Per-anchor values [A] back on the batch's rows [B] (0 / False where a row was not an anchor)."""
    if rows is None:
        return values
    return values.new_zeros(batch).index_put((rows,), values)


def mean_over(loss: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Σ loss / #keep (loss is 0 where not kept); 0 when nothing is kept."""
    return loss.sum() / keep.sum().clamp_min(1)


def individual_logits(h, h_aug, scenario, h_all, negatives: tuple, similarity: str, tau: float, rows=None):
    """Eq. 9's terms for the anchor rows (`rows` [A], default every row): positive logit h·h̃/τ [A], negative
    logits [A, M] and their mask. `other_scenarios`: every batch row j of another scenario (h_j under its own
    scenario); `cross_scenario` (Eq. 8): every within-scenario row j ≠ i under every other scenario k',
    h_all [S, B, d][k', j]."""
    B = h.shape[0]
    rows = torch.arange(B, device=h.device) if rows is None else rows
    a, k = h[rows], scenario[rows]
    pos = logits(a.unsqueeze(-2), h_aug[rows].unsqueeze(-2), similarity, tau).reshape(-1)
    same = k[:, None] == scenario[None, :]  # [A, B]
    negs, masks = [], []
    for kind in negatives:
        if kind == "other_scenarios":
            negs.append(logits(a, h, similarity, tau))
            masks.append(~same)
        elif kind == "cross_scenario":
            S, A = h_all.shape[0], a.shape[0]
            negs.append(logits(a.unsqueeze(0), h_all, similarity, tau).transpose(0, 1).reshape(A, S * B))
            others = torch.arange(S, device=h.device)[None, :] != k[:, None]  # [A, S]
            within = same & (rows[:, None] != torch.arange(B, device=h.device)[None, :])  # [A, B]
            masks.append((others[:, :, None] & within[:, None, :]).reshape(A, S * B))
        else:
            raise ValueError(f"unknown negatives `{kind}`")
    return pos, torch.cat(negs, -1), torch.cat(masks, -1)


def individual_loss(h, h_aug, scenario, h_all, negatives: tuple, similarity: str, tau: float, form: str,
                    anchors: int = 0):
    """Eq. 9 per row [B] and which rows are anchors [B] (every row unless `anchors`; see `individual_logits`)."""
    B = h.shape[0]
    rows = pick_anchors(B, anchors, h.device)
    pos, neg, mask = individual_logits(h, h_aug, scenario, h_all, negatives, similarity, tau, rows)
    loss = info_nce(pos, masked_logsumexp(neg, mask), form)
    chosen = torch.ones(B, dtype=torch.bool, device=h.device) if rows is None else spread(
        torch.ones_like(loss, dtype=torch.bool), rows, B)
    return spread(loss, rows, B), chosen


def tasks_as_features(x: torch.Tensor, task_axis: int) -> torch.Tensor:
    """[…, T, …, B, d] → […, B, T·d]: a per-task value's task slices side by side."""
    return x.movedim(task_axis, -2).flatten(-2)


# -- state: the memory bank and the k-means centroids --------------------------------------------------------------
class GeneralizedContrastive(nn.Module):
    """Eq. 4 with its samples for one objective term, and the state it keeps across steps.

    Persistent buffers (saved in checkpoints, so a resumed run continues identically): the memory bank, a ring
    buffer of the last `memory_bank` rows' (z, label, scenario, e) written after each call (`bank_ptr` is the next
    slot, `bank_count` the filled slots), the number of calls `steps`, and the k-means `centroids` (`fitted`
    once the first fit ran). `alpha_bar` (the diffusion schedule) is a constant, not saved.
    """

    def __init__(self, p: dict, dim: int, context_dim: int, seed: int):
        super().__init__()
        self.across, self.tau, self.form, self.similarity = p["across"], p["temperature"], p["form"], p["similarity"]
        self.guard, self.floor, self.seed, self.anchors = p["guard"], p["floor"], seed, p["anchors"]
        self.fine = p["fine"].params if p["fine"] is not None else None
        size, clusters = p["memory_bank"], self.fine["clusters"] if self.fine else 0
        for name, value in (("bank_z", torch.zeros(size, dim)), ("bank_e", torch.zeros(size, context_dim)),
                            ("bank_y", torch.zeros(size)), ("bank_k", torch.zeros(size, dtype=torch.long)),
                            ("bank_ptr", torch.zeros((), dtype=torch.long)),
                            ("bank_count", torch.zeros((), dtype=torch.long)),
                            ("steps", torch.zeros((), dtype=torch.long)),
                            ("centroids", torch.zeros(clusters, dim)), ("fitted", torch.zeros((), dtype=torch.bool))):
            self.register_buffer(name, value)
        noise = p["noise"].params if p["noise"] is not None else None
        schedule = alpha_bar(noise["steps"], noise["beta_start"], noise["beta_end"]) if noise else None
        self.register_buffer("alpha_bar", schedule, persistent=False)

    def forward(self, z, y, scenario, e=None):
        """(loss per anchor [B], anchor has a positive [B]) for the batch's z [B, d], labels, scenarios and
        context embeddings e [B, c] (None: unweighted); then the batch enters the memory bank."""
        B, size = z.shape[0], self.bank_z.shape[0]
        rows = pick_anchors(B, self.anchors, z.device)
        at = (lambda t: t) if rows is None else (lambda t: t[rows])
        cand = torch.cat([z, self.bank_z])
        valid = torch.cat([torch.ones(B, dtype=torch.bool, device=z.device),
                           torch.arange(size, device=z.device) < self.bank_count])
        itself = at(torch.eye(B, B + size, dtype=torch.bool, device=z.device))
        pos, neg = label_aware_masks(at(y), at(scenario), torch.cat([y, self.bank_y]),
                                     torch.cat([scenario, self.bank_k]), self.across, itself)
        keep = valid[None, :]
        if self.fine is not None and bool(self.fitted):
            keep = keep & same_cluster(at(z).detach(), cand.detach(), self.centroids)
        log_w = torch.zeros_like(pos, dtype=z.dtype) if e is None else torch.log(
            reciprocal_weights(at(e), torch.cat([e, self.bank_e]), self.guard, self.floor))
        noised = None if self.alpha_bar is None else diffusion_negatives(cand, self.alpha_bar)
        loss, has = generalized_per_anchor(at(z), cand, pos & keep, neg & keep, log_w, self.tau, self.similarity,
                                           self.form, noised)
        self.remember(z, y, scenario, e)
        return spread(loss, rows, B), spread(has, rows, B)

    @torch.no_grad()
    def remember(self, z, y, scenario, e) -> None:
        """Write the batch into the ring buffer (its last `memory_bank` rows when larger), count the step, and
        refit k-means every `refresh` steps."""
        self.steps += 1
        size = self.bank_z.shape[0]
        if size:
            n = min(z.shape[0], size)
            slots = (self.bank_ptr + torch.arange(n, device=z.device)) % size
            self.bank_z[slots] = z[-n:].detach().to(self.bank_z)
            self.bank_y[slots] = y[-n:].to(self.bank_y)
            self.bank_k[slots] = scenario[-n:]
            if e is not None:
                self.bank_e[slots] = e[-n:].detach().to(self.bank_e)
            self.bank_ptr.copy_((self.bank_ptr + n) % size)
            self.bank_count.clamp_(max=size - n).add_(n)
        if self.fine is not None and int(self.steps) % self.fine["refresh"] == 0:
            self.fit()

    @torch.no_grad()
    def fit(self) -> None:
        """faiss k-means on the bank's filled rows, seeded by (parameter seed, step); skipped until the bank holds
        at least `clusters` rows."""
        count, k = int(self.bank_count), self.fine["clusters"]
        if count < k:
            return
        import faiss  # only training with fine-grained selection needs it

        data = self.bank_z[:count].float().cpu().contiguous().numpy()
        km = faiss.Kmeans(data.shape[1], k, niter=self.fine["iterations"], seed=self.seed + int(self.steps),
                          min_points_per_centroid=1, verbose=False)
        km.train(data)
        self.centroids.copy_(torch.from_numpy(km.centroids))
        self.fitted.fill_(True)


# -- lowerings -----------------------------------------------------------------------------------------------------
def _term(o: ObjectiveCtx, p: dict) -> str:
    """The objective term whose bound parameters are `p` (names this term's state in `Params`)."""
    g = o.b.ir.graph
    return next(t for t in o.b.ir.nodes("objective") if g.nodes[t].get("params") is p)


def _vectors(o: ObjectiveCtx, v: Value):
    """A value's rows as vectors: [B, d] (rows mode) or [S, B, d] (all mode), task slices side by side."""
    return o.call(tasks_as_features, v.node, int(v.sc)) if v.task else v.node


def _width(o: ObjectiveCtx, node: str) -> int:
    t = o.b.ir.graph.nodes[node]["type"]
    return t.dim * (o.b.T if t.per_task else 1)


@lowers_objective("generalized_contrastive")
def generalized_contrastive(o: ObjectiveCtx, p: dict):
    """λ1's term of Eq. 10: the generalized contrastive loss (Eq. 4–7) on the shared node `x`, anchors averaged."""
    x, weights = p["x"].name, p["weights"]
    e = _vectors(o, o.b.value(weights.name)) if weights is not None else None
    state = o.b.params.module(_term(o, p), "contrast", lambda: GeneralizedContrastive(
        p, _width(o, x), _width(o, weights.name) if weights is not None else 0, o.b.params.seed))
    out = o.b.module(state, _vectors(o, o.b.value(x)), o.label(p["task"].name), o.b.scenario, e)
    loss, has = o.call(operator.getitem, out, 0), o.call(operator.getitem, out, 1)
    return o.call(mean_over, o.weighted(loss), has)


def _dropout_view(o: ObjectiveCtx, term: str, node: str, rate: float) -> Value:
    """The node evaluated again on its inputs passed through dropout(rate): the positive view h̃ (§3.3.1)."""
    b = o.b
    drop = b.params.module(term, "dropout", lambda: nn.Dropout(rate))
    inputs = [b.value(i) for i in b.ir.graph.nodes[node]["inputs"]]
    dropped = [Value(b.module(drop, v.node), v.sc, v.task, v.own) for v in inputs]
    return dispatch(BLOCKS, "block", b.ir.graph.nodes[node]["kind"])(NodeCtx(b, node, "rows"), dropped)


@lowers_objective("individual_contrastive")
def individual_contrastive(o: ObjectiveCtx, p: dict):
    """λ2's term of Eq. 10: the individual contrastive loss (Eq. 8–9) on the per-scenario node `x`, rows
    averaged."""
    node, negatives = p["x"].name, tuple(p["negatives"])
    h = _vectors(o, o.b.value(node))
    h_aug = _vectors(o, _dropout_view(o, _term(o, p), node, p["dropout"]))
    h_all = _vectors(o, o.b.value(node, "all")) if "cross_scenario" in negatives else None
    out = o.call(individual_loss, h, h_aug, o.b.scenario, h_all, negatives, p["similarity"], p["temperature"],
                 p["form"], p["anchors"])
    loss, chosen = o.call(operator.getitem, out, 0), o.call(operator.getitem, out, 1)
    return o.call(mean_over, o.weighted(loss), chosen)
