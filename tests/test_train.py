"""The training loop: batching, objective, resume equals uninterrupted, divergence, 2-process DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from mono_s2s.config import build_config
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.tokenizer import train_tokenizer
from mono_s2s.train import (STATE_FILE, Trainer, TrainingDiverged, bucketed_batches, collate, teacher_forcing_ratio,
                            token_losses)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model.d_model=32", "model.d_ff=64", "model.n_heads=4", "train.eval_batch_size=16"]


@pytest.fixture(scope="module")
def small_corpus():
    corpus = generate_corpus(0, 120, 16, 8)
    return corpus, train_tokenizer(corpus["train"], 300)


def test_bucketed_batches_cover_every_example_once_and_are_deterministic():
    lengths = [(i * 37) % 101 + 5 for i in range(1000)]
    batches = bucketed_batches(lengths, 16, seed=3, epoch=2)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches == bucketed_batches(lengths, 16, seed=3, epoch=2)
    assert batches != bucketed_batches(lengths, 16, seed=3, epoch=3)
    # Bucketing wastes far less on padding than random batches of the same size.
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    random_batches = [list(range(i, min(i + 16, 1000))) for i in range(0, 1000, 16)]
    padded_random = sum(len(b) * max(lengths[i] for i in b) for b in random_batches)
    assert padded < 0.7 * padded_random


@pytest.mark.parametrize("n, batch, accum, world", [(1, 32, 1, 1), (60, 64, 1, 1), (4000, 32, 1, 1), (1601, 32, 1, 2),
                                                     (3201, 32, 3, 2), (97, 8, 4, 1)])
def test_batches_per_epoch_is_the_bucketed_count_without_bucketing(n, batch, accum, world):
    from types import SimpleNamespace

    from mono_s2s.train import batches_per_epoch

    counted = len(bucketed_batches(list(range(n)), batch, seed=0, epoch=0)) // world
    assert batches_per_epoch(n, SimpleNamespace(batch_size=batch, grad_accum_steps=accum), world) == \
        counted - counted % accum


def test_collate_pads_per_batch():
    batch = collate([{"input_ids": [5, 6, 1], "labels": [7, 1]}, {"input_ids": [5, 1], "labels": [7, 8, 9, 1]}], 0)
    assert batch["input_ids"].tolist() == [[5, 6, 1], [5, 1, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[7, 1, -100, -100], [7, 8, 9, 1]]


def test_token_losses_match_torch_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 11)
    labels = torch.randint(0, 11, (2, 5))
    labels[1, 3:] = -100
    smoothed, nll = token_losses(logits, labels, 0.1)
    ref_s = F.cross_entropy(logits.view(-1, 11), labels.view(-1), ignore_index=-100, label_smoothing=0.1)
    ref_n = F.cross_entropy(logits.view(-1, 11), labels.view(-1), ignore_index=-100)
    assert torch.allclose(smoothed, ref_s, atol=1e-6) and torch.allclose(nll, ref_n, atol=1e-6)


def test_teacher_forcing_schedule_follows_the_seed():
    args = build_config("paper").train  # the tiny preset trains without it (config.SEED_REGULARISERS)
    assert [round(teacher_forcing_ratio(args, e), 4) for e in (0, 1, 5, 6, 20)] == [0.98, 0.96, 0.88, 0.86, 0.85]


def test_non_finite_loss_stops_with_step_and_keeps_last_checkpoint(tmp_path, small_corpus, monkeypatch):
    corpus, tok = small_corpus
    # No snapshots for the matched arm: their validations would call token_losses between the training steps.
    cfg = build_config("tiny", overrides=TINY + ["train.batch_size=8", "train.save_every_steps=2", "train.epochs=1",
                                                 "train.matched=false"])
    trainer = Trainer(cfg, "baseline", corpus, tok, tmp_path, progress=False)
    import mono_s2s.train as train_mod

    real = train_mod.token_losses
    calls = {"n": 0}

    def poisoned(logits, labels, smoothing):
        calls["n"] += 1
        loss, nll = real(logits, labels, smoothing)
        return (loss * float("nan"), nll) if calls["n"] == 5 else (loss, nll)

    monkeypatch.setattr(train_mod, "token_losses", poisoned)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss .* at step 5 \(epoch 1, batch 5\)") as e:
        trainer.fit()
    assert "\n" not in str(e.value) and e.value.exit_code != 0
    state = json.loads((tmp_path / "checkpoints" / "nonmono" / "latest" / STATE_FILE).read_text())
    assert state["global_step"] == 4 and not state["finished"]
    assert (tmp_path / "checkpoints" / "nonmono" / "latest" / "model.safetensors").is_file()


def _train_cmd(out: Path) -> list[str]:
    # 12 batches an epoch, a checkpoint every 4 steps: the kill below can fall mid-epoch after the second one.
    sets = TINY + ["data.n_train=96", "data.n_validation=8", "data.n_test=8", "model.vocab_size=300",
                   "data.max_source_tokens=96", "data.max_summary_tokens=32", "train.batch_size=8",
                   "train.save_every_steps=4", "train.epochs=2", "train.num_beams=1"]
    return [sys.executable, "-m", "mono_s2s", "train", "--variant", "monotonic", "--wandb", "disabled",
            "--out", str(out)] + [a for s in sets for a in ("--set", s)]


def _env() -> dict:
    # One intra-op thread per process (as torchrun sets): on two shared cores, OpenMP hand-offs between
    # threads made a tiny training run ten times slower (45 s instead of 4 s). Every run here uses it,
    # so runs compared weight for weight use the same thread count.
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_weights(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    # The uninterrupted run goes on beside the one that is killed and resumed (one thread each, two cores).
    log = tmp_path / "straight.log"
    with open(log, "w") as fh:
        uninterrupted = subprocess.Popen(_train_cmd(straight), env=_env(), stdout=fh, stderr=subprocess.STDOUT)

    proc = subprocess.Popen(_train_cmd(killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = killed / "checkpoints" / "mono" / "latest" / STATE_FILE
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            state = None
        if state and state["global_step"] >= 8 and state["batch"] > 0:  # mid-epoch, second checkpoint or later
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(state_file.read_text())
    assert not killed_at["finished"]

    r = subprocess.run(_train_cmd(killed), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming from" in r.stdout
    assert uninterrupted.wait(timeout=600) == 0, log.read_text()[-2000:]
    a = load_file(straight / "checkpoints" / "mono" / "latest" / "model.safetensors")
    b = load_file(killed / "checkpoints" / "mono" / "latest" / "model.safetensors")
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst <= 1e-6, worst
    sa = json.loads((straight / "checkpoints" / "mono" / "latest" / STATE_FILE).read_text())
    sb = json.loads(state_file.read_text())
    assert sa["global_step"] == sb["global_step"] and sa["best_val_loss"] == pytest.approx(sb["best_val_loss"], abs=1e-9)
    # The matched arm's snapshots (one a step here): the killed run kept its own and made the rest, once each.
    steps = [s["step"] for s in sb["snapshots"]]
    assert steps == [s["step"] for s in sa["snapshots"]] == list(range(1, sa["global_step"] + 1))
    assert [s["val_loss"] for s in sb["snapshots"]] == pytest.approx([s["val_loss"] for s in sa["snapshots"]], abs=1e-6)


@pytest.mark.slow
def test_two_processes_end_with_identical_weights(tmp_path):
    # --standalone: a free port, not a fixed one two suites running at once on one machine would share.
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(ROOT / "tests" / "dist_worker.py"), str(tmp_path)], env=_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert all(x["world"] == 2 and x["backend"] == "gloo" for x in ranks)
    assert ranks[0]["digest"] == ranks[1]["digest"]
    # 96 examples / batch 8 = 12 batches, 6 per process, 2 accumulated per step: 3 steps per epoch, 2 epochs.
    assert ranks[0]["steps_per_epoch"] == 3
    assert all(x["global_step"] == 6 and x["optimizer_steps"] == [6] for x in ranks)


@pytest.mark.slow
def test_training_run_logs_every_guide_key_offline(tiny_experiment):
    """The wandb run of one trained model (the session's tiny experiment), read back with `wandb leet inspect`."""
    from mono_s2s import tracking

    cfg, out = tiny_experiment.cfg, tiny_experiment.out
    result = json.loads((out / "results" / "training_mono.json").read_text())  # what train_variant returned
    run = tiny_experiment.runs["mono"]  # the only mono training run in the folder (the fixture checks)
    expected = set(tracking.TRAIN_BATCH_KEYS + tracking.TRAIN_EPOCH_KEYS + tracking.VAL_KEYS + tracking.EPOCH_KEYS
                   + (tracking.VAL_SAMPLES_TABLE, tracking.TRAINING_SAMPLES_TABLE))
    assert expected <= run["history_keys"], expected - run["history_keys"]
    assert run["project"] == tracking.PROJECT
    assert run["tags"] == tracking.TRAINING_TAGS["mono"]
    assert run["name"].startswith(("local_mono_training_", "colab_mono_training_"))
    assert run["config"]["train"]["lr"] == cfg.train.lr and run["config"]["variant"] == "monotonic"
    summary = run["summary"]
    for key in ("model/parameters", "data/train_size", "best_val_loss", "final_val_loss", "epochs_trained",
                "clean/rougeL_mean", "clean/rougeL_ci_low", "clean/rougeL_ci_high"):
        assert key in summary, key
    assert summary["epochs_trained"] == cfg.train.epochs == 2 and summary["model/parameters"] == result["parameters"]
    models = [a for a in run["artifacts"] if a["type"] == "model"]
    assert len(models) == 1 and models[0]["name"].startswith("mono-best")
    assert "model.safetensors" in " ".join(map(str, models[0]["files"]))
    # The results file for the analysis: per-example scores keyed by test example id.
    assert len(result["predictions"]) == cfg.data.n_test and len(result["per_example"]["rougeL"]) == cfg.data.n_test
