"""HotFlip as a per-sample trigger attack (Ebrahimi et al., 2018, "HotFlip: White-Box Adversarial Examples").

TextAttack decomposition:

- goal: raise the objective (mean token NLL of the reference summary), see ``common.Objective``;
- transformation: replace one token of an ``m``-token trigger appended to the
  source (just before ``</s>``) by a token of ``candidate_vocabulary``;
- search: first-order (gradient) ranking of every (position, token) flip,
  re-ranked by the true objective, greedy (``hotflip_beam=1``) or beam search.

Departures from the paper:

- HotFlip flips characters/words *inside* the input; here only an appended
  trigger changes (as in the seed notebook), so the source text itself is
  intact and the attack is a per-sample trigger, comparable with the universal one.
- The paper takes the single best first-order flip. The first-order score is
  only a linear estimate, so we take the ``hotflip_topk`` best flips and keep
  the one that raises the *true* NLL most (one batched forward), as Wallace et
  al. (2019) do for triggers; ``hotflip_topk=1`` recovers the paper's choice.
- The search stops early once no candidate flip raises the true NLL; it never
  accepts a flip that lowers it, so the loss per iteration never decreases.
"""

from __future__ import annotations

from typing import Sequence

import torch

from mono_s2s.attacks.common import AttackRecord, Objective, is_success
from mono_s2s.progress import bar as progress_bar


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

    Each record keeps its per-iteration history (``extra``: ``loss_per_iteration``,
    the best NLL after each iteration; ``grad_norms_per_iteration``, the L2 norm of
    the trigger gradient it used; ``tokens_changed_per_iteration``), from which the
    runner logs the guide's per-iteration keys.

    Queries per sample are at most ``1 + hotflip_iters * hotflip_beam * (1 + hotflip_topk)``:
    the clean NLL, then per iteration one gradient pass per beam state and
    ``hotflip_topk`` candidate sequences per beam state.
    """
    m, k, width = args.hotflip_trigger_len, args.hotflip_topk, args.hotflip_beam
    candidates = list(objective.candidates)
    if not candidates:
        raise ValueError("hotflip: the tokenizer has no candidate trigger tokens")
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    start = neutral_token(objective.tok, candidates)
    records: list[AttackRecord] = []
    for sample in progress_bar(samples, desc=f"hotflip[{model_slug}]", disable=not progress):
        q0 = objective.queries
        labels = objective.label_ids(sample.summary)
        # Original = the clean input the model sees without any attack (not truncated for a trigger).
        original = objective.nll_ids([objective.source_ids(sample.source)], [labels])[0]
        src = objective.source_ids(sample.source, room=m)
        initial = [start] * m
        beam: list[tuple[float | None, list[int]]] = [(None, list(initial))]  # (NLL or None before scoring, trigger)
        initial_nll: float | None = None
        losses, grad_norms, changed, pos_mags, evolution = [], [], [], [], [objective.decode(initial)]
        for it in range(1, args.hotflip_iters + 1):
            proposals: list[list[int]] = []
            scored: list[tuple[float, list[int]]] = []
            best_grad_norm, best_pos = None, None
            for rank, (_, trig) in enumerate(beam):
                nll, grad = objective.embedding_grad([src + trig], [labels])
                scored.append((float(nll[0]), trig))  # re-measure the state's NLL with its gradient
                g = grad[0, len(src):len(src) + m]  # (m, d_model): gradient at the trigger positions
                if rank == 0:
                    best_grad_norm = float(g.norm())
                    best_pos = g.norm(dim=-1).tolist()
                scores = first_order_scores(g, trig, emb, cand_t).flatten()  # (m * V_cand,)
                top = torch.topk(scores, min(k, int(torch.isfinite(scores).sum()))).indices.tolist()
                for flat in top:
                    pos, c = divmod(flat, len(candidates))
                    new = list(trig)
                    new[pos] = candidates[c]
                    proposals.append(new)
            if initial_nll is None:
                initial_nll = scored[0][0]
            # Re-rank the first-order proposals by the true objective, all in one batched forward.
            seen, unique = {tuple(t) for _, t in scored}, []
            for p in proposals:  # beam states can propose the same trigger (or each other)
                if tuple(p) not in seen:
                    seen.add(tuple(p))
                    unique.append(p)
            proposals = unique
            prop_nll = objective.nll_ids([src + p for p in proposals], [labels] * len(proposals)) if proposals else []
            best_before = max(s for s, _ in scored)
            pool = sorted(scored + list(zip(prop_nll, proposals)), key=lambda st: -st[0])
            beam = pool[:width]
            improved = beam[0][0] > best_before
            trig_best = beam[0][1]
            n_changed = sum(a != b for a, b in zip(trig_best, initial))
            losses.append(beam[0][0])
            grad_norms.append(best_grad_norm)
            changed.append(n_changed)
            pos_mags.append(best_pos)
            evolution.append(objective.decode(trig_best))
            if not improved:
                break
        final_nll, trigger = beam[0]
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
        }
        records.append(AttackRecord(
            attack="hotflip", model=model_slug, sample_id=sample.id, original_nll=original,
            attacked_nll=final_nll, success=is_success(original, final_nll, args.success_threshold),
            queries=objective.queries - q0, perturbed_text=objective.decode(src + list(trigger)),
            trigger=objective.decode(trigger), tokens_changed=changed[-1], extra=extra))
    return records
