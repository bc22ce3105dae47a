"""A genetic search over discrete triggers: black-box, NLL queries only (not in the default attack list).

This is the search the seed notebook called "NES" and round 1 ran under that
name: a simple genetic algorithm in the spirit of Alzantot et al. (2018,
"Generating Natural Language Adversarial Examples"). ``nes`` is now Natural
Evolution Strategies (:mod:`mono_s2s.attacks.nes`); this search stays available
as ``genetic`` (:data:`mono_s2s.attacks.registry.OPTIONAL`), for comparison at
the same threat model and budget.

TextAttack decomposition:

- goal: raise the mean token NLL of the reference summary (``common.Objective``);
- transformation and constraints: NES's (:class:`mono_s2s.attacks.nes.AppendedTrigger`):
  an ``nes_trigger_len``-token trigger of ``candidate_vocabulary`` appended to
  the source, the dialogue cut at a word boundary so that the trigger fits;
- search: generation 0 is ``nes_population`` random triggers; each later
  generation breeds ``nes_population`` children from the elite (top quarter) of
  everything scored so far, by uniform crossover of two elite parents and then
  resampling one position's token (mutation). Each generation is scored in ONE
  batched ``nll_ids`` call.

Budget: NES's, ``1 + nes_population * nes_generations`` queries per sample (the
clean NLL included), so the two searches compare at equal queries. Fitness is
cached by trigger: a child already scored is re-drawn (up to 20 times) and, if
still a repeat, not scored again; the saved queries pay for more generations,
until the budget is spent. The random control is drawn first from the sample's
generator, as NES's is, and not counted.

Departures from round 1: generation 0 no longer holds the clean source among
its ``nes_population`` (the clean NLL is the budget's ``1 +``), a repeat is never
paid for twice, and the generations run until the budget is spent rather than a
fixed number of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mono_s2s.attacks.common import AttackRecord, Objective, each_sample
from mono_s2s.attacks.hotflip import random_trigger
from mono_s2s.attacks.nes import AppendedTrigger, query_budget
from mono_s2s.data.records import Record

__all__ = ["genetic_attack", "GeneticExtra"]

_ELITE_FRACTION = 0.25
_REDRAWS = 20  # attempts to draw a not-yet-scored child before giving up on it


def _child(elite: list[tuple[int, ...]], vocab: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
    a = elite[int(rng.integers(len(elite)))]
    b = elite[int(rng.integers(len(elite)))]
    mask = rng.random(len(a)) < 0.5
    child = [x if m else y for x, y, m in zip(a, b, mask)]
    child[int(rng.integers(len(child)))] = vocab[int(rng.integers(len(vocab)))]  # mutation: resample one position
    return tuple(child)


@dataclass
class GeneticExtra:
    trigger_ids: list[int]
    control_trigger_ids: list[int]  # the random control: a trigger of the same length, drawn before the search
    query_budget: int
    fitness_per_generation: list[float]  # the best NLL scored so far, after each generation


def genetic_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
                   progress: bool = True, prepared=None) -> list[AttackRecord]:
    """Evolve one trigger per sample; one ``AttackRecord`` per sample (attack="genetic"), with its random control."""
    vocab = list(objective.candidates)
    if not vocab:
        raise ValueError("genetic: the tokenizer has no candidate trigger tokens")
    length, pop, budget = args.nes_trigger_len, args.nes_population, query_budget(args)
    n_elite = max(1, int(round(pop * _ELITE_FRACTION)))
    records: list[AttackRecord] = []
    for rec, rng in each_sample(samples, args, "genetic", model_slug, progress):
        control = random_trigger(rng, vocab, length)  # first: the same control for every model
        target = AppendedTrigger(objective, rec, length)
        q0 = objective.queries
        original = objective.nll_ids([objective.source_ids(rec.source)], [target.labels])[0]
        fitness: dict[tuple[int, ...], float] = {}

        def fresh(draw) -> tuple[int, ...]:
            cand = draw()
            for _ in range(_REDRAWS):
                if cand not in fitness:
                    break
                cand = draw()
            return cand

        def score(triggers: list[tuple[int, ...]]) -> None:
            new = list(dict.fromkeys(t for t in triggers if t not in fitness))[: budget - 1 - len(fitness)]
            if new:
                fitness.update(zip(new, target.score(new)))

        score([fresh(lambda: random_trigger(rng, vocab, length)) for _ in range(pop)])
        history = [max(fitness.values())]
        # Each generation scores at least one child, or all its children were repeats: bounded either way.
        for _ in range(2 * budget):
            if len(fitness) >= budget - 1:
                break
            elite = sorted(fitness, key=fitness.get, reverse=True)[:n_elite]
            score([fresh(lambda: _child(elite, vocab, rng)) for _ in range(pop)])
            history.append(max(fitness.values()))
        spent = objective.queries - q0
        assert spent <= budget, f"genetic spent {spent} queries, budget {budget}"
        best = max(fitness, key=fitness.get)
        (control_nll,) = target.score([control])
        records.append(AttackRecord(
            attack="genetic", model=model_slug, sample_id=rec.id, original_nll=original, attacked_nll=fitness[best],
            queries=spent, perturbed_text=target.text(best), trigger=objective.decode(best), tokens_changed=length,
            control_nll=control_nll, control_text=target.text(control),
            extra=GeneticExtra(trigger_ids=list(best), control_trigger_ids=list(control), query_budget=budget,
                               fitness_per_generation=history)))
    return records
