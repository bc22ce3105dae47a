"""White-box gradient attacks (HotFlip, universal trigger) on tiny random-init models, CPU.

Default random init (std 0.02) is used on purpose: the NLL is then close to
linear in the input embeddings, so HotFlip's first-order ranking is
informative (larger init stds make the surface rougher and the test weaker).
"""

from __future__ import annotations

import statistics

import pytest
import torch

from mono_s2s.attacks.common import Objective, candidate_vocabulary, evaluate_triggers_per_sample
from mono_s2s.attacks.hotflip import first_order_scores, hotflip_attack, neutral_token
from mono_s2s.attacks.universal import learn_universal_trigger, universal_attack
from mono_s2s.config import AttackArgs, ModelConfig
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.models import build_model
from mono_s2s.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(0, 200, 20, 20)


@pytest.fixture(scope="module")
def tok(corpus):
    return train_tokenizer(corpus["train"], vocab_size=300)


def _objective(tok, variant: str) -> Objective:
    cfg = ModelConfig(d_model=32, d_ff=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, vocab_size=300,
                      dropout=0.0)
    return Objective(build_model(cfg, variant, tok, seed=0), tok, max_source_tokens=64, max_summary_tokens=32)


@pytest.fixture(scope="module")
def obj(tok):
    return _objective(tok, "baseline")


@pytest.fixture(scope="module")
def mono_obj(tok):
    return _objective(tok, "monotonic")


def hf_args(**kw) -> AttackArgs:
    base = dict(hotflip_trigger_len=3, hotflip_iters=4, hotflip_topk=5, hotflip_proposals=6, hotflip_beam=1,
                hotflip_restarts=2)
    return AttackArgs(**{**base, **kw})


def uni_args(**kw) -> AttackArgs:
    base = dict(universal_trigger_len=3, universal_max_sweeps=2, universal_restarts=2, universal_topk=4,
                universal_beam=2, universal_batch=2, universal_train_samples=4, universal_eval_samples=3)
    return AttackArgs(**{**base, **kw})


# -- HotFlip --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("beam", [1, 2])
def test_hotflip_records_and_budget(obj, corpus, beam):
    args = hf_args(hotflip_beam=beam)
    samples = corpus["test"][:3]
    q0 = obj.queries
    recs = hotflip_attack(obj, samples, args, "baseline", progress=False)
    assert [r.sample_id for r in recs] == [s.id for s in samples]
    bound = 1 + args.hotflip_restarts * args.hotflip_iters * beam * (1 + args.hotflip_proposals)
    for r in recs:
        assert r.attack == "hotflip" and r.model == "baseline"
        assert len(r.extra.trigger_ids) == args.hotflip_trigger_len
        n_it = len(r.extra.loss_per_iteration)
        assert n_it == args.hotflip_restarts * args.hotflip_iters  # the whole budget: no early stop
        assert len(r.extra.grad_norms_per_iteration) == n_it
        assert len(r.extra.token_evolution) == n_it + 1
        assert len(r.extra.avg_grad_mag_per_position) == args.hotflip_trigger_len
        assert 0 < r.queries <= bound
        assert 0 <= r.tokens_changed <= args.hotflip_trigger_len
        assert r.extra.min_grad_norm > 0
        # The record keeps every iteration's values, so the runner logs iterations from records alone.
        assert len(r.extra.tokens_changed_per_iteration) == n_it
        assert r.extra.loss_per_iteration[-1] == pytest.approx(r.attacked_nll)
        assert r.extra.tokens_changed_per_iteration[-1] == r.tokens_changed
    # Every sequence scored is counted: the attack's queries, plus one per sample for its random control.
    assert sum(r.queries for r in recs) + len(recs) == obj.queries - q0


