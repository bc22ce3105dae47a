"""Universal adversarial triggers (Wallace et al., 2019, "Universal Adversarial Triggers for Attacking and
Analyzing NLP").

TextAttack decomposition:

- goal: raise the *mean* objective (reference NLL, ``common.Objective``) over a
  batch of training samples with ONE input-agnostic trigger;
- transformation: replace one token of the ``m``-token trigger appended to
  every source (just before ``</s>``) by a ``candidate_vocabulary`` token;
- search: per position, the HotFlip first-order score with the gradient
  averaged over the batch gives ``universal_topk`` candidates per beam state;
  a beam of width ``universal_beam`` keeps the states with the highest true mean
  NLL; ``universal_epochs`` left-to-right passes over the positions.

The trigger is then measured on held-out samples the search never saw
(``evaluate_trigger``), which is also how transfer to another model is measured.

Departures from the paper: Wallace et al. iterate until the loss stops
improving on a stream of batches; here the whole (small) training set is one
batch and the budget is a fixed number of passes, so every model gets the same
number of queries. The beam keeps the current states in the pool, so the
training loss never decreases from step to step.
"""

from __future__ import annotations

from typing import Any

import torch

from mono_s2s.attacks.common import AttackRecord, Objective, evaluate_triggers_per_sample
from mono_s2s.attacks.hotflip import first_order_scores, neutral_token
from mono_s2s.progress import bar as progress_bar


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def learn_universal_trigger(objective: Objective, train_samples: list, args, *, progress: bool = True
                            ) -> tuple[list[int], dict[str, Any]]:
    """Learn one trigger on ``train_samples``; returns (trigger ids, history).

    history: ``loss`` (best mean train NLL, first entry = initial trigger, then
    one per position step), ``trigger_text`` (best trigger per step, same
    indexing), ``initial_loss``, ``final_loss``, ``queries`` (sequences scored).

    Queries are at most ``n * (1 + epochs * m * beam * (1 + topk))`` for ``n``
    training samples: one scoring of the initial trigger, then per step one
    gradient pass and ``topk`` candidate scorings per beam state, each over the
    whole batch.
    """
    if not train_samples:
        raise ValueError("universal: no training samples")
    m, k, width = args.universal_trigger_len, args.universal_topk, args.universal_beam
    q0 = objective.queries
    candidates = list(objective.candidates)
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    labels = [objective.label_ids(s.summary) for s in train_samples]
    srcs = [objective.source_ids(s.source, room=m) for s in train_samples]
    n = len(train_samples)

    def batch_loss(trig: list[int]) -> float:
        return _mean(objective.nll_ids([s + trig for s in srcs], labels))

    trigger = [neutral_token(objective.tok, candidates)] * m
    beam = [(batch_loss(trigger), list(trigger))]
    history: dict[str, Any] = {"loss": [beam[0][0]], "trigger_text": [objective.decode(trigger)],
                               "initial_loss": beam[0][0]}
    steps = [(e, p) for e in range(args.universal_epochs) for p in range(m)]
    for epoch, pos in progress_bar(steps, desc="universal trigger", disable=not progress):
        pool = list(beam)
        seen = {tuple(t) for _, t in beam}
        proposals: list[list[int]] = []
        for _, trig in beam:
            _, grad = objective.embedding_grad([s + trig for s in srcs], labels)
            # Gradient at this trigger position, averaged over the batch (sources differ in length).
            g = torch.stack([grad[b, len(srcs[b]) + pos] for b in range(n)]).mean(0)  # (d_model,)
            scores = first_order_scores(g.unsqueeze(0), [trig[pos]], emb, cand_t)[0]  # (V_cand,)
            top = torch.topk(scores, min(k, int(torch.isfinite(scores).sum()))).indices.tolist()
            for c in top:
                new = list(trig)
                new[pos] = candidates[c]
                if tuple(new) not in seen:
                    seen.add(tuple(new))
                    proposals.append(new)
        # All proposals of this step scored in one batched call (the objective splits it into batches).
        if proposals:
            flat = objective.nll_ids([s + p for p in proposals for s in srcs], labels * len(proposals))
            pool += [(_mean(flat[i * n:(i + 1) * n]), p) for i, p in enumerate(proposals)]
        # Stable sort: ties keep the earlier (current) state, so equal scores never churn the trigger.
        beam = sorted(pool, key=lambda st: -st[0])[:width]
        history["loss"].append(beam[0][0])
        history["trigger_text"].append(objective.decode(beam[0][1]))
    best_loss, best = beam[0]
    history.update(final_loss=best_loss, queries=objective.queries - q0, trigger_ids=list(best))
    return list(best), history


def evaluate_trigger(objective: Objective, samples: list, trigger_ids: list[int], args, model_slug: str,
                     attack: str = "universal") -> list[AttackRecord]:
    """The fixed trigger ``trigger_ids`` appended to every sample; one record per sample.

    Independent of where the trigger came from (this model, another model for
    transfer, any sample set): it only scores, it never searches.
    """
    return evaluate_triggers_per_sample(objective, samples, {s.id: list(trigger_ids) for s in samples}, args,
                                        model_slug, attack)
