"""Training faults: a diverged run never saves NaN weights, says truthfully what it keeps, and two runs never
share a temporary folder."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file

from mono_s2s.config import build_config
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.tokenizer import train_tokenizer
from mono_s2s.train import Trainer, TrainingDiverged, read_state

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = ["model.d_model=32", "model.d_ff=64", "model.vocab_size=200", "train.batch_size=8", "train.epochs=1",
            "train.save_every_steps=1", "train.num_beams=1", "tracking.mode=disabled"]


@pytest.fixture(scope="module")
def corpus_and_tokenizer():
    corpus = generate_corpus(0, 48, 8, 4)
    return corpus, train_tokenizer(corpus["train"], 200)


class _PoisonAt:
    """A tracker that, when step ``at`` is logged (just before that step's save), puts a NaN into the weights or
    the optimizer state -- what lr=1e30 does a few steps in, made exact."""

    run_id = None

    def __init__(self, trainer_box: list, at: int, where: str) -> None:
        self.box, self.at, self.where = trainer_box, at, where

    def log(self, metrics, step=None) -> None:
        if step != self.at:
            return
        trainer = self.box[0]
        with torch.no_grad():
            if self.where == "weights":
                next(trainer.model.parameters()).view(-1)[0] = float("nan")
            else:
                state = next(iter(trainer.optimizer.optimizer.state.values()))
                state["exp_avg"].view(-1)[0] = float("inf")

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _trainer(tmp_path, corpus_and_tokenizer, at: int, where: str) -> Trainer:
    corpus, tok = corpus_and_tokenizer
    box: list = []
    trainer = Trainer(build_config("tiny", overrides=SETTINGS), "monotonic", corpus, tok, tmp_path,
                      tracker=_PoisonAt(box, at, where), progress=False)
    box.append(trainer)
    return trainer


@pytest.mark.parametrize("where", ["weights", "optimizer state"])
def test_non_finite_state_is_never_saved_and_the_good_latest_is_kept(tmp_path, corpus_and_tokenizer, where):
    trainer = _trainer(tmp_path, corpus_and_tokenizer, at=3, where=where)
    with pytest.raises(TrainingDiverged) as e:
        trainer.fit()
    latest = tmp_path / "checkpoints" / "mono" / "latest"
    message = str(e.value)
    assert f"non-finite {where} after step 3 of monotonic" in message and "\n" not in message
    assert f"the last good checkpoint (step 2) is kept in {latest}" in message and e.value.exit_code == 3
    assert read_state(latest)["global_step"] == 2  # step 3's broken update was not saved
    weights = load_file(latest / "model.safetensors")
    assert all(bool(torch.isfinite(t).all()) for t in weights.values())
    optim = torch.load(latest / "training_state" / "optimizer.bin", weights_only=True)
    assert all(bool(torch.isfinite(v).all()) for s in optim["state"].values() for v in s.values()
               if torch.is_tensor(v) and v.is_floating_point())


def test_without_any_checkpoint_the_message_does_not_claim_one(tmp_path, corpus_and_tokenizer):
    trainer = _trainer(tmp_path, corpus_and_tokenizer, at=1, where="weights")
    with pytest.raises(TrainingDiverged) as e:
        trainer.fit()
    assert "no checkpoint had been written yet" in str(e.value) and "is kept" not in str(e.value)
    assert not (tmp_path / "checkpoints" / "mono" / "latest").exists()


def test_temporary_folders_are_unique_and_stale_ones_are_cleared(tmp_path, corpus_and_tokenizer):
    corpus, tok = corpus_and_tokenizer
    ckpt = tmp_path / "checkpoints" / "mono"
    ckpt.mkdir(parents=True)
    dead = ckpt / ".latest.tmp-999999999-deadbeef"  # a PID that cannot exist: a killed run's leftover
    live = ckpt / f".latest.tmp-{os.getppid()}-cafecafe"  # a live process's folder, in use
    old_style = ckpt / ".latest.tmp"  # the fixed name of earlier versions
    for d in (dead, live, old_style):
        d.mkdir()
    trainer = Trainer(build_config("tiny", overrides=SETTINGS), "monotonic", corpus, tok, tmp_path, progress=False)
    names = {trainer._tmp_name() for _ in range(3)}
    assert len(names) == 3 and all(n.startswith(f".latest.tmp-{os.getpid()}-") for n in names)
    trainer.fit()
    assert live.is_dir() and not dead.exists() and not old_style.exists()
    assert read_state(ckpt / "latest")["finished"]
