"""Checkpoint folders: atomic writes, HF-loadable, and load_checkpoint's contract."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

import mono_s2s
from mono_s2s.checkpoint import resolve, save_checkpoint, write_atomically
from mono_s2s.config import build_config
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.errors import UserError
from mono_s2s.models import MonoS2SForConditionalGeneration, build_model
from mono_s2s.models.checks import check_model
from mono_s2s.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    corpus = generate_corpus(0, 200, 10, 10)
    return train_tokenizer(corpus["train"], 300)


def test_save_then_load_checkpoint(tmp_path, tokenizer):
    cfg = build_config("tiny", overrides=["model.d_model=32", "model.d_ff=64", "model.n_heads=4"])
    model = build_model(cfg.model, "monotonic", tokenizer, seed=0)
    path = save_checkpoint(tmp_path / "checkpoints" / "mono" / "best", model, tokenizer, cfg)
    assert {"config.json", "model.safetensors", "tokenizer.json", "mono_s2s_config.yaml"} <= {
        p.name for p in path.iterdir()}
    loaded, tok, loaded_cfg = mono_s2s.load_checkpoint(path)
    assert isinstance(loaded, T5ForConditionalGeneration) and not loaded.training
    assert loaded_cfg == cfg
    assert tok("hello there").input_ids == tokenizer("hello there").input_ids
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    assert all(r.monotone for r in check_model(loaded))
    # Plain HF code reads the same folder.
    assert MonoS2SForConditionalGeneration.from_pretrained(path).ffn_variant == "monotonic"
    assert AutoTokenizer.from_pretrained(path).eos_token_id == 1


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    target = tmp_path / "ck" / "latest"
    write_atomically(target, lambda d: (d / "weights").write_text("v1"))

    def crash(d):
        (d / "weights").write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_atomically(target, crash)
    assert (target / "weights").read_text() == "v1"
    assert [p.name for p in target.parent.iterdir()] == ["latest"]  # no temp folder left behind
    write_atomically(target, lambda d: (d / "weights").write_text("v2"))
    assert (target / "weights").read_text() == "v2"


def test_interrupted_swap_is_recovered(tmp_path):
    target = tmp_path / "best"
    write_atomically(target, lambda d: (d / "weights").write_text("v1"))
    target.rename(tmp_path / "best.previous")  # a crash between the two renames
    assert (resolve(target) / "weights").read_text() == "v1"


def test_load_checkpoint_errors_are_one_line(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        mono_s2s.load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(UserError) as e:
        mono_s2s.load_checkpoint(tmp_path)
    assert "\n" not in str(e.value)
