"""Config: presets, YAML files and --set overrides all go through the dataclasses."""

from __future__ import annotations

import pytest

from mono_s2s.config import PRESETS, ExperimentConfig, build_config, config_from_dict, save_yaml
from mono_s2s.errors import UserError


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_loads(preset):
    cfg = build_config(preset)
    assert isinstance(cfg, ExperimentConfig) and cfg.preset == preset
    assert cfg.model.d_model % cfg.model.n_heads == 0


def test_paper_preset_has_the_seed_notebook_sizes():
    cfg = build_config("paper")
    m, t, d = cfg.model, cfg.train, cfg.data
    assert (m.d_model, m.n_heads, m.n_encoder_layers, m.n_decoder_layers, m.d_ff, m.dropout) == (384, 6, 5, 5, 1536, 0.2)
    assert (t.lr, t.weight_decay, t.batch_size, t.grad_accum_steps, t.epochs) == (2e-4, 0.01, 4, 4, 10)
    assert (t.label_smoothing, t.warmup_ratio, d.max_source_tokens, d.max_summary_tokens) == (0.1, 0.1, 1000, 96)


def test_t5_small_preset_is_pretrained_from_the_hub():
    assert build_config("t5-small").model.pretrained == "google-t5/t5-small"


def test_fair_comparison_preset_follows_the_original_edition():
    cfg = build_config("t5-small-fair")
    assert (cfg.model.pretrained, cfg.data.spec, cfg.data.source_prefix) == (
        "google-t5/t5-small", "news-dialogue-mix", "summarize: ")
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.patience) == (7, 5e-5, 0)
    assert cfg.train.lr_for("baseline") == cfg.train.lr_for("monotonic") == 5e-5  # both arms alike
    assert cfg.attacks.hotflip_samples == 200 and cfg.model.variants == ("baseline", "monotonic")


def test_source_prefix_is_the_pretrained_models_own_unless_set(tmp_path):
    from transformers import T5Config

    T5Config(task_specific_params={"summarization": {"prefix": "summarize: "}}).save_pretrained(tmp_path)
    assert build_config("tiny").data.source_prefix == ""  # from scratch: none
    assert build_config("tiny", overrides=[f"model.pretrained={tmp_path}"]).data.source_prefix == "summarize: "
    # --set values are YAML: a prefix ending in ": " is quoted
    assert build_config("tiny", overrides=[f"model.pretrained={tmp_path}", 'data.source_prefix="tl;dr: "']
                        ).data.source_prefix == "tl;dr: "
    T5Config().save_pretrained(tmp_path / "plain")
    assert build_config("tiny", overrides=[f"model.pretrained={tmp_path / 'plain'}"]).data.source_prefix == ""


