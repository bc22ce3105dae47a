"""Black-box attacks (instruction injection, OOD paraphrase) on a tiny random model, CPU; NES is in test_attacks_nes.py
(the seeding test here covers it and the genetic search too)."""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
from importlib import resources

import pytest
import torch

from mono_s2s.attacks.common import Objective, sample_rng
from mono_s2s.attacks.genetic import genetic_attack
from mono_s2s.attacks.injection import (SEPARATOR, TARGETS, TEMPLATES, injected_texts, injection_attack,
                                        injection_obeyed)
from mono_s2s.attacks.nes import nes_attack
from mono_s2s.attacks.ood import (N_VARIANTS, load_lexicon, match_case, ood_attack, paraphrase_options,
                                  substitutable_spans, substitute)
from mono_s2s.attacks.protect import facts_preserved, protection
from mono_s2s.config import AttackArgs

ARGS = AttackArgs(seed=7, nes_population=6, nes_generations=3, nes_trigger_len=3, ood_words=5)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _timeless(record) -> dict:
    """A record's fields but its wall time (``seconds``: its share of the engine's time, never the same twice)."""
    return {k: v for k, v in record.to_dict().items() if k != "seconds"}


@pytest.mark.parametrize("attack", [ood_attack, injection_attack, nes_attack, genetic_attack])
def test_randomness_follows_the_sample_not_its_position(objective, samples, attack):
    # The runner attacks one sample at a time; a position-keyed seed would give every sample the same draws.
    together = attack(objective, samples[:2], ARGS, "nonmono", progress=False)
    alone = attack(objective, samples[1:2], ARGS, "nonmono", progress=False)
    assert _timeless(together[1]) == _timeless(alone[0])
    draws = {s.id: sample_rng(ARGS.seed, s.id).integers(1 << 30, size=4).tolist() for s in samples}
    assert len({tuple(d) for d in draws.values()}) == len(samples)


# -- injection --------------------------------------------------------------------------------------------------


def test_every_template_formats_with_the_target():
    assert len(TEMPLATES) >= 10 and len(set(TEMPLATES)) == len(TEMPLATES)
    for t in TEMPLATES:
        assert t.count("{target}") == 1
        assert TARGETS[0] in t.format(target=TARGETS[0])


def test_injection_is_targeted_and_measures_the_damage_apart(objective, samples):
    """The chosen template is the one under which the target is likeliest as the summary (targeted); the
    reference's NLL at that template is the untargeted damage; each number is what scoring the text gives."""
    recs = injection_attack(objective, samples, ARGS, "nonmono", progress=False)
    assert len(recs) == len(samples)
    for r, s in zip(recs, samples):
        e = r.extra
        assert len(e.target_nll_per_template) == len(e.nll_per_template) == len(TEMPLATES)
        assert r.queries == 2 * (len(TEMPLATES) + 1)
        assert e.target_nll == min(e.target_nll_per_template) == e.target_nll_per_template[e.template_index]
        assert r.attacked_nll == e.nll_per_template[e.template_index]
        assert e.template == TEMPLATES[e.template_index] and e.target in TARGETS
        assert r.perturbed_text.endswith(SEPARATOR + e.template.format(target=e.target))
        assert r.perturbed_text in injected_texts(objective, s.source, e.target)
        (again,) = objective.nll([r.perturbed_text], [s.summary])
        assert again == pytest.approx(r.attacked_nll, abs=1e-4)
        (wanted,) = objective.nll([r.perturbed_text], [e.target])
        assert wanted == pytest.approx(e.target_nll, abs=1e-4)
        (clean_target,) = objective.nll([s.source], [e.target])
        assert clean_target == pytest.approx(e.target_nll_clean, abs=1e-4)
        (clean,) = objective.nll([s.source], [s.summary])
        assert clean == pytest.approx(r.original_nll, abs=1e-4)
        # The control: a random template with the same target, scored on the same sample.
        assert r.control_text == injected_texts(objective, s.source, e.target)[e.control_template_index]
        assert r.control_nll == pytest.approx(e.nll_per_template[e.control_template_index], abs=1e-6)


def test_injection_separator_is_what_the_tokenizer_keeps(tok):
    """A newline becomes a space in the tokenizer, so the separator is a space: the same ids either way."""
    assert SEPARATOR == " "
    text = "#Person1#: See you. Summary: nobody showed up"
    assert tok(text.replace(". ", ".\n"))["input_ids"] == tok(text)["input_ids"]


def test_injection_control_is_the_same_for_every_model(objective, model, tok, samples):
    import copy

    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(0.5)
    a = injection_attack(objective, samples, ARGS, "nonmono", progress=False)
    b = injection_attack(Objective(other, tok, objective.max_source, objective.max_summary), samples, ARGS,
                         "mono", progress=False)
    assert [(r.extra.target, r.extra.control_template_index) for r in a] == \
        [(r.extra.target, r.extra.control_template_index) for r in b]


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
        assert 0 < r.tokens_changed == len(r.extra.substitutions) <= min(ARGS.ood_words, n)
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

