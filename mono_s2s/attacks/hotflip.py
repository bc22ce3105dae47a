"""HotFlip as a per-sample trigger attack (Ebrahimi et al., 2018, "HotFlip: White-Box Adversarial Examples").

TextAttack decomposition:

- goal: raise the objective (mean token NLL of the reference summary), see ``common.Objective``;
- transformation: replace one token of an ``m``-token trigger appended to the
  source (just before ``</s>``) by a token of ``candidate_vocabulary``;
- search: first-order (gradient) ranking of each position's flips; from each
  beam state, ``hotflip_proposals`` flips drawn from the top ``hotflip_topk`` of
  every position are re-ranked by the true objective; beam search of width
  ``hotflip_beam``, a fixed budget of ``hotflip_iters`` iterations from each of
  ``hotflip_restarts`` starts; the best trigger over all of them is kept.

Departures from the paper:

- HotFlip flips characters/words *inside* the input; here only an appended
  trigger changes (as in the seed notebook), so the source text itself is
  intact and the attack is a per-sample trigger, comparable with the universal one.
- The paper takes the single best first-order flip. The first-order score is
  only a linear estimate, and on these models a poor one (Spearman correlation
  0.1-0.3 with the true change of single flips): scoring only each position's
  3 best flips lost to a search that re-draws random tokens with the same
  queries (0.42 against 0.54 nats on a trained d_model-32 model). So the
  gradient is used as a *filter*, as GCG does (Zou et al., 2023, "Universal
  and Transferable Adversarial Attacks on Aligned Language Models"): the flips
  scored are drawn uniformly from each position's top ``hotflip_topk`` (100),
  which beat the random re-draw search on 8 of 8 samples on that model (0.60
  against 0.45) and on a d_model-64 baseline of the default size (0.56 against 0.40).
  Top-k per position, not over all positions pooled, keeps one position with
  large gradients from taking every candidate.
- No early stop (issue 12): round 1 stopped at the first iteration where no
  candidate raised the NLL, after 1-3 iterations and 26-31 of 166 queries.
  Now a step that does not improve perturbs the best state (one random
  position re-drawn) and the search goes on until its budget is spent; the
  best trigger seen is what the record reports, so the loss per iteration
  (best so far) never decreases.
- Restart 0 starts from the neutral trigger ("the the ..."), the others from
  random candidate tokens drawn per sample (``attacks.seed`` and the sample id:
  the same starts for every model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from mono_s2s.attacks.common import AttackRecord, Objective, sample_rng
from mono_s2s.attacks.engine import Grad, Score, Search, flat, per_budget, run_all
from mono_s2s.attacks.search import fresh_states, keep_best, top_flips


def neutral_token(tokenizer, candidates: Sequence[int]) -> int:
    """The fixed start token of every trigger: "the" when it is one candidate token, else the first candidate."""
    for text in ("▁the", "the", " the"):
        tid = tokenizer.convert_tokens_to_ids(text)
        if isinstance(tid, int) and tid in candidates:
            return tid
    again = tokenizer(" the", add_special_tokens=False)["input_ids"]
    if len(again) == 1 and again[0] in candidates:
        return again[0]
    return candidates[0]


def first_order_scores(grad: torch.Tensor, current: Sequence[int], emb: torch.Tensor,
                       candidates: torch.Tensor) -> torch.Tensor:
    """HotFlip's linear estimate of the NLL change of every flip: ``(e_w - e_i) . grad_i``.

    ``grad`` (m, d_model) is the gradient at the trigger positions; returns
    (m, V_cand). Flips to the token already there score ``-inf``.
    """
    cand_emb = emb[candidates].to(grad.dtype)  # (V_cand, d_model)
    cur_emb = emb[torch.as_tensor(list(current), device=emb.device)].to(grad.dtype)  # (m, d_model)
    scores = grad @ cand_emb.T - (grad * cur_emb).sum(-1, keepdim=True)  # (m, V_cand)
    same = candidates.unsqueeze(0) == torch.as_tensor(list(current), device=candidates.device).unsqueeze(1)
    return scores.masked_fill(same, float("-inf"))


@dataclass
class HotFlipExtra:
    """What a HotFlip record keeps besides the common fields (the guide's per-iteration keys come from here)."""

    trigger_ids: list[int]
    control_trigger_ids: list[int]  # the random control: a trigger of the same length, drawn before the search
    iterations: int
    restarts: int
    initial_trigger_nll: float
    loss_improvement: float  # final - initial trigger NLL: the gain of the search itself
    loss_per_iteration: list[float]  # best NLL so far after each iteration, all restarts in order
    grad_norms_per_iteration: list[float]
    tokens_changed_per_iteration: list[int]
    token_evolution: list[str]  # the best trigger so far: the initial one, then after each iteration
    avg_grad_mag_per_position: list[float]
    avg_grad_norm: float
    max_grad_norm: float
    min_grad_norm: float
    std_grad_norm: float
    avg_tokens_changed: float


def random_trigger(rng, candidates: Sequence[int], m: int) -> tuple[int, ...]:
    """``m`` candidate tokens drawn uniformly (with replacement): the random control and a random restart."""
    return tuple(candidates[int(i)] for i in rng.integers(len(candidates), size=m))


def hotflip_search(objective: Objective, sample, args, model_slug: str, candidates: Sequence[int],
                   cand_t: torch.Tensor, emb: torch.Tensor, initial_token: int) -> Search:
    """The HotFlip search on one sample (a generator for :mod:`mono_s2s.attacks.engine`); returns its record.

    Its randomness is the sample's own (:func:`sample_rng`), so the record is the same whatever else is
    searched beside it. The trigger length is ``attacks.hotflip_trigger_len`` (the record's ``budget``).
    """
    m, k, width, n_prop = args.hotflip_trigger_len, args.hotflip_topk, args.hotflip_beam, args.hotflip_proposals
    rng = sample_rng(args.seed, sample.id)
    initial = (initial_token,) * m
    # Drawn first, so every model gets the same control (the search's later draws depend on the model).
    control = random_trigger(rng, candidates, m)
    labels = objective.label_ids(sample.summary)
    # Original = the clean input the model sees without any attack (not truncated for a trigger).
    (original,) = yield Score([objective.source_ids(sample.source)], [labels])
    spent = 1
    src = objective.source_ids(sample.source, room=m)
    cache: dict[tuple[int, ...], float] = {}
    best: tuple[float, tuple[int, ...]] = (-math.inf, initial)
    initial_nll: float | None = None
    losses, grad_norms, changed, pos_mags, evolution = [], [], [], [], [objective.decode(initial)]
    for restart in range(args.hotflip_restarts):
        beam = [(math.nan, initial if restart == 0 else random_trigger(rng, candidates, m))]
        for _ in range(args.hotflip_iters):
            # One batched gradient pass scores every beam state and gives its trigger gradient.
            nll, grads = yield Grad([src + list(t) for _, t in beam], [labels] * len(beam))
            spent += len(beam)
            beam = [(v, t) for v, (_, t) in zip(nll, beam)]
            cache.update((t, v) for v, t in beam)
            if initial_nll is None:
                initial_nll = beam[0][0]
            g = [gr[len(src):len(src) + m] for gr in grads]  # per beam state (m, d_model): the trigger's gradient
            # Each beam state's proposals: ``hotflip_proposals`` flips drawn uniformly from the top-k of
            # every position (GCG's sampling), never a trigger scored before (a tabu list).
            proposals = []
            for b, (_, trig) in enumerate(beam):
                flips = [p for p in top_flips(first_order_scores(g[b], trig, emb, cand_t), trig, candidates, k)
                         if p not in cache]
                if len(flips) > n_prop:
                    flips = [flips[int(i)] for i in rng.choice(len(flips), size=n_prop, replace=False)]
                proposals += flips
            fresh = fresh_states(beam, proposals)
            values = (yield Score([src + list(t) for t in fresh], [labels] * len(fresh))) if fresh else []
            spent += len(fresh)
            cache.update(zip(fresh, values))
            beam, improved = keep_best(beam, list(zip(values, fresh)), width)
            if beam[0][0] > best[0]:
                best = beam[0]
            if not improved:
                # No candidate beats the states it came from: perturb the best one (a random position
                # re-drawn) and go on, instead of stopping (the round-1 search stopped here).
                kicked = list(beam[0][1])
                kicked[int(rng.integers(m))] = candidates[int(rng.integers(len(candidates)))]
                beam = [(math.nan, tuple(kicked))] + beam[1:]
            losses.append(best[0])
            grad_norms.append(float(g[0].norm()))
            pos_mags.append(g[0].norm(dim=-1).tolist())
            changed.append(sum(a != b for a, b in zip(best[1], initial)))
            evolution.append(objective.decode(best[1]))
    final_nll, trigger = best
    (control_nll,) = yield Score([src + list(control)], [labels])  # the control is not part of the queries
    gn = torch.tensor(grad_norms, dtype=torch.float64)
    extra = HotFlipExtra(
        trigger_ids=list(trigger), control_trigger_ids=list(control), iterations=len(losses),
        restarts=args.hotflip_restarts, initial_trigger_nll=initial_nll, loss_improvement=final_nll - initial_nll,
        loss_per_iteration=losses, grad_norms_per_iteration=grad_norms, tokens_changed_per_iteration=changed,
        token_evolution=evolution,
        avg_grad_mag_per_position=torch.tensor(pos_mags, dtype=torch.float64).mean(0).tolist(),
        avg_grad_norm=float(gn.mean()), max_grad_norm=float(gn.max()), min_grad_norm=float(gn.min()),
        std_grad_norm=float(gn.std(unbiased=False)), avg_tokens_changed=sum(changed) / len(changed))
    return AttackRecord(
        attack="hotflip", model=model_slug, sample_id=sample.id, original_nll=original,
        attacked_nll=final_nll, queries=spent, perturbed_text=objective.decode(src + list(trigger)),
        trigger=objective.decode(trigger), tokens_changed=changed[-1], budget=m,
        control_nll=control_nll, control_text=objective.decode(src + list(control)), extra=extra)


def hotflip_searches(objective: Objective, samples: Sequence, args, model_slug: str, budgets: Sequence[int],
                     prepared=None) -> list[Search]:
    """One :func:`hotflip_search` per sample and trigger length in ``budgets`` (the engine runs them together)."""
    candidates = list(objective.candidates)
    if not candidates:
        raise ValueError("hotflip: the tokenizer has no candidate trigger tokens")
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    start = neutral_token(objective.tok, candidates)
    return per_budget(lambda s, a: hotflip_search(objective, s, a, model_slug, candidates, cand_t, emb, start),
                      samples, args, "hotflip_trigger_len", budgets)


def hotflip_attack(objective: Objective, samples: list, args, model_slug: str, *,
                   progress: bool = True, prepared=None) -> list[AttackRecord]:
    """One HotFlip trigger per sample; one ``AttackRecord`` per sample, the samples searched together.

    Each record keeps its per-iteration history over all restarts in order
    (:class:`HotFlipExtra`: ``loss_per_iteration``, the best NLL so far after each iteration;
    ``grad_norms_per_iteration``, the L2 norm of the trigger gradient of the beam's
    first state, its best unless the previous step perturbed it; ``tokens_changed_per_iteration``,
    of the best trigger so far), from which the runner logs the guide's per-iteration keys.

    Queries per sample are at most ``1 + hotflip_restarts * hotflip_iters * hotflip_beam *
    (1 + hotflip_proposals)``: the clean NLL, then per iteration one gradient pass per beam
    state (which also scores it) and ``hotflip_proposals`` flips per beam state, fewer when
    fewer flips of the top-k are left unscored. The random control (one more sequence) is
    not part of the attack's queries.
    """
    return flat(run_all(objective, hotflip_searches(objective, samples, args, model_slug, [args.hotflip_trigger_len]),
                        progress=progress, desc=f"hotflip[{model_slug}]"))