def test_hotflip_control_is_a_random_trigger_the_same_for_every_model(obj, mono_obj, corpus):
    args = hf_args(hotflip_iters=2)
    samples = corpus["test"][:3]
    base = hotflip_attack(obj, samples, args, "baseline", progress=False)
    mono = hotflip_attack(mono_obj, samples, args, "monotonic", progress=False)
    for a, b, s in zip(base, mono, samples):
        control = a.extra.control_trigger_ids
        assert control == b.extra.control_trigger_ids and len(control) == args.hotflip_trigger_len
        src = obj.source_ids(s.source, room=args.hotflip_trigger_len)
        assert a.control_nll == pytest.approx(obj.nll_ids([src + control], [obj.label_ids(s.summary)])[0], abs=1e-5)
        assert a.control_text == obj.decode(src + control)
        assert a.adversarial_excess == pytest.approx(a.attacked_nll - a.control_nll)
    assert [r.sample_id for r in base] != [] and len({tuple(r.extra.control_trigger_ids) for r in base}) == 3


def test_hotflip_only_accepts_improving_flips(obj, corpus):
    args = hf_args()
    for r in hotflip_attack(obj, corpus["test"][:4], args, "baseline", progress=False):
        losses = r.extra.loss_per_iteration
        assert all(b >= a - 1e-6 for a, b in zip(losses, losses[1:]))
        # Baseline of the search = NLL with the initial trigger (not the clean NLL: the trigger itself moves it).
        assert r.attacked_nll >= r.extra.initial_trigger_nll - 1e-5
        assert r.extra.loss_improvement >= -1e-5
        # The reported NLL is that of the reported trigger, and the text is what was scored.
        s = next(x for x in corpus["test"] if x.id == r.sample_id)
        src = obj.source_ids(s.source, room=args.hotflip_trigger_len)
        again = obj.nll_ids([src + r.extra.trigger_ids], [obj.label_ids(s.summary)])[0]
        assert again == pytest.approx(r.attacked_nll, abs=1e-4)
        assert r.original_nll == pytest.approx(obj.nll([s.source], [s.summary])[0], abs=1e-5)
        assert r.trigger == obj.decode(r.extra.trigger_ids)


def test_hotflip_reproducible(obj, corpus):
    args = hf_args()
    a = hotflip_attack(obj, corpus["test"][:3], args, "baseline", progress=False)
    b = hotflip_attack(obj, corpus["test"][:3], args, "baseline", progress=False)
    assert [r.extra.trigger_ids for r in a] == [r.extra.trigger_ids for r in b]
    assert [r.attacked_nll for r in a] == [r.attacked_nll for r in b]


def _random_flips(trigger, n_flips, candidates, gen):
    t = list(trigger)
    for _ in range(n_flips):
        t[int(torch.randint(len(t), (1,), generator=gen))] = candidates[int(torch.randint(len(candidates), (1,),
                                                                                          generator=gen))]
    return t


def test_hotflip_beats_random_flips(obj, tok, corpus):
    """Same samples, same number of flips: HotFlip's triggers raise the NLL at least as much as random ones."""
    args = hf_args(hotflip_iters=3)
    samples = corpus["test"][:8]
    cands = candidate_vocabulary(tok)
    start = [neutral_token(tok, cands)] * args.hotflip_trigger_len
    gen = torch.Generator().manual_seed(0)
    hot, rnd = [], []
    for r, s in zip(hotflip_attack(obj, samples, args, "baseline", progress=False), samples):
        lab, src = obj.label_ids(s.summary), obj.source_ids(s.source, room=args.hotflip_trigger_len)
        flips = max(r.tokens_changed, 1)
        rnd.append(obj.nll_ids([src + _random_flips(start, flips, cands, gen)], [lab])[0])
        hot.append(r.attacked_nll)
    assert statistics.mean(hot) >= statistics.mean(rnd)
    assert sum(h >= x - 1e-6 for h, x in zip(hot, rnd)) >= len(samples) // 2


