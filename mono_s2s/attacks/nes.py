"""Natural Evolution Strategies over a discrete trigger: black-box, NLL queries only.

NES (Wierstra et al., 2014, "Natural Evolution Strategies", JMLR) keeps a
*search distribution* over inputs, samples a population from it, and moves the
distribution's parameters along a Monte-Carlo estimate of the gradient of its
expected fitness. Ilyas et al. (2018, "Black-box Adversarial Attacks with
Limited Queries and Information") made it the standard query-only attack on
images; this file is its discrete counterpart for a token trigger.

TextAttack decomposition:

- goal: raise the mean token NLL of the reference summary (``common.Objective``);
  the record's attacked NLL is that of the best trigger ever scored.
- transformation: append a trigger of ``nes_trigger_len`` tokens of
  ``candidate_vocabulary`` to the source, just before ``</s>``.
- constraints: the dialogue itself is not changed, only cut at a word boundary
  (``fit_with_suffix``) until it and the trigger fit the encoder, so the
  reported ``perturbed_text`` is exactly what was scored; trigger tokens are
  candidates (each survives decode -> re-encode).
- search (:func:`nes_search`):

  * search distribution: ``m`` independent categoricals, one per trigger
    position, over the ``V`` candidates (about 1300 on the default model),
    with logits ``theta`` (m, V); ``theta = 0`` (uniform) at the start.
  * population: ``lam = nes_population`` triggers per generation, drawn in
    ``lam / 2`` **mirrored pairs** (:func:`mirrored_draws`). Gumbel-max draws
    ``x_j = argmax_k theta_jk + G(u_jk)``, ``G(u) = -log(-log u)``, ``u`` uniform
    in (0, 1); its mirror uses ``1 - u`` in place of ``u``. ``1 - u`` is uniform
    too, so each member of a pair is an exact draw from the distribution (the
    gradient estimate stays unbiased), and the two are antithetic: the token whose
    noise was the largest in one has nearly the smallest in the other (at the
    uniform start the mirror is ``argmin u``, never the same token). The tempting
    mirror ``-G`` (``argmax theta - G``) is not a draw from ``softmax(theta)`` when
    V > 2 (``-G`` is not Gumbel): at ``theta = (2, 0, 0, 0, 0)`` it picks token 0
    with probability 0.76, not 0.65.
  * fitness shaping (:func:`utilities`): the population's NLLs are replaced
    by rank-based utilities, ``u_i = max(0, log(lam/2 + 1) - log i) / sum - 1/lam``
    for rank ``i`` (1 = highest NLL); they sum to zero, and the update is invariant
    to any increasing transform of the NLL. Tied NLLs (a trigger drawn twice)
    share the mean of their ranks' utilities.
  * gradient (:func:`score_function_gradient`): ``sum_i u_i grad log p(x_i)``,
    with ``grad_theta_j log p(x) = onehot(x_j) - softmax(theta_j)`` per position.
  * update: plain gradient ascent on the logits, ``theta += nes_lr * gradient``.
    Not the natural gradient: with the Fisher of a softmax, ``F = diag(p) - p p^T``
    (singular; constants per position do not change ``softmax``), ``F d = g`` is
    solved by ``d = sum_i u_i onehot(x_i) / p(x_i)``, which at the start divides by
    ``p = 1/V``: one sampled token takes the whole mass in one step (measured on
    the model below, budget 201, 8 samples x 3 seeds: 0.16-0.19 nats against 0.23
    for the plain gradient). With ``nes_lr`` 16 and a population of 16, the best
    member (utility 0.25) raises each of its tokens' logits by 4 (55 times
    likelier); the worst half lowers theirs by 1 (e times rarer: a trigger
    already found poor is seldom drawn again).
  * repeats and restarts: fitness is cached by trigger, so a repeated trigger is
    not paid for twice; the queries it saves pay for further generations, until
    the budget is spent. When a whole generation draws only triggers already
    scored, the distribution has converged: it restarts from uniform (the best
    trigger is kept), so the budget is spent searching rather than re-drawing.
    The last generation scores what the budget still pays for and is not used
    for an update (nothing samples from it afterwards).

Departures from Ilyas et al. (continuous images): their search distribution is
a Gaussian around the image, mirrored as ``+-delta``, whose gradient estimate
drives projected sign steps *on the image*; here the input is discrete, so the
search distribution is over triggers and its logits are what the steps move
(NES proper, as in Wierstra et al.), the mirror is of the Gumbel noise's
uniforms, the fitness is rank-shaped rather than raw, and the attack reports
the best trigger ever scored, not the distribution's mean. The seed notebook's
"NES" was a genetic algorithm; it stays available as ``genetic``
(:mod:`mono_s2s.attacks.genetic`, not in the default attack list).

Query budget, per sample, the same formula for every model:
``1 + nes_population * nes_generations`` (the clean NLL and the triggers
scored; 257 by default), asserted. The random control (a uniform random trigger
of the same length, drawn from the sample's generator *before* the search, so
every model gets the same control, scored on the same cut source) is not
counted. Randomness: ``common.sample_rng`` (attacks.seed and the sample id); the
search draws the same uniforms on every model, the triggers they give depend
on the model through ``theta``.

Measured, at equal queries (``bench/nes_comparison.py``: the tests' ``attack_target``
model, a trained d_model-32 baseline with 1305 candidates; the first 8 test
samples x ``attacks.seed`` 0-4; default settings, 257 queries per sample for each
search; random = the best of 256 uniform random triggers; wins of 40 pairs)::

    search    mean attacked - clean NLL   wins against                wall time (40 runs)
    nes       0.243                       genetic 12, random 29       20 s
    genetic   0.280                       nes 28, random 33           19 s
    random    0.201                       nes 11, genetic 7           15 s

NES beats random search (+0.042 nats, paired standard error 0.025) but **loses
to the genetic search** (-0.037, s.e. 0.027). The settings were tuned on 8 other
test samples x 6 seeds (NES 0.257, genetic 0.301, random 0.182 there), trying:
``nes_lr`` 8 / 16 / 24 / 32 (0.246 / 0.257 / 0.253 / 0.229); populations 8 / 12 / 16
at the same budget (0.229 / 0.249 / 0.257); logits held within 5-12 nats of each
position's largest (0.227-0.254); tempered rather than uniform restarts (0.262);
no restarts (0.215); independent rather than mirrored draws (0.254: mirroring
makes no measurable difference here); logits shared by all positions plus
per-position offsets (0.271). On this model a token's effect is nearly additive
and the same at every position (Pearson 0.95 between two positions' single-token
sweeps on one sample), which the genetic search's memory of its elite exploits
and a distribution that forgets at each restart does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Generator, Sequence

import numpy as np

from mono_s2s.attacks.common import AttackRecord, Objective, sample_rng
from mono_s2s.attacks.engine import Score, Search, flat, per_budget, run_all
from mono_s2s.attacks.hotflip import random_trigger
from mono_s2s.attacks.injection import fit_with_suffix
from mono_s2s.data.records import Record

__all__ = ["nes_attack", "nes_searches", "nes_search", "nes_steps", "query_budget", "mirrored_draws", "utilities", "score_function_gradient",
           "entropy", "AppendedTrigger", "NesExtra", "NesRun"]

# Uniforms are clipped to (0, 1) open, so that -log(-log u) is finite for u and for 1 - u.
_LOW, _HIGH = np.finfo(np.float64).tiny, 1.0 - np.finfo(np.float64).epsneg


def query_budget(args) -> int:
    """Objective queries one sample may spend: the clean NLL and ``nes_population * nes_generations`` triggers."""
    return 1 + args.nes_population * args.nes_generations


def _gumbel(u: np.ndarray) -> np.ndarray:
    return -np.log(-np.log(u))


def mirrored_draws(theta: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """``(2n, m)`` token indices from ``theta`` (m, V) and ``uniforms`` (n, m, V) in [0, 1).

    Rows ``2k`` and ``2k + 1`` are a mirrored pair: Gumbel-max with the noise of
    ``u`` and of ``1 - u`` (see the module docstring); each row is a draw from
    ``softmax(theta)`` per position.
    """
    u = np.clip(uniforms, _LOW, _HIGH)
    out = np.empty((2 * u.shape[0], theta.shape[0]), dtype=np.int64)
    out[0::2] = np.argmax(theta + _gumbel(u), axis=-1)
    out[1::2] = np.argmax(theta + _gumbel(1.0 - u), axis=-1)
    return out


def utilities(fitness: Sequence[float]) -> np.ndarray:
    """Rank-based utilities (Wierstra et al., 2014, eq. 13): zero sum, highest fitness first; ties share."""
    f = np.asarray(fitness, dtype=np.float64)
    lam = len(f)
    raw = np.maximum(0.0, math.log(lam / 2 + 1) - np.log(np.arange(1, lam + 1)))
    by_rank = raw / raw.sum() - 1.0 / lam
    u = np.empty(lam)
    u[np.argsort(-f, kind="stable")] = by_rank
    # Equal fitness, equal utility: otherwise the order of two copies of one trigger would decide their update.
    _, group = np.unique(f, return_inverse=True)
    return (np.bincount(group, weights=u) / np.bincount(group))[group]


def softmax(theta: np.ndarray) -> np.ndarray:
    e = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def entropy(theta: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each position's categorical ``softmax(theta)``; ``log V`` when uniform."""
    p = softmax(theta)
    return -(p * np.log(np.maximum(p, 1e-300))).sum(axis=-1)


