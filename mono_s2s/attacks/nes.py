"""Black-box evolutionary trigger search: no gradients, only batched NLL queries.

The seed notebook calls this attack "NES"; what it runs, and what this file
implements, is a simple genetic algorithm over discrete token triggers (in the
spirit of Alzantot et al., 2018, "Generating Natural Language Adversarial
Examples"), not Natural Evolution Strategies over continuous logits. The name is
kept so results stay comparable with the seed.

TextAttack-style:

- goal: raise the mean token NLL of the reference summary (``Objective``);
- transformation: append a trigger of ``nes_trigger_len`` tokens from
  ``candidate_vocabulary`` to the (truncated) source, just before ``</s>``;
- search: generation 0 is random; each later generation breeds
  ``nes_population`` children from the elite (top quarter) of everything scored
  so far, by uniform crossover of two elite parents and then resampling one
  position's token (mutation). Each generation is scored in ONE batched
  ``nll_ids`` call, which is what makes a black-box attack cheap in wall time.

Query budget (per sample) = ``nes_population * (nes_generations + 1)``, and it
includes the clean-source query: generation 0 scores the clean source together
with ``nes_population - 1`` random triggers. Fitness is cached by trigger, so a
child identical to an already-scored trigger is re-drawn rather than paid for
twice. The best fitness so far is therefore non-decreasing over generations.
Randomness: ``common.sample_rng`` (attacks.seed and the sample id).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dataclasses import dataclass

from mono_s2s.attacks.common import AttackRecord, Objective, each_sample
from mono_s2s.attacks.injection import fit_with_suffix
from mono_s2s.data.records import Record

__all__ = ["nes_attack", "query_budget"]

_ELITE_FRACTION = 0.25
_REDRAWS = 20  # attempts to draw a not-yet-scored child before accepting a duplicate


def query_budget(args) -> int:
    """Objective queries one sample may spend, the clean-source query included."""
    return args.nes_population * (args.nes_generations + 1)


def _child(elite: list[tuple[int, ...]], vocab: np.ndarray, rng: np.random.Generator) -> tuple[int, ...]:
    a = elite[int(rng.integers(len(elite)))]
    b = elite[int(rng.integers(len(elite)))]
    mask = rng.random(len(a)) < 0.5
    child = [x if m else y for x, y, m in zip(a, b, mask)]
    child[int(rng.integers(len(child)))] = int(vocab[rng.integers(len(vocab))])  # mutation: resample one position
    return tuple(child)


@dataclass
class NesExtra:
    fitness_per_generation: list[float]
    trigger_ids: list[int]
    query_budget: int


def nes_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
               progress: bool = True, prepared=None) -> list[AttackRecord]:
    """Evolve one trigger per sample; returns one ``AttackRecord`` per sample (attack="nes")."""
    vocab = np.asarray(objective.candidates)
    length, pop, budget = args.nes_trigger_len, args.nes_population, query_budget(args)
    if pop < 2:
        raise ValueError("attacks.nes_population must be >= 2 (generation 0 also scores the clean source)")
    n_elite = max(1, int(round(pop * _ELITE_FRACTION)))
    records: list[AttackRecord] = []
    for rec, rng in each_sample(samples, args, "nes", model_slug, progress):
        q0 = objective.queries
        # Fit the dialogue so that source + trigger needs no truncation: then the reported text is what was scored.
        placeholder = " x" * length
        source = fit_with_suffix(objective, rec.source, placeholder)[: -len(placeholder)]
        src = objective.source_ids(source, room=length)
        label = objective.label_ids(rec.summary)

        fitness: dict[tuple[int, ...], float] = {}

        def fresh(draw) -> tuple[int, ...]:
            cand = draw()
            for _ in range(_REDRAWS):
                if cand not in fitness:
                    break
                cand = draw()
            return cand

        gen0: list[tuple[int, ...]] = []
        for _ in range(pop - 1):
            gen0.append(fresh(lambda: tuple(int(t) for t in rng.choice(vocab, size=length))))
        # The clean score is of the whole source (as every attack reports it), not of the dialogue cut for room.
        scores = objective.nll_ids([objective.source_ids(rec.source)] + [src + list(t) for t in gen0], [label] * pop)
        orig = scores[0]
        fitness.update(zip(gen0, scores[1:]))
        history = [max(fitness.values())]
        for _ in range(args.nes_generations):
            elite = sorted(fitness, key=fitness.get, reverse=True)[:n_elite]
            children = [fresh(lambda: _child(elite, vocab, rng)) for _ in range(pop)]
            scores = objective.nll_ids([src + list(t) for t in children], [label] * pop)
            for t, s in zip(children, scores):
                fitness[t] = max(fitness.get(t, s), s)  # a re-scored duplicate gives the same value (eval mode)
            history.append(max(fitness.values()))
        spent = objective.queries - q0
        assert spent <= budget, f"nes spent {spent} queries, budget {budget}"
        best = max(fitness, key=fitness.get)
        attacked = fitness[best]
        trigger = objective.decode(best)
        records.append(AttackRecord(
            attack="nes", model=model_slug, sample_id=rec.id, original_nll=orig, attacked_nll=attacked,
            queries=spent,
            perturbed_text=source + " " + trigger,
            trigger=trigger, tokens_changed=length,
            extra=NesExtra(fitness_per_generation=history, trigger_ids=list(best), query_budget=budget),
        ))
    return records
