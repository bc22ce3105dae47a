"""The training loop: one model variant, any scale (CPU, one GPU, many via ``accelerate launch``/``torchrun``).

What it does, after the seed notebook, and where it departs from it:

* AdamW (betas 0.9/0.95), linear warmup then cosine decay (transformers'
  scheduler), gradient accumulation, clipping at ``max_grad_norm`` with the norm
  recorded before and after, label smoothing, early stopping on validation loss.
* Scheduled teacher forcing: ratio ``max(tf_min, tf_start - tf_decay * epoch)``.
  A batch that is not teacher-forced feeds the decoder the model's own greedy
  predictions (two-pass scheduled sampling, Mihaylova & Martins 2019) instead of
  the seed's sequential rollout: same intent, one extra forward instead of T.
* Decoder-input noise: ``noise_batch_prob`` of batches get ``noise_token_prob`` of
  their decoder-input tokens replaced by ``<unk>``, as the seed did.
* Dynamic padding with length bucketing: batches are drawn from length-sorted
  pools, so little compute is spent on padding (the seed padded to the maximum).
* ``train/batch_loss`` is the optimised (label-smoothed) loss; perplexities and
  ``val/loss`` use the plain token NLL, the quantity the attacks measure.
* Weight decay skips norms, biases and the monotone FFN's raw parameters; the
  model decides which (``MonoS2SForConditionalGeneration.parameter_groups``).

Checkpoints: ``latest`` (every ``save_every_steps`` optimizer steps and every
epoch; model, optimizer, scheduler, RNG states and data position) and ``best``
(by validation loss; model, tokenizer, config). The same command on the same
``--out`` resumes from ``latest`` and ends with the same weights as an
uninterrupted run. A non-finite loss stops the run, and so do non-finite weights
or optimizer state at a save: nothing non-finite is ever written, so ``latest``
stays the last good checkpoint (and the message says whether one exists).
Temporary folders have unique names, so a second process cannot collide with
the first's. This module never imports wandb: metrics go to a ``tracker``.

Snapshots (:mod:`mono_s2s.matched`): the runs of the quality-matched pair also keep
weights-only snapshots, every ``matched.snapshot_interval`` optimizer steps and at
every epoch end, each with its validation NLL; the list is part of the trainer state,
so a resumed run keeps the snapshots made up to the checkpoint it resumes from.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.nn import functional as F
from transformers import get_cosine_schedule_with_warmup

from mono_s2s import tracking  # metric names only (wandb is imported lazily, inside Tracker)
from mono_s2s.batching import collate
from mono_s2s.checkpoint import CONFIG_FILE, resolve, save_checkpoint, swap_in, write_checkpoint_files
from mono_s2s.config import VARIANT_SLUGS, ExperimentConfig, first_difference, variant_lrs
from mono_s2s.data.records import Record
from mono_s2s.errors import UserError
from mono_s2s.models import build_model, count_parameters
from mono_s2s.precision import ACCELERATE_NAMES, default_device, enable_tf32, maybe_compile, resolve_precision
from mono_s2s.processes import pid_alive
from mono_s2s.progress import bar as progress_bar

STATE_FILE = "trainer_state.json"


class TrainingDiverged(UserError):
    """The loss, the weights or the optimizer state became NaN or infinite; nothing non-finite was saved."""

    exit_code = 3


@dataclass
class TrainResult:
    variant: str
    slug: str
    seed: int
    epochs_trained: int
    global_step: int
    best_val_loss: float
    final_val_loss: float
    best_epoch: int
    train_time_s: float
    parameters: int
    best_dir: str
    latest_dir: str
    stopped_early: bool
    clean: dict[str, Any] = field(default_factory=dict)
    snapshots: int = 0  # weights-only snapshots kept for the matched arm (mono_s2s.matched)
    snapshot_time_s: float = 0.0  # the time they added (mid-epoch validations, writes), within train_time_s
    precision: str = "fp32"  # what train.precision resolved to on this machine (mono_s2s.precision)


# --- data -------------------------------------------------------------------------------------------------------


def encode(records: list[Record], tokenizer, max_source: int, max_summary: int,
           prefix: str = "") -> list[dict[str, list[int]]]:
    """Token ids per example, truncated (never padded: padding is per batch)."""
    src = tokenizer([prefix + r.source for r in records], truncation=True, max_length=max_source)["input_ids"]
    tgt = tokenizer([r.summary for r in records], truncation=True, max_length=max_summary)["input_ids"]
    return [{"input_ids": s, "labels": t} for s, t in zip(src, tgt)]


POOL = 50  # batches per length-sorted pool (bucketed_batches)


def batches_per_epoch(n_examples: int, args, world: int = 1) -> int:
    """Batches each process trains on per epoch: :func:`bucketed_batches`' count split over ``world`` processes,
    cut to whole optimizer steps (``args.grad_accum_steps``). A one-line error when that is none at all.

    The count does not depend on the shuffle (every pool is cut into ceil(pool size / batch) batches), so
    the pipeline can check it before anything is tokenised or trained, with the Trainer's own rule.
    """
    span = args.batch_size * POOL
    n_batches = sum(-(-min(span, n_examples - start) // args.batch_size)
                    for start in range(0, n_examples, span)) // world
    per_epoch = n_batches - n_batches % args.grad_accum_steps
    if per_epoch == 0:
        raise UserError(f"train.batch_size: {n_examples} training examples make no full optimizer step "
                        f"with batch {args.batch_size} x {args.grad_accum_steps} accumulation x {world} processes")
    return per_epoch


def bucketed_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, pool: int = POOL) -> list[list[int]]:
    """Shuffle, sort by length inside pools of ``pool`` batches, cut into batches, shuffle the batches.

    Deterministic in (seed, epoch), so a resumed run replays the same order.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


