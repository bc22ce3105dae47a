"""An output folder's finished models and attack records are reused only under the settings that made them."""

from __future__ import annotations

import pytest

from mono_s2s.attacks.runner import RECORDS_FILE, _same_attack_settings
from mono_s2s.checkpoint import CONFIG_FILE
from mono_s2s.config import build_config, first_difference, save_yaml
from mono_s2s.errors import UserError
from mono_s2s.train import check_reusable


def test_first_difference_finds_nested_keys_and_ignores():
    old = {"train": {"lr": 1e-3, "seed": 1}, "model": {"variants": ("a", "b")}}
    assert first_difference(old, {"train": {"lr": 1e-3, "seed": 1}, "model": {"variants": ["a", "b"]}}) is None
    assert first_difference(old, {"train": {"lr": 2e-3, "seed": 1}, "model": {"variants": ["a", "b"]}}) == \
        ("train.lr", 1e-3, 2e-3)
    assert first_difference(old, {"train": {"lr": 2e-3, "seed": 1}}, frozenset({"train.lr", "model"})) is None


def test_a_model_trained_with_other_settings_is_not_reused(tmp_path):
    latest = tmp_path / "checkpoints" / "mono" / "latest"
    latest.mkdir(parents=True)
    save_yaml(build_config("tiny"), latest / CONFIG_FILE)
    check_reusable(latest, build_config("tiny"), "monotonic", 42)  # same settings: fine
    check_reusable(latest, build_config("tiny", overrides=["train.eval_batch_size=7"]), "monotonic", 42)
    with pytest.raises(UserError, match=r"train\.variant_lr\[monotonic\]=0\.02.*not 0\.001.*another --out"):
        check_reusable(latest, build_config("tiny", overrides=["train.variant_lr=monotonic=1e-3"]), "monotonic", 42)
    with pytest.raises(UserError, match=r"train\.lr=0\.01.*not 0\.001.*another --out"):
        check_reusable(latest, build_config("tiny", overrides=["train.lr=1e-3"]), "baseline", 42)
    with pytest.raises(UserError, match="model.dropout"):
        check_reusable(latest, build_config("tiny", overrides=["model.dropout=0.3"]), "monotonic", 42)


class _StopAtStep:
    """A tracker that interrupts training when asked to log optimizer step ``stop`` (a kill, in-process)."""

    run_id = None

    def __init__(self, stop: int) -> None:
        self.stop = stop

    def log(self, metrics, step=None) -> None:
        if step == self.stop:
            raise KeyboardInterrupt

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def test_the_real_resume_path_reuses_across_speed_settings_and_refuses_the_rest(tmp_path, one_torch_thread):
    """One rule for the pipeline's check and the Trainer's resume: an interrupted run resumes under another
    eval batch size, and another learning rate is refused by both with the same one-line message."""
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.pipeline import Prepared, train_variant
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer, read_state

    corpus = generate_corpus(0, 32, 4, 2)
    tok = train_tokenizer(corpus["train"], 150)
    base = ["model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.vocab_size=150", "train.batch_size=16",
            "train.epochs=2", "train.save_every_steps=1", "train.num_beams=1", "data.max_source_tokens=64",
            "data.max_summary_tokens=16", "tracking.mode=disabled"]
    cfg = build_config("tiny", overrides=base)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, "monotonic", corpus, tok, tmp_path, tracker=_StopAtStep(2), progress=False).fit()
    latest = tmp_path / "checkpoints" / "mono" / "latest"
    assert read_state(latest)["global_step"] == 1 and not read_state(latest)["finished"]

    other_lr = build_config("tiny", overrides=base + ["train.variant_lr=monotonic=1e-3"])
    prepared = Prepared(corpus, tok, tmp_path / "tokenizer")
    with pytest.raises(UserError, match=r"train\.variant_lr\[monotonic\]=0\.02, not 0\.001; use another --out") \
            as by_pipeline:
        train_variant(other_lr, "monotonic", prepared, tmp_path, progress=False)
    with pytest.raises(UserError) as by_trainer:
        Trainer(other_lr, "monotonic", corpus, tok, tmp_path, progress=False).fit()
    assert str(by_trainer.value) == str(by_pipeline.value) and "\n" not in str(by_pipeline.value)
    assert read_state(latest)["global_step"] == 1  # nothing was trained by the refused runs

    faster = build_config("tiny", overrides=base + ["train.eval_batch_size=8", "train.save_every_steps=3"])
    done = train_variant(faster, "monotonic", prepared, tmp_path, progress=False)
    state = read_state(latest)
    assert state["finished"] and state["global_step"] == done["global_step"] == 2 * (32 // 16)
    # ...and the finished model is reused, not retrained, under the speed settings too.
    assert train_variant(faster, "monotonic", prepared, tmp_path, progress=False) == done


def test_attack_records_made_with_other_settings_are_not_reused(tmp_path):
    _same_attack_settings(build_config("tiny"), tmp_path)
    (tmp_path / RECORDS_FILE).write_text("")
    _same_attack_settings(build_config("tiny", overrides=["attacks.hotflip_samples=40"]), tmp_path)  # a longer prefix
    with pytest.raises(UserError, match="attacks.hotflip_iters=10, not 3"):
        _same_attack_settings(build_config("tiny", overrides=["attacks.hotflip_iters=3"]), tmp_path)


def test_attack_records_made_without_wordnet_are_not_mixed_with_wordnet_ones(tmp_path, monkeypatch):
    from mono_s2s.attacks import ood

    monkeypatch.setattr(ood, "_wordnet", lambda: None)
    _same_attack_settings(build_config("tiny"), tmp_path)
    (tmp_path / RECORDS_FILE).write_text("")
    monkeypatch.setattr(ood, "_wordnet", lambda: object())  # WordNet's data installed since
    with pytest.raises(UserError, match="attacks.ood_wordnet=False, not True"):
        _same_attack_settings(build_config("tiny"), tmp_path)
    _same_attack_settings(build_config("tiny", overrides=["attacks.ood_wordnet=false"]), tmp_path)  # as it was



def test_a_checkpoint_of_an_older_ffn_definition_is_not_resumed_into_the_new_one(tmp_path):
    # monotonic version 1 (softplus) and 2 (alpha |V|) share parameter names: resuming one as the other would load
    # its weights under another map from V to W without a word.
    import json

    from mono_s2s.models.variants import FFN_VARIANTS

    latest = tmp_path / "checkpoints" / "mono" / "latest"
    latest.mkdir(parents=True)
    save_yaml(build_config("tiny"), latest / CONFIG_FILE)
    now = FFN_VARIANTS["monotonic"].version
    (latest / "config.json").write_text(json.dumps({"ffn_variant": "monotonic", "ffn_version": now}))
    check_reusable(latest, build_config("tiny"), "monotonic", 42)
    (latest / "config.json").write_text(json.dumps({"ffn_variant": "monotonic"}))  # before versions: version 1
    with pytest.raises(UserError, match=rf"trained with ffn_version=1, not {now}.*another --out"):
        check_reusable(latest, build_config("tiny"), "monotonic", 42)
