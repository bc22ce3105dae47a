"""The normalized example every corpus is turned into."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Record:
    """One summarization example: a stable id, the text to summarize, its reference summary (or summaries).

    ``facts``: the slot values the reference states (names, places, days, times,
    numbers, items), when the corpus knows them -- the embedded synthetic corpus
    does; other corpora leave it empty. They give the *fact recall* of a generated
    summary (:func:`mono_s2s.evaluate.fact_recall`).

    ``references``: every reference, ``summary`` first, when the corpus has several (DialogSum's test split
    has three); a record made with one reference gets ``(summary,)``. The model is trained on ``summary``
    and its teacher-forced NLL is taken on it; ROUGE is computed against every reference
    (:func:`mono_s2s.evaluate.rouge_scores`).
    """

    id: str
    source: str
    summary: str
    facts: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # frozen: set through object.__setattr__; equal records whether or not the one reference was passed.
        refs = tuple(self.references) or (self.summary,)
        if refs[0] != self.summary:
            raise ValueError(f"record {self.id}: the first reference must be the summary")
        object.__setattr__(self, "references", refs)
        object.__setattr__(self, "facts", tuple(self.facts))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["facts"] = list(self.facts)
        d["references"] = list(self.references)
        return d

    def with_summaries(self, references: tuple[str, ...]) -> "Record":
        """This record with its references replaced (the first becomes the summary); facts are kept."""
        return Record(self.id, self.source, references[0], self.facts, tuple(references))
