"""Helpers shared by the local-file and hub loaders: column auto-detection,
one-line error text and stderr warnings."""

from __future__ import annotations

from typing import Sequence

from mono_s2s.errors import UserError

# Tried in this order; the first present column wins. The names are those of
# the corpora the project uses (DialogSum/SAMSum, XSum, CNN/DM, arXiv/PubMed)
# plus the generic source/target and text/summary pairs.
SOURCE_COLUMNS = ("dialogue", "document", "article", "text", "source")
SUMMARY_COLUMNS = ("summary", "highlights", "abstract", "target")

_MAX_CAUSE_CHARS = 200


def detect_columns(columns: Sequence[str], origin: str, source: str | None = None,
                   summary: str | None = None) -> tuple[str, str]:
    """The (source, summary) column names of a table with ``columns``.

    An explicit ``source``/``summary`` name must be present as written;
    otherwise the first candidate present wins, exact name first, then
    ignoring case (a CSV exported with "Dialogue" headers still loads).
    ``origin`` names the file or dataset in errors.
    """
    found = ", ".join(f"'{c}'" for c in columns) or "none"

    def pick(explicit: str | None, candidates: tuple[str, ...], role: str) -> str:
        if explicit is not None:
            if explicit in columns:
                return explicit
            raise UserError(f"{origin} has no column '{explicit}' (columns found: {found}); "
                            f"choose one with --set data.{role}_column=COLUMN")
        for name in candidates:
            if name in columns:
                return name
        lowered = {c.lower(): c for c in reversed(columns)}
        for name in candidates:
            if name in lowered:
                return lowered[name]
        raise UserError(f"{origin} has no {role} column (looked for {', '.join(candidates)}; columns found: {found}); "
                        f"name it with --set data.{role}_column=COLUMN")

    src = pick(source, SOURCE_COLUMNS, "source")
    summ = pick(summary, SUMMARY_COLUMNS, "summary")
    if src == summ:
        raise UserError(f"{origin}: column '{src}' cannot be both the source and the summary; "
                        f"set data.source_column and data.summary_column to different columns")
    return src, summ


def one_line(error: BaseException | str, limit: int = _MAX_CAUSE_CHARS) -> str:
    """The first non-empty line of an error message, whitespace-collapsed and truncated.

    Library exceptions (datasets, pandas, pyarrow) often carry multi-line
    messages or tracebacks of their own; a UserError must stay on one line.
    """
    text = str(error)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    first = next((line for line in lines if line), "")
    if not first:
        first = type(error).__name__ if isinstance(error, BaseException) else "unknown error"
    if len(first) > limit:
        first = first[: limit - 3].rstrip() + "..."
    return first
