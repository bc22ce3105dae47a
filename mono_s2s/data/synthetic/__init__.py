"""An embedded, deterministic, DialogSum-style dialogue-summarization corpus.

What it is for: a controlled, learnable stand-in for DialogSum that needs no
download, so that training, attacks and robustness comparisons can run offline
and in tests on a CPU. Each source is a two-speaker everyday dialogue whose lines
start with ``#Person1#: `` or ``#Person2#: ``; each summary is a short
third-person account that refers to the speakers as ``#Person1#`` and
``#Person2#``, as in DialogSum.

How it is built: every scenario (booking a table, returning a kettle, a flight
delay, ...) draws its facts (names, places, weekdays, clock times, quantities,
prices) from word pools, speaks them through randomly chosen phrasings and
optional turns (small talk, a clarifying question, a change of mind), and writes
the summary from the *final* facts with one fixed template per scenario. The
summary is therefore a deterministic function of what was said: a small model
can learn it, yet it cannot simply copy one turn, because it paraphrases and
combines facts spoken in several turns, and must pick the value that was agreed
on rather than the one that was first proposed.

What it is not: a benchmark of real summarization quality. The language is
narrow and templated, so scores on it say nothing about how a model does on
real dialogues. Because each scenario has one summary template, ROUGE rewards
recognising the scenario a lot: a summary of the right scenario with the wrong
slot values already scores about 0.69 ROUGE-L on the test split (the first turn
scores about 0.20, the whole dialogue about 0.30), so the differences that
matter lie above that level, in getting the slot values right. All text here
was written for this package; none of it comes from DialogSum or any other
dataset.

Only the standard library is used, and all randomness comes from one
``random.Random(seed)`` (never the global generator, never set or dict order), so
the same seed gives a byte-identical corpus on any machine. Python only promises
that ``random()`` itself stays the same across versions; ``choice``/``sample``
have been stable for years, but a future Python could in principle change them.

API: :func:`generate_corpus` returns the ``Record`` splits; :func:`generate_examples`
returns the same records wrapped in :class:`Example` with the scenario name, the
facts the summary states and the values a change of mind replaced (for tests and
analysis). :data:`SCENARIOS` lists the scenario names, in deck order.

Layout: :mod:`~mono_s2s.data.synthetic.engine` holds the dialogue builder, the
pools several themes share, the scenario registry and the corpus assembly;
:mod:`~mono_s2s.data.synthetic.scenarios` holds the scenarios, a module per
theme, each with the pools only it uses. This module only assembles the public
names.
"""

from __future__ import annotations

# Importing the scenarios registers them with the engine; SCENARIOS is read off
# the registry after that.
from mono_s2s.data.synthetic import scenarios  # noqa: F401
from mono_s2s.data.synthetic.engine import (
    FIRST_NAMES,
    SURNAMES,
    Example,
    generate_corpus,
    generate_examples,
    registered,
)

__all__ = [
    "SCENARIOS",
    "Example",
    "generate_corpus",
    "generate_examples",
    "FIRST_NAMES",
    "SURNAMES",
]

SCENARIOS: tuple[str, ...] = tuple(registered())
