"""NES (Natural Evolution Strategies over a discrete trigger) and the genetic search it replaced as ``nes``.

The sampler, the utilities and the update are tested on their own (no model);
the attack on a tiny random model (budget, records, reproducibility, the random
control) and, for what the search finds, on the trained ``attack_target``
fixture (conftest.py) with the run's own settings.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

import numpy as np
import pytest
import torch

from mono_s2s.attacks import nes
from mono_s2s.attacks.common import AttackRecord, Objective, candidate_vocabulary
from mono_s2s.attacks.genetic import GeneticExtra, genetic_attack
from mono_s2s.attacks.nes import (AppendedTrigger, NesExtra, mirrored_draws, nes_attack, nes_search, query_budget,
                                  score_function_gradient, softmax, utilities)
from mono_s2s.config import AttackArgs

ARGS = AttackArgs(seed=7, nes_population=6, nes_generations=3, nes_trigger_len=3)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def other_model(tok, redrawn_tiny_t5):
    return redrawn_tiny_t5(tok, 300, std=0.5)


class CountingObjective:
    """Wraps an Objective; records the rows of every scoring call (``score_rows``, what the engine calls)."""

    def __init__(self, objective: Objective) -> None:
        self.inner, self.calls = objective, []

    def score_rows(self, sources, labels):
        self.calls.append(len(sources))
        return self.inner.score_rows(sources, labels)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __setattr__(self, name, value):
        if name in ("inner", "calls"):
            object.__setattr__(self, name, value)
        else:  # the engine counts queries on the objective
            setattr(self.inner, name, value)


# -- the search's parts, no model ------------------------------------------------------------------------------


def test_mirrored_draws_come_in_pairs_of_u_and_one_minus_u():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(3, 7))
    u = rng.random((4, 3, 7))
    draws = mirrored_draws(theta, u)
    assert draws.shape == (8, 3)
    gumbel = lambda v: -np.log(-np.log(v))  # noqa: E731
    assert (draws[0::2] == np.argmax(theta + gumbel(u), -1)).all()
    assert (draws[1::2] == np.argmax(theta + gumbel(1 - u), -1)).all()
    # At the uniform start the mirror is the token of the smallest noise: never the same as its pair's.
    flat = mirrored_draws(np.zeros((3, 7)), u)
    assert (flat[0::2] == u.argmax(-1)).all() and (flat[1::2] == u.argmin(-1)).all()
    assert (flat[0::2] != flat[1::2]).all()


def _frequencies(draws: np.ndarray, n_tokens: int) -> np.ndarray:
    return np.bincount(draws.ravel(), minlength=n_tokens) / draws.size


def test_both_members_of_a_mirrored_pair_are_draws_from_the_distribution():
    """The score-function estimate is unbiased only if every member is a draw from softmax(theta). The mirror
    ``-G`` of the Gumbel noise (a mutant, checked here to fail the same test) is not, when V > 2."""
    theta = np.array([[2.0, 0.0, 0.0, 0.0, 0.0]])
    u = np.random.default_rng(1).random((100_000, 1, 5))
    draws = mirrored_draws(theta, u)
    p = softmax(theta)[0]
    for half in (draws[0::2], draws[1::2]):
        assert np.abs(_frequencies(half, 5) - p).max() < 0.01
    minus_g = np.argmax(theta - (-np.log(-np.log(u))), -1)
    assert np.abs(_frequencies(minus_g, 5) - p).max() > 0.05  # 0.76 for token 0, not 0.65


def test_utilities_are_rank_based_zero_sum_and_shared_by_ties():
    f = [0.3, 2.0, -1.0, 0.5, 0.1, 7.0]
    u = utilities(f)
    lam = len(f)
    raw = [max(0.0, math.log(lam / 2 + 1) - math.log(i)) for i in range(1, lam + 1)]
    by_rank = [r / sum(raw) - 1 / lam for r in raw]
    ranks = sorted(range(lam), key=lambda i: -f[i])
    assert u == pytest.approx([by_rank[ranks.index(i)] for i in range(lam)])
    assert sum(u) == pytest.approx(0.0, abs=1e-12)
    assert max(u) > 0 > min(u)
    # Rank-based: any increasing transform of the fitness gives the same utilities.
    assert utilities([math.exp(3 * x) - 7 for x in f]) == pytest.approx(u)
    # Ties share the mean of their ranks' utilities (and the sum stays zero).
    tied = utilities([1.0, 5.0, 1.0, 0.0])
    raw4 = [max(0.0, math.log(3) - math.log(i)) for i in range(1, 5)]
    four = [r / sum(raw4) - 1 / 4 for r in raw4]  # by rank: 5.0 first, the two 1.0 second and third
    assert tied == pytest.approx([(four[1] + four[2]) / 2, four[0], (four[1] + four[2]) / 2, four[3]])
    assert sum(tied) == pytest.approx(0.0, abs=1e-12)


def test_score_function_gradient_is_the_gradient_of_log_p():
    rng = np.random.default_rng(2)
    theta = rng.normal(size=(2, 5))
    x = np.array([[3, 1]])

    def log_p(t):
        return float(sum(np.log(softmax(t)[j, x[0, j]]) for j in range(2)))

    numeric = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[idx] = 1e-6
        numeric[idx] = (log_p(theta + step) - log_p(theta - step)) / 2e-6
    assert score_function_gradient(theta, x, np.array([1.0])) == pytest.approx(numeric, abs=1e-6)
    # A population: the utility-weighted sum of its members' gradients.
    draws = rng.integers(5, size=(4, 2))
    u = utilities(rng.normal(size=4))
    each = [score_function_gradient(theta, draws[i:i + 1], np.array([1.0])) for i in range(4)]
    assert score_function_gradient(theta, draws, u) == pytest.approx(sum(w * g for w, g in zip(u, each)))


def _toy_probability(lr: float, generations: int = 12, n_tokens: int = 20, target: int = 7) -> float:
    """The update alone on a separable toy fitness (positions equal to ``target``): its mean probability."""
    rng = np.random.default_rng(3)
    theta = np.zeros((3, n_tokens))
    for _ in range(generations):
        draws = mirrored_draws(theta, rng.random((5, 3, n_tokens)))
        theta = theta + lr * score_function_gradient(theta, draws, utilities((draws == target).sum(1)))
    return float(softmax(theta)[:, target].mean())


def test_the_update_moves_probability_toward_the_fitter_token_and_its_mutant_away():
    uniform = 1 / 20
    assert _toy_probability(lr=2.0) > 10 * uniform  # 0.65, from 0.05
    assert _toy_probability(lr=-2.0) < uniform / 2  # the sign-flipped update (a mutant): 0.016
    assert _toy_probability(lr=0.0) == pytest.approx(uniform)


def test_nes_search_finds_the_toy_optimum_within_its_budget_and_never_pays_twice():
    scored = []

    def fitness(batch):
        scored.extend(batch)
        return [sum(t == 7 for t in trig) for trig in batch]

    # (40 of 40 generator seeds find it with these settings; this is one of them.)
    run = nes_search(fitness, 3, 50, population=10, lr=2.0, budget=300, rng=np.random.default_rng(4))
    assert run.best == (7, 7, 7) and run.best_fitness == 3
    assert len(scored) == len(set(scored)) == run.scored == 300
    assert run.best_per_generation == sorted(run.best_per_generation)
    # The update disabled (a mutant): 300 uniform draws from 50^3 triggers do not find it (0 of 40 seeds).
    blind = nes_search(fitness, 3, 50, population=10, lr=0.0, budget=300, rng=np.random.default_rng(4))
    assert blind.best_fitness < 3


def test_a_converged_distribution_restarts_and_the_search_ends_on_a_small_space():
    scored = []

    def fitness(batch):
        scored.extend(batch)
        return [float(t[0] == 1 and t[1] == 2) for t in batch]

    run = nes_search(fitness, 2, 3, population=4, lr=50.0, budget=9, rng=np.random.default_rng(5))
    assert run.restarts >= 1 and run.best == (1, 2)
    assert len(scored) == len(set(scored)) <= 9


def test_the_population_must_be_even():
    with pytest.raises(ValueError, match="even"):
        nes_search(lambda b: [0.0] * len(b), 2, 5, population=5, lr=1.0, budget=10, rng=np.random.default_rng(0))


# -- the attack on a tiny random model -------------------------------------------------------------------------


def test_nes_budget_trigger_and_records(objective, samples, tok):
    recs = nes_attack(objective, samples, ARGS, "nonmono", progress=False)
    budget = 1 + ARGS.nes_population * ARGS.nes_generations
    vocab = set(candidate_vocabulary(tok))
    assert len(recs) == len(samples) and query_budget(ARGS) == budget
    for r, s in zip(recs, samples):
        assert r.attack == "nes" and r.model == "nonmono" and r.sample_id == s.id
        assert isinstance(r.extra, NesExtra)
        # The whole budget is spent: repeats are free and pay for more generations.
        assert r.queries == budget == r.extra.query_budget
        assert len(r.extra.trigger_ids) == ARGS.nes_trigger_len == r.tokens_changed
        assert set(r.extra.trigger_ids) <= vocab and set(r.extra.control_trigger_ids) <= vocab
        assert len(r.extra.control_trigger_ids) == ARGS.nes_trigger_len
        hist = r.extra.fitness_per_generation
        assert len(hist) >= ARGS.nes_generations and hist == sorted(hist)
        assert r.attacked_nll == hist[-1]
        assert len(r.extra.mean_fitness_per_generation) == len(hist) == len(r.extra.entropy_per_generation)
        assert r.extra.entropy_per_generation[0] == pytest.approx(r.extra.initial_entropy)
        assert r.extra.initial_entropy == pytest.approx(math.log(len(vocab)))
        assert len(r.extra.entropy_per_position) == ARGS.nes_trigger_len
        assert r.perturbed_text.endswith(r.trigger) and r.trigger == tok.decode(r.extra.trigger_ids)
        assert r.control_text.endswith(tok.decode(r.extra.control_trigger_ids))
        assert r.success is None and r.original_rougeL is None


def test_nes_scores_each_population_in_one_batched_call(objective, samples):
    counting = CountingObjective(objective)
    # One sample per call, so each scoring call is one search's request (the engine merges those of several).
    recs = [r for s in samples[:2] for r in nes_attack(counting, [s], ARGS, "mono", progress=False)]
    at = 0
    for r in recs:
        n = len(r.extra.fitness_per_generation)
        calls, at = counting.calls[at:at + n + 2], at + n + 2
        # The clean source, one call per generation (its triggers not scored before), the control.
        assert calls[0] == 1 and calls[-1] == 1
        assert all(1 <= c <= ARGS.nes_population for c in calls[1:-1]) and sum(calls[1:-1]) == r.queries - 1
    assert at == len(counting.calls)


def test_nes_reported_texts_score_like_the_ids(objective, samples):
    for r, s in zip(nes_attack(objective, samples[:2], ARGS, "nonmono", progress=False), samples):
        attacked, control, clean = objective.nll([r.perturbed_text, r.control_text, s.source], [s.summary] * 3)
        assert attacked == pytest.approx(r.attacked_nll, abs=1e-4)
        assert control == pytest.approx(r.control_nll, abs=1e-4)
        assert clean == pytest.approx(r.original_nll, abs=1e-4)


def test_nes_budget_and_control_are_the_same_for_two_models(model, other_model, tok, samples):
    """Equal budgets for every model, and the control drawn before the search: the same trigger on every model,
    each scored on its own model (the control's NLL is the model's NLL of the control's text)."""
    a_obj, b_obj = (Objective(m, tok, max_source_tokens=128, max_summary_tokens=48) for m in (model, other_model))
    a = nes_attack(a_obj, samples, ARGS, "nonmono", progress=False)
    b = nes_attack(b_obj, samples, ARGS, "mono", progress=False)
    assert [r.extra.trigger_ids for r in a] != [r.extra.trigger_ids for r in b]  # the search did see the model
    for x, y, s in zip(a, b, samples):
        assert x.extra.query_budget == y.extra.query_budget == query_budget(ARGS)
        assert x.queries <= x.extra.query_budget and y.queries <= y.extra.query_budget
        assert x.extra.control_trigger_ids == y.extra.control_trigger_ids and x.control_text == y.control_text
        for obj, r in ((a_obj, x), (b_obj, y)):
            target = AppendedTrigger(obj, s, ARGS.nes_trigger_len)
            assert r.control_text == target.text(r.extra.control_trigger_ids)
            assert target.score([r.extra.control_trigger_ids]) == pytest.approx([r.control_nll], abs=1e-6)
        assert x.control_nll != pytest.approx(y.control_nll)


def test_nes_is_reproducible_with_a_seed(objective, samples):
    a = nes_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    b = nes_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    c = nes_attack(objective, samples[:2], dataclasses.replace(ARGS, seed=ARGS.seed + 100), "nonmono",
                   progress=False)
    timeless = lambda r: {k: v for k, v in r.to_dict().items() if k != "seconds"}  # noqa: E731
    assert [timeless(r) for r in a] == [timeless(r) for r in b]
    assert [r.extra.trigger_ids for r in a] != [r.extra.trigger_ids for r in c]
    assert [r.extra.control_trigger_ids for r in a] != [r.extra.control_trigger_ids for r in c]


def test_nes_and_genetic_records_round_trip_with_their_extras(objective, samples):
    for attack, kind in ((nes_attack, NesExtra), (genetic_attack, GeneticExtra)):
        (r,) = attack(objective, samples[:1], ARGS, "nonmono", progress=False)
        again = AttackRecord.from_dict(r.to_dict())
        assert isinstance(again.extra, kind) and again.to_dict() == r.to_dict()


def test_genetic_search_keeps_its_budget_control_and_stays_out_of_the_default_run(objective, samples, tok):
    from mono_s2s.attacks import ATTACKS
    from mono_s2s.attacks.registry import OPTIONAL, REGISTRY, extra_type, spec

    assert "genetic" not in ATTACKS and tuple(REGISTRY) == ATTACKS and "genetic" in OPTIONAL
    assert spec("genetic").run is genetic_attack and extra_type("genetic") is GeneticExtra
    recs = genetic_attack(objective, samples, ARGS, "nonmono", progress=False)
    nes_recs = nes_attack(objective, samples, ARGS, "nonmono", progress=False)
    vocab = set(candidate_vocabulary(tok))
    for r, n, s in zip(recs, nes_recs, samples):
        assert r.attack == "genetic" and r.queries == query_budget(ARGS) == r.extra.query_budget
        assert len(r.extra.trigger_ids) == ARGS.nes_trigger_len and set(r.extra.trigger_ids) <= vocab
        assert r.extra.control_trigger_ids == n.extra.control_trigger_ids  # drawn first, as NES's
        hist = r.extra.fitness_per_generation
        assert hist == sorted(hist) and r.attacked_nll == hist[-1]
        attacked, control = objective.nll([r.perturbed_text, r.control_text], [s.summary] * 2)
        assert (attacked, control) == pytest.approx((r.attacked_nll, r.control_nll), abs=1e-4)


# -- what the search finds, on a trained model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(attack_target):
    """NES with the run's own settings on 6 test samples of the trained ``attack_target`` model."""
    model, tok, cfg, corpus = attack_target
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    samples, args = corpus["test"][:6], AttackArgs()
    return objective, samples, args, nes_attack(objective, samples, args, "nonmono", progress=False)


def test_nes_beats_its_random_control_on_a_trained_model(trained):
    """Issue 12's control: the trigger found beats a random trigger of the same length on the same cut source,
    on average and on most samples. (The best of 256 random triggers beats one too: this test cannot tell a
    working update from a broken one; the next two can.)"""
    objective, samples, args, recs = trained
    assert all(r.queries == query_budget(args) for r in recs)
    excess = [r.adversarial_excess for r in recs]
    assert statistics.mean(excess) > 0, excess
    assert sum(e > 0 for e in excess) >= 5, excess


def test_the_genetic_search_beats_its_random_control_on_a_trained_model(trained):
    objective, samples, args, _ = trained
    excess = [r.adversarial_excess for r in genetic_attack(objective, samples, args, "nonmono", progress=False)]
    assert statistics.mean(excess) > 0 and sum(e > 0 for e in excess) >= 5, excess


def test_nes_beats_random_search_with_the_same_queries(trained):
    """The best of as many uniform random triggers as NES scored (its queries less the clean NLL), on the same
    samples: NES finds worse triggers on average and on most samples."""
    objective, samples, args, recs = trained
    cands, gen = objective.candidates, torch.Generator().manual_seed(0)
    found, rnd = [], []
    for r, s in zip(recs, samples):
        target = AppendedTrigger(objective, s, args.nes_trigger_len)
        tries = [[cands[int(i)] for i in torch.randint(len(cands), (args.nes_trigger_len,), generator=gen)]
                 for _ in range(r.queries - 1)]
        rnd.append(max(target.score(tries)))
        found.append(r.attacked_nll)
    assert statistics.mean(found) > statistics.mean(rnd), (found, rnd)
    assert sum(f > x for f, x in zip(found, rnd)) >= 5, (found, rnd)


def test_the_update_is_what_finds_them(trained, monkeypatch):
    """Mutants in code: the same search with its update disabled (a zero gradient: every generation draws from
    the uniform start) or reversed finds weaker triggers with the same budget, on average and on most samples.
    Only the real update moves the distribution onto good triggers: the population's mean NLL rises by more
    than 0.1 nats over the uniform start's on most samples (on all 6 here, 0.14-0.43; the mutants' on none, at
    most 0.06; half the default nes_lr on 3), and the distribution concentrates (its mean entropy falls below
    half of log V; disabled, it stays at log V)."""
    objective, samples, args, recs = trained

    def rise(r):
        return max(r.extra.mean_fitness_per_generation) - r.extra.mean_fitness_per_generation[0]

    assert sum(rise(r) > 0.1 for r in recs) >= 5, [rise(r) for r in recs]
    assert sum(min(r.extra.entropy_per_generation) < r.extra.initial_entropy / 2 for r in recs) >= 5
    real = nes.score_function_gradient
    for name, mutant in (("disabled", lambda *a: 0.0 * real(*a)), ("reversed", lambda *a: -real(*a))):
        monkeypatch.setattr(nes, "score_function_gradient", mutant)
        weak = nes_attack(objective, samples, args, "nonmono", progress=False)
        assert [w.queries for w in weak] == [r.queries for r in recs]
        pairs = [(r.attacked_nll, w.attacked_nll) for r, w in zip(recs, weak)]
        assert statistics.mean(a for a, _ in pairs) > statistics.mean(b for _, b in pairs), (name, pairs)
        assert sum(a > b for a, b in pairs) >= 5, (name, pairs)
        assert not any(rise(w) > 0.1 for w in weak), (name, [rise(w) for w in weak])
        if name == "disabled":
            assert all(e == pytest.approx(w.extra.initial_entropy)
                       for w in weak for e in w.extra.entropy_per_generation)
