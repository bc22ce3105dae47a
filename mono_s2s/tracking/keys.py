"""Every wandb name of the guide contract: project, run names, tags and metric keys (pure: no wandb import).

Metric names, run names, tags and the project name are a contract with the
original project's W&B guide (``WANDB_GUIDE.md``): dashboards and queries
written against the seed's runs must keep working on ours. Each is defined once,
here; every other module builds its keys with these constants and helpers, never
by spelling a string (``tests/test_wandb_guide.py`` checks the guide and the
logged runs against them).

The seed's per-sample keys compare exactly two models (``nonmono``/``mono``);
the helpers take the model slugs, so a third variant (``softplus_gate``) gets
keys of the same shape without changing the two contract names. The attack
names themselves belong to the attacks (:data:`mono_s2s.attacks.ATTACKS`);
a helper here takes an attack's name as an argument.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import sys
from typing import Any, Sequence

PROJECT = "mono-s2s-adversarial-robustness"
KINDS = ("training", "adversarial")  # the two kinds of run (wandb job_type)


def named(keys: Sequence[str], **values: Any) -> dict[str, Any]:
    """``{key: value}`` for exactly ``keys``, each value passed by the key's last path part.

    ``named(VAL_KEYS, loss=1.2, perplexity=3.3, ...)`` -> ``{"val/loss": 1.2, ...}``.
    Writers use this instead of spelling metric strings, and a missing or extra
    value is a bug caught at the first log call, not a silently absent chart.
    """
    out = {}
    for key in keys:
        short = key.rsplit("/", 1)[-1]
        if short not in values:
            raise KeyError(f"no value given for metric '{key}'")
        out[key] = values.pop(short)
    if values:
        raise KeyError(f"values for unknown metrics: {sorted(values)}")
    return out


# --------------------------------------------------------------------------
# Training runs
# --------------------------------------------------------------------------

# Logged every batch.
TRAIN_BATCH_KEYS = (
    "train/batch_loss",
    "train/learning_rate",
    "train/teacher_forcing_ratio",
    "train/used_teacher_forcing",
    "train/used_noise",
    "train/batch_time",
    "train/grad_norm",  # before clipping
    "train/grad_norm_clipped",
    "train/epoch",
    "train/batch",
)
# Logged once per epoch.
TRAIN_EPOCH_KEYS = (
    "train/epoch_loss",
    "train/epoch_perplexity",
    "train/epoch_time",
    "train/batches_per_second",
    "train/avg_grad_norm",
    "train/max_grad_norm",
    "train/min_batch_loss",
    "train/max_batch_loss",
    "train/std_batch_loss",
)
VAL_KEYS = ("val/loss", "val/perplexity", "val/eval_time", "val/min_loss", "val/max_loss", "val/std_loss")
EPOCH_KEYS = ("epoch", "best_val_loss", "patience_counter", "is_best_epoch")
VAL_SAMPLES_TABLE = "val/samples"
TRAINING_SAMPLES_TABLE = "training_samples"
# Validation NLL of each weights-only snapshot kept for the matched arm (mono_s2s.matched), at its step.
SNAPSHOT_VAL_LOSS = "snapshot/val_loss"

# The run summary of a finished training run (``named`` names them: variant, parameters, ...).
TRAINING_SUMMARY_KEYS = (
    "model/variant",
    "model/parameters",
    "model/architecture",  # the model section of the config, without the variant list
    "data/train_size",
    "data/validation_size",
    "data/test_size",
    "final_val_loss",
    "best_val_loss",
    "epochs_trained",
    "best_epoch",
)
CLEAN_STATS = ("mean", "ci_low", "ci_high")
# Is the FFN doing anything (mono_s2s.models.diagnostics): means over the FFN sublayers (summary), and the
# per-layer rows (table). A measure that does not apply (no constrained weights, no FFN) is null.
FFN_SUMMARY_KEYS = ("ffn/output_residual_ratio", "ffn/small_weight_fraction", "ffn/small_down_fraction",
                    "ffn/top3_variance_share")
FFN_TABLE = "ffn/diagnostics"


def clean_key(metric: str, stat: str) -> str:
    """``clean/{rouge}_{stat}``: clean test-split quality of the best checkpoint (summary)."""
    return f"clean/{metric}_{stat}"


# --------------------------------------------------------------------------
# The adversarial run
# --------------------------------------------------------------------------

SEED_SLUGS = ("nonmono", "mono")  # the two models the seed compares


def attack_key(attack: str, name: str) -> str:
    """``{attack}/{name}``: a per-attack key shared by the models (``sample_idx``, ``robustness_delta``, ...)."""
    return f"{attack}/{name}"


def attack_model_key(attack: str, slug: str, name: str) -> str:
    """``{attack}/{slug}_{name}``: the HotFlip pattern of the guide, used by every attack."""
    return f"{attack}/{slug}_{name}"


# Per-sample values logged for each model (``{attack}/{model}_{name}``): the absolute NLL
# degradation for every attack, plus what an attack measures beyond it.
SAMPLE_VALUES: dict[str, tuple[str, ...]] = {
    "hotflip": ("degradation", "avg_grad_norm", "loss_improvement"),
    "nes": ("degradation", "queries"),
}
DEFAULT_SAMPLE_VALUES = ("degradation",)


def sample_value_names(attack: str) -> tuple[str, ...]:
    return SAMPLE_VALUES.get(attack, DEFAULT_SAMPLE_VALUES)


def sample_idx_key(attack: str) -> str:
    return attack_key(attack, "sample_idx")


def robustness_delta_key(attack: str) -> str:
    """``{attack}/robustness_delta``: nonmono − mono absolute degradation of one sample."""
    return attack_key(attack, "robustness_delta")


def model_sample_keys(attack: str, slug: str) -> tuple[str, ...]:
    """Per-sample keys of one model under one attack (``hotflip/mono_degradation``, ...)."""
    return tuple(attack_model_key(attack, slug, name) for name in sample_value_names(attack))


HOTFLIP_SAMPLE_IDX = sample_idx_key("hotflip")
HOTFLIP_ROBUSTNESS_DELTA = robustness_delta_key("hotflip")
HOTFLIP_GRAD_NORM_RATIO = "hotflip/grad_norm_ratio"  # nonmono / mono
HOTFLIP_DETAILED_TABLE = "hotflip/detailed_comparison"
HOTFLIP_SUMMARY_PREFIX = attack_key("hotflip", "summary_")  # what attack_summary_key("hotflip", ...) starts with
HOTFLIP_SUMMARY_EXTRAS = ("avg_grad_norm", "loss_improvement", "avg_tokens_changed")


def hotflip_iteration_keys(model_slug: str) -> tuple[str, str, str, str]:
    """Per-iteration HotFlip keys for one model: loss, grad norm, tokens changed, iteration."""
    p = f"hotflip/{model_slug}/"
    return (p + "iteration_loss", p + "iteration_grad_norm", p + "iteration_tokens_changed", p + "iteration")


def universal_sweep_key(model_slug: str, name: str) -> str:
    """``universal/{model}/sweep_loss``, ``.../sweep``, ``.../restart``: the trigger's training loss per sweep."""
    return f"universal/{model_slug}/{'sweep_loss' if name == 'loss' else name}"


