"""In-text substitution (issue 12, part 4) and the protections it shares with OOD (mono_s2s.attacks.protect).

The protections on hand-written examples, with each rule removed in turn (a mutant must change the answer);
the attack on a tiny random model (budgets, protections, text = what was scored, queries, seeds, the control,
clipping) and with its protections switched off (a mutant that must break labels); and on the trained
``attack_target`` fixture: the attack beats its random control, and its first-order ranking beats the same
search with random scores at the same queries.
"""

from __future__ import annotations

import dataclasses
import statistics

import numpy as np
import pytest

from mono_s2s.attacks import protect
from mono_s2s.attacks.common import Objective, sample_rng
from mono_s2s.attacks.protect import (NUMBER_WORDS, WORD, Protection, facts_preserved, label_preserved, protection,
                                      word_spans)
from mono_s2s.attacks.substitution import candidate_words, search_sample, substitution_attack
from mono_s2s.config import AttackArgs
from mono_s2s.data.records import Record
from mono_s2s.data.synthetic import generate_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARGS = AttackArgs(seed=7, substitution_words=3, substitution_beam=2, substitution_proposals=6)

# -- the protections, by hand -------------------------------------------------------------------------------------

# (#Guest#: a tag without a digit, which only the tag rule protects; #Person1# has the number rule's digit too.)
SOURCE = ("#Person1#: I'd like two TICKETS to Lisbon for 30 euros, Hana's treat.\n#Person2#: Fine, on the 3rd."
          "\n#Guest#: Thanks.")
SUMMARY = "Someone wants tickets from Hana."
FACTS = ("Lisbon", "30")
# Every word of SOURCE and the rule that protects it (None: it may change).
EXPECTED = {"#Person1#": "tag", "I'd": None, "like": None, "two": "number", "TICKETS": "reference", "to": None,
            "Lisbon": "fact", "for": None, "30": "number", "euros": None, "Hana's": "reference", "treat": None,
            "#Person2#": "tag", "Fine": None, "on": None, "the": None, "3rd": "number", "#Guest#": "tag",
            "Thanks": None}


def _changeable(source=SOURCE, summary=SUMMARY, facts=FACTS) -> list[str]:
    return [source[a:b] for a, b in protection(summary, facts).spans(source)]


def test_words_and_the_rule_that_protects_each():
    prot = protection(SUMMARY, FACTS)
    assert [SOURCE[a:b] for a, b in word_spans(SOURCE)] == list(EXPECTED)  # punctuation is never part of a word
    assert {w: prot.why(w) for w in EXPECTED} == EXPECTED
    assert _changeable() == [w for w, why in EXPECTED.items() if why is None]


@pytest.mark.parametrize("removed", [name for name, _ in protect.RULES])
def test_each_protection_is_needed_by_the_example(removed, monkeypatch):
    """A mutant: with one rule removed, a word it protected becomes changeable (so the test above can fail)."""
    monkeypatch.setattr(protect, "RULES", tuple(r for r in protect.RULES if r[0] != removed))
    freed = set(_changeable()) - {w for w, why in EXPECTED.items() if why is None}
    assert freed and all(EXPECTED[w] == removed for w in freed), freed


def test_number_words_and_case_insensitive_matches():
    assert {"two", "twenty", "first", "twice", "half", "dozen"} <= NUMBER_WORDS
    prot = protection("They meet on Friday at the Old Mill.", ["Friday", "The Old Mill"])
    assert prot.why("FRIDAY") == "reference" and prot.why("mill") == "reference" and prot.why("Twenty") == "number"
    assert _changeable("Twenty OLD mills, twice.", "the old mill", ()) == ["mills"]


def test_replacements_must_be_allowed_too():
    prot = protection(SUMMARY, FACTS)
    assert prot.allows("pizza") and prot.allows("Pizza")
    for word in ("tickets", "Lisbon", "two", "once more", "#Person1#", "x30", "hana", ""):
        assert not prot.allows(word), word


def test_facts_preserved_follows_fact_recall():
    assert facts_preserved("We meet at the old mill.", ["The Old Mill"])
    assert not facts_preserved("We meet at the old mills.", ["The Old Mill"])
    assert facts_preserved("Hana's 30th birthday at 10:30 PM", ["Hana", "30", "10:30 pm"])
    assert not facts_preserved("at 10 pm", ["10:30 pm"])
    assert facts_preserved("anything", [])
    assert label_preserved("a b", "c d", []) is None
    # Only the facts the clean source stated count: a corpus whose sources omit a fact does not fail every record.
    assert label_preserved("Hana at noon", "Hana at midday", ["Hana", "9 am"]) is True
    assert label_preserved("Hana at noon", "Hanna at noon", ["Hana", "9 am"]) is False


