"""Experiment configuration: dataclasses are the one schema.

Every setting lives in a field of :class:`ModelConfig`, :class:`DataArgs`,
:class:`TrainArgs`, :class:`AttackArgs` or :class:`TrackArgs`, grouped in
:class:`ExperimentConfig`. Named presets, YAML files and ``--set key=value``
overrides are all applied on top of these dataclasses, in that order, so a key
that is not a field is an error wherever it comes from (litgpt's pattern).
Validation lives in ``__post_init__`` and names the offending key.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from mono_s2s.errors import UserError

VARIANTS = ("baseline", "softplus_gate", "monotonic", "monotonic_cmnn", "init_only", "attention_only")
# The provably monotone variants. The quality-matched pair (mono_s2s.matched) is baseline and the first variant
# of model.variants that is one of these. A new monotone variant adds its name here.
MONOTONE_VARIANTS = ("monotonic", "monotonic_cmnn")
# train.precision / attacks.precision; mono_s2s.precision says what each means on which device.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def _check(cond: bool, key: str, message: str) -> None:
    if not cond:
        raise UserError(f"invalid config value for '{key}': {message}")


def _check_finite(args: Any, section: str) -> None:
    """Every float setting of a dataclass is finite: ``.inf`` or ``nan`` would pass ``> 0`` checks and break a
    run minutes later (``train.lr=.inf`` diverged at step 2)."""
    for f in dataclasses.fields(args):
        v = getattr(args, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            raise UserError(f"invalid config value for '{section}.{f.name}': expected a finite number, got {v}")


@dataclass
class ModelConfig:
    """Architecture of the T5-style encoder-decoder (HF T5 names in comments)."""

    # Hub name or local folder of a pretrained T5 (e.g. "google-t5/t5-small");
    # None builds a model from the sizes below with random init (no download).
    pretrained: Optional[str] = None
    variants: tuple[str, ...] = ("baseline", "monotonic")
    d_model: int = 64
    d_ff: int = 256
    n_heads: int = 4  # num_heads
    n_encoder_layers: int = 2  # num_layers
    n_decoder_layers: int = 2  # num_decoder_layers
    dropout: float = 0.0  # dropout_rate; 0 in the tiny preset: fact recall 0.72 -> 0.97 (measurements above PRESETS)
    vocab_size: int = 2000  # target size of the tokenizer trained on the corpus
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    # Changes nothing, and is kept only so that saved configs still load: transformers >= 5 always ties T5's
    # input and output embeddings (T5Config forces tie_word_embeddings=True), so every model here is tied,
    # whatever this says (tests/test_config.py proves it).
    tie_word_embeddings: bool = False

    def __post_init__(self) -> None:
        _check_finite(self, "model")
        self.variants = tuple(self.variants)
        _check(len(self.variants) >= 1, "model.variants", "name at least one variant")
        for v in self.variants:
            _check(v in VARIANTS, "model.variants", f"unknown variant '{v}' (choose from {', '.join(VARIANTS)})")
        _check(len(set(self.variants)) == len(self.variants), "model.variants", "a variant is listed twice")
        for key in ("d_model", "d_ff", "n_heads", "n_encoder_layers", "n_decoder_layers", "vocab_size"):
            _check(getattr(self, key) > 0, f"model.{key}", f"must be positive (got {getattr(self, key)})")
        _check(self.d_model % self.n_heads == 0, "model.d_model",
               f"must be divisible by model.n_heads (got {self.d_model} and {self.n_heads})")
        _check(0.0 <= self.dropout < 1.0, "model.dropout", f"must be in [0, 1) (got {self.dropout})")
        _check(self.vocab_size >= 100, "model.vocab_size", f"must be at least 100 (got {self.vocab_size})")


@dataclass
class DataArgs:
    """Which corpus, how it is split, and how long inputs and summaries may be."""

    # "synthetic" (embedded), a hub short name (dialogsum, samsum, cnn_dailymail,
    # xsum, arxiv, pubmed), a mixture ("seed-mix", "news-dialogue-mix"), "hub:OWNER/NAME[:CONFIG]",
    # or a local .jsonl/.json/.csv/.parquet file, a folder of split files, or a save_to_disk folder.
    spec: str = "synthetic"
    source_column: Optional[str] = None  # None: auto-detect
    summary_column: Optional[str] = None  # None: auto-detect
    # Prepended to every source. null (the default): the pretrained model's own summarization prefix, read from
    # its config's task_specific_params (T5: "summarize: "), and none for a model trained from scratch.
    source_prefix: Optional[str] = None
    n_train: int = 12000  # synthetic corpus sizes (12000: see the measurements above PRESETS)
    n_validation: int = 500
    n_test: int = 500
    max_train_samples: Optional[int] = None  # cap after loading (hub corpora are large)
    max_eval_samples: Optional[int] = None
    validation_fraction: float = 0.1  # used only to carve a missing split
    test_fraction: float = 0.1
    summary_max_words: Optional[int] = None  # seed-mix shortens to 80 words, as the seed did
    max_source_tokens: int = 256
    max_summary_tokens: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        _check_finite(self, "data")
        _check(bool(self.spec and self.spec.strip()), "data.spec", "must not be empty")
        for key in ("n_train", "n_validation", "n_test", "max_source_tokens", "max_summary_tokens"):
            _check(getattr(self, key) > 0, f"data.{key}", f"must be positive (got {getattr(self, key)})")
        for key in ("max_train_samples", "max_eval_samples", "summary_max_words"):
            v = getattr(self, key)
            _check(v is None or v > 0, f"data.{key}", f"must be positive or null (got {v})")
        for key in ("validation_fraction", "test_fraction"):
            v = getattr(self, key)
            _check(0.0 < v < 0.5, f"data.{key}", f"must be in (0, 0.5) (got {v})")


@dataclass
class TrainArgs:
    """Optimisation settings shared by every variant (same data, same budget), but for each variant's own
    learning rate (``variant_lr``, :meth:`lr_for`)."""

    seed: int = 42
    # Float precision on a GPU (mono_s2s.precision): auto = bf16 where the GPU has it natively, fp16 with loss
    # scaling on older GPUs (T4), fp32 on CPU (exactly as before); or fp32 | bf16 | fp16. The value it resolved
    # to is recorded with the results and compared before a checkpoint is resumed.
    precision: str = "auto"
    compile: bool = False  # torch.compile the model (GPU speed; the first steps of each shape compile)
    epochs: int = 4  # a cap: training stops earlier on train.patience (measurements above PRESETS)
    batch_size: int = 32
    grad_accum_steps: int = 1
    eval_batch_size: int = 64
    lr: float = 1e-2
    # Per-variant learning rates as "variant=lr" entries (YAML list, or --set train.variant_lr=monotonic=0.01,
    # baseline=0.005); a variant not named here trains with ``lr``. Issue 11: every arm with its own tuned lr
    # (``mono-s2s tune`` prints the line that sets it). A --set of this key replaces the whole list, so
    # --set train.lr=X alone does not change a variant named here. The tiny preset's: each arm's best in the
    # full-budget search (4 epochs, README "mono-s2s tune"); the baseline's and init_only's best there is ``lr``.
    variant_lr: tuple[str, ...] = ("monotonic=0.02", "monotonic_cmnn=0.02", "attention_only=0.02")
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    warmup_ratio: float = 0.1
    label_smoothing: float = 0.0  # the seed's 0.1 is in the paper and small presets
    max_grad_norm: float = 1.0
    patience: int = 2  # epochs without a better validation NLL before stopping (0: never stop early)
    save_every_steps: int = 200
    # Scheduled teacher forcing: ratio = max(tf_min, tf_start - tf_decay * epoch). Off in the tiny preset (1.0);
    # the seed's 0.98 / 0.02 / 0.85 are in the paper and small presets.
    tf_start: float = 1.0
    tf_decay: float = 0.02
    tf_min: float = 1.0
    # Decoder-input noise: noise_batch_prob of batches get noise_token_prob of tokens -> unk. Off in the tiny
    # preset; the seed's 0.1 / 0.1 is in the paper and small presets.
    noise_batch_prob: float = 0.0
    noise_token_prob: float = 0.1
    # Generation for clean evaluation (HF generate).
    num_beams: int = 4
    no_repeat_ngram_size: int = 3
    length_penalty: float = 1.0
    eval_samples: Optional[int] = None  # None: the whole test split
    # The quality-matched comparator arm (PROTOCOL.md "Arms"; mono_s2s.matched): the pair (baseline and the
    # first monotone variant) keep weights-only snapshots, each with its validation NLL, and the stronger
    # arm's snapshot closest to the weaker arm's best validation NLL becomes the arm "{slug}_matched".
    # null: on when model.variants holds the pair (and said, not fatal, when a run kept no snapshots);
    # true: required (an error without the pair); false: off (no snapshots, no matched arm).
    matched: Optional[bool] = None
    # Optimizer steps between snapshots, besides every epoch end; null: about matched.AUTO_SNAPSHOTS per run.
    snapshot_every_steps: Optional[int] = None

    def __post_init__(self) -> None:
        _check_finite(self, "train")
        _check(self.precision in PRECISIONS, "train.precision",
               f"'{self.precision}' is not one of {', '.join(PRECISIONS)}")
        for key in ("epochs", "batch_size", "grad_accum_steps", "eval_batch_size", "save_every_steps", "num_beams"):
            _check(getattr(self, key) > 0, f"train.{key}", f"must be positive (got {getattr(self, key)})")
        _check(self.lr > 0, "train.lr", f"must be positive (got {self.lr})")
        self.variant_lr = tuple(self.variant_lr)
        variant_lrs(self.variant_lr)  # validates every entry
        _check(self.weight_decay >= 0, "train.weight_decay", f"must be >= 0 (got {self.weight_decay})")
        for key in ("adam_beta1", "adam_beta2", "warmup_ratio", "label_smoothing", "tf_start", "tf_min",
                    "noise_batch_prob", "noise_token_prob"):
            v = getattr(self, key)
            _check(0.0 <= v < 1.0 or (key.startswith("tf_") and v == 1.0), f"train.{key}", f"must be in [0, 1) (got {v})")
        _check(self.max_grad_norm > 0, "train.max_grad_norm", f"must be positive (got {self.max_grad_norm})")
        _check(self.patience >= 0, "train.patience", f"must be >= 0 (got {self.patience})")
        _check(self.no_repeat_ngram_size >= 0, "train.no_repeat_ngram_size", "must be >= 0")
        _check(self.eval_samples is None or self.eval_samples > 0, "train.eval_samples", "must be positive or null")
        _check(self.snapshot_every_steps is None or self.snapshot_every_steps > 0, "train.snapshot_every_steps",
               f"must be positive or null (got {self.snapshot_every_steps})")

    def lr_for(self, variant: str) -> float:
        """The learning rate ``variant`` trains with: its ``variant_lr`` entry, else ``lr``."""
        return variant_lrs(self.variant_lr).get(variant, self.lr)


def variant_lrs(entries: typing.Iterable[str]) -> dict[str, float]:
    """``("monotonic=0.01", ...)`` -> ``{"monotonic": 0.01, ...}``; a one-line error naming ``train.variant_lr``
    for a malformed entry, an unknown or repeated variant, or a learning rate that is not positive and finite.

    A variant may be named without being in ``model.variants``: a preset carries the lr of every arm it
    knows, a run trains the arms it lists.
    """
    key, table = "train.variant_lr", {}
    for entry in entries:
        name, sep, text = str(entry).partition("=")
        name, text = name.strip(), text.strip()
        _check(bool(sep and name and text), key, f"expected VARIANT=LR entries, got {entry!r}")
        _check(name in VARIANTS, key, f"unknown variant '{name}' (choose from {', '.join(VARIANTS)})")
        _check(name not in table, key, f"variant '{name}' is listed twice")
        try:
            lr = float(text)
        except ValueError:
            lr = None
        _check(lr is not None, key, f"the learning rate of '{name}' is not a number: {text!r}")
        _check(math.isfinite(lr) and lr > 0, key, f"the learning rate of '{name}' must be positive and finite "
                                                 f"(got {text})")
        table[name] = lr
    return table


@dataclass
class AttackArgs:
    """Attack budgets; equal for every model. Defaults follow the seed notebook."""

    seed: int = 1234
    # Precision of the attacks' scoring forwards (mono_s2s.precision; auto is resolved as for train.precision);
    # the NLL itself is always computed in float32. compile: torch.compile the attacked model.
    precision: str = "auto"
    compile: bool = False
    # Samples per attack (issue 13: >= 100, the same for every arm and budget point). They are drawn from the
    # test split (data.n_test, 500 on the embedded corpus; a hub corpus's own test split), the universal
    # trigger's training samples from the validation split: a count above its split is refused up front
    # (mono_s2s.attacks.runner.check_sample_counts), so the splits are what limits them.
    hotflip_samples: int = 100
    hotflip_trigger_len: int = 5
    # Issue 12: a fixed budget per restart (no early stop), a beam, restarts; each state's proposals drawn from
    # the top-k first-order flips of every position (GCG's sampling, see mono_s2s.attacks.hotflip).
    # At most 1 + restarts * iters * beam * (1 + proposals) queries per sample (1281 here).
    hotflip_iters: int = 10
    hotflip_topk: int = 100  # first-order candidates per position
    hotflip_proposals: int = 15  # flips scored per beam state and iteration
    hotflip_beam: int = 4
    hotflip_restarts: int = 2
    universal_trigger_len: int = 4
    # Issue 12 (Wallace et al., 2019): learned on >= 100 validation samples in batches whose averaged gradient
    # ranks each position's top-k, re-ranked by the batch loss in a beam; sweeps over all batches until one
    # brings no improvement of the whole training set's loss (at most universal_max_sweeps), from
    # universal_restarts starts.
    universal_train_samples: int = 100
    universal_eval_samples: int = 100
    universal_batch: int = 25
    universal_topk: int = 5
    universal_beam: int = 2
    universal_max_sweeps: int = 4
    universal_restarts: int = 2
    nes_samples: int = 100
    nes_trigger_len: int = 3
    # Issue 12: Natural Evolution Strategies over a per-position categorical distribution of trigger tokens
    # (mono_s2s.attacks.nes): populations of nes_population (even: mirrored pairs), a budget of
    # 1 + nes_population * nes_generations queries per sample (257 here), nes_lr the step on the logits.
    # The genetic search (mono_s2s.attacks.genetic, not run by default) uses the same settings and budget.
    nes_population: int = 16
    nes_generations: int = 16
    nes_lr: float = 16.0
    injection_samples: int = 100
    # The targeted injection searches the first injection_templates of its templates (10: all of them).
    injection_templates: int = 10
    ood_samples: int = 100
    # OOD paraphrases up to ood_words of a source's substitutable words (fewer when it has fewer: the record
    # says so). Issue 13: a word count, like substitution's, so the two in-text attacks share a curve's x axis;
    # round 2's ood_substitution_rate (0.3 of the substitutable words, 4.6 words on average) is retired.
    ood_words: int = 5
    # Add WordNet synonyms to the shipped lexicon when nltk's WordNet corpus is installed (never
    # downloaded). Whether it was used is recorded with the results; false = the same on every machine.
    ood_wordnet: bool = True
    # In-text substitution (mono_s2s.attacks.substitution): up to substitution_words words of the source replaced,
    # never a reference word, fact, speaker tag or number. A record with fewer substitutable words is clipped
    # to them and says so (extra.clipped). One more word per step; from each beam state the
    # substitution_proposals best (word, candidate) pairs by first-order score are scored: at most
    # 1 + words * beam * (1 + proposals) queries per sample (1006 here). A beam of 1 with 200 proposals beat
    # beam 2 x 100 and beam 4 x 50 at about the same queries.
    substitution_samples: int = 100
    substitution_words: int = 5
    substitution_beam: int = 1
    substitution_proposals: int = 200
    # Success is decided on the generated summary, in absolute terms, the same for every model
    # (mono_s2s.attacks.common.output_success): its ROUGE-L falls by at least success_rouge_drop, or
    # (success_fact_loss, on a corpus whose facts are known) it states fewer reference facts than the
    # clean summary did.
    success_rouge_drop: float = 0.1
    success_fact_loss: bool = True
    # Issue 13's curves: every attack also runs at each budget point of its list (its unit is the registry's
    # budget_unit: trigger tokens, words, templates), on the same samples; the headline budget above (e.g.
    # hotflip_trigger_len) is always one of the points (added when the list leaves it out), and its records
    # are what the analysis compares.
    hotflip_budgets: tuple[int, ...] = (1, 2, 5, 10)
    universal_budgets: tuple[int, ...] = (1, 2, 4, 8)
    nes_budgets: tuple[int, ...] = (1, 2, 3, 6)
    substitution_budgets: tuple[int, ...] = (1, 2, 5, 10)
    injection_budgets: tuple[int, ...] = (1, 2, 5, 10)
    ood_budgets: tuple[int, ...] = (1, 2, 5, 10)
    # Searches run together by the batched engine (mono_s2s.attacks.engine), their candidates packed into shared
    # forward passes. Records do not depend on it (each row's result is independent of its batch).
    concurrency: int = 64

    def __post_init__(self) -> None:
        _check_finite(self, "attacks")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("seed", "compile", "ood_wordnet", "success_fact_loss"):
                continue
            if f.name == "precision":
                _check(v in PRECISIONS, "attacks.precision", f"'{v}' is not one of {', '.join(PRECISIONS)}")
                continue
            if f.name.endswith("_budgets"):
                _check(len(v) > 0 and all(b > 0 for b in v) and len(set(v)) == len(v), f"attacks.{f.name}",
                       f"must list distinct positive budgets (got {','.join(map(str, v)) or 'none'})")
                continue
            if f.name == "success_rouge_drop":
                _check(0.0 < v <= 1.0, f"attacks.{f.name}", f"must be in (0, 1] (got {v})")
            else:
                _check(v > 0, f"attacks.{f.name}", f"must be positive (got {v})")
        # A beam wider than one step's candidates could never be filled.
        for beam, pool in (("universal_beam", "universal_topk"), ("hotflip_beam", "hotflip_proposals"),
                           ("substitution_beam", "substitution_proposals")):
            width, room = getattr(self, beam), 1 + getattr(self, pool)
            _check(width <= room, f"attacks.{beam}",
                   f"{width} is wider than one step's candidates (1 + attacks.{pool} = {room})")
        _check(self.nes_population % 2 == 0, "attacks.nes_population",
               f"must be even: NES draws its population in mirrored pairs (got {self.nes_population})")

    def budget_points(self, attack: str, headline: str) -> list[int]:
        """The budget points ``attack`` runs at: its ``{attack}_budgets`` and the headline ``headline``, sorted."""
        return sorted(set(getattr(self, f"{attack}_budgets")) | {getattr(self, headline)})


@dataclass
class TrackArgs:
    """Weights & Biases settings (the tracking module is the only wandb user)."""

    # auto: online when logged in, offline otherwise.
    mode: str = "auto"
    project: str = "mono-s2s-adversarial-robustness"
    entity: Optional[str] = None
    # wandb run group; a multi-seed run sets one (``{env}_seeds_{timestamp}``) when this is empty.
    group: Optional[str] = None

    def __post_init__(self) -> None:
        modes = ("auto", "online", "offline", "disabled")
        _check(self.mode in modes, "tracking.mode", f"'{self.mode}' is not one of {', '.join(modes)}")
        _check(bool(self.project), "tracking.project", "must not be empty")


@dataclass
class ExperimentConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataArgs = field(default_factory=DataArgs)
    train: TrainArgs = field(default_factory=TrainArgs)
    attacks: AttackArgs = field(default_factory=AttackArgs)
    tracking: TrackArgs = field(default_factory=TrackArgs)
    preset: str = "tiny"
    seeds: int = 1  # independent model pairs (different init and data order)

    def __post_init__(self) -> None:
        _check(self.seeds >= 1, "seeds", f"must be >= 1 (got {self.seeds})")
        if self.data.source_prefix is None:  # resolved once, here: every stage and every saved config sees the text
            self.data.source_prefix = expected_prefix(self.model.pretrained)
        # The preset is recorded with every result: a name that is not a preset would be a silent mislabel.
        _check(self.preset in PRESETS, "preset", f"unknown preset '{self.preset}' (choose from {', '.join(PRESETS)})")
        # A matched arm asked for by name needs both arms of its pair (the snapshots come from their runs).
        if self.train.matched:
            monotone = [v for v in self.model.variants if v in MONOTONE_VARIANTS]
            _check("baseline" in self.model.variants and bool(monotone), "train.matched",
                   f"true needs baseline and a monotone variant ({', '.join(MONOTONE_VARIANTS)}) in model.variants, "
                   f"got {', '.join(self.model.variants)} (set train.matched=false, or add the missing arm)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def expected_prefix(pretrained: Optional[str]) -> str:
    """The prefix a pretrained model was trained to summarize after (T5's config: task_specific_params
    summarization prefix, "summarize: "); "" for a model from scratch, or when the model's config cannot be
    read here (loading the model then says why)."""
    if not pretrained:
        return ""
    try:
        from transformers import AutoConfig

        params = getattr(AutoConfig.from_pretrained(pretrained), "task_specific_params", None) or {}
    except Exception:  # noqa: BLE001 - not this function's error to report: the model load names it
        return ""
    prefix = (params.get("summarization") or {}).get("prefix", "")
    return prefix if isinstance(prefix, str) else ""


SECTIONS = {"model": ModelConfig, "data": DataArgs, "train": TrainArgs, "attacks": AttackArgs, "tracking": TrackArgs}

# The larger presets attack 200 samples per attack (and learn the universal trigger on 200 validation samples).
ATTACK_SAMPLES_200: dict[str, Any] = {f"{name}_samples": 200 for name in (
    "hotflip", "universal_train", "universal_eval", "nes", "substitution", "injection", "ood")}

# The seed notebook's regularisers (label smoothing, scheduled teacher forcing, decoder-input noise), which
# the tiny preset leaves out (measurements below) and the larger presets keep.
SEED_REGULARISERS: dict[str, Any] = {"label_smoothing": 0.1, "tf_start": 0.98, "tf_decay": 0.02, "tf_min": 0.85,
                                     "noise_batch_prob": 0.1, "noise_token_prob": 0.1}

# How the tiny preset (the dataclass defaults) was chosen, issue 11: the baseline alone, d_model 64, d_ff 256,
# 2 + 2 layers, batch 32, measured on 200 test examples of the synthetic corpus (one CPU thread; seconds are
# training + validation, most of them on a machine shared with other jobs, so compare them only within a row
# group). Fact recall = the share of the reference's slot values the summary states (evaluate.fact_recall).
#
#   corpus x epochs  lr    vocab  seed regularisers  dropout  val NLL  ROUGE-L  fact recall  seconds
#   4000 x 6         5e-3  2000   on                 0.1      1.165    0.683    0.190        (the old default)
#   4000 x 12        5e-3  2000   on                 0.1      0.609    0.812    0.535        399
#   4000 x 12        1e-2  2000   on                 0.1      0.404    0.855    0.652        409
#   4000 x 12        2e-2  2000   on                 0.1      0.445    0.810    0.477        (an FFN output 194x the residual)
#   4000 x 12 b16    1e-2  2000   on                 0.1      0.375    0.849    0.643
#   4000 x 6 d128    3e-3  2000   on                 0.1      0.570    0.808    0.468
#   4000 x 6 d128    6e-3  2000   on                 0.1      0.666    0.701    0.127
#   4000 x 12        1e-2  4000   on                 0.1      0.511    0.832    0.493        1346 (shared)
#   4000 x 12        1e-2  4000   off                0.1      0.388    0.856    0.552        1313 (shared)
#   4000 x 12        1e-2  2000   off                0.1      0.278    0.880    0.679        1557 (shared)
#   12000 x 4        1e-2  2000   off                0.1      0.252    0.893    0.721        1526 (shared)
#   12000 x 3        1e-2  2000   off                0        0.098    0.963    0.882        284 (two jobs at once)
#   12000 x 4        1e-2  2000   off                0        0.018    0.994    0.972        342 (two jobs at once)
#   12000 x 4 mono   1e-2  2000   off                0        0.038    0.966    0.932        366 (two jobs at once)
#
# (val NLL is per token, so it compares rows of one vocabulary only; the last three rows are greedy, the others beam
# 4; "mono" is the monotonic arm, version 2.) Fresh data beat repeated epochs at the same compute, the seed's
# regularisers cost fact recall, a larger vocabulary too (names become rarer single tokens), and beam settings do
# not matter (the 12000 x 4, dropout 0.1 model: 0.721 with beam 4 and no-repeat-3, 0.716 without no-repeat, 0.707
# greedy). With dropout 0.1 the missed facts were miscopied slot values ("Diega" for "Diego", "3333" for "3383",
# "$56" for "$560"), all of them present verbatim in the source: copying a name or number piece by piece is what
# this small model learns far faster without dropout. Dropout 0 lets the baseline learn the task within the 4 epochs
# (fact recall >= 0.90 and ROUGE-L >= 0.85, the target; 3 epochs fall short at 0.88), and the monotone arm
# learns it too. On the 12000 fresh dialogues, seen at most 4 times, no dropout does not overfit: val NLL still fell
# at the last epoch. The learning rates are the full-budget search in README.md ("mono-s2s tune").

# Presets are overrides of the dataclass defaults (which are the tiny preset).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # CPU: a pair of small models on the embedded corpus (the measurements above), attacked on 100 samples at
    # four budget points each (issue 13). 80 min in all on 2 CPU cores, 66 of them attacks (measured 2026-12-08).
    "tiny": {},
    # The tiny models, attacked as round 2 did, to iterate on a CPU: 20 samples per attack (15 for NES), the
    # headline budget only (no curves). Its numbers have little power; the default's are the experiment.
    "quick": {"attacks": {**{f"{name}_samples": 20 for name in (
        "hotflip", "universal_eval", "substitution", "injection", "ood")}, "nes_samples": 15,
        "hotflip_budgets": (5,), "universal_budgets": (4,), "nes_budgets": (3,), "substitution_budgets": (5,),
        "injection_budgets": (10,), "ood_budgets": (5,)}},
    # The tiny preset with every arm of PROTOCOL.md: both monotone variants and both control arms (init_only,
    # attention_only) beside the baseline. Not the default: the extra arms train 127-197 s each on 2 CPU cores
    # and the attacks double, so the run takes 17.1 min against the default's 7.1 (measured 2026-12-02).
    "controls": {"model": {"variants": ("baseline", "monotonic", "monotonic_cmnn", "init_only", "attention_only")}},
    # CPU, about an hour: big enough that the comparison is worth reading.
    "small": {
        "model": {"d_model": 192, "d_ff": 768, "n_heads": 4, "n_encoder_layers": 3, "n_decoder_layers": 3,
                  "vocab_size": 4000, "dropout": 0.1},
        "data": {"n_train": 8000, "n_validation": 600, "n_test": 600},
        "train": {"epochs": 10, "batch_size": 32, "lr": 1e-3, "variant_lr": (), **SEED_REGULARISERS},
        "attacks": ATTACK_SAMPLES_200,
    },
    # GPU: the seed notebook's sizes.
    "paper": {
        "model": {"d_model": 384, "d_ff": 1536, "n_heads": 6, "n_encoder_layers": 5, "n_decoder_layers": 5,
                  "dropout": 0.2, "vocab_size": 32000},
        "data": {"spec": "seed-mix", "max_source_tokens": 1000, "max_summary_tokens": 96, "summary_max_words": 80},
        "train": {"epochs": 10, "batch_size": 4, "grad_accum_steps": 4, "lr": 2e-4, "variant_lr": (),
                  "weight_decay": 0.01, "warmup_ratio": 0.1, "patience": 3, "eval_batch_size": 16, **SEED_REGULARISERS},
        "attacks": ATTACK_SAMPLES_200,
    },
    # Pretrained T5 from the hub (GPU recommended); the monotone variant starts from its weights.
    "t5-small": {
        "model": {"pretrained": "google-t5/t5-small", "dropout": 0.1},
        "data": {"spec": "dialogsum", "max_source_tokens": 512, "max_summary_tokens": 96,
                 "source_prefix": "summarize: "},
        "train": {"epochs": 3, "batch_size": 8, "grad_accum_steps": 2, "lr": 3e-4, "variant_lr": (),
                  "eval_batch_size": 16, **SEED_REGULARISERS},
    },
    # GPU, not measured here: the original repository's later "fair comparison" edition. Pretrained t5-small,
    # both arms fine-tuned alike (7 epochs at lr 5e-5, no early stopping), on dialogue and news summarization
    # (news-dialogue-mix), evaluated and attacked on CNN/DailyMail's test split; HotFlip (and every other
    # attack) on 200 samples. The edition reports, over 5 seeds (--seeds 5): ROUGE-L 33.16 baseline vs 31.52
    # monotone, HotFlip success 59.5 % vs 17.0 % (its own success rule, not ours: README "Real data").
    "t5-small-fair": {
        "model": {"pretrained": "google-t5/t5-small", "dropout": 0.1},
        "data": {"spec": "news-dialogue-mix", "source_prefix": "summarize: ", "max_source_tokens": 512,
                 "max_summary_tokens": 128, "max_train_samples": 30000, "max_eval_samples": 2000},
        "train": {"epochs": 7, "lr": 5e-5, "variant_lr": (), "batch_size": 8, "grad_accum_steps": 2,
                  "weight_decay": 0.01, "warmup_ratio": 0.1, "max_grad_norm": 1.0, "patience": 0,
                  "eval_batch_size": 16, "num_beams": 4, "no_repeat_ngram_size": 3, "eval_samples": 1000},
        "attacks": ATTACK_SAMPLES_200,
    },
}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the field annotation ``tp`` (int, float, str, bool, Optional, tuple[str, ...])."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, key)
    if origin is tuple:
        (inner, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):  # --set ...=5: a list of one
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"invalid config value for '{key}': expected a list, got {value!r}")
        return tuple(_coerce(v, inner, key) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"invalid config value for '{key}': expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # an item of "1,2,5" from --set
            return int(value)
        raise UserError(f"invalid config value for '{key}': expected an integer, got {value!r}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            # YAML 1.1 reads "1e-3" (no dot) as a string; a user writing --set train.lr=1e-3 means a number.
            try:
                number = float(value)
            except ValueError:
                pass
        if number is not None and not math.isfinite(number):
            raise UserError(f"invalid config value for '{key}': expected a finite number, got {value!r}")
        if number is not None:
            return number
        raise UserError(f"invalid config value for '{key}': expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"invalid config value for '{key}': expected a string, got {value!r}")
    raise TypeError(f"unsupported field type {_type_name(tp)} for {key}")


def _merge(raw: dict[str, dict[str, Any]], overrides: dict[str, Any], origin: str) -> None:
    """Merge nested ``overrides`` into ``raw``, refusing keys that are not dataclass fields."""
    for section, values in overrides.items():
        if section in ("preset", "seeds"):
            raw.setdefault("_top", {})[section] = values
            continue
        if section not in SECTIONS:
            raise UserError(f"unknown config section '{section}' in {origin} (sections: {', '.join(SECTIONS)}, seeds)")
        if not isinstance(values, dict):
            raise UserError(f"config section '{section}' in {origin} must be a mapping of keys to values")
        names = {f.name for f in dataclasses.fields(SECTIONS[section])}
        for key, value in values.items():
            if key not in names:
                retired = RETIRED.get(f"{section}.{key}")
                if retired:
                    raise UserError(f"config key '{section}.{key}' was retired; use {retired} (in {origin})")
                raise UserError(f"unknown config key '{section}.{key}' in {origin}")
            raw.setdefault(section, {})[key] = value


def parse_set(assignment: str) -> dict[str, Any]:
    """``'train.lr=3e-4'`` -> ``{'train': {'lr': 0.0003}}`` (values parsed as YAML scalars)."""
    if "=" not in assignment:
        raise UserError(f"--set expects KEY=VALUE, got '{assignment}'")
    key, text = assignment.split("=", 1)
    key = key.strip()
    value = yaml.safe_load(text) if text.strip() else ""
    if key == "seeds":
        return {"seeds": value}
    if "." not in key:
        raise UserError(f"--set key '{key}' must be SECTION.KEY (sections: {', '.join(SECTIONS)})")
    section, name = key.split(".", 1)
    return {section: {name: value}}


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"config file {p} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {p} must hold a mapping of sections (model, data, train, attacks, tracking)")
    return data


def _preset_of(files: dict[str, dict[str, Any]], preset: str | None) -> str:
    """The preset to build on: ``preset`` (``--preset``) or the one the YAML files name, never two different ones.

    A ``preset:`` key in a config file means "start from that preset": it is applied
    (and validated), not just recorded -- recording it without applying it labelled
    tiny-sized runs "small".
    """
    named = {path: data["preset"] for path, data in files.items() if "preset" in data}
    for path, name in named.items():
        if not isinstance(name, str) or name not in PRESETS:
            raise UserError(f"config file {path}: unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    chosen = preset
    for path, name in named.items():
        if chosen is not None and name != chosen:
            where = "--preset" if chosen == preset else "another config file"
            raise UserError(f"config file {path} says preset '{name}' but {where} says '{chosen}'; keep one of them")
        chosen = name
    return chosen or "tiny"


def build_config(preset: str | None = "tiny", yaml_files: typing.Sequence[str | Path] = (),
                 overrides: typing.Sequence[str] = (), **top: Any) -> ExperimentConfig:
    """Preset, then YAML files, then ``--set`` overrides, then explicit keywords (CLI flags).

    ``preset=None`` means "not chosen": the preset a config file names, else tiny.
    """
    if preset is not None and preset not in PRESETS:
        raise UserError(f"unknown preset '{preset}' (choose from {', '.join(PRESETS)})")
    files = {str(path): load_yaml(path) for path in yaml_files}
    preset = _preset_of(files, preset)
    raw: dict[str, dict[str, Any]] = {}
    _merge(raw, copy.deepcopy(PRESETS[preset]), f"preset '{preset}'")
    for path, data in files.items():
        _merge(raw, {k: v for k, v in data.items() if k != "preset"}, f"config file {path}")
    for assignment in overrides:
        _merge(raw, parse_set(assignment), f"--set {assignment}")
    for key, value in top.items():
        if value is None:
            continue
        section, name = key.split(".", 1) if "." in key else ("_top", key)
        if section == "_top":
            raw.setdefault("_top", {})[name] = value
        else:
            raw.setdefault(section, {})[name] = value
    return config_from_dict(raw, preset=preset)


# Settings an older mono-s2s had, and what replaced them. Given by a user: a one-line error naming the new
# setting. In a saved config (a checkpoint's): dropped, since they only ever concerned the attacks.
RETIRED = {
    "attacks.universal_epochs": "attacks.universal_max_sweeps (the universal search now sweeps until it converges)",
    "attacks.success_threshold": "attacks.success_rouge_drop (success is now decided on the generated summary)",
    "attacks.ood_substitution_rate": "attacks.ood_words (OOD now paraphrases a number of words, as substitution)",
}

# Values an older mono-s2s wrote that this one refuses (its default was one of them). Given by a user: the
# setting's one-line error. In a saved config: replaced by the default, as retired settings are dropped.
OUTDATED: dict[str, Callable[[Any], bool]] = {
    "attacks.nes_population": lambda v: isinstance(v, int) and v % 2 == 1,  # odd: NES now draws mirrored pairs
}


def config_from_dict(raw: dict[str, Any], preset: str = "tiny", saved: bool = False) -> ExperimentConfig:
    """Build a validated config from nested plain values (YAML, JSON or the ``raw`` of :func:`build_config`).

    ``saved``: ``raw`` was written by a mono-s2s run (a checkpoint's config), so :data:`RETIRED` settings and
    :data:`OUTDATED` values are dropped instead of refused: a model trained by an older version still loads.
    """
    unknown = sorted(set(raw) - set(SECTIONS) - {"_top", "preset", "seeds"})
    if unknown:
        raise UserError(f"unknown config section '{unknown[0]}' (sections: {', '.join(SECTIONS)}, seeds)")
    sections = {}
    for name, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        values = {k: _coerce(v, hints[k], f"{name}.{k}") for k, v in (raw.get(name) or {}).items()
                  if k in hints or _unknown(name, k, saved)}
        if saved:
            values = {k: v for k, v in values.items() if not OUTDATED.get(f"{name}.{k}", lambda _: False)(v)}
        sections[name] = cls(**values)
    top = dict(raw.get("_top", {}))
    top.update({k: raw[k] for k in ("seeds", "preset") if k in raw})
    seeds = _coerce(top.get("seeds", 1), int, "seeds")
    return ExperimentConfig(**sections, preset=str(top.get("preset", preset)), seeds=seeds)


def _unknown(section: str, key: str, saved: bool = False) -> bool:
    retired = RETIRED.get(f"{section}.{key}")
    if retired and saved:
        return False
    if retired:
        raise UserError(f"config key '{section}.{key}' was retired; use {retired}")
    raise UserError(f"unknown config key '{section}.{key}'")


def save_yaml(config: ExperimentConfig, path: str | Path) -> None:
    data = config.to_dict()
    data["model"]["variants"] = list(data["model"]["variants"])
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# Short names used in checkpoint folders and wandb run names (the seed's "nonmono"/"mono").
VARIANT_SLUGS = {"baseline": "nonmono", "monotonic": "mono", "monotonic_cmnn": "mono_cmnn", "softplus_gate": "softplus_gate",
                 "init_only": "init_only", "attention_only": "attention_only"}


def first_difference(old: dict[str, Any], new: dict[str, Any], ignore: frozenset[str] = frozenset(),
                     prefix: str = "") -> tuple[str, Any, Any] | None:
    """The first ``(dotted key, old value, new value)`` where two nested config dicts differ, or None.

    Used before reusing anything an earlier run left in an output folder: a finished
    model or attack record is only reused when it was made with the same settings.
    """
    for key in sorted(set(old) | set(new)):
        name = f"{prefix}{key}"
        if name in ignore:
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = first_difference(a, b, ignore, name + ".")
            if found:
                return found
        elif (list(a) if isinstance(a, tuple) else a) != (list(b) if isinstance(b, tuple) else b):
            return name, a, b
    return None
