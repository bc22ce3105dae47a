"""HotFlip as a per-sample trigger attack (Ebrahimi et al., 2018, "HotFlip: White-Box Adversarial Examples").

TextAttack decomposition:

- goal: raise the objective (mean token NLL of the reference summary), see ``common.Objective``;
- transformation: replace one token of an ``m``-token trigger appended to the
  source (just before ``</s>``) by a token of ``candidate_vocabulary``;
- search: first-order (gradient) ranking of each position's flips, the top
  ``hotflip_topk`` per position re-ranked by the true objective, beam search of
  width ``hotflip_beam``, a fixed budget of ``hotflip_iters`` iterations from
  each of ``hotflip_restarts`` starts; the best trigger over all of them is kept.

Departures from the paper:

- HotFlip flips characters/words *inside* the input; here only an appended
  trigger changes (as in the seed notebook), so the source text itself is
  intact and the attack is a per-sample trigger, comparable with the universal one.
- The paper takes the single best first-order flip. The first-order score is
  only a linear estimate, so each position's ``hotflip_topk`` best flips are
  scored with the true NLL (batched forwards), as Wallace et al. (2019) do for
  triggers. Taking the top-k per position, not over all positions pooled,
  keeps one position with large gradients from taking every candidate.
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
from typing import Sequence

import torch

from mono_s2s.attacks.common import AttackRecord, Objective, each_sample, is_success


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


def hotflip_attack(objective: Objective, samples: list, args, model_slug: str, *,
                   progress: bool = True) -> list[AttackRecord]:
    """One HotFlip trigger per sample; one ``AttackRecord`` per sample.

    Each record keeps its per-iteration history over all restarts in order
    (``extra``: ``loss_per_iteration``, the best NLL so far after each iteration;
    ``grad_norms_per_iteration``, the L2 norm of the trigger gradient of the beam's
    first state, its best unless the previous step perturbed it; ``tokens_changed_per_iteration``,
    of the best trigger so far), from which the runner logs the guide's per-iteration keys.

    Queries per sample are at most ``1 + hotflip_restarts * hotflip_iters * hotflip_beam *
    (1 + hotflip_trigger_len * hotflip_topk)``: the clean NLL, then per iteration one
    gradient pass per beam state (which also scores it) and ``hotflip_topk`` candidates per
    position and beam state, fewer when candidates repeat.
    """
    m, k, width = args.hotflip_trigger_len, args.hotflip_topk, args.hotflip_beam
    candidates = list(objective.candidates)
    if not candidates:
        raise ValueError("hotflip: the tokenizer has no candidate trigger tokens")
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    start = neutral_token(objective.tok, candidates)
    initial = [start] * m
    records: list[AttackRecord] = []
    for sample, rng in each_sample(samples, args, "hotflip", model_slug, progress):
        q0 = objective.queries
        labels = objective.label_ids(sample.summary)
        # Original = the clean input the model sees without any attack (not truncated for a trigger).
        original = objective.nll_ids([objective.source_ids(sample.source)], [labels])[0]
        src = objective.source_ids(sample.source, room=m)
        best: tuple[float, list[int]] = (-math.inf, list(initial))
        initial_nll: float | None = None
        losses, grad_norms, changed, pos_mags, evolution = [], [], [], [], [objective.decode(initial)]
        for restart in range(args.hotflip_restarts):
            first = list(initial) if restart == 0 else [candidates[i] for i in rng.integers(len(candidates), size=m)]
            beam, seen = [first], {tuple(first)}
            for _ in range(args.hotflip_iters):
                # One batched gradient pass scores every beam state and gives its trigger gradient.
                nll, grad = objective.embedding_grad([src + t for t in beam], [labels] * len(beam))
                scored = list(zip(nll.tolist(), beam))
                if initial_nll is None:
                    initial_nll = scored[0][0]
                g = grad[:, len(src):len(src) + m]  # (beam, m, d_model): gradient at the trigger positions
                proposals: list[list[int]] = []
                for b, trig in enumerate(beam):
                    scores = first_order_scores(g[b], trig, emb, cand_t)  # (m, V_cand)
                    values, top = torch.topk(scores, min(k, len(candidates)), dim=1)
                    for pos in range(m):
                        for value, c in zip(values[pos].tolist(), top[pos].tolist()):
                            new = list(trig)
                            new[pos] = candidates[c]
                            if math.isfinite(value) and tuple(new) not in seen:
                                seen.add(tuple(new))
                                proposals.append(new)
                prop_nll = (objective.nll_ids([src + p for p in proposals], [labels] * len(proposals))
                            if proposals else [])
                pool = sorted(scored + list(zip(prop_nll, proposals)), key=lambda st: -st[0])
                if pool[0][0] > best[0]:
                    best = (pool[0][0], list(pool[0][1]))
                beam = [t for _, t in pool[:width]]
                if pool[0][0] <= max(v for v, _ in scored):
                    # No candidate beats the states it came from: perturb the best one (a random position
                    # re-drawn) and go on, instead of stopping (the round-1 search stopped here).
                    kicked = list(beam[0])
                    kicked[int(rng.integers(m))] = candidates[int(rng.integers(len(candidates)))]
                    seen.add(tuple(kicked))
                    beam = [kicked] + beam[1:]
                losses.append(best[0])
                grad_norms.append(float(g[0].norm()))
                pos_mags.append(g[0].norm(dim=-1).tolist())
                changed.append(sum(a != b for a, b in zip(best[1], initial)))
                evolution.append(objective.decode(best[1]))
        final_nll, trigger = best
        gn = torch.tensor(grad_norms, dtype=torch.float64)
        extra = {
            "avg_grad_norm": float(gn.mean()),
            "max_grad_norm": float(gn.max()),
            "min_grad_norm": float(gn.min()),
            "std_grad_norm": float(gn.std(unbiased=False)),
            "avg_tokens_changed": sum(changed) / len(changed),
            # Gain of the search itself: from the initial (neutral) trigger to the final one.
            "loss_improvement": final_nll - initial_nll,
            "initial_trigger_nll": initial_nll,
            "grad_norms_per_iteration": grad_norms,
            "loss_per_iteration": losses,
            "tokens_changed_per_iteration": changed,
            "avg_grad_mag_per_position": torch.tensor(pos_mags, dtype=torch.float64).mean(0).tolist(),
            "token_evolution": evolution,
            "trigger_ids": list(trigger),
            "iterations": len(losses),
            "restarts": args.hotflip_restarts,
        }
        records.append(AttackRecord(
            attack="hotflip", model=model_slug, sample_id=sample.id, original_nll=original,
            attacked_nll=final_nll, success=is_success(original, final_nll, args.success_threshold),
            queries=objective.queries - q0, perturbed_text=objective.decode(src + list(trigger)),
            trigger=objective.decode(trigger), tokens_changed=changed[-1], extra=extra))
    return records
