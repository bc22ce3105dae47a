"""The normalized example every corpus is turned into."""

from __future__ import annotations

from dataclasses import asdict, dataclass

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Record:
    """One summarization example: a stable id, the text to summarize, its reference summary."""

    id: str
    source: str
    summary: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)
