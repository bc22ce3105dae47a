"""What the in-text attacks (substitution, OOD) may never change, and the label check they share.

TextAttack calls these *constraints*; here they are one list of named rules
(:data:`RULES`), applied to each word of a source. A word is a run of letters,
digits, ``_`` and ``#`` with optional inner apostrophes (``don't``, ``Hana's``),
so punctuation, spaces and line breaks are never part of one and never change.
A word is **protected** (never replaced) when

- ``tag``: it is a speaker tag (``#Person1#``; any word with a ``#``);
- ``number``: it contains a digit (``30``, ``3pm``, ``30th``) or is a number
  word (:data:`NUMBER_WORDS`: ``two``, ``twenty``, ``first``, ``twice``, ``half``,
  ...; the synthetic corpus states 16 distinct number words as facts, ``three``
  alone in 275 of 3080 records);
- ``reference``: one of its normalised tokens is a token of the reference summary;
- ``fact``: one of its normalised tokens is a token of one of the record's facts.

"Normalised" is :func:`mono_s2s.evaluate._fact_tokens`, the rule that decides
fact recall: lower case, possessive ``'s`` and ordinal suffixes dropped, so
``Hana's`` is protected by a fact ``Hana`` and ``TICKETS`` by a summary's
``tickets``. The same rules decide which words an attack may *insert*
(:meth:`Protection.allows`): a replacement is never a reference word, a fact's
word or a number, so an attack cannot plant a second value of a slot.

Protection is by word, not by occurrence: every ``the`` of a source whose
summary says "the" is kept, which costs the attacks some words but makes the
label check below hold by construction (a fact's tokens are all protected, so
its run of words in the source stays intact). :func:`label_preserved` checks it
anyway on every record, with fact recall's own rule: a record whose attacked
source no longer states a reference fact that the clean source stated is
counted and left out of the analysis (:mod:`mono_s2s.results`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from mono_s2s.evaluate import _fact_tokens, fact_recall

__all__ = ["NUMBER_WORDS", "RULES", "WORD", "Protection", "protection", "facts_preserved", "label_preserved",
           "word_spans"]

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
          "seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth "
             "sixtieth seventieth eightieth ninetieth hundredth thousandth").split()
# Cardinals, ordinals, multiples and fractions: a number's value is a fact whether or not it is written in digits.
NUMBER_WORDS = frozenset(_UNITS + _TENS + _ORDINALS + "hundred thousand million billion once twice thrice half "
                                                     "halves quarter quarters dozen dozens".split())

# A word: letters, digits, "_" and "#" (speaker tags), with inner apostrophes; never punctuation or space.
WORD = re.compile(r"[\w#]+(?:['\u2019][\w#]+)*")


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of every word of ``text`` (:data:`WORD`), protected or not."""
    return [m.span() for m in WORD.finditer(text)]


# (name, rule): rule(word, its normalised tokens, protected tokens of the record) -> the word is protected.
Rule = Callable[[str, list[str], frozenset[str], frozenset[str]], bool]
RULES: tuple[tuple[str, Rule], ...] = (
    ("tag", lambda word, norm, ref, facts: "#" in word),
    ("number", lambda word, norm, ref, facts: any(c.isdigit() for c in word)
     or any(t in NUMBER_WORDS for t in norm)),
    ("reference", lambda word, norm, ref, facts: any(t in ref for t in norm)),
    ("fact", lambda word, norm, ref, facts: any(t in facts for t in norm)),
)


@dataclass(frozen=True)
class Protection:
    """The protections of one record: its reference summary's tokens and its facts' tokens (normalised)."""

    reference: frozenset[str]
    facts: frozenset[str]

    def why(self, word: str) -> str | None:
        """The name of the first rule that protects ``word`` (a :data:`WORD`), or None if it may change."""
        norm = _fact_tokens(word)
        for name, rule in RULES:
            if rule(word, norm, self.reference, self.facts):
                return name
        return None

    def allows(self, word: str) -> bool:
        """Whether ``word`` may be replaced, or inserted as a replacement (every word of a phrase must be allowed)."""
        words = WORD.findall(word)
        return bool(words) and all(self.why(w) is None for w in words)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The character spans of the words of ``text`` that may change, in order."""
        return [(a, b) for a, b in word_spans(text) if self.why(text[a:b]) is None]


def protection(summary: str, facts: Sequence[str]) -> Protection:
    """The protections of a record with this reference summary and these facts."""
    return Protection(reference=frozenset(_fact_tokens(summary)),
                      facts=frozenset(t for f in facts for t in _fact_tokens(f)))


def facts_preserved(source: str, facts: Sequence[str]) -> bool:
    """Whether ``source`` still states every fact, by fact recall's rule (:func:`mono_s2s.evaluate.fact_recall`).

    True when there are no facts (nothing to lose).
    """
    return not facts or fact_recall(source, facts) == 1.0


def label_preserved(clean: str, attacked: str, facts: Sequence[str]) -> bool | None:
    """The record's ``label_preserved``: the attacked source states every fact the clean source stated.

    None when the record has no facts (the corpus does not know them). On the
    embedded corpus every clean source states all of its facts, so this is
    ``facts_preserved(attacked, facts)``; counting only the facts the clean source
    states keeps a corpus whose sources omit a fact from failing every record.
    """
    if not facts:
        return None
    return facts_preserved(attacked, [f for f in facts if facts_preserved(clean, [f])])