def test_hotflip_uses_its_budget_and_restarts_from_random_triggers(obj, corpus):
    # Round 1 stopped at the first step that did not improve (1-3 iterations, 26-31 of 166 queries).
    args = hf_args(hotflip_iters=3, hotflip_beam=2, hotflip_restarts=3)
    bound = 1 + 3 * 3 * 2 * (1 + args.hotflip_proposals)
    for r in hotflip_attack(obj, corpus["test"][:3], args, "baseline", progress=False):
        assert r.extra.iterations == 9 and r.extra.restarts == 3
        assert bound // 2 < r.queries <= bound  # most of the budget is spent (repeated candidates are not rescored)
    one = hotflip_attack(obj, corpus["test"][:3], hf_args(hotflip_restarts=1), "baseline", progress=False)
    two = hotflip_attack(obj, corpus["test"][:3], hf_args(hotflip_restarts=2), "baseline", progress=False)
    # Restart 0 is the same search, so a second restart can only keep or raise the best NLL.
    assert all(b.attacked_nll >= a.attacked_nll - 1e-6 for a, b in zip(one, two))


def test_hotflip_beats_random_search_with_the_same_queries(attack_target):
    """On a trained model: the search finds worse triggers than random triggers of the same length, as many as
    HotFlip scored, on the same samples (issue 12's random control at equal queries). It does not prove the
    gradient's part: a search that proposes random flips instead also passes (test_first_order_ranking_is_
    informative is the test of the gradient)."""
    model, tok, cfg, corpus = attack_target
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    samples = corpus["test"][:6]
    # The run's own HotFlip budget: at a quarter of it (about 230 queries) random search ties with it here.
    args = AttackArgs()
    cands = objective.candidates
    gen = torch.Generator().manual_seed(0)
    hot, rnd = [], []
    for r, s in zip(hotflip_attack(objective, samples, args, "nonmono", progress=False), samples):
        lab, src = objective.label_ids(s.summary), objective.source_ids(s.source, room=args.hotflip_trigger_len)
        tries = [[cands[int(i)] for i in torch.randint(len(cands), (args.hotflip_trigger_len,), generator=gen)]
                 for _ in range(r.queries - 1)]  # the same number of scored triggers (less the clean NLL)
        rnd.append(max(objective.nll_ids([src + t for t in tries], [lab] * len(tries))))
        hot.append(r.attacked_nll)
    assert statistics.mean(hot) > statistics.mean(rnd), (hot, rnd)
    assert sum(h > x for h, x in zip(hot, rnd)) >= 5  # per sample too, not only on average


def test_hotflip_beats_a_search_that_redraws_random_tokens(attack_target, monkeypatch):
    """The gradient's part (issue 12): the same search with random scores in place of the first-order ones (so
    its proposals are random re-draws of one token) and the same query budget finds weaker triggers, on average
    and on most samples, on a trained model with the run's own settings."""
    import mono_s2s.attacks.hotflip as hotflip

    model, tok, cfg, corpus = attack_target
    samples, args = corpus["test"][:6], AttackArgs()

    def run():
        objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
        # One sample per call: the random scores below come from one generator, drawn in the order of the calls.
        return [r for s in samples for r in hotflip.hotflip_attack(objective, [s], args, "nonmono", progress=False)]

    hot = run()
    real, gen = hotflip.first_order_scores, torch.Generator().manual_seed(0)

    def random_scores(grad, current, emb, candidates):
        s = real(grad, current, emb, candidates)
        return torch.where(torch.isfinite(s), torch.rand(s.shape, generator=gen), s)

    monkeypatch.setattr(hotflip, "first_order_scores", random_scores)
    redraw = run()
    assert all(abs(a.queries - b.queries) <= 0.1 * b.queries for a, b in zip(hot, redraw))  # the same budget
    gain = [(a.attacked_nll, b.attacked_nll) for a, b in zip(hot, redraw)]
    assert statistics.mean(a for a, _ in gain) > statistics.mean(b for _, b in gain), gain
    assert sum(a > b for a, b in gain) >= 4, gain


