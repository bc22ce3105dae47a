"""Out-of-distribution paraphrase attack: everyday words swapped for rare, archaic or formal ones.

Follows the seed notebook's OOD attack (word substitution by unusual synonyms,
in the spirit of Alzantot et al., 2018 and TextAttack's ``WordSwapWordNet``),
written TextAttack-style:

- goal: raise the mean token NLL of the reference summary (``Objective``);
- transformation: replace ``min(attacks.ood_words, n)`` of the
  ``n`` substitutable words of the dialogue (words the lexicon knows) by one of
  their paraphrases. Contractions (``I'd``), punctuation and line breaks are
  never touched; capitalisation is carried over (``Want`` -> ``Desire``, ``OK``
  -> ``VERY WELL``);
- constraints: the in-text attacks' protections (:mod:`mono_s2s.attacks.protect`,
  shared with substitution): never a word of the reference summary, of a fact,
  a speaker tag or a number, and no paraphrase that contains one (``again`` ->
  ``once more`` is not used: ``once`` is a number word). Each record's
  ``label_preserved`` (on a corpus with facts) checks that the attacked source
  still states every reference fact;
- search: sample a few random variants (seeded), score them with the clean
  source in ONE batched call, keep the most damaging.

Random control (issue 12, part 7): one more random variant at the same number
of substitutions under the same protections, drawn from the sample's generator
before the variants, so it is the same for every model; its NLL is not counted
in the queries. The attack is the best of ``N_VARIANTS`` random variants, so its
adversarial excess is what choosing among them adds over one draw.

Measured (``/tmp`` scripts, not shipped) on the first 40 test samples of a
trained d_model-32 baseline (the ``attack_target`` test fixture's recipe),
lexicon only: before the protections, 29 of 40 records paraphrased a word the
reference summary shares with the source and 2 of 40 lost a reference fact
(6.0 of 21.6 substitutable words changed, ΔNLL 0.135 nats); with them, 0 and 0
(4.6 of 16.7 words, about 5 lexicon words per record kept), ΔNLL 0.095 against
the control's 0.036, adversarial excess > 0 on 37 of 40; 9 queries per sample.
Part of the round-1 damage was the attack rewording what the reference says.

Departures from the seed notebook: the seed had a ten-word dictionary; here the
lexicon (``ood_lexicon.json``, written for this package, ~450 words of
everyday dialogue each with 1-4 paraphrases) is shipped as package data. If
nltk's WordNet corpus is already installed (and ``attacks.ood_wordnet`` is true),
its synonyms are added as further candidates; nothing is ever downloaded, and
whether WordNet was used is kept in each record and in the attack settings. And
the seed substituted every word it knew; here the number of words is capped, so that the
text stays a paraphrase.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Sequence

import numpy as np

from mono_s2s.attacks.common import AttackRecord, Objective, sample_rng
from mono_s2s.attacks.engine import Score, Search, flat, per_budget, run_all
from mono_s2s.attacks.protect import WORD, Protection, label_preserved, protection
from mono_s2s.data.records import Record

__all__ = ["load_lexicon", "wordnet_used", "candidates_for", "paraphrase_options", "substitutable_spans",
           "match_case", "substitute", "ood_attack"]

N_VARIANTS = 8  # random variants scored per sample (plus the clean source), in one batched call
_PLAIN = re.compile(r"[A-Za-z]+")  # a word the lexicon may know: letters only (no contraction, tag or number)
_UNPROTECTED = Protection(frozenset(), frozenset())  # the rules that need no record: tags and numbers


@functools.lru_cache(maxsize=1)
def load_lexicon() -> dict[str, list[str]]:
    """The shipped lexicon: lower-case word -> paraphrases (never the word itself)."""
    text = resources.files("mono_s2s.attacks").joinpath("ood_lexicon.json").read_text(encoding="utf-8")
    return {k.lower(): [p for p in v if p.lower() != k.lower()] for k, v in json.loads(text).items()}


def wordnet_used(args) -> bool:
    """Whether the OOD attack adds WordNet synonyms under these settings on this machine."""
    return bool(args.ood_wordnet) and _wordnet() is not None


@functools.lru_cache(maxsize=1)
def _wordnet():
    """nltk's WordNet reader if its corpus is installed, else None (no download is attempted)."""
    try:
        from nltk.corpus import wordnet as wn

        wn.synsets("good")  # the lazy corpus loader raises LookupError here when the data is missing
        return wn
    except (ImportError, LookupError, OSError):
        return None


@functools.lru_cache(maxsize=4096)
def candidates_for(word: str, use_wordnet: bool = True) -> tuple[str, ...]:
    """Paraphrases of a lower-case word: the lexicon's, then (if installed) up to three WordNet synonyms."""
    out = list(load_lexicon().get(word, ()))
    wn = _wordnet() if use_wordnet else None
    if wn is not None:
        for syn in wn.synsets(word):
            for lemma in syn.lemma_names():
                p = lemma.replace("_", " ")
                if p.lower() != word and p not in out and len(out) < len(load_lexicon().get(word, ())) + 3:
                    out.append(p)
    return tuple(out)