def score_function_gradient(theta: np.ndarray, draws: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``sum_i u_i grad_theta log p(x_i)`` (m, V), with ``grad_theta_j log p(x) = onehot(x_j) - softmax(theta_j)``."""
    grad = -float(np.sum(u)) * softmax(theta)  # zero when the utilities sum to zero; kept for any other weights
    rows = np.broadcast_to(np.arange(theta.shape[0]), draws.shape)
    np.add.at(grad, (rows, draws), np.broadcast_to(np.asarray(u)[:, None], draws.shape))
    return grad


@dataclass
class NesRun:
    """What :func:`nes_search` found: the best trigger (as indices) and the search's history."""

    best: tuple[int, ...]
    best_fitness: float
    scored: int  # fitness evaluations spent (distinct triggers)
    best_per_generation: list[float]  # best fitness scored so far, after each generation
    mean_per_generation: list[float]  # the population's mean fitness (repeats counted as drawn)
    entropy_per_generation: list[float]  # mean over positions of the entropy (nats) each population was drawn from
    restarts: int
    theta: np.ndarray  # the final logits (m, V)


def nes_search(fitness: Callable[[list[tuple[int, ...]]], list[float]], n_positions: int, n_tokens: int,
               population: int, lr: float, budget: int, rng: np.random.Generator) -> NesRun:
    """NES over ``n_positions`` categoricals of ``n_tokens`` (the module docstring's search), no model in it.

    ``fitness`` scores a list of distinct, never-scored triggers (tuples of
    indices) in one call; at most ``budget`` triggers are scored in all.
    """
    steps = nes_steps(n_positions, n_tokens, population, lr, budget, rng)
    try:
        batch = next(steps)
        while True:
            batch = steps.send(fitness(batch))
    except StopIteration as stop:
        return stop.value


def nes_steps(n_positions: int, n_tokens: int, population: int, lr: float, budget: int, rng: np.random.Generator
              ) -> Generator[list[tuple[int, ...]], list[float], NesRun]:
    """:func:`nes_search` as a generator: it yields each batch of triggers to score and is sent their fitness
    (so the engine can score the batches of many samples in the same forwards)."""
    if population < 2 or population % 2:
        raise ValueError(f"the population must be even and at least 2 (mirrored pairs), got {population}")
    theta = np.zeros((n_positions, n_tokens))
    cache: dict[tuple[int, ...], float] = {}
    best_hist: list[float] = []
    mean_hist: list[float] = []
    entropy_hist: list[float] = []
    restarts = 0
    # Each generation scores at least one trigger or restarts, and the one after a restart draws from the
    # uniform start: so 2 * budget + 1 generations spend the budget unless the trigger space is nearly exhausted.
    for _ in range(2 * budget + 1):
        room = budget - len(cache)
        if room <= 0:
            break
        draws = mirrored_draws(theta, rng.random((population // 2, n_positions, n_tokens)))
        drawn = [tuple(int(t) for t in row) for row in draws]
        fresh = list(dict.fromkeys(t for t in drawn if t not in cache))
        if not fresh:
            theta = np.zeros_like(theta)
            restarts += 1
            continue
        last = len(fresh) >= room
        fresh = fresh[:room]
        cache.update(zip(fresh, (yield fresh)))
        values = [cache[t] for t in drawn if t in cache]
        best_hist.append(max(cache.values()))
        mean_hist.append(float(np.mean(values)))
        entropy_hist.append(float(entropy(theta).mean()))
        if last:
            break
        theta = theta + lr * score_function_gradient(theta, draws, utilities(values))
    best = max(cache, key=cache.get)
    return NesRun(best=best, best_fitness=cache[best], scored=len(cache), best_per_generation=best_hist,
                  mean_per_generation=mean_hist, entropy_per_generation=entropy_hist, restarts=restarts,
                  theta=theta)


class AppendedTrigger:
    """One sample under the black-box threat model: its source cut so that an ``length``-token trigger fits.

    The dialogue is cut at a word boundary until it and the trigger fit the
    encoder (``fit_with_suffix``, with ``length`` one-token words as a stand-in),
    so no trigger is truncated and :meth:`text` is exactly what :meth:`score` scored.
    """

    def __init__(self, objective: Objective, record: Record, length: int) -> None:
        placeholder = " x" * length
        self.objective = objective
        self.source = fit_with_suffix(objective, record.source, placeholder)[: -len(placeholder)]
        self.src = objective.source_ids(self.source, room=length)
        self.labels = objective.label_ids(record.summary)

    def score(self, triggers: Sequence[Sequence[int]]) -> list[float]:
        """The NLL of the reference with each trigger appended: one batched ``nll_ids`` call."""
        return self.objective.nll_ids([self.src + list(t) for t in triggers], [self.labels] * len(triggers))

    def text(self, trigger: Sequence[int]) -> str:
        return self.source + " " + self.objective.decode(trigger)


@dataclass
class NesExtra:
    """What an NES record keeps besides the common fields."""

    trigger_ids: list[int]
    control_trigger_ids: list[int]  # the random control: a trigger of the same length, drawn before the search
    query_budget: int  # 1 + nes_population * nes_generations, the clean NLL included
    fitness_per_generation: list[float]  # the best NLL scored so far, after each generation
    mean_fitness_per_generation: list[float]  # the population's mean NLL: the distribution's expected fitness
    # Entropies (nats) of the search distribution; the uniform start's is log(V), initial_entropy. Per
    # generation, the mean over positions of the distribution it drew from (it falls as the distribution
    # concentrates, and is back at initial_entropy after a restart); per position, the final distribution's.
    entropy_per_generation: list[float]
    entropy_per_position: list[float]
    initial_entropy: float
    restarts: int  # times the distribution converged (a whole generation of repeats) and restarted from uniform


def nes_sample_search(objective: Objective, rec: Record, args, model_slug: str, candidates: list[int]) -> Search:
    """NES on one sample (a generator for :mod:`mono_s2s.attacks.engine`); returns its record."""
    length, budget = args.nes_trigger_len, query_budget(args)
    rng = sample_rng(args.seed, rec.id)
    control = random_trigger(rng, candidates, length)  # first: the same control for every model
    target = AppendedTrigger(objective, rec, length)
    # The clean score is of the whole source (as every attack reports it), not of the dialogue cut for room.
    (original,) = yield Score([objective.source_ids(rec.source)], [target.labels])
    steps = nes_steps(length, len(candidates), args.nes_population, args.nes_lr, budget - 1, rng)
    spent = 1
    try:
        batch = next(steps)
        while True:
            ids = [[candidates[i] for i in t] for t in batch]
            fitness = yield Score([target.src + t for t in ids], [target.labels] * len(ids))
            spent += len(ids)
            batch = steps.send(fitness)
    except StopIteration as stop:
        run: NesRun = stop.value
    assert spent <= budget, f"nes spent {spent} queries, budget {budget}"
    best = [candidates[i] for i in run.best]
    (control_nll,) = yield Score([target.src + list(control)], [target.labels])  # not counted in the queries
    extra = NesExtra(
        trigger_ids=best, control_trigger_ids=list(control), query_budget=budget,
        fitness_per_generation=run.best_per_generation, mean_fitness_per_generation=run.mean_per_generation,
        entropy_per_generation=run.entropy_per_generation, entropy_per_position=entropy(run.theta).tolist(),
        initial_entropy=math.log(len(candidates)), restarts=run.restarts)
    return AttackRecord(
        attack="nes", model=model_slug, sample_id=rec.id, original_nll=original, attacked_nll=run.best_fitness,
        queries=spent, perturbed_text=target.text(best), trigger=objective.decode(best), tokens_changed=length,
        budget=length, control_nll=control_nll, control_text=target.text(control), extra=extra)


def nes_searches(objective: Objective, samples: Sequence[Record], args, model_slug: str, budgets: Sequence[int],
                 prepared=None) -> list[Search]:
    """One :func:`nes_sample_search` per sample and trigger length in ``budgets`` (the engine runs them together)."""
    candidates = list(objective.candidates)
    if not candidates:
        raise ValueError("nes: the tokenizer has no candidate trigger tokens")
    return per_budget(lambda rec, a: nes_sample_search(objective, rec, a, model_slug, candidates), samples, args,
                      "nes_trigger_len", budgets)


def nes_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
               progress: bool = True, prepared=None) -> list[AttackRecord]:
    """One NES trigger per sample; one ``AttackRecord`` per sample (attack="nes"), each with its random control."""
    return flat(run_all(objective, nes_searches(objective, samples, args, model_slug, [args.nes_trigger_len]),
                        progress=progress, desc=f"nes[{model_slug}]"))