# --- the objective ----------------------------------------------------------------------------------------------


def token_losses(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(label-smoothed loss, plain NLL), both means over non-ignored tokens.

    Same definition as ``F.cross_entropy(label_smoothing=...)``: (1-e) NLL + e mean_v(-log p_v).
    """
    logp = F.log_softmax(logits.float(), dim=-1)  # (B, T, V)
    mask = labels != -100
    safe = labels.clamp_min(0)
    nll = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (B, T)
    uniform = -logp.mean(dim=-1)
    n = mask.sum().clamp_min(1)
    nll_mean = (nll * mask).sum() / n
    smooth_mean = (uniform * mask).sum() / n
    return (1 - smoothing) * nll_mean + smoothing * smooth_mean, nll_mean


def teacher_forcing_ratio(args, epoch: int) -> float:
    return max(args.tf_min, args.tf_start - args.tf_decay * epoch)


# --- checkpoints ------------------------------------------------------------------------------------------------


class _NoTracker:
    """Stands in for :class:`mono_s2s.tracking.Tracker` when none is given: every call does nothing."""

    run_id = None
    enabled = False

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


# Settings that only change speed, never the trained model or its scores: a checkpoint made with other
# values of these is resumed and reused as it is. Every other model/data/train setting must match.
# The matched arm's snapshots (train.matched, train.snapshot_every_steps) are validations that draw no random
# numbers, so they do not change the weights either.
# torch.compile (train.compile) computes the same functions, fused differently.
SPEED_ONLY = frozenset({"model.variants", "train.eval_batch_size", "train.save_every_steps", "train.matched",
                        "train.snapshot_every_steps", "train.compile"})
# train.precision is compared as what it resolved to (kept in the trainer state; "fp32" in a state from before the
# setting existed, when everything trained in fp32): "auto" on CPU is fp32, and "auto" on a T4 is not "auto" on an A100.
_PRECISION = "train.precision"
# Compared as the one learning rate the checkpoint's own variant trains with (another arm's lr is no reason).
_LR_KEYS = frozenset({"train.lr", "train.variant_lr"})
_TRAINED_WITH = ("model", "data", "train")  # the config sections a checkpoint depends on


def check_reusable(checkpoint: Path, cfg: ExperimentConfig, variant: str, seed: int) -> None:
    """The one rule for resuming or reusing a checkpoint: a ``UserError`` naming the first setting that differs.

    ``checkpoint`` is a ``latest`` folder; its ``mono_s2s_config.yaml`` holds the
    settings it was trained with, its trainer state the variant and seed. Called
    by the pipeline before a run starts and by :class:`Trainer` before it resumes,
    so both refuse exactly the same things with the same message.
    """
    import yaml

    checkpoint = resolve(checkpoint)
    saved = checkpoint / CONFIG_FILE
    if not saved.is_file():
        return
    old = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
    new = cfg.to_dict()
    diff = first_difference({k: old.get(k) or {} for k in _TRAINED_WITH}, {k: new[k] for k in _TRAINED_WITH},
                            SPEED_ONLY | _LR_KEYS | {_PRECISION})
    old_train = old.get("train") or {}
    was_table = variant_lrs(old_train.get("variant_lr") or ())
    was, now = was_table.get(variant, old_train.get("lr")), cfg.train.lr_for(variant)
    if diff is None and was != now:
        named = variant in was_table or variant in variant_lrs(cfg.train.variant_lr)
        diff = (f"train.variant_lr[{variant}]" if named else "train.lr", was, now)
    if diff is None and (checkpoint / "config.json").is_file():
        # A variant whose definition changed (monotonic's ffn_version): a checkpoint of the old definition would
        # otherwise be resumed into the new one (its weights loaded under another map from V to W), silently.
        import types

        from mono_s2s.models.monotone import saved_version
        from mono_s2s.models.variants import FFN_VARIANTS

        hf = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
        was, now = saved_version(types.SimpleNamespace(**hf)), FFN_VARIANTS[variant].version
        if was != now:
            diff = ("ffn_version", was, now)
    state = read_state(checkpoint) or {}
    for key, now in (("variant", variant), ("seed", seed)):
        if diff is None and key in state and state[key] != now:
            diff = (key, state[key], now)
    if diff is None and state:
        was, now = state.get("precision", "fp32"), training_precision(cfg)
        if was != now:
            raise UserError(f"{checkpoint.parent}: the {variant} model there was trained with {_PRECISION}={was!r}, "
                            f"not {now!r} (as {cfg.train.precision!r} resolves here); set {_PRECISION}={was} to "
                            "resume it, or use another --out (results from different settings are never mixed)")
    if diff:
        key, was, now = diff
        raise UserError(f"{checkpoint.parent}: the {variant} model there was trained with {key}={was!r}, not {now!r}; "
                        "use another --out (results from different settings are never mixed)")


def training_precision(cfg: ExperimentConfig) -> str:
    """``train.precision`` resolved for the device a :class:`Trainer` of ``cfg`` trains on (fp32 on CPU)."""
    return resolve_precision(cfg.train.precision, default_device(), _PRECISION)


def retrain_advice(out: Path, variant: str) -> str:
    """What repairs a model whose best checkpoint is broken after training: its folder out of the way, then train.

    (Training on the same folder would not: a finished run returns at once, a resumed one rewrites ``best``
    only when validation improves on the best epoch's loss.)
    """
    return (f"move {Path(out) / 'checkpoints' / VARIANT_SLUGS[variant]} away and run 'mono-s2s train --variant "
            f"{variant} --out {out}' to train the {variant} model again")


def read_state(latest: Path) -> dict | None:
    latest = resolve(latest)
    f = latest / STATE_FILE
    return json.loads(f.read_text()) if f.is_file() else None


class Trainer:
    """Trains one variant; call :meth:`fit`. Only the main process writes files and logs."""

    def __init__(self, cfg: ExperimentConfig, variant: str, corpus: dict[str, list[Record]], tokenizer,
                 out_dir: Path, seed: int | None = None, tracker=None, progress: bool = True,
                 accelerator: Accelerator | None = None) -> None:
        self.cfg, self.args, self.variant = cfg, cfg.train, variant
        self.slug = VARIANT_SLUGS[variant]
        self.seed = cfg.train.seed if seed is None else seed
        self.tokenizer, self.corpus = tokenizer, corpus
        self.ckpt_dir = Path(out_dir) / "checkpoints" / self.slug
        self.best_dir, self.latest_dir = self.ckpt_dir / "best", self.ckpt_dir / "latest"
        self.tracker = tracker if tracker is not None else _NoTracker()
        # cpu=True without CUDA: that is how accelerate recognises CPU processes under torchrun (gloo);
        # on a CUDA machine accelerate picks the GPUs. mixed_precision: autocast around the model's forwards,
        # fp32 master weights, and for fp16 a gradient scaler (clip_grad_norm_ unscales first, an overflowing
        # step is skipped); "no" (fp32, CPU's auto) leaves the loop exactly as it was.
        self.acc = accelerator or Accelerator(gradient_accumulation_steps=cfg.train.grad_accum_steps,
                                              cpu=not torch.cuda.is_available(),
                                              mixed_precision=ACCELERATE_NAMES[training_precision(cfg)])
        # What the forwards really run in, read back from the accelerator (also when one was passed in).
        self.precision = {"no": "fp32"}.get(self.acc.mixed_precision, self.acc.mixed_precision)
        enable_tf32(self.acc.device)  # what stays fp32 (fp32 runs, autocast's fp32 ops) on Ampere and later
        self.progress = progress and self.acc.is_main_process

        set_seed(self.seed)
        model = build_model(cfg.model, variant, tokenizer, seed=self.seed)
        self.parameters = count_parameters(model)
        d = cfg.data
        self.train_ex = encode(corpus["train"], tokenizer, d.max_source_tokens, d.max_summary_tokens, d.source_prefix)
        self.val_ex = encode(corpus["validation"], tokenizer, d.max_source_tokens, d.max_summary_tokens,
                             d.source_prefix)
        self.lengths = [len(e["input_ids"]) + len(e["labels"]) for e in self.train_ex]

        self.batches_per_epoch = batches_per_epoch(len(self.train_ex), self.args, self.acc.num_processes)
        self.steps_per_epoch = self.batches_per_epoch // self.args.grad_accum_steps
        total = self.steps_per_epoch * self.args.epochs
        from mono_s2s.matched import snapshot_interval

        self.snapshot_every = snapshot_interval(cfg, variant, total)  # None: this run keeps no snapshots

        optimizer = torch.optim.AdamW(model.parameter_groups(self.args.weight_decay), lr=self.args.lr_for(variant),
                                      betas=(self.args.adam_beta1, self.args.adam_beta2))
        # Stepped by hand once per optimizer step: accelerate's wrapper would step it once per process.
        self.scheduler = get_cosine_schedule_with_warmup(optimizer, int(self.args.warmup_ratio * total), total)
        # In place, before prepare (so DDP wraps the compiled module); state-dict keys stay as they are.
        model = maybe_compile(model, self.args.compile)
        self.model, self.optimizer = self.acc.prepare(model, optimizer)
        self.acc.register_for_checkpointing(self.scheduler)

        self.state = {"epoch": 0, "batch": 0, "global_step": 0, "best_val_loss": math.inf, "best_epoch": -1,
                      "patience_counter": 0, "finished": False, "stopped_early": False, "final_val_loss": math.nan,
                      "train_time_s": 0.0, "variant": variant, "seed": self.seed,
                      "wandb_run_id": None, "snapshots": [], "snapshot_time_s": 0.0, "precision": self.precision}

    # -- helpers ---------------------------------------------------------------------------------------------

    @property
    def unwrapped(self):
        return self.acc.unwrap_model(self.model)

    def _my_batches(self, epoch: int) -> list[list[int]]:
        batches = bucketed_batches(self.lengths, self.args.batch_size, self.seed, epoch)
        mine = batches[self.acc.process_index::self.acc.num_processes]
        return mine[: self.batches_per_epoch]

    def _decoder_inputs(self, batch: dict[str, torch.Tensor], used_tf: bool, used_noise: bool) -> torch.Tensor:
        dec = self.unwrapped._shift_right(batch["labels"])
        if not used_tf:
            with torch.no_grad():
                logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    decoder_input_ids=dec).logits
            pred = self.unwrapped._shift_right(logits.argmax(-1))  # the model's guess of each previous token
            # Only where the previous token is a real summary token; start and padding stay as they were.
            inside = self.unwrapped._shift_right((batch["labels"] != -100).long()).bool()
            dec = torch.where(inside, pred, dec)
        if used_noise:
            real = dec != self.tokenizer.pad_token_id
            real[:, 0] = False  # never the start token
            flip = (torch.rand(dec.shape, device=dec.device) < self.args.noise_token_prob) & real
            dec = dec.masked_fill(flip, self.tokenizer.unk_token_id)
        return dec

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        self.model.eval()
        start = time.perf_counter()
        losses, total_nll, total_tok = [], 0.0, 0
        order = sorted(range(len(self.val_ex)), key=lambda i: len(self.val_ex[i]["input_ids"]))
        size = self.args.eval_batch_size
        for i in progress_bar(range(0, len(order), size), desc=f"validate {self.slug}", leave=False,
                              disable=not self.progress):
            batch = collate([self.val_ex[j] for j in order[i:i + size]], self.tokenizer.pad_token_id)
            batch = {k: v.to(self.acc.device) for k, v in batch.items()}
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                decoder_input_ids=self.unwrapped._shift_right(batch["labels"])).logits
            _, nll = token_losses(logits, batch["labels"], 0.0)
            n = int((batch["labels"] != -100).sum())
            losses.append(nll.item())
            total_nll += nll.item() * n
            total_tok += n
        self.model.train()
        loss = total_nll / max(total_tok, 1)
        return tracking.named(tracking.VAL_KEYS, loss=loss, perplexity=math.exp(min(loss, 50)),
                              eval_time=time.perf_counter() - start, min_loss=min(losses), max_loss=max(losses),
                              std_loss=float(np.std(losses)))

    def _sample_rows(self, records: list[Record], epoch: int, n: int = 4) -> list[list]:
        from mono_s2s.generate import summarize_with

        picked = records[:n]
        preds = summarize_with(self.unwrapped, self.tokenizer, [r.source for r in picked], self.cfg, progress=False)
        self.model.train()
        return [[epoch, r.id, r.source, r.summary, p] for r, p in zip(picked, preds)]

    def _kept(self) -> str:
        """What a diverged run leaves to resume from, said as it is."""
        state = read_state(self.latest_dir)
        if state is not None:
            return f"the last good checkpoint (step {state['global_step']}) is kept in {self.latest_dir}"
        return f"no checkpoint had been written yet, so a rerun starts from scratch in {self.ckpt_dir}"

    def _non_finite(self) -> str | None:
        """``"weights"`` or ``"optimizer state"`` when any of its tensors holds a NaN or an infinity, else None."""
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            return "weights"
        optimizer = getattr(self.optimizer, "optimizer", self.optimizer)  # accelerate's wrapper, or the optimizer
        for state in optimizer.state.values():
            for v in state.values():
                if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
                    return "optimizer state"
        return None

    def _refuse_non_finite(self) -> None:
        """Raise before a save that would write NaN/inf: a good ``latest`` is never replaced by a broken one."""
        bad = self._non_finite()
        if bad:
            step = self.state["global_step"]
            raise TrainingDiverged(f"non-finite {bad} after step {step} of {self.variant}; nothing was saved from it, "
                                   f"{self._kept()} (try a lower train.lr)")

    def _tmp_name(self) -> str:
        """A temporary folder name unique to this run's main process (``.latest.tmp-PID-RANDOM``), the same on
        every rank: two processes on one folder never write into each other's temp folder."""
        import secrets

        names = [f".latest.tmp-{os.getpid()}-{secrets.token_hex(4)}" if self.acc.is_main_process else None]
        if self.acc.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            broadcast_object_list(names, from_process=0)
        return names[0]

    def _clear_stale_tmp(self) -> None:
        """Remove temp folders left by killed runs (their PID is gone); a live process's folder is left alone."""
        from mono_s2s.matched import SNAPSHOTS_DIR

        for tmp in [*self.ckpt_dir.glob(".latest.tmp*"), *(self.ckpt_dir / SNAPSHOTS_DIR).glob(".step_*.tmp*")]:
            parts = tmp.name.split("-")
            pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
            if pid is None or not pid_alive(pid):
                shutil.rmtree(tmp, ignore_errors=True)

    def _clear_unlisted_snapshots(self) -> None:
        """Remove snapshot folders the trainer state does not list: a killed run made them after the checkpoint
        it resumes from, and the replay makes them again (a fresh run: they belong to an earlier run)."""
        from mono_s2s.matched import SNAPSHOTS_DIR, snapshot_path

        listed = {snapshot_path(self.ckpt_dir, s["step"]) for s in self.state.get("snapshots") or []}
        for folder in (self.ckpt_dir / SNAPSHOTS_DIR).glob("step_*"):
            if folder not in listed:
                shutil.rmtree(folder, ignore_errors=True)

    def _snapshot(self, epoch: int, val_loss: float) -> None:
        """Weights only (config.json + model.safetensors) at this step, with its validation NLL, written atomically
        (a temp folder swapped in); listed in the trainer state, once per step (a replayed step replaces it)."""
        import secrets

        from mono_s2s.matched import snapshot_path

        self._refuse_non_finite()
        st = self.state
        step = st["global_step"]
        if self.acc.is_main_process:
            path = snapshot_path(self.ckpt_dir, step)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
                self.unwrapped.save_pretrained(tmp, safe_serialization=True)
                swap_in(tmp, path)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self.tracker.log({tracking.SNAPSHOT_VAL_LOSS: val_loss}, step=step)
        st["snapshots"] = [s for s in st["snapshots"] if s["step"] != step] + [
            {"step": step, "epoch": epoch, "val_loss": val_loss}]

    def _save_latest(self) -> None:
        """All processes write their RNG states into one temp folder; the main process swaps it in."""
        self._refuse_non_finite()
        tmp = self.ckpt_dir / self._tmp_name()
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            tmp.mkdir(parents=True)
        self.acc.wait_for_everyone()
        try:
            self.acc.save_state(str(tmp / "training_state"))
            if self.acc.is_main_process:
                write_checkpoint_files(tmp, self.unwrapped, self.tokenizer, self.cfg)
                (tmp / STATE_FILE).write_text(json.dumps(self.state, indent=2))
                swap_in(tmp, self.latest_dir)
        except BaseException:
            if self.acc.is_main_process:  # a full disk, a kill signal: the old latest stays, the half-written copy goes
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.acc.wait_for_everyone()

    def _save_best(self) -> None:
        self._refuse_non_finite()
        if self.acc.is_main_process:
            save_checkpoint(self.best_dir, self.unwrapped, self.tokenizer, self.cfg)

    def _try_resume(self) -> bool:
        state = read_state(self.latest_dir)
        if state is None:
            return False
        check_reusable(self.latest_dir, self.cfg, self.variant, self.seed)
        self.acc.load_state(str(self.latest_dir / "training_state"))
        self.state = state
        return True

    # -- the loop --------------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        if self.acc.is_main_process and self.ckpt_dir.is_dir():
            self._clear_stale_tmp()  # once per run: leftovers of killed runs, never this run's own
        resumed = self._try_resume()
        self.state.setdefault("snapshots", [])  # a state saved before snapshots existed
        self.state.setdefault("snapshot_time_s", 0.0)
        self.state["precision"] = self.precision  # a state from before the setting: check_reusable found it fp32 too
        if self.acc.is_main_process:
            self._clear_unlisted_snapshots()
        self.state["wandb_run_id"] = getattr(self.tracker, "run_id", None) or self.state.get("wandb_run_id")
        if self.state["finished"]:
            return self._result()
        if resumed and self.acc.is_main_process:
            print(f"train {self.variant}: resuming from {self.latest_dir} (epoch {self.state['epoch'] + 1}, "
                  f"batch {self.state['batch']}, step {self.state['global_step']})", flush=True)
        self.model.train()
        args, st = self.args, self.state
        started = time.perf_counter() - st["train_time_s"]
        epochs = progress_bar(range(st["epoch"], args.epochs), desc=f"train {self.slug}", unit="epoch",
                              initial=st["epoch"], total=args.epochs, disable=not self.progress)
        for epoch in epochs:
            ratio = teacher_forcing_ratio(args, epoch)
            batches = self._my_batches(epoch)
            ep_start = time.perf_counter()
            snap_time = 0.0  # mid-epoch snapshots' validations: not training time (train/epoch_time)
            step_losses, step_nlls, norms = [], [], []
            acc_loss, acc_nll, acc_tf, acc_noise, t0 = 0.0, 0.0, 0, 0, time.perf_counter()
            bar = progress_bar(range(st["batch"], len(batches)), desc=f"epoch {epoch + 1}/{args.epochs}",
                               leave=False, disable=not self.progress, initial=st["batch"], total=len(batches))
            for b in bar:
                batch = collate([self.train_ex[i] for i in batches[b]], self.tokenizer.pad_token_id)
                batch = {k: v.to(self.acc.device) for k, v in batch.items()}
                used_tf = random.random() < ratio
                used_noise = random.random() < args.noise_batch_prob
                with self.acc.accumulate(self.model):
                    dec = self._decoder_inputs(batch, used_tf, used_noise)
                    logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                        decoder_input_ids=dec).logits
                    loss, nll = token_losses(logits, batch["labels"], args.label_smoothing)
                    if not torch.isfinite(loss):
                        raise TrainingDiverged(
                            f"non-finite loss ({loss.item()}) at step {st['global_step'] + 1} (epoch {epoch + 1}, "
                            f"batch {b + 1}) of {self.variant}; {self._kept()} (try a lower train.lr)")
                    self.acc.backward(loss)
                    acc_loss += loss.item() / args.grad_accum_steps
                    acc_nll += nll.item() / args.grad_accum_steps
                    acc_tf += used_tf
                    acc_noise += used_noise
                    if self.acc.sync_gradients:
                        norm = float(self.acc.clip_grad_norm_(self.model.parameters(), args.max_grad_norm))
                    self.optimizer.step()
                    self.optimizer.zero_grad()
                if not self.acc.sync_gradients:
                    continue
                self.scheduler.step()
                st["global_step"] += 1
                st["batch"] = b + 1
                clipped = norm * min(1.0, args.max_grad_norm / (norm + 1e-6))
                step_losses.append(acc_loss)
                step_nlls.append(acc_nll)
                norms.append(norm)
                if self.acc.is_main_process:
                    self.tracker.log(tracking.named(
                        tracking.TRAIN_BATCH_KEYS, batch_loss=acc_loss, learning_rate=self.scheduler.get_last_lr()[0],
                        teacher_forcing_ratio=ratio, used_teacher_forcing=acc_tf / args.grad_accum_steps,
                        used_noise=acc_noise / args.grad_accum_steps, batch_time=time.perf_counter() - t0,
                        grad_norm=norm, grad_norm_clipped=clipped, epoch=epoch + 1, batch=st["batch"]),
                        step=st["global_step"])
                bar.set_postfix(loss=f"{acc_loss:.3f}")
                # A snapshot at an epoch's last step is the epoch end's (its validation is done there anyway).
                if self.snapshot_every and st["global_step"] % self.snapshot_every == 0 and st["batch"] < len(batches):
                    s0 = time.perf_counter()
                    self._snapshot(epoch + 1, self.validate()[tracking.VAL_KEYS[0]])
                    snap_time += time.perf_counter() - s0
                    st["snapshot_time_s"] += time.perf_counter() - s0
                acc_loss, acc_nll, acc_tf, acc_noise, t0 = 0.0, 0.0, 0, 0, time.perf_counter()
                if st["global_step"] % args.save_every_steps == 0 and st["batch"] < len(batches):
                    st["train_time_s"] = time.perf_counter() - started
                    self._save_latest()

            # -- end of epoch: statistics, validation, best/latest, snapshot, early stopping
            ep_time = time.perf_counter() - ep_start - snap_time
            val = self.validate()
            val_loss = val[tracking.VAL_KEYS[0]]  # "val/loss"
            st["final_val_loss"] = val_loss
            is_best = val_loss < st["best_val_loss"]
            if is_best:
                st.update(best_val_loss=val_loss, best_epoch=epoch + 1, patience_counter=0)
                self._save_best()
            else:
                st["patience_counter"] += 1
            if self.snapshot_every:
                s0 = time.perf_counter()
                self._snapshot(epoch + 1, val_loss)
                st["snapshot_time_s"] += time.perf_counter() - s0  # the write only: this validation was due anyway
            if self.acc.is_main_process:
                metrics = dict(val)
                if step_losses:  # empty only when resumed exactly at an epoch's end
                    metrics.update(tracking.named(
                        tracking.TRAIN_EPOCH_KEYS, epoch_loss=float(np.mean(step_losses)),
                        epoch_perplexity=math.exp(min(float(np.mean(step_nlls)), 50)), epoch_time=ep_time,
                        batches_per_second=len(step_losses) / ep_time, avg_grad_norm=float(np.mean(norms)),
                        max_grad_norm=float(np.max(norms)), min_batch_loss=float(np.min(step_losses)),
                        max_batch_loss=float(np.max(step_losses)), std_batch_loss=float(np.std(step_losses))))
                metrics.update(tracking.named(tracking.EPOCH_KEYS, epoch=epoch + 1, best_val_loss=st["best_val_loss"],
                                              patience_counter=st["patience_counter"], is_best_epoch=int(is_best)))
                self.tracker.log(metrics, step=st["global_step"])
                # Sample summaries cost a beam search each: only for a tracker that keeps them (not tune's trials).
                if ((epoch + 1) % 2 == 0 or epoch == 0) and getattr(self.tracker, "enabled", True):
                    cols = ["epoch", "id", "source", "reference", "prediction"]
                    self.tracker.log_table(tracking.VAL_SAMPLES_TABLE, cols,
                                           self._sample_rows(self.corpus["validation"], epoch + 1))
                    self.tracker.log_table(tracking.TRAINING_SAMPLES_TABLE, cols,
                                           self._sample_rows(self.corpus["train"], epoch + 1))
                epochs.set_postfix(val_loss=f"{val_loss:.3f}", best=f"{st['best_val_loss']:.3f}")
            st["epoch"], st["batch"] = epoch + 1, 0
            stop = args.patience > 0 and st["patience_counter"] >= args.patience
            st["stopped_early"] = stop and epoch + 1 < args.epochs
            st["finished"] = stop or epoch + 1 == args.epochs
            st["train_time_s"] = time.perf_counter() - started
            self._save_latest()
            if stop:
                epochs.close()  # early stopping: the stage ends here (its log line says after how many epochs)
                break
        return self._result()

    def _result(self) -> TrainResult:
        st = self.state
        return TrainResult(self.variant, self.slug, self.seed, st["epoch"], st["global_step"], st["best_val_loss"],
                           st["final_val_loss"], st["best_epoch"], st["train_time_s"], self.parameters,
                           str(self.best_dir), str(self.latest_dir), st["stopped_early"],
                           snapshots=len(st.get("snapshots") or []), snapshot_time_s=st.get("snapshot_time_s", 0.0),
                           precision=st.get("precision", "fp32"))


def result_dict(result: TrainResult) -> dict[str, Any]:
    return asdict(result)
