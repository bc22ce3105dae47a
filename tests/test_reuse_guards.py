"""An output folder's finished models and attack records are reused only under the settings that made them."""

from __future__ import annotations

import pytest

from mono_s2s.attacks.runner import RECORDS_FILE, _same_attack_settings
from mono_s2s.checkpoint import CONFIG_FILE
from mono_s2s.config import build_config, first_difference, save_yaml
from mono_s2s.errors import UserError
from mono_s2s.pipeline import _same_training_settings


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
    _same_training_settings(build_config("tiny"), "monotonic", latest)  # same settings: fine
    _same_training_settings(build_config("tiny", overrides=["train.eval_batch_size=7"]), "monotonic", latest)
    with pytest.raises(UserError, match=r"train\.lr=0\.005.*not 0\.001.*another --out"):
        _same_training_settings(build_config("tiny", overrides=["train.lr=1e-3"]), "monotonic", latest)
    with pytest.raises(UserError, match="model.dropout"):
        _same_training_settings(build_config("tiny", overrides=["model.dropout=0.3"]), "monotonic", latest)


def test_attack_records_made_with_other_settings_are_not_reused(tmp_path):
    _same_attack_settings(build_config("tiny"), tmp_path)
    (tmp_path / RECORDS_FILE).write_text("")
    _same_attack_settings(build_config("tiny", overrides=["attacks.hotflip_samples=40"]), tmp_path)  # a longer prefix
    with pytest.raises(UserError, match="attacks.hotflip_iters=15, not 3"):
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

