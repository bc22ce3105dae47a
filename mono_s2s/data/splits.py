"""Split carving, size caps and summary shortening, shared by every corpus loader.

A loader hands over whatever splits its source has. :func:`plan` decides, from
the split sizes alone, which rows end up in which output split: a missing
validation or test split is carved from train (seeded shuffle, never
overlapping), then ``max_train_samples`` / ``max_eval_samples`` keep a seeded
subset. Working on sizes and positions rather than on records lets the hub
loader pick rows out of a large Arrow table before turning any of them into
Python strings; :func:`finalize` applies the same plan to lists of records, so
both paths give identical corpora. Applying the plan twice changes nothing.

All randomness comes from ``random.Random`` seeded with strings derived from
``DataArgs.seed``; string seeds are hashed with SHA-512 by ``random`` (not by
``hash()``), so the result does not depend on ``PYTHONHASHSEED`` or the machine.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence, TypeVar

from mono_s2s.config import DataArgs
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError

T = TypeVar("T")

# Output split -> (input split it is taken from, positions into that input split).
Plan = dict[str, tuple[str, list[int]]]


def plan(sizes: Mapping[str, int], args: DataArgs, origin: str) -> Plan:
    """Decide which positions of which input split form each output split.

    ``sizes`` maps the splits the source has (``train`` is required) to their
    number of usable rows. ``origin`` names the file or dataset in errors.
    """
    if "train" not in sizes:
        raise UserError(f"{origin} has no train split (found: {', '.join(sizes) or 'none'})")
    n_train = sizes["train"]
    missing = [s for s in ("validation", "test") if s not in sizes]
    out: Plan = {s: (s, list(range(sizes[s]))) for s in SPLITS if s in sizes}
    if missing:
        fraction = {"validation": args.validation_fraction, "test": args.test_fraction}
        # At least one row each, so a tiny file still yields a usable corpus.
        counts = {s: max(1, round(n_train * fraction[s])) for s in missing}
        if n_train - sum(counts.values()) < 1:
            raise UserError(
                f"{origin} has {n_train} usable training row(s): too few to carve "
                f"{' and '.join(missing)} split(s) from it (need at least {sum(counts.values()) + 1})")
        order = list(range(n_train))
        random.Random(f"carve:{args.seed}").shuffle(order)
        start = 0
        for s in missing:
            # Sorted so a carved split keeps the file's order (readable, diffable).
            out[s] = ("train", sorted(order[start:start + counts[s]]))
            start += counts[s]
        out["train"] = ("train", sorted(order[start:]))
    for s, (source, positions) in out.items():
        cap = args.max_train_samples if s == "train" else args.max_eval_samples
        out[s] = (source, subsample(positions, cap, f"cap:{args.seed}:{s}"))
    return {s: out[s] for s in SPLITS}


def subsample(items: Sequence[T], k: int | None, seed_key: str) -> list[T]:
    """A seeded subset of ``k`` items in their original order (all items if ``k`` is None or large)."""
    if k is None or len(items) <= k:
        return list(items)
    keep = sorted(random.Random(seed_key).sample(range(len(items)), k))
    return [items[i] for i in keep]


def proportional_counts(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer counts proportional to ``weights`` that sum to ``total``.

    Largest-remainder rounding: plain rounding of 0.45/0.35/0.10/0.05/0.05 of an
    odd total can miss the total by one.
    """
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def shorten(text: str, max_words: int | None) -> str:
    """The first ``max_words`` whitespace-separated words of ``text`` (unchanged if it is short enough).

    As the seed notebook did for its 80-word summary limit: a word cut, not a
    sentence cut, and the shortened text is re-joined with single spaces.
    """
    if max_words is None:
        return text
    words = text.split()
    if len(words) <= max_words:
        return text
    return " ".join(words[:max_words])


def shortened(record: Record, max_words: int | None) -> Record:
    """``record`` with every reference cut to ``max_words`` words (:func:`shorten`)."""
    return record.with_summaries(tuple(shorten(ref, max_words) for ref in record.references))


def finalize(corpus: Mapping[str, list[Record]], args: DataArgs, origin: str,
             summary_max_words: int | None = None) -> dict[str, list[Record]]:
    """Carve missing splits, apply the caps, shorten long summaries; return all of ``SPLITS``.

    ``summary_max_words`` defaults to ``args.summary_max_words``.
    """
    sizes = {s: len(records) for s, records in corpus.items()}
    out: dict[str, list[Record]] = {}
    limit = args.summary_max_words if summary_max_words is None else summary_max_words
    for s, (source, positions) in plan(sizes, args, origin).items():
        records = [corpus[source][i] for i in positions]
        if limit is not None:
            records = [shortened(r, limit) for r in records]
        out[s] = records
    return out