def paraphrase_options(text: str, use_wordnet: bool = True, protected: Protection | None = None
                       ) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
    """``[(span, paraphrases)]`` for each word of ``text`` that may change and has a paraphrase that may be inserted.

    ``protected``: the record's protections (:func:`mono_s2s.attacks.protect.protection`); without one, only
    the rules that need no record (speaker tags, numbers) apply.
    """
    prot = protected or _UNPROTECTED
    out = []
    for m in WORD.finditer(text):
        word = m.group()
        if not _PLAIN.fullmatch(word) or prot.why(word) is not None:
            continue
        allowed = tuple(p for p in candidates_for(word.lower(), use_wordnet) if prot.allows(p))
        if allowed:
            out.append((m.span(), allowed))
    return out


def substitutable_spans(text: str, use_wordnet: bool = True, protected: Protection | None = None
                        ) -> list[tuple[int, int]]:
    """(start, end) character spans of the words in ``text`` that may change and have a paraphrase."""
    return [span for span, _ in paraphrase_options(text, use_wordnet, protected)]


def match_case(original: str, new: str) -> str:
    """``new`` with the capitalisation pattern of ``original`` (all caps, capitalised, or as is)."""
    if len(original) > 1 and original.isupper():
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def substitute(text: str, choices: dict[tuple[int, int], str]) -> tuple[str, list[list[str]]]:
    """Apply ``{span: paraphrase}`` to ``text``; returns the new text and the [original, new] pairs, in order."""
    out, pairs, pos = [], [], 0
    for (a, b) in sorted(choices):
        orig = text[a:b]
        new = match_case(orig, choices[(a, b)])
        out += [text[pos:a], new]
        pairs.append([orig, new])
        pos = b
    out.append(text[pos:])
    return "".join(out), pairs


def _variant(text: str, options: list[tuple[tuple[int, int], tuple[str, ...]]], k: int, rng: np.random.Generator
             ) -> tuple[str, list[list[str]]]:
    """``k`` of the options' words, chosen uniformly, each replaced by one of its paraphrases, chosen uniformly."""
    chosen = rng.choice(len(options), size=k, replace=False)
    choices = {}
    for j in sorted(int(c) for c in chosen):
        span, cands = options[j]
        choices[span] = cands[int(rng.integers(len(cands)))]
    return substitute(text, choices)


@dataclass
class OodExtra:
    substitutions: list[list[str]]  # [original, paraphrase] pairs, in order
    substitutable_words: int  # words that may change (not protected) and have a paraphrase that may be inserted
    wordnet: bool
    control_substitutions: list[list[str]]  # the random control's pairs: as many words, drawn before the variants
    protected_words: int  # words the lexicon knows that the protections kept (reference, fact, number words)


def ood_search(objective: Objective, rec: Record, args, model_slug: str, use_wordnet: bool) -> Search:
    """``N_VARIANTS`` seeded paraphrases of ``attacks.ood_words`` words of one sample; the one with the highest
    NLL kept (a generator for the engine); returns its record."""
    rng = sample_rng(args.seed, rec.id)
    options = paraphrase_options(rec.source, use_wordnet, protection(rec.summary, rec.facts))
    known = len(paraphrase_options(rec.source, use_wordnet))
    k = min(args.ood_words, len(options))
    # Drawn first, so every model gets the same control (the variants are model-independent too; which
    # one is kept is not).
    control, control_pairs = _variant(rec.source, options, k, rng) if k else (rec.source, [])
    variants = [_variant(rec.source, options, k, rng) for _ in range(N_VARIANTS)] if k else []
    label = objective.label_ids(rec.summary)
    texts = [rec.source] + [t for t, _ in variants] + ([control] if k else [])
    scores = yield Score([objective.source_ids(t) for t in texts], [label] * len(texts))
    queries = 1 + len(variants)  # the control is not a query
    orig = scores[0]
    if variants:
        best = int(np.argmax(scores[1:1 + len(variants)]))
        text, pairs, attacked = variants[best][0], variants[best][1], scores[1 + best]
    else:  # nothing to substitute: the attack leaves the source as it is
        text, pairs, attacked = rec.source, [], orig
    control_nll = scores[-1] if k else orig
    return AttackRecord(
        attack="ood", model=model_slug, sample_id=rec.id, original_nll=orig, attacked_nll=attacked,
        queries=queries, perturbed_text=text, tokens_changed=len(pairs), budget=args.ood_words,
        control_nll=control_nll, control_text=control, label_preserved=label_preserved(rec.source, text, rec.facts),
        extra=OodExtra(substitutions=pairs, substitutable_words=len(options), wordnet=use_wordnet,
                       control_substitutions=control_pairs, protected_words=known - len(options)))


def ood_searches(objective: Objective, samples: Sequence[Record], args, model_slug: str, budgets: Sequence[int],
                 prepared=None) -> list[Search]:
    """One :func:`ood_search` per sample and word budget in ``budgets``."""
    use_wordnet = wordnet_used(args)
    return per_budget(lambda rec, a: ood_search(objective, rec, a, model_slug, use_wordnet), samples, args,
                      "ood_words", budgets)


def ood_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
               progress: bool = True, prepared=None) -> list[AttackRecord]:
    """Per sample: ``N_VARIANTS`` seeded paraphrases of ``attacks.ood_words`` words; keep the one with the highest NLL."""
    return flat(run_all(objective, ood_searches(objective, samples, args, model_slug, [args.ood_words]),
                        progress=progress, desc=f"ood[{model_slug}]"))
