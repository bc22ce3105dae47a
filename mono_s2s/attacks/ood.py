"""Out-of-distribution paraphrase attack: everyday words swapped for rare, archaic or formal ones.

Follows the seed notebook's OOD attack (word substitution by unusual synonyms,
in the spirit of Alzantot et al., 2018 and TextAttack's ``WordSwapWordNet``),
written TextAttack-style:

- goal: raise the mean token NLL of the reference summary (``Objective``);
- transformation: replace up to ``floor(ood_substitution_rate * n)`` of the
  ``n`` substitutable words of the dialogue (words the lexicon knows) by one of
  their paraphrases. Speaker tags (``#Person1#:``), contractions (``I'd``),
  punctuation and line breaks are never touched; capitalisation is carried over
  (``Want`` -> ``Desire``, ``OK`` -> ``VERY WELL``);
- search: sample a few random variants (seeded), score them with the clean
  source in ONE batched call, keep the most damaging.

Departures from the seed notebook: the seed had a ten-word dictionary; here the
lexicon (``ood_lexicon.json``, written for this package, ~450 words of
everyday dialogue each with 1-4 paraphrases) is shipped as package data. If
nltk's WordNet corpus is already installed (and ``attacks.ood_wordnet`` is true),
its synonyms are added as further candidates; nothing is ever downloaded, and
whether WordNet was used is kept in each record and in the attack settings. And
the seed substituted every word it knew; here the rate is capped, so that the
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

from mono_s2s.attacks.common import AttackRecord, Objective, each_sample
from mono_s2s.data.records import Record

__all__ = ["load_lexicon", "wordnet_used", "candidates_for", "substitutable_spans", "match_case", "substitute",
           "ood_attack"]

N_VARIANTS = 8  # random variants scored per sample (plus the clean source), in one batched call

# A plain word: letters only, not part of a speaker tag (#Person1#), a contraction (I'd, don't) or a number.
_WORD = re.compile(r"(?<![\w#'’])[A-Za-z]+(?![\w#'’])")


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


def substitutable_spans(text: str, use_wordnet: bool = True) -> list[tuple[int, int]]:
    """(start, end) character spans of the words in ``text`` that have at least one paraphrase."""
    return [m.span() for m in _WORD.finditer(text) if candidates_for(m.group().lower(), use_wordnet)]


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


def _variant(text: str, spans: list[tuple[int, int]], k: int, rng: np.random.Generator, use_wordnet: bool
             ) -> tuple[str, list[list[str]]]:
    chosen = rng.choice(len(spans), size=k, replace=False)
    choices = {}
    for j in sorted(int(c) for c in chosen):
        a, b = spans[j]
        cands = candidates_for(text[a:b].lower(), use_wordnet)
        choices[(a, b)] = cands[int(rng.integers(len(cands)))]
    return substitute(text, choices)


@dataclass
class OodExtra:
    substitutions: list[list[str]]  # [original, paraphrase] pairs, in order
    substitutable_words: int
    wordnet: bool


def ood_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
               progress: bool = True, prepared=None) -> list[AttackRecord]:
    """Per sample: ``N_VARIANTS`` seeded paraphrases at the capped rate; keep the one with the highest NLL."""
    records: list[AttackRecord] = []
    use_wordnet = wordnet_used(args)
    for rec, rng in each_sample(samples, args, "ood", model_slug, progress):
        q0 = objective.queries
        spans = substitutable_spans(rec.source, use_wordnet)
        k = int(args.ood_substitution_rate * len(spans))  # floor: never above the rate
        variants = [_variant(rec.source, spans, k, rng, use_wordnet) for _ in range(N_VARIANTS)] if k else []
        label = objective.label_ids(rec.summary)
        texts = [rec.source] + [t for t, _ in variants]
        scores = objective.nll_ids([objective.source_ids(t) for t in texts], [label] * len(texts))
        orig = scores[0]
        if variants:
            best = int(np.argmax(scores[1:]))
            text, pairs, attacked = variants[best][0], variants[best][1], scores[1 + best]
        else:  # nothing to substitute: the attack leaves the source as it is
            text, pairs, attacked = rec.source, [], orig
        records.append(AttackRecord(
            attack="ood", model=model_slug, sample_id=rec.id, original_nll=orig, attacked_nll=attacked,
            queries=objective.queries - q0, perturbed_text=text, tokens_changed=len(pairs),
            extra=OodExtra(substitutions=pairs, substitutable_words=len(spans), wordnet=use_wordnet),
        ))
    return records