def hotflip_model_keys(model_slug: str) -> tuple[str, ...]:
    """Per-sample HotFlip keys for one model: degradation, avg grad norm, loss improvement."""
    return model_sample_keys("hotflip", model_slug)


def hotflip_sample_keys(slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Every per-sample HotFlip key: index, each model's keys, and the pairwise delta/ratio."""
    keys = [HOTFLIP_SAMPLE_IDX]
    for slug in slugs:
        keys += hotflip_model_keys(slug)
    return tuple(keys) + (HOTFLIP_ROBUSTNESS_DELTA, HOTFLIP_GRAD_NORM_RATIO)


def samples_table_key(attack: str) -> str:
    """The per-sample table of an attack: the guide's ``hotflip/detailed_comparison``, ``{attack}/samples`` else."""
    return HOTFLIP_DETAILED_TABLE if attack == "hotflip" else attack_key(attack, "samples")


def attack_summary_key(attack: str, slug: str, name: str) -> str:
    """``{attack}/summary_{slug}_{name}``: an average over all attacked samples (``hotflip/summary_*``)."""
    return attack_key(attack, f"summary_{slug}_{name}")


# The quality-matched arm (mono_s2s.matched), in the adversarial run's summary: which snapshot it is, what it
# was matched to, and its clean scores (it has no training run of its own).
MATCHED_SUMMARY_KEYS = ("matched/slug", "matched/source", "matched/step", "matched/val_loss",
                        "matched/target_val_loss", "matched/gap", "matched/close_match")


def matched_clean_key(metric: str, stat: str) -> str:
    """``matched/clean_{metric}_{stat}``: the matched arm's clean test-split quality (adversarial run summary)."""
    return f"matched/clean_{metric}_{stat}"


def curves_table_key(attack: str) -> str:
    """``curves/{attack}``: the attack's robustness curve (issue 13), one row per model and budget point."""
    return f"curves/{attack}"


# Final analysis tables, figures and text.
FINAL_SUMMARY_TABLE = "final/comprehensive_summary"
FINAL_GRADIENT_TABLE = "final/attack_comparison_with_gradients"
FIGURE_KEY = "final/adversarial_analysis"
CURVES_FIGURE_KEY = "final/robustness_curves"  # the robustness curves of every attack (results/robustness_curves.png)
KEY_FINDINGS = "key_findings"
# Analysis v2 (issue 14): every test of every comparison (results/summary.csv), the success rates with McNemar
# (results/success_rates.csv), and the size of the Holm family the marks are adjusted over.
FINAL_COMPARISONS_TABLE = "final/comparisons"
FINAL_SUCCESS_TABLE = "final/success_rates"
FAMILY_SIZE = "final/family_size"
# --seeds N: the across-seed tables and findings, in the seed group's own adversarial run.
SEEDS_TABLE = "seeds/comparisons"
SEEDS_FINDINGS = "seeds/key_findings"
SEEDS_COUNT = "seeds/n_seeds"
OVERALL_IMPROVEMENT = "overall_robustness_improvement_pct"
OVERALL_P_VALUE = "overall_p_value"
OVERALL_SIGNIFICANT = "overall_statistically_significant"
# The guide names the headline number both ``overall_robustness_improvement_pct``
# (run summary) and ``final/overall_robustness_improvement_pct`` (metrics to
# watch); writers should set both so either query finds it.
FINAL_OVERALL_IMPROVEMENT = "final/overall_robustness_improvement_pct"
# Run-summary entries of the attack phase.
TRANSFER = "transfer"  # {hotflip|universal: {source: {target: mean absolute degradation}}}
UNIVERSAL_TRIGGERS = "universal_triggers"  # {model: trigger text}
ATTACK_TIMING = "attack_timing_s"  # {attack: seconds}


def final_keys(attack: str, slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Per-attack final keys: each model's mean, then improvement, p-value, significance."""
    p = f"final/{attack}_"
    return tuple(f"{p}{slug}_mean" for slug in slugs) + (p + "improvement_pct", p + "p_value", p + "significant")


def overall_degradation_key(slug: str) -> str:
    """``overall_{model}_degradation``: a model's mean absolute degradation over every attack (summary)."""
    return f"overall_{slug}_degradation"


def overall_keys(slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Run-summary keys of the overall result."""
    return ((OVERALL_IMPROVEMENT,) + tuple(overall_degradation_key(slug) for slug in slugs)
            + (OVERALL_P_VALUE, OVERALL_SIGNIFICANT))


HOTFLIP_SAMPLE_KEYS = hotflip_sample_keys()
OVERALL_KEYS = overall_keys()

# --------------------------------------------------------------------------
# Tags and run names
# --------------------------------------------------------------------------

BASE_TRAINING_TAGS = ("training", "seq2seq", "summarization")
TRAINING_TAGS = {
    "nonmono": ["training", "non-monotonic", "seq2seq", "summarization"],
    "mono": ["training", "monotonic", "seq2seq", "summarization", "robustness"],
}
ADVERSARIAL_TAGS = ["adversarial", "robustness", "gradient-analysis", "attacks"]


def training_tags(slug: str) -> list[str]:
    """The guide's tags for the seed's two models; other variants get the base tags plus their name."""
    return list(TRAINING_TAGS.get(slug, [*BASE_TRAINING_TAGS, slug]))


_COLAB_ENV_VARS = ("COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION", "COLAB_GPU")


def detect_env() -> str:
    """``"colab"`` inside Google Colab, else ``"local"`` (the ``{env}`` of the guide's run names)."""
    if any(os.environ.get(v) for v in _COLAB_ENV_VARS) or "google.colab" in sys.modules:
        return "colab"
    try:
        if importlib.util.find_spec("google.colab") is not None:
            return "colab"
    except (ImportError, ValueError):  # no "google" package at all
        pass
    return "local"


def timestamp_now() -> str:
    return _dt.datetime.now().strftime("%Y%m%d_%H%M%S")


def run_name(kind: str, slug: str | None = None, env: str | None = None, timestamp: str | None = None) -> str:
    """``{env}_{slug}_training_{timestamp}`` or ``{env}_adversarial_experiments_{timestamp}``."""
    env = env or detect_env()
    timestamp = timestamp or timestamp_now()
    if kind == "training":
        if not slug:
            raise ValueError("a training run name needs the model slug (nonmono, mono, ...)")
        return f"{env}_{slug}_training_{timestamp}"
    if kind == "adversarial":
        return f"{env}_adversarial_experiments_{timestamp}"
    raise ValueError(f"unknown run kind {kind!r} (expected one of {', '.join(KINDS)})")


def seeds_group_name() -> str:
    """The wandb group of a ``--seeds N`` experiment's runs: ``{env}_seeds_{timestamp}``."""
    return f"{detect_env()}_seeds_{timestamp_now()}"


def run_tags(kind: str, slug: str | None = None) -> list[str]:
    if kind == "training":
        if not slug:
            raise ValueError("training tags need the model slug")
        return training_tags(slug)
    if kind == "adversarial":
        return list(ADVERSARIAL_TAGS)
    raise ValueError(f"unknown run kind {kind!r} (expected one of {', '.join(KINDS)})")


__all__ = [
    "PROJECT", "KINDS", "named",
    "TRAIN_BATCH_KEYS", "TRAIN_EPOCH_KEYS", "VAL_KEYS", "EPOCH_KEYS", "VAL_SAMPLES_TABLE", "TRAINING_SAMPLES_TABLE",
    "TRAINING_SUMMARY_KEYS", "CLEAN_STATS", "clean_key", "FFN_SUMMARY_KEYS", "FFN_TABLE", "SNAPSHOT_VAL_LOSS",
    "MATCHED_SUMMARY_KEYS", "matched_clean_key", "curves_table_key", "CURVES_FIGURE_KEY",
    "SEED_SLUGS", "attack_key", "attack_model_key", "SAMPLE_VALUES", "DEFAULT_SAMPLE_VALUES", "sample_value_names",
    "sample_idx_key", "robustness_delta_key", "model_sample_keys", "samples_table_key", "attack_summary_key",
    "HOTFLIP_SAMPLE_IDX", "HOTFLIP_ROBUSTNESS_DELTA", "HOTFLIP_GRAD_NORM_RATIO", "HOTFLIP_DETAILED_TABLE",
    "HOTFLIP_SUMMARY_PREFIX", "HOTFLIP_SUMMARY_EXTRAS", "HOTFLIP_SAMPLE_KEYS", "hotflip_iteration_keys",
    "hotflip_model_keys", "hotflip_sample_keys", "universal_sweep_key",
    "FINAL_SUMMARY_TABLE", "FINAL_GRADIENT_TABLE", "FIGURE_KEY", "KEY_FINDINGS", "FINAL_COMPARISONS_TABLE",
    "FINAL_SUCCESS_TABLE", "FAMILY_SIZE", "SEEDS_TABLE", "SEEDS_FINDINGS", "SEEDS_COUNT", "OVERALL_IMPROVEMENT",
    "OVERALL_P_VALUE", "OVERALL_SIGNIFICANT", "FINAL_OVERALL_IMPROVEMENT", "TRANSFER", "UNIVERSAL_TRIGGERS",
    "ATTACK_TIMING", "final_keys", "overall_degradation_key", "overall_keys", "OVERALL_KEYS",
    "BASE_TRAINING_TAGS", "TRAINING_TAGS", "ADVERSARIAL_TAGS", "training_tags", "detect_env", "timestamp_now",
    "run_name", "seeds_group_name", "run_tags",
]
