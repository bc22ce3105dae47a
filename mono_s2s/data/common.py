"""Helpers shared by the local-file and hub loaders: the column names auto-detection tries
(:mod:`mono_s2s.data.formats`) and one-line error text."""

from __future__ import annotations

# Tried in this order; the first present column wins. The names are those of
# the corpora the project uses (DialogSum/SAMSum, XSum, CNN/DM, arXiv/PubMed)
# plus the generic source/target and text/summary pairs.
SOURCE_COLUMNS = ("dialogue", "document", "article", "text", "source")
SUMMARY_COLUMNS = ("summary", "highlights", "abstract", "target")

_MAX_CAUSE_CHARS = 200


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
