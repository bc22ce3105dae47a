"""Which columns of a table are the source, the reference(s) and the id, and which corpus the table is from.

The official releases of the corpora researchers already have on disk differ in their columns:

* DialogSum (``dialogsum.{train,dev,test}.jsonl``): ``fname, dialogue, summary, topic`` for train and
  dev; the test file has three references, ``summary1..3`` (and ``topic1..3``) instead of ``summary``.
* SAMSum (``train.json``, ``val.json``, ``test.json``): a JSON list of ``{id, dialogue, summary}``.
* CNN/DailyMail: ``article, highlights, id``.
* XSum: ``document, summary, id``.

:func:`detect_layout` finds the layout from the column names alone, so the same rules serve a local file,
a ``save_to_disk`` folder and a hub dataset. Numbered reference columns (``summary1``, ``summary2``...) are
*all* kept, in their numbered order; the first is the one the model is trained on and its teacher-forced
NLL is taken on (DialogSum's train and dev have one reference), and ROUGE is computed against every one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from mono_s2s.data.common import SOURCE_COLUMNS, SUMMARY_COLUMNS
from mono_s2s.errors import UserError

# The id column, in order of preference: ``id`` everywhere but DialogSum, whose files name rows by ``fname``.
ID_COLUMNS = ("id", "fname")

# (corpus, columns that identify it), tried in order; the first whose columns are all present names the format.
# Only a name for the user and the run's records: the columns are found by the same rules for every format.
KNOWN_FORMATS = (
    ("DialogSum", ("fname", "dialogue")),
    ("DialogSum", ("dialogue", "topic")),  # the hub's copy: id, dialogue, summary, topic
    ("SAMSum", ("id", "dialogue")),
    ("CNN/DailyMail", ("article", "highlights")),
    ("XSum", ("document", "summary", "id")),
)


@dataclass(frozen=True)
class Layout:
    """The columns of one table: ``references`` in order (the first is the training reference)."""

    format: str  # a name of KNOWN_FORMATS, or "generic"
    source: str
    references: tuple[str, ...]
    id: str | None

    def describe(self) -> str:
        refs = ", ".join(f"'{c}'" for c in self.references)
        plural = "s" if len(self.references) > 1 else ""
        ident = f", ids '{self.id}'" if self.id else ", ids from row numbers"
        return f"source '{self.source}', reference{plural} {refs}{ident}"


@dataclass
class CorpusInfo:
    """What was read, for the user: the format, where each split came from, and each split's columns."""

    origin: str
    sources: dict[str, str]  # split -> the file(s) or hub split it was read from, or "carved from train ..."
    layouts: dict[str, Layout]  # split -> its columns (absent for a carved split)

    @property
    def format(self) -> str:
        """The corpus's format: its test split's (DialogSum's test file is the one that identifies it)."""
        names = [self.layouts[s].format for s in ("test", "train", "validation") if s in self.layouts]
        return next((n for n in names if n != "generic"), "generic")

    def carve(self, splits: Sequence[str], seed: int) -> None:
        """Record that ``splits`` were carved from train (:func:`mono_s2s.data.splits.plan`, seeded)."""
        for split in splits:
            self.sources[split] = f"carved from train (seeded by data.seed={seed})"

    def lines(self) -> list[str]:
        """One line for the format, one per split: where it came from and its columns."""
        out = [f"data: {self.origin}, format {self.format}"]
        for split in ("train", "validation", "test"):
            where = self.sources.get(split, "none")
            layout = self.layouts.get(split)
            out.append(f"data:   {split:<10} <- {where}" + (f" ({layout.describe()})" if layout else ""))
        return out


def detect_layout(columns: Sequence[str], origin: str, source: str | None = None,
                  summary: str | None = None) -> Layout:
    """The layout of a table with ``columns``; ``source``/``summary``: the user's explicit column names.

    An explicit name must be present as written. Otherwise the first candidate of
    :data:`~mono_s2s.data.common.SOURCE_COLUMNS` / ``SUMMARY_COLUMNS`` present wins, exact name first,
    then ignoring case; a reference name may also be present only numbered (``summary1``, ``summary2``,
    ...), as in DialogSum's test file: then every numbered column is a reference, and the numbers must run
    from 1 without a gap (a missing ``summary2`` beside ``summary1`` and ``summary3`` is an error: a
    reference would silently be lost). ``origin`` names the file or dataset in errors.
    """
    columns = [str(c) for c in columns]
    found = ", ".join(f"'{c}'" for c in columns) or "none"
    src = _pick(columns, source, SOURCE_COLUMNS, "source", origin, found)
    if summary is not None:
        if summary not in columns:
            raise UserError(f"{origin} has no column '{summary}' (columns found: {found}); "
                            f"choose one with --set data.summary_column=COLUMN")
        refs: tuple[str, ...] = (summary,)
    else:
        refs = _references(columns, origin, found)
    if src in refs:
        raise UserError(f"{origin}: column '{src}' cannot be both the source and the summary; "
                        f"set data.source_column and data.summary_column to different columns")
    ident = next((c for c in ID_COLUMNS if c in columns and c != src and c not in refs), None)
    name = next((n for n, needed in KNOWN_FORMATS if all(c in columns for c in needed)), "generic")
    return Layout(name, src, refs, ident)


def _pick(columns: list[str], explicit: str | None, candidates: tuple[str, ...], role: str, origin: str,
          found: str) -> str:
    if explicit is not None:
        if explicit in columns:
            return explicit
        raise UserError(f"{origin} has no column '{explicit}' (columns found: {found}); "
                        f"choose one with --set data.{role}_column=COLUMN")
    exact = next((c for c in candidates if c in columns), None)
    if exact is not None:
        return exact
    lowered = {c.lower(): c for c in reversed(columns)}
    folded = next((lowered[c] for c in candidates if c in lowered), None)
    if folded is not None:
        return folded
    raise UserError(f"{origin} has no {role} column (looked for {', '.join(candidates)}; columns found: {found}); "
                    f"name it with --set data.{role}_column=COLUMN")


def _references(columns: list[str], origin: str, found: str) -> tuple[str, ...]:
    """The reference column(s): a plain name (``summary``), or a numbered set (``summary1..N``)."""
    for name in SUMMARY_COLUMNS:
        numbered = _numbered(columns, name)
        if numbered:
            numbers = sorted(numbered)
            missing = [n for n in range(1, numbers[-1] + 1) if n not in numbered]
            if missing or numbers[0] != 1:
                have = ", ".join(f"'{numbered[n]}'" for n in numbers)
                gap = "', '".join(f"{name}{n}" for n in (missing or [1]))
                raise UserError(f"{origin} has reference columns {have} but no '{gap}': references must be "
                                f"numbered from 1 without gaps (or name one with --set data.summary_column=COLUMN)")
            plain = (name,) if name in columns else ()
            return plain + tuple(numbered[n] for n in numbers)
        if name in columns:
            return (name,)
    # No exact candidate: the case-insensitive match, as for the source (a CSV with "Summary" headers).
    return (_pick(columns, None, SUMMARY_COLUMNS, "summary", origin, found),)


def _numbered(columns: list[str], name: str) -> dict[int, str]:
    """``{n: column}`` for the columns named ``name`` followed by a number (``summary1``, ``summary_2``)."""
    pattern = re.compile(re.escape(name) + r"_?(\d+)")
    out = {}
    for c in columns:
        m = pattern.fullmatch(c)
        if m:
            out[int(m.group(1))] = c
    return out
