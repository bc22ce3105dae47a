"""The attack phase on several processes (``torchrun`` / ``accelerate launch``): which rank attacks which
samples, where each rank's records go, and how rank 0 merges them.

What is split, and why it gives the records of one process:

- **samples**: every rank runs the runner's whole loop (models, attacks, transfer) but attacks only its
  shard of each sample list, ``samples[rank::world]`` (:func:`shard`). Every attack seeds its randomness
  per sample (:func:`mono_s2s.attacks.common.sample_rng`) and runs one sample at a time, so a record does
  not depend on which rank made it. HotFlip transfer reads the HotFlip trigger of the same sample on the
  source model: the same list, so the same rank made it.
- **the universal trigger** is learned once per model, by rank 0, which writes ``universal_triggers.json``
  at once (as one process does); the others wait (:meth:`Dist.main_first`) and read it. Splitting the
  models over the ranks would also keep them busy, but needs each rank's triggers gathered before the
  samples; learning is a small part of a phase next to the per-sample searches.
- **records**: rank 0 appends to the main store, ``results/attack_records.jsonl``, as one process does;
  rank r > 0 to its own, ``results/attack_records.rank{r}.jsonl`` (:class:`ShardedStore`). When every
  rank is done, rank 0 merges the rank files into the main store and deletes them
  (:meth:`ShardedStore.merge`), in the order one uninterrupted process writes them: the runner's loop
  order (the plan every rank registers through :meth:`ShardedStore.mine`), the records of one sample in
  the order its attack returned them. The order depends neither on the number of processes nor on
  interruptions.
- **everything after the merge** is rank 0's alone: the output-level step (summaries generated from the
  clean, attacked and control sources: batched over every record of a model, so done on one rank it
  gives the summaries of one process exactly), the results, wandb (only rank 0 tracks anyway,
  :mod:`mono_s2s.tracking`) and every file other than the rank stores. The other ranks return when
  their records are written.

Resume: records in the main store or in any rank file (of a launch of any size, killed before its
merge) are not redone: rank 0 merges leftover rank files into the main store before anything is attacked.

The process group: the one training opened (``mono-s2s run``, accelerate's), else one opened here from
torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``PORT``): nccl with GPUs (each rank
on ``cuda:{LOCAL_RANK}``), gloo without. The waits here use a gloo group of their own with a long timeout:
a rank that finishes its shard can wait hours for the slowest (the default group's times out after 30 min).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Iterator, Sequence, TypeVar

from mono_s2s.attacks.common import AttackRecord
from mono_s2s.attacks.store import RECORDS_FILE, RecordStore

__all__ = ["Dist", "context", "rank_device", "shard", "rank_file", "ShardedStore", "merge_order", "WAIT"]

T = TypeVar("T")

# How long a rank may wait for the others (its shard done, the slowest still attacking).
WAIT = timedelta(hours=48)
_RANK_FILE = re.compile(r"^attack_records\.rank(\d+)\.jsonl$")


@dataclass
class Dist:
    """This process's place in a launch: ``rank`` of ``world`` (0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    group: object | None = field(default=None, repr=False)  # the gloo group the waits use (None: one process)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank gets here (nothing with one process)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier(group=self.group)

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """``with dist.main_first():`` rank 0 runs the block, then the others do (they find what it wrote)."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()


_CONTEXT: Dist | None = None


def context() -> Dist:
    """The distributed context of this process; opens the process group on first call under a launch of
    more than one process (every rank must make that first call at the same point: it is collective)."""
    global _CONTEXT
    import torch.distributed as dist

    if _CONTEXT is not None:
        return _CONTEXT
    initialized = dist.is_available() and dist.is_initialized()
    if not initialized and int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1:
        return Dist()  # one process: nothing to open, nothing to remember
    if not initialized:
        import torch

        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(_local_rank())
        dist.init_process_group("nccl" if cuda else "gloo", timeout=WAIT)
    if dist.get_world_size() == 1:
        return Dist()
    _CONTEXT = Dist(dist.get_rank(), dist.get_world_size(), dist.new_group(backend="gloo", timeout=WAIT))
    return _CONTEXT


def _local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def rank_device():
    """Where this rank attacks: its own GPU, ``cuda:{LOCAL_RANK}``, when there are GPUs (the first with one
    process), else the CPU."""
    import torch

    return torch.device(f"cuda:{_local_rank()}" if torch.cuda.is_available() else "cpu")


def shard(samples: Sequence[T], rank: int, world: int) -> list[T]:
    """The samples of ``rank``: every ``world``-th from its own, so every rank computes the same split."""
    return list(samples[rank::world])


def rank_file(results_dir: Path, rank: int) -> Path:
    return results_dir / f"attack_records.rank{rank}.jsonl"


def _rank_files(results_dir: Path) -> list[Path]:
    """The rank files in ``results_dir``, by rank (whatever the size of the launch that left them)."""
    found = [(int(m.group(1)), p) for p in results_dir.glob("attack_records.rank*.jsonl")
             if (m := _RANK_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def record_key(r: AttackRecord) -> tuple:
    """What makes a record one of its own: the attack, the model, the sample and the budget point."""
    return r.attack, r.model, r.sample_id, r.budget


def merge_order(records: list[AttackRecord], plan: dict[tuple[str, str, str], int]) -> list[AttackRecord]:
    """``records`` in plan order (position of each (attack, model, sample_id)), then by budget point (the
    engine finishes a sample's budgets in an order that depends on what else it runs); records outside the
    plan (a larger earlier phase's) come last, in theirs."""
    return sorted(records, key=lambda r: (plan.get((r.attack, r.model, r.sample_id), len(plan)),
                                          -1 if r.budget is None else r.budget))


class ShardedStore:
    """What one rank reads and writes of the record store: :class:`RecordStore`'s ``records``, ``done``,
    ``add``, ``get`` and ``rewrite``, plus :meth:`mine` (this rank's samples) and :meth:`merge`.

    Rank 0 reads and appends to the main store; rank r > 0 reads the main store as it was when the phase
    began and appends to its rank file. With one process this is the main store, plus the plan order.
    Constructing it is collective (every rank, at the same point).
    """

    def __init__(self, results_dir: Path, dist: Dist | None = None) -> None:
        self.dist = dist or context()
        self.results_dir = results_dir
        self._plan: dict[tuple[str, str, str], int] = {}
        self.own: RecordStore | None = None
        self._unlogged: list[AttackRecord] = []
        if self.dist.is_main:
            self.main = RecordStore(results_dir / RECORDS_FILE)
            # Rank files are there when a launch was killed before its merge: their records are not redone.
            self._unlogged, files = self._take_rank_files()
            if self._unlogged:
                self.main.rewrite()  # before the rank files go: a kill between the two loses nothing
            _remove(files)
        self.dist.barrier()
        if not self.dist.is_main:
            self.main = RecordStore(results_dir / RECORDS_FILE)  # clean now (rank 0 loaded it); read only
            self.own = RecordStore(rank_file(results_dir, self.dist.rank))  # merged and removed above: empty
        self.dist.barrier()  # rank 0 appends only once every rank has read the main store
        self.done = set(self.main.done) | (self.own.done if self.own is not None else set())

    @property
    def records(self) -> list[AttackRecord]:
        return self.main.records + (self.own.records if self.own is not None else [])

    @property
    def _writes(self) -> RecordStore:
        return self.main if self.own is None else self.own

    def add(self, record: AttackRecord) -> None:
        self._writes.add(record)
        self.done.add(record_key(record))

    def get(self, attack: str, model: str, budget: int | None = None) -> dict[str, AttackRecord]:
        """``{sample id: record}`` of one attack and model; at one budget point when ``budget`` is given."""
        return {r.sample_id: r for r in self.records
                if r.attack == attack and r.model == model and (budget is None or r.budget == budget)}

    def rewrite(self) -> None:
        self._writes.rewrite()

    def mine(self, attack: str, model: str, samples: Sequence[T]) -> list[T]:
        """This rank's shard of the samples the runner attacks next with ``attack`` on ``model``; every rank
        registers the whole list, in loop order, as the order of the merged records."""
        for sample in samples:
            self._plan.setdefault((attack, model, sample.id), len(self._plan))
        return shard(samples, self.dist.rank, self.dist.world)

    def merge(self) -> bool:
        """Collective, when every rank has attacked its shards: rank 0 merges the rank files into the main
        store, in plan order (:func:`merge_order`), and returns True; the other ranks return False at once
        (their records are on disk; what follows is rank 0's)."""
        self.dist.barrier()  # every rank has written its last record
        if not self.dist.is_main:
            return False
        taken, files = self._take_rank_files()
        self._unlogged += taken
        ordered = merge_order(self.main.records, self._plan)
        if taken or any(a is not b for a, b in zip(ordered, self.main.records)):
            self.main.records[:] = ordered
            self.main.rewrite()
        _remove(files)
        return True

    def take_unlogged(self) -> list[AttackRecord]:
        """The records rank 0 took from the other ranks' files and has not handed out yet: wandb's
        per-sample rows are logged as records are made, and only rank 0 logs."""
        taken, self._unlogged = self._unlogged, []
        return taken

    def _take_rank_files(self) -> tuple[list[AttackRecord], list[Path]]:
        """Rank 0: ``(records, files)``: the records of the rank files not yet in the main store, appended to
        its records in memory (the caller rewrites it, then removes the files). A cut or bad line of a rank
        file is dropped with :class:`RecordStore`'s warning: its sample is attacked again."""
        have = {record_key(r) for r in self.main.records}
        taken = []
        files = _rank_files(self.results_dir)
        for path in files:
            for record in RecordStore(path).records:
                if record_key(record) not in have:
                    have.add(record_key(record))
                    taken.append(record)
        self.main.records.extend(taken)
        self.main.done.update(record_key(r) for r in taken)
        return taken, files


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
