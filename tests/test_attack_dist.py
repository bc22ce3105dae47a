"""The attack phase on several processes (mono_s2s.attacks.shard): the split of the samples, the merge of the ranks'
records, and the resume of a launch killed before its merge."""

from __future__ import annotations

import json
from pathlib import Path

from mono_s2s.attacks.common import AttackRecord
from mono_s2s.attacks.shard import Dist, ShardedStore, rank_file, shard
from mono_s2s.attacks.store import RECORDS_FILE
from mono_s2s.data.records import Record


class InProcess(Dist):
    """One rank of a pretend launch, run in this process: the waits are the test's order of calls."""

    def barrier(self) -> None:
        pass


def _samples(n: int) -> list[Record]:
    return [Record(id=f"s{i}", source=f"source {i}", summary=f"summary {i}") for i in range(n)]


def _record(attack: str, model: str, sample: Record, budget: int | None = None) -> AttackRecord:
    return AttackRecord(attack, model, sample.id, 1.0, 2.0, 3, sample.source, budget=budget)


def _keys(path: Path) -> list[tuple]:
    return [(r["attack"], r["model"], r["sample_id"], r["budget"]) for r in map(json.loads, path.read_text().splitlines())]


def test_shard_splits_every_sample_once_whatever_the_number_of_ranks():
    samples = list(range(7))
    for world in (1, 2, 3, 8):
        parts = [shard(samples, r, world) for r in range(world)]
        assert sorted(x for p in parts for x in p) == samples
        assert parts == [shard(samples, r, world) for r in range(world)]  # every rank computes the same split


def test_two_ranks_merge_into_the_order_of_one_process(tmp_path):
    """The loop (two attacks on two models, two budgets a sample) run by one process, then by two pretend
    ranks: the merged main store holds the same records in the same order, and no rank file is left."""
    samples = _samples(5)

    def loop(store: ShardedStore) -> None:
        for model in ("m1", "m2"):
            for attack in ("a1", "a2"):
                for sample in store.mine(attack, model, samples):
                    for budget in (1, 2):
                        store.add(_record(attack, model, sample, budget))

    one = ShardedStore(tmp_path / "one", InProcess())
    loop(one)
    assert one.merge()
    expected = _keys(tmp_path / "one" / RECORDS_FILE)
    assert len(expected) == 2 * 2 * 5 * 2

    results = tmp_path / "two"
    rank0 = ShardedStore(results, InProcess(0, 2))
    rank1 = ShardedStore(results, InProcess(1, 2))
    loop(rank1)  # the ranks run at once; rank 1 finishing first puts its records first in no file
    loop(rank0)
    assert {s.id for s in rank0.mine("a1", "m1", samples)} == {"s0", "s2", "s4"}
    assert len(_keys(rank_file(results, 1))) == 2 * 2 * 2 * 2
    assert not rank1.merge()
    assert rank0.merge()
    assert _keys(results / RECORDS_FILE) == expected
    assert sorted(p.name for p in results.iterdir()) == [RECORDS_FILE]
    # Rank 0 logs the other rank's records (only rank 0 tracks): exactly those, once.
    assert sorted(map(tuple, ([r.attack, r.model, r.sample_id, r.budget] for r in rank0.take_unlogged()))) == \
        sorted(k for k in expected if k[2] in ("s1", "s3"))
    assert rank0.take_unlogged() == []


def test_a_launch_killed_before_its_merge_is_resumed_without_redoing_records(tmp_path, capsys):
    """Records in the main store or in a rank file left by a killed launch (of another size) are done: the next
    phase, of one process here, takes them in (a cut last line is dropped and its sample redone)."""
    samples = _samples(4)
    results = tmp_path / "results"
    main = ShardedStore(results, InProcess(0, 3))
    main.add(_record("a1", "m", samples[0]))
    ShardedStore(results, InProcess(1, 3)).add(_record("a1", "m", samples[1]))
    rank2 = ShardedStore(results, InProcess(2, 3))
    rank2.add(_record("a1", "m", samples[2]))
    rank2.add(_record("a1", "m", samples[0]))  # also in the main store (a rank file not removed after its merge)
    with open(rank_file(results, 2), "a") as fh:
        fh.write(json.dumps(_record("a1", "m", samples[3]).to_dict())[:40])  # killed mid-write
    capsys.readouterr()

    store = ShardedStore(results, InProcess())
    assert "skipped bad line 3 (cut off mid-write)" in capsys.readouterr().err
    assert store.done == {("a1", "m", s.id) for s in samples[:3]}
    assert not rank_file(results, 1).exists() and not rank_file(results, 2).exists()
    assert [r.sample_id for r in store.take_unlogged()] == ["s1", "s2"]  # never logged: rank 0 logs live
    todo = [s.id for s in store.mine("a1", "m", samples) if ("a1", "m", s.id) not in store.done]
    assert todo == ["s3"]
    store.add(_record("a1", "m", samples[3]))
    assert store.merge()
    assert [k[2] for k in _keys(results / RECORDS_FILE)] == ["s0", "s1", "s2", "s3"]
