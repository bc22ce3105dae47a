"""Universal adversarial triggers (Wallace et al., 2019, "Universal Adversarial Triggers for Attacking and
Analyzing NLP").

TextAttack decomposition:

- goal: raise the *mean* objective (reference NLL, ``common.Objective``) over
  samples with ONE input-agnostic trigger;
- transformation: replace one token of the ``m``-token trigger appended to
  every source (just before ``</s>``) by a ``candidate_vocabulary`` token;
- search, as in the paper: the training samples (``universal_train_samples``
  from the validation split) are cut into batches of ``universal_batch``; for
  each batch the HotFlip first-order score with the gradient *averaged over the
  batch* gives each position's ``universal_topk`` candidates, re-ranked by the
  true batch loss, in a beam of width ``universal_beam`` over the positions
  (left to right). One pass over all batches is a *sweep*; after each sweep the
  trigger's mean NLL over all training samples is measured, and sweeps go on
  until one brings no improvement (at most ``universal_max_sweeps``).
  ``universal_restarts`` starts (the neutral trigger, then random ones drawn from
  ``attacks.seed``: the same for every model); the trigger with the highest
  mean training NLL over all starts and sweeps is kept.

The trigger is then measured on held-out test samples the search never saw
(:func:`universal_attack`), which is also how transfer to another model is
measured, each sample with a random trigger of the same length as its control.

Departures from the paper: Wallace et al. stop when the loss plateaus on a
stream of batches and keep a single run; here the convergence test is the
whole training set's loss after each sweep, there are restarts, and every model
gets the same settings (its query count follows from how long it takes to
converge, and is recorded). The paper prepends triggers; here, as for HotFlip,
the trigger goes at the end of the source, which is cut to make room, so the
trigger always reaches the model; each record says whether the trigger would
also have survived if appended to the whole source (``survives_truncation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mono_s2s.attacks.common import (AttackRecord, Objective, TriggerExtra, each_sample,
                                     evaluate_triggers_per_sample)
from mono_s2s.attacks.hotflip import first_order_scores, neutral_token, random_trigger
from mono_s2s.attacks.search import beam_step, top_flips
from mono_s2s.progress import bar as progress_bar


UniversalExtra = TriggerExtra  # a universal record's extras: its trigger, its control's, truncation survival


@dataclass
class LearnedTrigger:
    """What :func:`learn_universal_trigger` returns for one model (stored in ``results/universal_triggers.json``)."""

    ids: list[int]
    text: str
    loss: float  # mean training NLL of the trigger
    restart: int  # which start it came from
    sweep_loss: list[list[float]]  # per restart: mean training NLL before the first sweep, then after each
    converged: list[bool]  # per restart: a sweep brought no improvement before the cap
    queries: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict
        return asdict(self)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def learn_universal_trigger(objective: Objective, train_samples: list, args, progress: bool = True
                            ) -> LearnedTrigger:
    """Learn one trigger on ``train_samples`` (see the module docstring for the search)."""
    if not train_samples:
        raise ValueError("universal: no training samples")
    m, k, width, bsz = args.universal_trigger_len, args.universal_topk, args.universal_beam, args.universal_batch
    q0 = objective.queries
    candidates = list(objective.candidates)
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    labels = [objective.label_ids(s.summary) for s in train_samples]
    srcs = [objective.source_ids(s.source, room=m) for s in train_samples]
    batches = [list(range(i, min(i + bsz, len(srcs)))) for i in range(0, len(srcs), bsz)]

    def loss_on(idx: list[int], triggers: list[tuple[int, ...]]) -> list[float]:
        """Mean NLL over the samples ``idx`` of each trigger, all in one batched call."""
        flat = objective.nll_ids([srcs[i] + list(t) for t in triggers for i in idx],
                                 [labels[i] for _ in triggers for i in idx])
        n = len(idx)
        return [_mean(flat[j * n:(j + 1) * n]) for j in range(len(triggers))]

    everyone = list(range(len(srcs)))
    rng = np.random.default_rng([args.seed, 7])  # the random starts: the same for every model
    starts = [(neutral_token(objective.tok, candidates),) * m] + [
        random_trigger(rng, candidates, m) for _ in range(args.universal_restarts - 1)]
    runs: list[tuple[float, tuple[int, ...]]] = []
    sweep_loss: list[list[float]] = []
    converged: list[bool] = []
    steps = progress_bar(total=args.universal_restarts * args.universal_max_sweeps, unit="sweep",
                         desc="universal trigger", disable=not progress)
    for start in starts:
        trigger, best_loss = start, loss_on(everyone, [start])[0]
        best_trigger, losses, done = trigger, [best_loss], False
        for _ in range(args.universal_max_sweeps):
            for idx in batches:
                nll, grad = objective.embedding_grad([srcs[i] + list(trigger) for i in idx], [labels[i] for i in idx])
                # The gradient at each trigger position, averaged over the batch (sources differ in length).
                g = torch.stack([grad[b, len(srcs[i]):len(srcs[i]) + m] for b, i in enumerate(idx)]).mean(0)
                scores = first_order_scores(g, trigger, emb, cand_t)  # (m, V_cand)
                beam = [(float(nll.mean()), trigger)]
                for pos in range(m):  # left to right, each position's candidates from every beam state
                    proposals = [p for _, t in beam
                                 for p in top_flips(scores[pos:pos + 1], t, candidates, k, positions=[pos])]
                    beam, _ = beam_step(beam, proposals, lambda ts: loss_on(idx, ts), width)
                trigger = beam[0][1]
            steps.update()
            losses.append(loss_on(everyone, [trigger])[0])
            if losses[-1] <= best_loss:  # the sweep brought no improvement on the whole training set: converged
                done = True
                break
            best_trigger, best_loss = trigger, losses[-1]
        sweep_loss.append(losses)
        converged.append(done)
        runs.append((best_loss, best_trigger))
    steps.close()
    best = max(range(len(runs)), key=lambda r: runs[r][0])
    return LearnedTrigger(ids=list(runs[best][1]), text=objective.decode(runs[best][1]), loss=runs[best][0],
                          restart=best, sweep_loss=sweep_loss, converged=converged, queries=objective.queries - q0)


def universal_attack(objective: Objective, samples: list, args, model_slug: str, *, progress: bool = True,
                     prepared: LearnedTrigger | list[int] | None = None, attack: str = "universal"
                     ) -> list[AttackRecord]:
    """The fixed trigger ``prepared`` (learned on this model, or on another one for transfer) appended to every
    sample, and per sample a random trigger of the same length as the control; one record per sample.

    It only scores, it never searches (:func:`~mono_s2s.attacks.common.evaluate_triggers_per_sample`): two
    sequences per sample, plus the control.
    """
    if prepared is None:
        raise ValueError("universal: no trigger (learn_universal_trigger first)")
    trig = list(prepared.ids if isinstance(prepared, LearnedTrigger) else prepared)
    candidates = list(objective.candidates)
    # Each sample's control from its own generator: the same for every model, and for transfer records.
    controls = {s.id: list(random_trigger(rng, candidates, len(trig)))
                for s, rng in each_sample(samples, args, attack, model_slug, progress)}
    return evaluate_triggers_per_sample(objective, samples, {s.id: trig for s in samples}, args, model_slug, attack,
                                        controls=controls)
