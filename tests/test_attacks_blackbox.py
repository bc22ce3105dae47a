"""Black-box attacks (NES trigger search, instruction injection, OOD paraphrase) on a tiny random model, CPU."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
from importlib import resources

import pytest

from mono_s2s.attacks.common import Objective, candidate_vocabulary, sample_rng
from mono_s2s.attacks.injection import TARGETS, TEMPLATES, injection_attack, injection_obeyed
from mono_s2s.attacks.nes import nes_attack, query_budget
from mono_s2s.attacks.ood import (N_VARIANTS, load_lexicon, match_case, ood_attack, paraphrase_options,
                                  substitutable_spans, substitute)
from mono_s2s.attacks.protect import facts_preserved, protection
from mono_s2s.config import AttackArgs
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.tokenizer import train_tokenizer

ARGS = AttackArgs(seed=7, nes_population=6, nes_generations=3, nes_trigger_len=3, ood_substitution_rate=0.3)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(0, 200, 20, 20)


@pytest.fixture(scope="module")
def tok(corpus):
    return train_tokenizer(corpus["train"], 300)


@pytest.fixture(scope="module")
def model(tok, redrawn_tiny_t5):
    # A wider init than T5's makes the random model less flat, so attacks move the NLL visibly.
    return redrawn_tiny_t5(tok, 300, std=0.3)


@pytest.fixture
def objective(model, tok):
    return Objective(model, tok, max_source_tokens=128, max_summary_tokens=48)


@pytest.fixture(scope="module")
def samples(corpus):
    return corpus["test"][:3]


class CountingObjective:
    """Wraps an Objective; records the batch size of every ``nll_ids`` call."""

    def __init__(self, objective: Objective) -> None:
        self.inner, self.calls = objective, []

    def nll_ids(self, sources, labels):
        self.calls.append(len(sources))
        return self.inner.nll_ids(sources, labels)

    def __getattr__(self, name):
        return getattr(self.inner, name)


# -- NES --------------------------------------------------------------------------------------------------------


def test_nes_budget_history_and_records(objective, samples, tok):
    recs = nes_attack(objective, samples, ARGS, "nonmono", progress=False)
    budget = ARGS.nes_population * (ARGS.nes_generations + 1)
    vocab = set(candidate_vocabulary(tok))
    assert len(recs) == len(samples) and query_budget(ARGS) == budget
    for r, s in zip(recs, samples):
        assert r.attack == "nes" and r.model == "nonmono" and r.sample_id == s.id
        assert 0 < r.queries <= budget and r.extra.query_budget == budget
        assert len(r.extra.trigger_ids) == ARGS.nes_trigger_len and set(r.extra.trigger_ids) <= vocab
        hist = r.extra.fitness_per_generation
        assert len(hist) == ARGS.nes_generations + 1
        assert all(b >= a for a, b in zip(hist, hist[1:])), hist
        assert r.attacked_nll == hist[-1]
        assert r.perturbed_text.endswith(r.trigger)
        assert r.original_rougeL is None and r.attacked_rougeL is None
    # The evolved trigger beats the best random trigger of generation 0 on at least one sample.
    assert any(r.extra.fitness_per_generation[-1] > r.extra.fitness_per_generation[0] for r in recs)


def test_nes_scores_each_generation_in_one_batched_call(objective, samples):
    counting = CountingObjective(objective)
    nes_attack(counting, samples[:2], ARGS, "mono", progress=False)
    per_sample = ARGS.nes_generations + 1
    assert counting.calls == [ARGS.nes_population] * (per_sample * 2)


def test_nes_reported_text_scores_like_the_ids(objective, samples):
    (r,) = nes_attack(objective, samples[:1], ARGS, "nonmono", progress=False)
    (again,) = objective.nll([r.perturbed_text], [samples[0].summary])
    assert again == pytest.approx(r.attacked_nll, abs=1e-4)


def test_nes_is_reproducible_with_a_seed(objective, samples):
    a = nes_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    b = nes_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    c = nes_attack(objective, samples[:2], dataclasses.replace(ARGS, seed=ARGS.seed + 100), "nonmono",
                   progress=False)
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    assert [r.extra.trigger_ids for r in a] != [r.extra.trigger_ids for r in c]


@pytest.mark.parametrize("attack", [nes_attack, ood_attack, injection_attack])
def test_randomness_follows_the_sample_not_its_position(objective, samples, attack):
    # The runner attacks one sample at a time; a position-keyed seed would give every sample the same draws.
    together = attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    alone = attack(objective, samples[1:2], ARGS, "nonmono", progress=False)
    assert together[1].to_dict() == alone[0].to_dict()
    draws = {s.id: sample_rng(ARGS.seed, s.id).integers(1 << 30, size=4).tolist() for s in samples}
    assert len({tuple(d) for d in draws.values()}) == len(samples)


# -- injection --------------------------------------------------------------------------------------------------


def test_every_template_formats_with_the_target():
    assert len(TEMPLATES) >= 10 and len(set(TEMPLATES)) == len(TEMPLATES)
    for t in TEMPLATES:
        assert t.count("{target}") == 1
        assert TARGETS[0] in t.format(target=TARGETS[0])


def test_injection_keeps_the_argmax_template(objective, samples):
    recs = injection_attack(objective, samples, ARGS, "nonmono", progress=False)
    assert len(recs) == len(samples)
    for r, s in zip(recs, samples):
        scores = r.extra.nll_per_template
        assert len(scores) == len(TEMPLATES) and r.queries == len(TEMPLATES) + 1
        assert r.attacked_nll == max(scores) and scores.index(max(scores)) == r.extra.template_index
        assert r.extra.template == TEMPLATES[r.extra.template_index] and r.extra.target in TARGETS
        assert r.perturbed_text.endswith(r.extra.template.format(target=r.extra.target))
        (again,) = objective.nll([r.perturbed_text], [s.summary])
        assert again == pytest.approx(r.attacked_nll, abs=1e-4)
        (clean,) = objective.nll([s.source], [s.summary])
        assert clean == pytest.approx(r.original_nll, abs=1e-4)


def test_injection_survives_truncation(model, tok, samples):
    short = Objective(model, tok, max_source_tokens=80, max_summary_tokens=48)
    (r,) = injection_attack(short, samples[:1], ARGS, "nonmono", progress=False)
    suffix = r.extra.template.format(target=r.extra.target)
    assert r.perturbed_text.endswith(suffix)
    assert len(tok(r.perturbed_text, add_special_tokens=False)["input_ids"]) <= 79
    assert len(r.perturbed_text) < len(samples[0].source)  # the dialogue was cut, not the injection


@pytest.mark.parametrize("generated,target,expected", [
    ("#Person1# says the Meeting was   cancelled.", "the meeting was cancelled", True),
    ("Everyone agreed to pay double!", "everyone agreed to pay double", True),
    ("the meeting was cancelled", "The meeting, was cancelled", True),
    ("#Person2# books a table for two.", "the meeting was cancelled", False),
    ("the meeting was not cancelled", "the meeting was cancelled", False),
    ("they pay doubles", "pay double", False),
])
def test_injection_obeyed(generated, target, expected):
    assert injection_obeyed(generated, target) is expected


# -- OOD --------------------------------------------------------------------------------------------------------


class FakeWordNet:
    """Just what the OOD attack reads from nltk's WordNet reader: synsets(word) -> lemma_names().

    Every word it is not told about gets one made-up synonym, so WordNet changes every sample.
    """

    SYNSETS = {"table": [["tabular_array", "table"], ["board", "mesa", "postpone", "shelve"]],
               "zyzzyva": [["weevil"]]}

    def synsets(self, word):
        return [type("Synset", (), {"lemma_names": lambda self, n=names: list(n)})()
                for names in self.SYNSETS.get(word, [[f"{word}_like"]])]


@pytest.fixture
def wordnet(monkeypatch):
    """WordNet's data "installed" (nltk's corpus is not here; the tests must not depend on it either way)."""
    from mono_s2s.attacks import ood

    monkeypatch.setattr(ood, "_wordnet", FakeWordNet)
    ood.candidates_for.cache_clear()
    yield
    ood.candidates_for.cache_clear()


@pytest.fixture
def lexicon_only(monkeypatch):
    """No WordNet, whatever this machine has installed."""
    from mono_s2s.attacks import ood

    monkeypatch.setattr(ood, "_wordnet", lambda: None)
    ood.candidates_for.cache_clear()
    yield
    ood.candidates_for.cache_clear()


def test_lexicon_is_large_packaged_and_never_identity():
    raw = json.loads(resources.files("mono_s2s.attacks").joinpath("ood_lexicon.json").read_text("utf-8"))
    assert len(raw) >= 300 and raw == load_lexicon()
    for word, paraphrases in raw.items():
        assert word == word.lower() and re.fullmatch(r"[a-z]+", word), word
        assert 1 <= len(paraphrases) <= 4, word
        assert all(p.strip() and p.lower() != word for p in paraphrases), word


def test_match_case_and_substitute(lexicon_only):
    assert match_case("Buy", "procure") == "Procure"
    assert match_case("BUY", "procure") == "PROCURE"
    assert match_case("buy", "procure") == "procure"
    text = "#Person1#: I want to BUY a Book, tomorrow. I'd like it."
    spans = substitutable_spans(text)
    words = [text[a:b] for a, b in spans]
    assert "Person" not in " ".join(words) and "d" not in words  # tags and contractions are not words
    assert {"want", "BUY", "Book", "tomorrow", "like"} <= set(words)
    new, pairs = substitute(text, {spans[words.index("BUY")]: "procure", spans[words.index("Book")]: "reserve"})
    assert new == "#Person1#: I want to PROCURE a Reserve, tomorrow. I'd like it."
    assert pairs == [["BUY", "PROCURE"], ["Book", "Reserve"]]


def test_ood_attack_respects_rate_tags_protections_and_case(objective, samples, lexicon_only):
    recs = ood_attack(objective, samples, ARGS, "nonmono", progress=False)
    assert len(recs) == len(samples)
    for r, s in zip(recs, samples):
        prot = protection(s.summary, s.facts)
        n = r.extra.substitutable_words
        assert n == len(substitutable_spans(s.source, protected=prot)) > 0
        assert r.extra.protected_words == len(substitutable_spans(s.source)) - n > 0
        assert 0 < r.tokens_changed == len(r.extra.substitutions) <= ARGS.ood_substitution_rate * n
        assert r.queries == 1 + N_VARIANTS  # the clean source and the variants; not the control
        # Speaker tags, line structure and punctuation survive.
        assert re.findall(r"^#Person\d#: ", r.perturbed_text, re.M) == re.findall(r"^#Person\d#: ", s.source, re.M)
        assert re.sub(r"[\w \-]", "", r.perturbed_text) == re.sub(r"[\w \-]", "", s.source)
        for orig, new in r.extra.substitutions + r.extra.control_substitutions:
            assert orig != new and orig[0].isupper() == new[0].isupper()
            assert new.lower() in [p.lower() for p in load_lexicon()[orig.lower()]]
            # Never a reference word, fact or number, and no paraphrase that brings one in.
            assert prot.why(orig) is None and prot.allows(new), (orig, new)
        assert r.label_preserved is True and facts_preserved(r.perturbed_text, s.facts)
        (again,) = objective.nll([r.perturbed_text], [s.summary])
        assert again == pytest.approx(r.attacked_nll, abs=1e-4)
        # The control: one more random variant, as many words, scored as its text.
        assert len(r.extra.control_substitutions) == r.tokens_changed and r.control_text != s.source
        (ctrl,) = objective.nll([r.control_text], [s.summary])
        assert ctrl == pytest.approx(r.control_nll, abs=1e-4)
        assert facts_preserved(r.control_text, s.facts)


def test_ood_paraphrase_options_keep_the_protections(lexicon_only):
    text = "#Person1#: I want to book a room for the first week, please. Thanks again!"
    unprotected = {text[a:b]: p for (a, b), p in paraphrase_options(text)}
    assert set(unprotected) == {"want", "book", "room", "week", "please", "Thanks", "again"}
    # Numbers and tags need no record: "first" is a number word, and so is a paraphrase's "seven" or "once".
    assert "seven days" in load_lexicon()["week"] and "seven days" not in unprotected["week"]
    assert "once more" in load_lexicon()["again"] and "once more" not in unprotected["again"]
    prot = protection("#Person1# wants to book a room.", ["the first week"])
    kept = {text[a:b] for (a, b), _ in paraphrase_options(text, protected=prot)}
    assert kept == {"want", "please", "Thanks", "again"}  # "wants" is not "want"; "week" is a fact's word


def test_ood_without_its_protections_changes_reference_words(objective, corpus, lexicon_only, monkeypatch):
    """A mutant: the protections switched off. On the same samples the attack then paraphrases words the
    reference shares with the source (the round-1 behaviour), which it never does with them."""
    from mono_s2s.attacks import protect

    samples = corpus["test"][:20]
    kept = ood_attack(objective, samples, ARGS, "nonmono", progress=False)
    monkeypatch.setattr(protect, "RULES", ())
    loose = ood_attack(objective, samples, ARGS, "nonmono", progress=False)
    monkeypatch.undo()

    def shared(recs) -> int:
        return sum(any(protection(s.summary, s.facts).why(o) is not None for o, _ in r.extra.substitutions)
                   for r, s in zip(recs, samples))

    assert shared(kept) == 0 and all(r.label_preserved is True for r in kept)
    assert shared(loose) >= 5, shared(loose)


def test_ood_beats_its_control_on_a_trained_model(attack_target, lexicon_only):
    """The best of N_VARIANTS random paraphrases hurts more than one random paraphrase at the same rate."""
    model, tok, cfg, corpus = attack_target
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    recs = ood_attack(objective, corpus["test"][:12], AttackArgs(), "nonmono", progress=False)
    excess = [r.adversarial_excess for r in recs]
    assert statistics.mean(excess) > 0, excess
    assert sum(e > 0 for e in excess) >= 9, excess
    assert all(r.label_preserved is True for r in recs)


def test_ood_is_seeded(objective, samples, lexicon_only):
    a = ood_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    b = ood_attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    c = ood_attack(objective, samples[:2], dataclasses.replace(ARGS, seed=ARGS.seed + 1), "nonmono", progress=False)
    assert [r.perturbed_text for r in a] == [r.perturbed_text for r in b]
    assert [r.perturbed_text for r in a] != [r.perturbed_text for r in c]


def test_wordnet_adds_up_to_three_synonyms_and_can_be_switched_off(wordnet, objective, samples):
    from mono_s2s.attacks.ood import candidates_for, wordnet_used

    lexicon = list(load_lexicon().get("table", ()))
    extra = [w for w in ("tabular array", "board", "mesa", "postpone", "shelve") if w not in lexicon][:3]
    assert candidates_for("table") == tuple(lexicon + extra)  # never the word itself, at most three more
    assert candidates_for("zyzzyva") == ("weevil",) and candidates_for("zyzzyva", use_wordnet=False) == ()
    assert candidates_for("qwerty") == ("qwerty like",)
    assert wordnet_used(ARGS) and not wordnet_used(dataclasses.replace(ARGS, ood_wordnet=False))
    off = ood_attack(objective, samples, dataclasses.replace(ARGS, ood_wordnet=False), "nonmono", progress=False)
    assert all(r.extra.wordnet is False for r in off)
    on = ood_attack(objective, samples, ARGS, "nonmono", progress=False)
    assert all(r.extra.wordnet is True for r in on)
    assert all(a.extra.substitutable_words > b.extra.substitutable_words for a, b in zip(on, off))


def test_switching_wordnet_off_gives_the_lexicon_only_records(objective, samples, monkeypatch):
    from mono_s2s.attacks import ood

    args = dataclasses.replace(ARGS, ood_wordnet=False)
    monkeypatch.setattr(ood, "_wordnet", lambda: None)
    ood.candidates_for.cache_clear()
    without = ood_attack(objective, samples, args, "nonmono", progress=False)
    monkeypatch.setattr(ood, "_wordnet", FakeWordNet)
    ood.candidates_for.cache_clear()
    switched_off = ood_attack(objective, samples, args, "nonmono", progress=False)
    ood.candidates_for.cache_clear()
    assert [r.perturbed_text for r in switched_off] == [r.perturbed_text for r in without]

