"""The search step the gradient attacks share: score proposals, keep the best ``width`` states (a beam).

HotFlip, the universal trigger and in-text substitution all search the same
way (TextAttack's "beam search" with a first-order "transformation" ranking):
from each state of the beam, propose the top-k changes by a first-order score,
score every proposal with the true objective in batched forwards, and keep the
best ``width`` of the beam and its proposals together. Keeping the current
states in the pool makes the best score non-decreasing; a stable sort keeps an
earlier state on ties, so equal scores never churn the beam.
"""

from __future__ import annotations

import math
from typing import Callable, Hashable, Sequence, TypeVar

import torch

State = TypeVar("State", bound=Hashable)

__all__ = ["beam_step", "fresh_states", "keep_best", "cached_scorer", "top_flips"]


def fresh_states(beam: Sequence[tuple[float, State]], proposals: Sequence[State]) -> list[State]:
    """The proposals not already in the beam, each once, in order: what one beam step must score."""
    held = {state for _, state in beam}
    return list(dict.fromkeys(p for p in proposals if p not in held))


def keep_best(beam: Sequence[tuple[float, State]], scored: Sequence[tuple[float, State]], width: int
              ) -> tuple[list[tuple[float, State]], bool]:
    """``(new beam, improved)``: the best ``width`` of the beam and the scored proposals together.

    ``improved``: the best new state scores above the best state of the old beam.
    """
    pool = sorted(list(beam) + list(scored), key=lambda st: -st[0])
    return pool[:width], pool[0][0] > max(v for v, _ in beam)


def beam_step(beam: Sequence[tuple[float, State]], proposals: Sequence[State],
              score: Callable[[list[State]], list[float]], width: int
              ) -> tuple[list[tuple[float, State]], bool]:
    """``(new beam, improved)``: :func:`fresh_states` scored in one call of ``score``, then :func:`keep_best`.

    The engine's searches yield their scoring instead (they call the two halves); this form is for a
    search that scores through a plain function.
    """
    fresh = fresh_states(beam, proposals)
    return keep_best(beam, list(zip(score(fresh), fresh)) if fresh else [], width)


def cached_scorer(objective, ids_of: Callable[[State], list[int]], labels: list[int], cache: dict
                  ) -> Callable[[list[State]], list[float]]:
    """The true NLL of states (``objective.nll_ids`` of ``ids_of(state)``, one batched call); a state already in
    ``cache`` is looked up, not paid for again, and every state scored is added to it."""
    def score(states: list[State]) -> list[float]:
        todo = list(dict.fromkeys(s for s in states if s not in cache))
        if todo:
            cache.update(zip(todo, objective.nll_ids([ids_of(s) for s in todo], [labels] * len(todo))))
        return [cache[s] for s in states]
    return score


def top_flips(scores: torch.Tensor, state: Sequence[int], candidates: Sequence[int], k: int,
              positions: Sequence[int] | None = None) -> list[tuple[int, ...]]:
    """The top-``k`` single-token flips of each position by a first-order score, as new states.

    ``scores`` is (positions, candidates) (:func:`mono_s2s.attacks.hotflip.first_order_scores`;
    ``-inf`` for "no change"); row ``i`` is position ``positions[i]`` of ``state``
    (default: 0, 1, ...). Per position, not pooled over positions, so one position
    with large gradients cannot take every proposal.
    """
    positions = list(range(scores.shape[0])) if positions is None else list(positions)
    values, top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    out: list[tuple[int, ...]] = []
    for row, pos in enumerate(positions):
        for value, c in zip(values[row].tolist(), top[row].tolist()):
            if math.isfinite(value):
                new = list(state)
                new[pos] = candidates[c]
                out.append(tuple(new))
    return out