def test_first_order_ranking_is_informative(obj, tok, corpus):
    """One flip, no re-ranking: the top first-order flip beats a random flip, and the
    sign-flipped gradient (a mutant) does worse than the real one."""
    cands = candidate_vocabulary(tok)
    cand_t, emb = torch.tensor(cands), obj.embedding_matrix()
    m = 3
    start = [neutral_token(tok, cands)] * m
    gen = torch.Generator().manual_seed(1)
    best, neg, rnd = [], [], []

    def flip(flat):
        pos, c = divmod(int(flat), len(cands))
        t = list(start)
        t[pos] = cands[c]
        return t

    for s in corpus["test"][:12]:
        lab, src = obj.label_ids(s.summary), obj.source_ids(s.source, room=m)
        nll, grad = obj.embedding_grad([src + start], [lab])
        g = grad[0, len(src):len(src) + m]
        a, b, c = obj.nll_ids([src + flip(first_order_scores(g, start, emb, cand_t).argmax()),
                               src + flip(first_order_scores(-g, start, emb, cand_t).argmax()),
                               src + _random_flips(start, 1, cands, gen)], [lab] * 3)
        best.append(a - float(nll[0]))
        neg.append(b - float(nll[0]))
        rnd.append(c - float(nll[0]))
    assert statistics.mean(best) > statistics.mean(rnd)
    assert statistics.mean(best) > statistics.mean(neg)
    assert statistics.mean(best) > 0


# -- universal trigger ----------------------------------------------------------------------------------------


def split_samples(samples: list, args) -> tuple[list, list]:
    """The first ``universal_train_samples`` to learn on, the next ``universal_eval_samples`` held out.

    (The runner learns on validation samples and evaluates on test samples; here one list stands in for both.)
    """
    n = args.universal_train_samples
    return list(samples[:n]), list(samples[n:n + args.universal_eval_samples])


def test_universal_trigger_learns_and_generalizes_api(obj, corpus):
    args = uni_args()
    train, held_out = split_samples(corpus["test"], args)
    assert len(train) == args.universal_train_samples and len(held_out) == args.universal_eval_samples
    assert not {s.id for s in train} & {s.id for s in held_out}
    q0 = obj.queries
    learned = learn_universal_trigger(obj, train, args, progress=False)
    trig, m = learned.ids, args.universal_trigger_len
    assert len(trig) == m and learned.text == obj.decode(trig)
    assert learned.queries == obj.queries - q0 > 0
    # The budget: per restart the start's loss over all n samples, then per sweep one gradient pass and
    # m positions x beam x topk proposals per batch of b, and the whole set's loss after the sweep.
    n, b = len(train), args.universal_batch
    per_sweep = sum(len(train[i:i + b]) * (1 + m * args.universal_beam * args.universal_topk)
                    for i in range(0, n, b)) + n
    assert learned.queries <= args.universal_restarts * (n + args.universal_max_sweeps * per_sweep)
    # One loss list per restart: the start's loss, then one per sweep, at most the cap; a list stops early
    # only at a sweep that did not improve (converged).
    assert len(learned.sweep_loss) == args.universal_restarts == len(learned.converged)
    for losses, done in zip(learned.sweep_loss, learned.converged):
        assert 2 <= len(losses) <= 1 + args.universal_max_sweeps
        assert all(b > a for a, b in zip(losses[:-2], losses[1:-1]))  # every sweep but the last improved
        assert done == (losses[-1] <= max(losses[:-1]))
    assert learned.loss == max(max(losses) for losses in learned.sweep_loss)
    assert learned.loss > learned.sweep_loss[0][0]  # the search gained over the neutral start
    # The kept loss is the mean NLL the attack measures with the trigger on the training samples.
    on_train = universal_attack(obj, train, args, "baseline", progress=False, prepared=learned)
    assert statistics.mean(r.attacked_nll for r in on_train) == pytest.approx(learned.loss, abs=1e-4)
    recs = universal_attack(obj, held_out, args, "baseline", progress=False, prepared=learned)
    assert [r.sample_id for r in recs] == [s.id for s in held_out]
    assert all(r.attack == "universal" and r.queries == 2 and r.tokens_changed == m for r in recs)
    assert all(r.trigger == obj.decode(trig) and r.extra.trigger_ids == trig for r in recs)
    # Each record's control: a random trigger of the same length on the same sample, scored.
    for r, s in zip(recs, held_out):
        control = r.extra.control_trigger_ids
        assert len(control) == m and control != trig
        src = obj.source_ids(s.source, room=m)
        assert r.control_nll == pytest.approx(obj.nll_ids([src + control], [obj.label_ids(s.summary)])[0], abs=1e-5)
        assert r.control_text == obj.decode(src + control)
        assert isinstance(r.extra.survives_truncation, bool)


