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
from typing import Any, Callable, Sequence

import numpy as np
import torch

from mono_s2s.attacks.common import AttackRecord, Objective, TriggerExtra, fixed_trigger_search, sample_rng
from mono_s2s.attacks.engine import Grad, Score, Search, run_all
from mono_s2s.attacks.hotflip import first_order_scores, neutral_token, random_trigger
from mono_s2s.attacks.search import fresh_states, keep_best, top_flips


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


def _restart_search(objective: Objective, srcs: list[list[int]], labels: list[list[int]], start: tuple[int, ...],
                    args, candidates: list[int], cand_t: torch.Tensor, emb: torch.Tensor) -> Search:
    """One restart of the search from ``start`` (a generator for the engine).

    Returns ``(best mean training NLL, best trigger, loss before the first sweep and after each, converged,
    queries)``.
    """
    m, k, width, bsz = len(start), args.universal_topk, args.universal_beam, args.universal_batch
    batches = [list(range(i, min(i + bsz, len(srcs)))) for i in range(0, len(srcs), bsz)]
    everyone = list(range(len(srcs)))
    spent = 0

    def loss_on(idx: list[int], triggers: list[tuple[int, ...]]) -> Search:
        """Mean NLL over the samples ``idx`` of each trigger, all in one request."""
        nonlocal spent
        flat = yield Score([srcs[i] + list(t) for t in triggers for i in idx],
                           [labels[i] for _ in triggers for i in idx])
        spent += len(flat)
        n = len(idx)
        return [_mean(flat[j * n:(j + 1) * n]) for j in range(len(triggers))]

    trigger = start
    (best_loss,) = yield from loss_on(everyone, [start])
    best_trigger, losses, done = trigger, [best_loss], False
    for _ in range(args.universal_max_sweeps):
        for idx in batches:
            nll, grads = yield Grad([srcs[i] + list(trigger) for i in idx], [labels[i] for i in idx])
            spent += len(idx)
            # The gradient at each trigger position, averaged over the batch (sources differ in length).
            g = torch.stack([gr[len(srcs[i]):len(srcs[i]) + m] for gr, i in zip(grads, idx)]).mean(0)
            scores = first_order_scores(g, trigger, emb, cand_t)  # (m, V_cand)
            beam = [(_mean(nll), trigger)]
            for pos in range(m):  # left to right, each position's candidates from every beam state
                proposals = [p for _, t in beam
                             for p in top_flips(scores[pos:pos + 1], t, candidates, k, positions=[pos])]
                fresh = fresh_states(beam, proposals)
                values = (yield from loss_on(idx, fresh)) if fresh else []
                beam, _ = keep_best(beam, list(zip(values, fresh)), width)
            trigger = beam[0][1]
        (loss,) = yield from loss_on(everyone, [trigger])
        losses.append(loss)
        if losses[-1] <= best_loss:  # the sweep brought no improvement on the whole training set: converged
            done = True
            break
        best_trigger, best_loss = trigger, losses[-1]
    return best_loss, best_trigger, losses, done, spent


def universal_learning(objective: Objective, train_samples: list, args
                       ) -> tuple[list[Search], Callable[[list], LearnedTrigger]]:
    """The restarts of the search for one trigger of ``attacks.universal_trigger_len`` tokens, as engine
    searches, and the function that makes their results one :class:`LearnedTrigger` (see the module docstring).

    The runner drives the restarts of every trigger length of a model together; :func:`learn_universal_trigger`
    drives one length's alone.
    """
    if not train_samples:
        raise ValueError("universal: no training samples")
    m = args.universal_trigger_len
    candidates = list(objective.candidates)
    cand_t = torch.tensor(candidates, device=objective.device)
    emb = objective.embedding_matrix()
    labels = [objective.label_ids(s.summary) for s in train_samples]
    srcs = [objective.source_ids(s.source, room=m) for s in train_samples]
    rng = np.random.default_rng([args.seed, 7])  # the random starts: the same for every model
    starts = [(neutral_token(objective.tok, candidates),) * m] + [
        random_trigger(rng, candidates, m) for _ in range(args.universal_restarts - 1)]
    searches = [_restart_search(objective, srcs, labels, start, args, candidates, cand_t, emb) for start in starts]

    def assemble(runs: list) -> LearnedTrigger:
        best = max(range(len(runs)), key=lambda r: runs[r][0])
        return LearnedTrigger(ids=list(runs[best][1]), text=objective.decode(runs[best][1]), loss=runs[best][0],
                              restart=best, sweep_loss=[r[2] for r in runs], converged=[r[3] for r in runs],
                              queries=sum(r[4] for r in runs))
    return searches, assemble


def learn_universal_trigger(objective: Objective, train_samples: list, args, progress: bool = True
                            ) -> LearnedTrigger:
    """Learn one trigger on ``train_samples`` (see the module docstring for the search)."""
    searches, assemble = universal_learning(objective, train_samples, args)
    return assemble(run_all(objective, searches, progress=progress, desc="universal trigger"))


def universal_sample_search(objective: Objective, sample, trigger: list[int], args, model_slug: str,
                            candidates: list[int], attack: str = "universal") -> Search:
    """The fixed ``trigger`` on one held-out sample, with a random trigger of the same length as its control
    (:func:`~mono_s2s.attacks.common.fixed_trigger_search`; the control drawn from the sample's own generator,
    so it is the same for every model and for transfer records); returns its record."""
    control = random_trigger(sample_rng(args.seed, sample.id), candidates, len(trigger))
    return (yield from fixed_trigger_search(objective, sample, trigger, control, model_slug, attack))


def universal_searches(objective: Objective, samples: list, args, model_slug: str, budgets: Sequence[int],
                       prepared: dict[int, LearnedTrigger | list[int]] | None = None) -> list[Search]:
    """Per trigger length in ``budgets`` and sample, :func:`universal_sample_search` with that length's trigger
    (``prepared[length]``, learned on this model)."""
    if prepared is None:
        raise ValueError("universal: no trigger (learn_universal_trigger first)")
    candidates = list(objective.candidates)
    out: list[Search] = []
    for b in budgets:
        trig = prepared[b]
        ids = list(trig.ids if isinstance(trig, LearnedTrigger) else trig)

        def listed(s, ids=ids):
            return [(yield from universal_sample_search(objective, s, ids, args, model_slug, candidates))]
        out += [listed(s) for s in samples]
    return out


def universal_attack(objective: Objective, samples: list, args, model_slug: str, *, progress: bool = True,
                     prepared: LearnedTrigger | list[int] | None = None, attack: str = "universal"
                     ) -> list[AttackRecord]:
    """The fixed trigger ``prepared`` (learned on this model, or on another one for transfer) appended to every
    sample, and per sample a random trigger of the same length as the control; one record per sample.

    It only scores, it never searches (:func:`universal_sample_search`): two sequences per sample, plus the control.
    """
    if prepared is None:
        raise ValueError("universal: no trigger (learn_universal_trigger first)")
    trig = list(prepared.ids if isinstance(prepared, LearnedTrigger) else prepared)
    candidates = list(objective.candidates)
    return run_all(objective, [universal_sample_search(objective, s, trig, args, model_slug, candidates, attack)
                               for s in samples], progress=progress, desc=f"{attack}[{model_slug}]")
