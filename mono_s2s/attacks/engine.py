"""The batched attack engine: many per-sample searches scored in the same forward passes.

A search (one attack on one sample at one budget) is written as a generator
that *asks* for what it needs and gets the answer back::

    nll = yield Score(sources, labels)          # per-row NLL, no autograd
    nll, grads = yield Grad(sources, labels)    # per-row NLL and d NLL / d input embeddings

and finally ``return``s its :class:`~mono_s2s.attacks.common.AttackRecord`.
:func:`drive` keeps up to ``concurrency`` searches open at once, gathers the
pending requests of all of them, and answers every :class:`Score` of a round
in one call of :meth:`Objective.score_rows` and every :class:`Grad` in one
call of :meth:`Objective.grad_rows`, which pack the rows by length into shared
forward passes. On a GPU that is what fills the device (one HotFlip gradient
pass holds 4 sequences, an NES population 16). On this project's 2-core CPU
it gains nothing measurable (0.96-1.14x, ``bench/attack_throughput.py``): one
search's request already fills a core; the engine's worth there is the
streaming, the resume and the batch-independent records.

Why the answers do not depend on the company a row keeps: the objective pads
every row to a length bucket that depends only on the row itself
(``common.SOURCE_BUCKET`` / ``LABEL_BUCKET``), and with the padded shape fixed a
row's result is bit-for-bit the same in any batch (padding to the longest row
of the batch, as round 2 did, changed NLLs by ~1e-8, enough to flip a tie).
So a search gives the same record alone, among 64 others, after a resume, or
on another rank of a distributed run -- the tests check it.

Records come out as their searches finish (the runner stores each at once). A
record's ``seconds`` is its share of the engine's time: its own Python time
plus each forward pass's time split over the rows it asked for.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Iterator, Sequence

__all__ = ["Score", "Grad", "Search", "drive", "run_one", "run_all", "per_budget", "flat", "score"]


@dataclass
class Score:
    """A request: the NLL of each (source ids without ``</s>``, label ids) row, as a list of floats."""

    sources: Sequence[Sequence[int]]
    labels: Sequence[Sequence[int]]


@dataclass
class Grad:
    """A request: ``(nll, grads)``; ``grads[i]`` is row ``i``'s (source length + 1, d_model) embedding gradient."""

    sources: Sequence[Sequence[int]]
    labels: Sequence[Sequence[int]]


Search = Generator[Any, Any, Any]


def score(sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]) -> Search:
    """``nll = yield from score(...)``: a Score request, for code that reads better as a call."""
    return (yield Score(sources, labels))


class _Open:
    __slots__ = ("search", "request", "seconds", "index")

    def __init__(self, search: Search, index: int) -> None:
        self.search, self.index, self.seconds, self.request = search, index, 0.0, None


def drive(objective, searches: Iterable[Search], concurrency: int = 64,
          on_done: Callable[[int, Any, float], None] | None = None) -> Iterator[tuple[int, Any, float]]:
    """Run the searches, ``concurrency`` at a time; yield ``(index, returned value, seconds)`` as each finishes.

    ``index`` is the search's position in ``searches``. Searches are started in
    order as others finish, so a long list never holds more than ``concurrency``
    generators (and their caches) in memory.
    """
    source = iter(enumerate(searches))
    open_: deque[_Open] = deque()
    finished: list[tuple[int, Any, float]] = []

    def advance(item: _Open, answer: Any) -> None:
        start = time.perf_counter()
        try:
            item.request = item.search.send(answer) if answer is not _START else next(item.search)
        except StopIteration as stop:
            item.seconds += time.perf_counter() - start
            finished.append((item.index, stop.value, item.seconds))
            item.request = None
            return
        item.seconds += time.perf_counter() - start
        if not isinstance(item.request, (Score, Grad)):
            raise TypeError(f"an attack search yielded {type(item.request).__name__}, not Score or Grad")
        open_.append(item)

    def refill() -> None:
        while len(open_) < concurrency:
            nxt = next(source, None)
            if nxt is None:
                return
            advance(_Open(nxt[1], nxt[0]), _START)

    refill()
    yield from _flush(finished, on_done)
    while open_:
        items = list(open_)
        open_.clear()
        answers: dict[int, Any] = {}
        for kind, call in ((Score, objective.score_rows), (Grad, objective.grad_rows)):
            group = [it for it in items if isinstance(it.request, kind)]
            if not group:
                continue
            sources = [s for it in group for s in it.request.sources]
            labels = [t for it in group for t in it.request.labels]
            start = time.perf_counter()
            out = call(sources, labels)
            share = (time.perf_counter() - start) / max(len(sources), 1)
            objective.queries += len(sources)
            at = 0
            for it in group:
                n = len(it.request.sources)
                it.seconds += share * n
                answers[id(it)] = (out[at:at + n] if kind is Score
                                   else (out[0][at:at + n], out[1][at:at + n]))
                at += n
        for it in items:  # in the order they asked: the answers do not depend on it, but the logs read better
            advance(it, answers[id(it)])
        refill()
        yield from _flush(finished, on_done)


_START = object()


def _flush(finished: list, on_done) -> Iterator[tuple[int, Any, float]]:
    while finished:
        done = finished.pop(0)
        if on_done is not None:
            on_done(*done)
        yield done


def per_budget(make: Callable[[Any, Any], Search], samples: Sequence[Any], args: Any, setting: str,
               budgets: Sequence[int]) -> list[Search]:
    """For an attack searched once per budget: ``make(sample, args at that budget)`` for every budget and sample
    (budget-major), each search returning ``[its record]`` like the attacks whose curve comes from one search.

    ``setting`` is the AttackArgs field the budget sets (e.g. ``hotflip_trigger_len``): a search at budget
    ``b`` is the search a run whose headline budget is ``b`` would do.
    """
    import dataclasses

    def listed(search: Search) -> Search:
        return [(yield from search)]

    out = []
    for b in budgets:
        at = dataclasses.replace(args, **{setting: b})
        out += [listed(make(sample, at)) for sample in samples]
    return out


def flat(runs: list) -> list:
    """The records of :func:`run_all`'s values, each a list of records (one per budget), in order."""
    return [r for records in runs for r in records]


def run_one(objective, search: Search) -> Any:
    """Drive a single search to its end and return its value (e.g. a universal trigger's learning run)."""
    return next(drive(objective, [search], concurrency=1))[1]


def run_all(objective, searches: Sequence[Search], concurrency: int = 64, progress: bool = False,
            desc: str = "attack") -> list[Any]:
    """Every search's returned value, in the order of ``searches``; the records' ``seconds`` are set (a search that
    returns a list of records, one per budget, splits its time over them)."""
    from mono_s2s.progress import bar as progress_bar

    out: dict[int, Any] = {}
    with progress_bar(total=len(searches), desc=desc, disable=not progress) as bar:
        for index, value, seconds in drive(objective, searches, concurrency):
            each = value if isinstance(value, list) else [value]  # a search may return a record per budget
            for v in each:
                if hasattr(v, "seconds"):
                    v.seconds = seconds / len(each)
            out[index] = value
            bar.update()
    return [out[i] for i in sorted(out)]