def test_universal_reproducible(obj, corpus):
    args = uni_args()
    train, _ = split_samples(corpus["test"], args)
    a = learn_universal_trigger(obj, train, args, progress=False)
    b = learn_universal_trigger(obj, train, args, progress=False)
    assert a.ids == b.ids and a.sweep_loss == b.sweep_loss


def test_universal_trigger_beats_its_random_control(attack_target):
    """On a trained model, with the run's own search settings: the learned trigger degrades held-out samples
    more than random triggers of the same length do (each record's control), on average and on most samples."""
    model, tok, cfg, corpus = attack_target
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    args = AttackArgs(universal_train_samples=25, universal_batch=25)
    learned = learn_universal_trigger(objective, corpus["validation"][:25], args, progress=False)
    recs = universal_attack(objective, corpus["test"][:12], args, "nonmono", progress=False, prepared=learned)
    excess = [r.adversarial_excess for r in recs]
    assert statistics.mean(excess) > 0, excess
    assert sum(e > 0 for e in excess) >= 8, excess


# -- transfer -------------------------------------------------------------------------------------------------


def test_transfer_between_models(obj, mono_obj, corpus):
    args = uni_args()
    train, held_out = split_samples(corpus["test"], args)
    trig = learn_universal_trigger(obj, train, args, progress=False).ids
    recs = universal_attack(mono_obj, held_out, args, "monotonic", progress=False, prepared=trig,
                            attack="universal_transfer:baseline->monotonic")
    assert [r.model for r in recs] == ["monotonic"] * len(held_out)
    for r, s in zip(recs, held_out):
        src = mono_obj.source_ids(s.source, room=len(trig))
        assert r.attacked_nll == pytest.approx(mono_obj.nll_ids([src + trig], [mono_obj.label_ids(s.summary)])[0],
                                               abs=1e-5)
        assert r.original_nll == pytest.approx(mono_obj.nll([s.source], [s.summary])[0], abs=1e-5)

    # HotFlip transfer: each sample keeps its own trigger.
    samples = corpus["test"][:3]
    hf = hotflip_attack(obj, samples, hf_args(hotflip_iters=2), "baseline", progress=False)
    triggers = {r.sample_id: r.extra.trigger_ids for r in hf}
    moved = evaluate_triggers_per_sample(mono_obj, samples, triggers, args, "monotonic",
                                         "hotflip_transfer:baseline->monotonic")
    assert [r.extra.trigger_ids for r in moved] == [triggers[s.id] for s in samples]
    # On the source model, the per-sample evaluation reproduces HotFlip's own numbers.
    same = evaluate_triggers_per_sample(obj, samples, triggers, args, "baseline", "hotflip")
    assert [r.attacked_nll for r in same] == pytest.approx([r.attacked_nll for r in hf], abs=1e-4)
