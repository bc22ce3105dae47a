"""The attack phase on several processes (mono_s2s.attacks.shard): the merge of the ranks' records, and two
CPU processes under torchrun (gloo) giving the records of one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SMALLEST_RUN_SETS

from mono_s2s.attacks.common import AttackRecord
from mono_s2s.attacks.shard import Dist, ShardedStore, rank_file, shard
from mono_s2s.attacks.store import RECORDS_FILE
from mono_s2s.config import build_config
from mono_s2s.data.records import Record

ROOT = Path(__file__).resolve().parents[1]


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
    assert store.done == {("a1", "m", s.id, None) for s in samples[:3]}
    assert not rank_file(results, 1).exists() and not rank_file(results, 2).exists()
    assert [r.sample_id for r in store.take_unlogged()] == ["s1", "s2"]  # never logged: rank 0 logs live
    todo = [s.id for s in store.mine("a1", "m", samples) if ("a1", "m", s.id, None) not in store.done]
    assert todo == ["s3"]
    store.add(_record("a1", "m", samples[3]))
    assert store.merge()
    assert [k[2] for k in _keys(results / RECORDS_FILE)] == ["s0", "s1", "s2", "s3"]


# -- two processes under torchrun ---------------------------------------------------------------------------------

SETS = (*SMALLEST_RUN_SETS, "train.matched=false")
FLAGS = ["--wandb", "disabled", *(word for s in SETS for word in ("--set", s))]


def _env() -> dict:
    # One intra-op thread per process, as in test_train.py (torchrun sets it too): both runs use the same count.
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _checkpoints(out: Path) -> None:
    """Both variants at initialisation, their weight matrices redrawn from N(0, 0.3): HF's small init writes
    the same few tokens whatever the source, and records that all look alike could hide a mix-up."""
    import torch

    from mono_s2s.checkpoint import save_checkpoint
    from mono_s2s.config import VARIANT_SLUGS
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.models import build_model
    from mono_s2s.tokenizer import train_tokenizer

    cfg = build_config("tiny", overrides=list(SETS))
    tokenizer = train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size)
    for i, variant in enumerate(cfg.model.variants):
        model = build_model(cfg.model, variant, tokenizer, seed=0)
        torch.manual_seed(i)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1:
                    p.normal_(0.0, 0.3)
        save_checkpoint(out / "checkpoints" / VARIANT_SLUGS[variant] / "best", model, tokenizer, cfg)


@pytest.mark.slow
def test_two_processes_give_the_records_of_one(tmp_path):
    import shutil

    one, two = tmp_path / "one", tmp_path / "two"
    _checkpoints(one)
    shutil.copytree(one, two)
    worker = str(ROOT / "tests" / "dist_attack_worker.py")
    # The two launches at once (one thread each, three processes on two cores); --standalone: a free port.
    single = subprocess.Popen([sys.executable, worker, str(one), *FLAGS], env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        worker, str(two), *FLAGS], env=_env(), capture_output=True, text=True, timeout=600)
    single_out, _ = single.communicate(timeout=600)
    assert single.returncode == 0, single_out[-3000:]
    assert r.returncode == 0, r.stderr[-3000:]

    records = {}
    for run in (one, two):
        lines = (run / "results" / RECORDS_FILE).read_text().splitlines()
        records[run] = [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]
    assert len(records[one]) == len(records[two]) > 0
    for a, b in zip(records[one], records[two]):  # field by field, in the same order
        assert a == b, (a["attack"], a["model"], a["sample_id"])
    assert json.loads((one / "results" / "attack_settings.json").read_text()) == \
        json.loads((two / "results" / "attack_settings.json").read_text())
    triggers = [json.loads((run / "results" / "universal_triggers.json").read_text()) for run in (one, two)]

    def timeless(value):  # the triggers (at every length, under "budgets") without their wall times
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if k != "seconds"}
        return value
    assert timeless(triggers[0]) == timeless(triggers[1])
    # Each rank attacked its own samples: none twice, none left to the other, both ranks some.
    added = [json.loads((two / f"added.rank{r}.json").read_text()) for r in (0, 1)]
    keys = [{tuple(k) for k in a} for a in added]
    assert len(keys[0]) == len(added[0]) > 0 and len(keys[1]) == len(added[1]) > 0 and not keys[0] & keys[1]
    assert keys[0] | keys[1] == {(r["attack"], r["model"], r["sample_id"], r["budget"]) for r in records[two]}
    assert not list((two / "results").glob("attack_records.rank*"))
    # Rank 0 alone reported: the results file and its tables once, from every record.
    results = json.loads((two / "results" / "adversarial_results.json").read_text())
    assert results["summary"]["hotflip"]["mono"]["n"] == 2
    assert r.stdout.count("The Holm family:") == 1, r.stdout[-3000:]