def test_order_preset_then_yaml_then_set_then_flags(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  lr: 0.5\n  epochs: 3\nmodel:\n  variants: [baseline, softplus_gate, monotonic]\n")
    cfg = build_config("small", [f], ["train.lr=0.25", "data.spec=dialogsum"], **{"data.spec": "samsum"})
    assert cfg.model.d_model == PRESETS["small"]["model"]["d_model"]
    assert cfg.train.epochs == 3 and cfg.train.lr == 0.25 and cfg.data.spec == "samsum"
    assert cfg.model.variants == ("baseline", "softplus_gate", "monotonic")


def test_yaml_round_trip(tmp_path):
    cfg = build_config("paper", overrides=["seeds=3"])
    save_yaml(cfg, tmp_path / "c.yaml")
    import yaml

    again = config_from_dict(yaml.safe_load((tmp_path / "c.yaml").read_text()))
    assert again == cfg


@pytest.mark.parametrize("overrides, needle", [
    (["model.d_modle=64"], "model.d_modle"),
    (["modle.d_model=64"], "modle"),
    (["train.lr=fast"], "train.lr"),
    (["train.lr=nan"], "train.lr"),
    (["train.epochs=2.5"], "train.epochs"),
    (["model.d_model=30"], "model.d_model"),
    (["model.variants=baseline,monotone"], "model.variants"),
    (["model.dropout=1.5"], "model.dropout"),
    (["tracking.mode=sometimes"], "tracking.mode"),
    (["seeds=0"], "seeds"),
    (["lr=0.1"], "lr"),
    (["train.lr"], "KEY=VALUE"),
    (["attacks.hotflip_beam=5", "attacks.hotflip_proposals=3"], "attacks.hotflip_beam"),
    (["attacks.universal_beam=7", "attacks.universal_topk=5"], "attacks.universal_beam"),
    (["attacks.universal_max_sweeps=0"], "attacks.universal_max_sweeps"),
    (["attacks.success_rouge_drop=0"], "attacks.success_rouge_drop"),
    (["attacks.nes_population=15"], "attacks.nes_population"),  # odd: NES draws mirrored pairs
    (["attacks.nes_lr=0"], "attacks.nes_lr"),
])
def test_bad_overrides_name_the_key(overrides, needle):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=overrides)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_yaml_files_name_the_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(UserError, match="nope.yaml"):
        build_config("tiny", [missing])
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [1, 2\n")
    with pytest.raises(UserError, match="broken.yaml"):
        build_config("tiny", [broken])
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("train:\n  learning_rate: 0.1\n")
    with pytest.raises(UserError, match=r"train\.learning_rate.*unknown.yaml"):
        build_config("tiny", [unknown])


def test_unknown_preset():
    with pytest.raises(UserError, match="unknown preset 'huge'"):
        build_config("huge")


def test_exponent_without_a_dot_is_a_number():
    # YAML 1.1 would read 1e-3 as text; on the command line it is obviously a learning rate.
    assert build_config("tiny", overrides=["train.lr=1e-3", "model.dropout=5E-2"]).train.lr == 1e-3


# -- silent mislabels: a preset named in a file is applied, never only recorded ----------------------------


def test_a_preset_named_in_a_config_file_is_applied(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("preset: small\ntrain:\n  epochs: 2\n")
    cfg = build_config(None, [f])
    small = build_config("small", overrides=["train.epochs=2"])
    assert cfg.preset == "small" and cfg == small  # the sizes, not only the label
    assert build_config("small", [f]) == small  # the same preset twice is fine


@pytest.mark.parametrize("text, given, needle", [
    ("preset: nosuch\n", None, "unknown preset 'nosuch'"),
    ("preset: [small]\n", None, "unknown preset ['small']"),
    ("preset: small\n", "tiny", "says preset 'small' but --preset says 'tiny'"),
])
def test_a_bad_or_contradicting_preset_in_a_config_file_is_refused(tmp_path, text, given, needle):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(UserError) as e:
        build_config(given, [f])
    assert needle in str(e.value) and "c.yaml" in str(e.value) and "\n" not in str(e.value)


def test_two_config_files_naming_different_presets_are_refused(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("preset: small\n")
    b.write_text("preset: paper\n")
    with pytest.raises(UserError, match="b.yaml says preset 'paper' but another config file says 'small'"):
        build_config(None, [a, b])


@pytest.mark.parametrize("key, replacement", [("attacks.universal_epochs", "attacks.universal_max_sweeps"),
                                              ("attacks.success_threshold", "attacks.success_rouge_drop")])
def test_a_retired_setting_names_its_replacement_and_an_old_saved_config_still_loads(key, replacement):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=[f"{key}=2"])
    assert str(e.value).startswith(f"config key '{key}' was retired; use {replacement}") and "\n" not in str(e.value)
    # A checkpoint written by an older mono-s2s keeps the setting in its config: it loads without it.
    raw = build_config("tiny").to_dict()
    section, name = key.split(".")
    raw[section][name] = 2
    assert config_from_dict(raw, saved=True) == build_config("tiny")
    with pytest.raises(UserError, match="was retired"):
        config_from_dict(raw)


def test_a_saved_config_with_an_unknown_preset_name_is_refused():
    raw = build_config("tiny").to_dict()
    raw["preset"] = "nosuch"
    with pytest.raises(UserError, match="unknown preset 'nosuch'"):
        config_from_dict(raw)


def test_an_odd_nes_population_is_refused_but_a_saved_one_from_an_older_version_still_loads():
    """Round 1's default was 15; a checkpoint trained then keeps it in its config, which must still load (its
    attack settings are not what a run attacks with), while a user's odd population is a one-line error."""
    from mono_s2s.config import AttackArgs

    raw = build_config("tiny").to_dict()
    raw["attacks"]["nes_population"] = 15
    with pytest.raises(UserError) as e:
        config_from_dict(raw)
    assert "'attacks.nes_population'" in str(e.value) and "even" in str(e.value) and "\n" not in str(e.value)
    assert config_from_dict(raw, saved=True).attacks.nes_population == AttackArgs().nes_population
    raw["attacks"]["nes_population"] = 8
    assert config_from_dict(raw, saved=True).attacks.nes_population == 8


def _float_settings():
    import dataclasses
    import typing

    from mono_s2s.config import SECTIONS

    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] is float:
                yield f"{section}.{f.name}"


@pytest.mark.parametrize("key", list(_float_settings()))
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "inf", "1e999"])
def test_non_finite_numbers_are_refused_up_front_for_every_float_setting(key, value):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=[f"{key}={value}"])
    assert f"'{key}'" in str(e.value) and "finite" in str(e.value) and "\n" not in str(e.value)