def test_protections_keep_every_fact_of_the_corpus():
    """Every changeable word of 400 synthetic sources replaced at once: every fact is still stated. Without the
    fact and reference rules (a mutant) some records lose a fact, so the property is not vacuous."""
    records = generate_corpus(3, 400, 0, 0)["train"]

    def lost(prot_of) -> int:
        n = 0
        for r in records:
            spans = prot_of(r).spans(r.source)
            text, pos = [], 0
            for a, b in spans:
                text += [r.source[pos:a], "zzz"]
                pos = b
            text = "".join(text + [r.source[pos:]])
            n += not facts_preserved(text, r.facts)
        return n

    assert all(facts_preserved(r.source, r.facts) for r in records)
    assert lost(lambda r: protection(r.summary, r.facts)) == 0
    assert lost(lambda r: Protection(frozenset(), frozenset())) > 50  # numbers and tags alone keep few facts


# -- the attack on a tiny random model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples(corpus):
    return corpus["test"][:4]


def _words(text: str) -> list[str]:
    return WORD.findall(text)


def _check_text(source: str, text: str, pairs: list[list[str]], prot: Protection) -> None:
    """``text`` is ``source`` with exactly the words of ``pairs`` replaced, each unprotected, by an allowed word."""
    before, after = _words(source), _words(text)
    assert len(before) == len(after)
    changed = [[a, b] for a, b in zip(before, after) if a != b]
    assert changed == pairs
    for orig, new in pairs:
        assert prot.why(orig) is None and prot.allows(new) and orig.lower() != new.lower(), (orig, new)
        assert orig[0].isupper() == new[0].isupper()  # the case is carried over


def test_records_respect_budget_protections_and_score_their_text(objective, samples):
    q0 = objective.queries
    recs = substitution_attack(objective, samples, ARGS, "nonmono", progress=False)
    k, bound = ARGS.substitution_words, 1 + ARGS.substitution_words * ARGS.substitution_beam * (
        1 + ARGS.substitution_proposals)
    # Every query is in some record but the controls' (one sequence per record).
    assert objective.queries - q0 == sum(r.queries for r in recs) + len(recs)
    assert any(r.tokens_changed == k for r in recs)
    for r, s in zip(recs, samples):
        prot = protection(s.summary, s.facts)
        e = r.extra
        assert r.attack == "substitution" and r.sample_id == s.id and r.success is None
        assert 0 < r.queries <= bound
        assert r.tokens_changed == len(e.substitutions) <= k and e.budget == k and not e.clipped
        assert e.substitutable_words == len(prot.spans(s.source)) - e.hidden_words > k
        _check_text(s.source, r.perturbed_text, e.substitutions, prot)
        assert r.label_preserved is True and facts_preserved(r.perturbed_text, s.facts)
        # What is reported is what was scored, as text: the runner summarises perturbed_text.
        (again,) = objective.nll([r.perturbed_text], [s.summary])
        assert again == pytest.approx(r.attacked_nll, abs=1e-4)
        assert r.attacked_nll >= r.original_nll and r.attacked_nll == e.loss_per_step[-1]
        assert all(b >= a for a, b in zip(e.loss_per_step, e.loss_per_step[1:])) and len(e.loss_per_step) == k
        # The control: as many words, the same protections, scored as its text.
        assert len(e.control_substitutions) == r.tokens_changed
        _check_text(s.source, r.control_text, e.control_substitutions, prot)
        (ctrl,) = objective.nll([r.control_text], [s.summary])
        assert ctrl == pytest.approx(r.control_nll, abs=1e-4)


def test_reproducible_per_seed(objective, samples):
    a = substitution_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    b = substitution_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    c = substitution_attack(objective, samples[:2], dataclasses.replace(ARGS, seed=ARGS.seed + 1), "nonmono",
                            progress=False)
    timeless = lambda r: {k: v for k, v in r.to_dict().items() if k != "seconds"}  # noqa: E731
    assert [timeless(r) for r in a] == [timeless(r) for r in b]
    assert [r.control_text for r in a] != [r.control_text for r in c]
    # Keyed by sample id, not position: a sample's record is the same searched alone or beside others.
    (alone,) = substitution_attack(objective, samples[1:2], ARGS, "nonmono", progress=False)
    assert timeless(alone) == timeless(a[1])


def test_the_control_is_the_same_for_every_model(model, tok, samples, redrawn_tiny_t5):
    """Two models: the control's draws come before the search, so with as many words changed the controls are
    the same, and with fewer the smaller control is part of the larger."""
    other = redrawn_tiny_t5(tok, 300, std=0.5)
    recs = {name: substitution_attack(Objective(m, tok, 128, 48), samples, ARGS, name, progress=False)
            for name, m in (("nonmono", model), ("mono", other))}
    assert [r.attacked_nll for r in recs["nonmono"]] != [r.attacked_nll for r in recs["mono"]]
    for a, b in zip(recs["nonmono"], recs["mono"]):
        small, large = sorted((a, b), key=lambda r: r.tokens_changed)
        assert {tuple(p) for p in small.extra.control_substitutions} <= {tuple(p) for p in
                                                                         large.extra.control_substitutions}
        if a.tokens_changed == b.tokens_changed:
            assert a.control_text == b.control_text
    # ... and it is not the attack's own choice.
    assert any(r.extra.control_substitutions != r.extra.substitutions for r in recs["nonmono"])


