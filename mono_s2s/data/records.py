"""The normalized example every corpus is turned into."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Record:
    """One summarization example: a stable id, the text to summarize, its reference summary.

    ``facts``: the slot values the reference states (names, places, days, times,
    numbers, items), when the corpus knows them -- the embedded synthetic corpus
    does; other corpora leave it empty. They give the *fact recall* of a generated
    summary (:func:`mono_s2s.evaluate.fact_recall`).
    """

    id: str
    source: str
    summary: str
    facts: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["facts"] = list(self.facts)
        return d