def test_non_finite_numbers_are_refused_when_the_dataclass_is_built_directly():
    from mono_s2s.config import TrainArgs

    with pytest.raises(UserError, match="'train.lr'.*finite"):
        TrainArgs(lr=float("inf"))


@pytest.mark.parametrize("tie", [False, True])
def test_every_model_ties_its_embeddings_whatever_the_setting_says(tiny_model_cfg, fake_tokenizer, tie):
    # model.tie_word_embeddings is recorded, not used: transformers >= 5 forces T5's embeddings tied. If a
    # transformers release honours untied T5 again, this fails and the setting must be passed on.
    import dataclasses

    from mono_s2s.models import build_model

    model = build_model(dataclasses.replace(tiny_model_cfg, tie_word_embeddings=tie), "baseline", fake_tokenizer,
                        seed=0)
    assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()


# -- train.variant_lr: each arm's own learning rate -----------------------------------------------------------------


def test_variant_lr_from_set_yaml_or_a_preset_falls_back_to_train_lr(tmp_path, monkeypatch):
    cfg = build_config("tiny", overrides=["train.variant_lr=monotonic=1e-2, baseline = 0.002", "train.lr=3e-4"])
    assert (cfg.train.lr_for("monotonic"), cfg.train.lr_for("baseline"), cfg.train.lr_for("init_only")) == \
        (0.01, 0.002, 3e-4)
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  variant_lr: [monotonic=0.02, init_only=0.004]\n")
    assert build_config("tiny", [f]).train.lr_for("init_only") == 0.004
    # A preset carries one per arm; a --set of the key replaces the whole list, an empty one clears it.
    monkeypatch.setitem(PRESETS, "small", {**PRESETS["small"], "train": {
        **PRESETS["small"]["train"], "variant_lr": ("baseline=0.001", "monotonic=0.003")}})
    small = build_config("small")
    assert (small.train.lr_for("baseline"), small.train.lr_for("monotonic")) == (0.001, 0.003)
    only = build_config("small", overrides=["train.variant_lr=monotonic=0.03"]).train
    assert (only.lr_for("baseline"), only.lr_for("monotonic")) == (only.lr, 0.03)
    assert build_config("small", overrides=["train.variant_lr="]).train.variant_lr == ()
    save_yaml(small, tmp_path / "saved.yaml")
    import yaml

    assert config_from_dict(yaml.safe_load((tmp_path / "saved.yaml").read_text()), preset="small") == small


@pytest.mark.parametrize("value", ["monotonic", "monotonic=", "=0.01", "mono=0.01", "monotonic=fast",
                                   "monotonic=0", "monotonic=-1e-3", "monotonic=nan", "monotonic=inf",
                                   "monotonic=0.01,monotonic=0.02"])
def test_a_bad_variant_lr_names_the_key(value):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=[f"train.variant_lr={value}"])
    assert "'train.variant_lr'" in str(e.value) and "\n" not in str(e.value)


def test_a_bad_variant_lr_is_refused_when_the_dataclass_is_built_directly():
    from mono_s2s.config import TrainArgs

    with pytest.raises(UserError, match="'train.variant_lr'.*unknown variant 'nonmono'"):
        TrainArgs(variant_lr=("nonmono=0.01",))