def test_a_budget_above_the_substitutable_words_is_clipped_and_recorded(objective, samples):
    (r,) = substitution_attack(objective, samples[:1], dataclasses.replace(ARGS, substitution_words=1000),
                               "nonmono", progress=False)
    e = r.extra
    assert e.clipped and e.budget == 1000 and r.tokens_changed <= e.substitutable_words < 1000
    assert len(e.loss_per_step) == e.substitutable_words  # one step per word the budget was clipped to
    # A source with no word that may change: nothing changes, nothing is searched, the control is the source.
    bare = Record("bare", "#Person1#: Two at 3 pm.\n#Person2#: At 3 pm.", "#Person1# and #Person2#: at 3 pm.",
                  ("3 pm",))
    (r,) = substitution_attack(objective, [bare], ARGS, "nonmono", progress=False)
    assert r.extra.substitutable_words == 0 and r.extra.clipped and r.tokens_changed == 0
    assert r.perturbed_text == r.control_text == bare.source and r.attacked_nll == r.original_nll == r.control_nll
    assert r.queries == 1 and r.label_preserved is True


def test_without_its_protections_the_attack_breaks_labels(objective, corpus, monkeypatch):
    """A mutant: protections switched off. The attack then changes reference words and facts, and the label
    check catches the records that lost a fact; with them on, no record does, on the same samples."""
    samples, args = corpus["test"][:12], dataclasses.replace(ARGS, substitution_words=5)
    kept = substitution_attack(objective, samples, args, "nonmono", progress=False)
    assert all(r.label_preserved is True for r in kept)
    monkeypatch.setattr(protect, "RULES", ())
    recs = substitution_attack(objective, samples, args, "nonmono", progress=False)
    monkeypatch.undo()  # the real rules, to name what the mutant changed
    violations = [(r.sample_id, o) for r, s in zip(recs, samples) for o, _ in r.extra.substitutions
                  if protection(s.summary, s.facts).why(o) is not None]
    assert violations
    assert any(r.label_preserved is False for r in recs), violations


def test_the_random_ranking_ablation_spends_the_same_queries(objective, samples):
    cands = candidate_words(objective)
    for s in samples[:2]:
        a = search_sample(objective, s, ARGS, sample_rng(ARGS.seed, s.id), cands, "nonmono")
        b = search_sample(objective, s, ARGS, sample_rng(ARGS.seed, s.id), cands, "nonmono",
                          random_ranking=np.random.default_rng(0))
        assert abs(a.queries - b.queries) <= 0.1 * a.queries
        assert a.control_text == b.control_text or a.tokens_changed != b.tokens_changed


# -- on a trained model --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_runs(attack_target, one_torch_thread):
    """On the trained model, with the run's own settings, 12 test samples: the attack's records, and the same
    search with random scores in place of the first-order ones (the ablation), as ``search_sample`` records."""
    model, tok, cfg, corpus = attack_target
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    samples, args = corpus["test"][:12], AttackArgs()
    recs = substitution_attack(objective, samples, args, "nonmono", progress=False)
    cands = candidate_words(objective)
    ablation = [search_sample(objective, s, args, sample_rng(args.seed, s.id), cands, "nonmono",
                              random_ranking=np.random.default_rng(0)) for s in samples]
    return recs, ablation


def test_substitution_beats_its_random_control_on_a_trained_model(trained_runs):
    """The search's words hurt more than as many random words under the same protections, on average and on
    (almost) every sample. Measured: mean excess 0.78 nats, 12 of 12."""
    recs, _ = trained_runs
    excess = [r.adversarial_excess for r in recs]
    assert statistics.mean(excess) > 0.3, excess
    assert sum(e > 0 for e in excess) >= 11, excess
    assert all(r.label_preserved is True for r in recs)


def test_first_order_ranking_beats_random_scores_at_the_same_queries(trained_runs):
    """The gradient's part: the same search with random scores, at the same queries, finds weaker substitutions
    on average and on most samples. Measured: 0.84 against 0.70 nats, 8 of 12 samples; the margin is modest.
    What this shows is the ranking's magnitude, not its sign: a mutant ranking by minus the first-order score
    passes too (0.83 nats; see the module docstring), so it is no test of the linear estimate's direction."""
    recs, ablation = trained_runs
    assert all(abs(r.queries - b.queries) <= 0.1 * r.queries for r, b in zip(recs, ablation))
    gain = [(r.abs_degradation, b.abs_degradation) for r, b in zip(recs, ablation)]
    assert statistics.mean(a for a, _ in gain) > statistics.mean(b for _, b in gain), gain
    assert sum(a > b for a, b in gain) >= 7, gain
