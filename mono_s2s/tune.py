"""Learning-rate search: every variant at several learning rates, the same budget and one seed (issue 11).

The protocol trains every arm "with its own tuned learning rate under the same step
budget". :func:`tune` runs one short training per (variant, learning rate) with the
:class:`~mono_s2s.train.Trainer` itself, so a trial is trained exactly as the final run
trains (same data, tokenizer, schedule, teacher forcing, noise), and picks for each
variant the learning rate with the lowest best validation NLL.

What every trial shares, so that the comparison is fair:

* the budget: ``epochs`` whole epochs, hence the same number of optimizer steps for
  every trial (the data, batch size and accumulation are shared). Whole epochs, not a
  step count: validation, the best-checkpoint rule and the cosine schedule's length are
  per epoch in the Trainer, and cutting a schedule part-way would compare learning rates
  at an unfinished decay. Early stopping is off (``train.patience=0``): a trial that
  stopped early would have had a smaller budget.
* one seed (``train.seed``): the same initialisation and data order for every trial of a
  variant.
* the measure: the best validation NLL (``val/loss``, the plain token NLL the attacks
  measure, not the label-smoothed training loss) over the budget's epochs.

A short search favours larger learning rates than a long run would want (the usual
short-horizon bias); the printed note says when the winner is at the edge of the grid.
Tracking is off: a trial is not an arm, and 3 x N extra wandb runs would bury the real
ones. Each trial lives in ``out/trials/{slug}_lr{lr}_ep{epochs}``; its numbers go to
``trial.json`` (atomically) and its checkpoints are then removed. A killed search
resumes: finished trials are read back, not rerun, and a trial cut short resumes from
its own ``latest`` checkpoint (the Trainer's resume, with its settings check).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mono_s2s import tracking
from mono_s2s.config import VARIANT_SLUGS, VARIANTS, ExperimentConfig, first_difference, variant_lrs
from mono_s2s.errors import UserError

TRIALS_DIR = "trials"
TRIAL_FILE = "trial.json"
CSV_FILE, JSON_FILE, MARKDOWN_FILE = "tune.csv", "tune.json", "tune.md"
SCHEMA_VERSION = 1
# The default grid around a variant's configured learning rate: a factor of 3 each way (about half a decade),
# rounded to 3 significant digits so that the printed value is the value trained with.
DEFAULT_FACTORS = (1 / 3, 1.0, 3.0)
SELECTION = "lowest best validation NLL (val/loss, plain token NLL) within the same budget"


@dataclass(frozen=True)
class Plan:
    """What a search will train: ``grid[variant]`` = its learning rates (ascending), each for ``epochs`` epochs."""

    grid: dict[str, tuple[float, ...]]
    epochs: int
    seed: int

    @property
    def n_trials(self) -> int:
        return sum(len(lrs) for lrs in self.grid.values())


@dataclass
class Trial:
    """One (variant, learning rate) training. ``best_val_nll`` is None when the run diverged (``diverged`` says how)."""

    variant: str
    slug: str
    lr: float
    best_val_nll: float | None
    best_epoch: int
    final_val_nll: float | None
    # train/epoch_loss of the last epoch (label-smoothed, the optimised loss); None when not seen (resumed at
    # an epoch's end, or diverged).
    final_train_loss: float | None
    epochs: int
    steps: int
    train_time_s: float
    diverged: str | None = None


@dataclass
class TuneResult:
    plan: Plan
    trials: list[Trial]
    best: dict[str, Trial]  # variant -> its best trial (a variant whose every trial diverged is absent)
    edge: dict[str, str]  # variant -> "smallest" / "largest" when its best lr is at that end of its grid
    variant_lr: tuple[str, ...]  # train.variant_lr that applies the result (the config's other entries kept)
    files: tuple[Path, ...]

    @property
    def apply(self) -> str:
        """The flag that trains every arm with its best learning rate."""
        return "--set train.variant_lr=" + ",".join(self.variant_lr)


# --- the plan, checked before anything is loaded or trained ------------------------------------------------------


def parse_lrs(text: str) -> tuple[float, ...]:
    """``"1e-3,3e-3,0.01"`` -> ascending, without repeats; a one-line error naming ``--lrs`` otherwise."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words:
        raise UserError(f"--lrs: name at least one learning rate, e.g. --lrs 1e-3,3e-3,1e-2 (got {text!r})")
    lrs = []
    for w in words:
        try:
            lr = float(w)
        except ValueError:
            raise UserError(f"--lrs: {w!r} is not a number") from None
        if not (math.isfinite(lr) and lr > 0):
            raise UserError(f"--lrs: a learning rate must be positive and finite (got {w})")
        lrs.append(lr)
    return tuple(sorted(set(lrs)))


def parse_variants(text: str) -> tuple[str, ...]:
    names = [w.strip() for w in text.split(",") if w.strip()]
    if not names:
        raise UserError(f"--variants: name at least one variant (choose from {', '.join(VARIANTS)})")
    for name in names:
        if name not in VARIANTS:
            raise UserError(f"--variants: unknown variant '{name}' (choose from {', '.join(VARIANTS)})")
    if len(set(names)) != len(names):
        raise UserError("--variants: a variant is listed twice")
    return tuple(names)


def default_lrs(lr: float) -> tuple[float, ...]:
    return tuple(sorted({float(f"{lr * f:.3g}") for f in DEFAULT_FACTORS}))


def make_plan(cfg: ExperimentConfig, variants: str | None = None, lrs: str | None = None,
              epochs: int | None = None) -> Plan:
    """The trials of a search. Defaults: the config's variants; for each, its own learning rate
    (``train.lr_for``) and a factor of 3 either side; ``train.epochs`` epochs. A one-line error for bad input."""
    chosen = parse_variants(variants) if variants is not None else cfg.model.variants
    shared = parse_lrs(lrs) if lrs is not None else None
    epochs = cfg.train.epochs if epochs is None else epochs
    if epochs < 1:
        raise UserError(f"--epochs: the budget must be at least one epoch (got {epochs})")
    grid = {v: shared if shared is not None else default_lrs(cfg.train.lr_for(v)) for v in chosen}
    return Plan(grid, epochs, cfg.train.seed)


def trial_config(cfg: ExperimentConfig, variant: str, lr: float, epochs: int) -> ExperimentConfig:
    """``cfg`` as one trial trains it: this variant alone, ``lr`` for it, ``epochs`` epochs, no early stopping."""
    return dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, variants=(variant,)),
        train=dataclasses.replace(cfg.train, lr=lr, variant_lr=(), epochs=epochs, patience=0),
        tracking=dataclasses.replace(cfg.tracking, mode="disabled"))


def trial_dir(out: Path, variant: str, lr: float, epochs: int) -> Path:
    """``out/trials/{slug}_lr{lr}_ep{epochs}``: a search with another budget on the same ``out`` adds trials."""
    return Path(out) / TRIALS_DIR / f"{VARIANT_SLUGS[variant]}_lr{lr!r}_ep{epochs}"


# --- one trial -------------------------------------------------------------------------------------------------


class _Recorder:
    """The Trainer's tracker for a trial: keeps the last epoch's training loss, logs nothing anywhere."""

    run_id = None

    def __init__(self) -> None:
        self.train_loss: float | None = None

    def log(self, metrics: dict, step: int | None = None) -> None:
        loss = metrics.get(tracking.TRAIN_EPOCH_KEYS[0])  # "train/epoch_loss"
        if loss is not None:
            self.train_loss = float(loss)

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def _trained_with(cfg: ExperimentConfig) -> dict[str, Any]:
    from mono_s2s.train import _TRAINED_WITH, training_precision

    trained = json.loads(json.dumps({k: cfg.to_dict()[k] for k in _TRAINED_WITH}))  # tuples as lists, as read back
    # train.precision as it resolved here ("auto" is fp32 on CPU, bf16 or fp16 on a GPU); a trial from before the
    # setting existed trained in fp32 (_read_finished).
    trained["train"]["precision"] = training_precision(cfg)
    return trained


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _read_finished(folder: Path, cfg: ExperimentConfig) -> Trial | None:
    """A finished trial's numbers, or None; a one-line error when it was made with other settings."""
    from mono_s2s.train import SPEED_ONLY

    path = folder / TRIAL_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        trial = Trial(**saved["trial"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not a trial record of mono-s2s tune; move it away to run that trial again") \
            from None
    was = saved.get("config") or {}
    if isinstance(was.get("train"), dict):
        was["train"].setdefault("precision", "fp32")
    diff = first_difference(was, _trained_with(cfg), SPEED_ONLY)
    if diff:
        key, was, now = diff
        raise UserError(f"{path}: this trial was run with {key}={was!r}, not {now!r}; use another --out "
                        "(results from different settings are never mixed)")
    return trial


def run_trial(cfg: ExperimentConfig, variant: str, prepared, folder: Path, progress: bool = True) -> tuple[Trial, bool]:
    """Train (or read back) one trial of ``cfg`` (a :func:`trial_config`): ``(trial, trained_now)``."""
    from mono_s2s.checkpoint import write_text_atomically
    from mono_s2s.train import Trainer, TrainingDiverged

    done = _read_finished(folder, cfg)
    if done is not None:
        shutil.rmtree(folder / "checkpoints", ignore_errors=True)  # a kill between writing and removing
        return done, False
    recorder = _Recorder()
    trainer = Trainer(cfg, variant, prepared.corpus, prepared.tokenizer, folder, seed=cfg.train.seed,
                      tracker=recorder, progress=progress)
    lr = cfg.train.lr_for(variant)
    try:
        r = trainer.fit()
        trial = Trial(variant, VARIANT_SLUGS[variant], lr, _finite(r.best_val_loss), r.best_epoch,
                      _finite(r.final_val_loss), recorder.train_loss, r.epochs_trained, r.global_step, r.train_time_s)
    except TrainingDiverged as e:  # a learning rate too large is a result of the search, not its end
        st = trainer.state
        trial = Trial(variant, VARIANT_SLUGS[variant], lr, None, st["best_epoch"], None, None, st["epoch"],
                      st["global_step"], st["train_time_s"], diverged=str(e).split(";")[0])
    if trainer.acc.is_main_process:
        write_text_atomically(folder / TRIAL_FILE, json.dumps({"trial": asdict(trial), "config": _trained_with(cfg)},
                                                              indent=1))
        # Its numbers are kept; its weights are not needed (the final run trains with the chosen lr anew).
        shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    return trial, True


# --- the search ------------------------------------------------------------------------------------------------


def best_per_variant(trials: list[Trial]) -> dict[str, Trial]:
    """Each variant's trial with the lowest best validation NLL; diverged trials never win. A tie goes to
    the smaller learning rate (the safer one over a longer run)."""
    best: dict[str, Trial] = {}
    for t in sorted(trials, key=lambda t: (t.variant, t.lr)):
        if t.best_val_nll is None:
            continue
        if t.variant not in best or t.best_val_nll < best[t.variant].best_val_nll:
            best[t.variant] = t
    return best


def _edges(plan: Plan, best: dict[str, Trial]) -> dict[str, str]:
    edge = {}
    for v, t in best.items():
        lrs = plan.grid[v]
        if len(lrs) > 1 and t.lr == lrs[0]:
            edge[v] = "smallest"
        elif len(lrs) > 1 and t.lr == lrs[-1]:
            edge[v] = "largest"
    return edge


def check_trials(cfg: ExperimentConfig, out: Path, plan: Plan) -> None:
    """Every refusal before a trial is trained: a finished or cut-short trial in ``out`` made with other settings."""
    from mono_s2s.train import check_reusable

    for variant, lrs in plan.grid.items():
        for lr in lrs:
            folder, tcfg = trial_dir(out, variant, lr, plan.epochs), trial_config(cfg, variant, lr, plan.epochs)
            if _read_finished(folder, tcfg) is None:
                check_reusable(folder / "checkpoints" / VARIANT_SLUGS[variant] / "latest", tcfg, variant,
                               tcfg.train.seed)


def tune(cfg: ExperimentConfig, prepared, out: Path, plan: Plan, progress: bool = True) -> TuneResult:
    """Run every trial of ``plan`` (finished ones are read back), pick each variant's best learning rate, write
    ``out/tune.csv``, ``out/tune.json`` and ``out/tune.md`` (atomically) and print one line per trial."""
    from mono_s2s.pipeline import say
    from mono_s2s.progress import interactive

    out = Path(out)
    check_trials(cfg, out, plan)
    trials, n = [], 0
    for variant, lrs in plan.grid.items():
        for lr in lrs:
            n += 1
            folder = trial_dir(out, variant, lr, plan.epochs)
            # Bars only where they redraw in place: in a log the one line below is the trial's line.
            trial, trained = run_trial(trial_config(cfg, variant, lr, plan.epochs), variant, prepared, folder,
                                       progress=progress and interactive())
            trials.append(trial)
            say(f"tune [{n}/{plan.n_trials}] {describe_trial(trial, plan)}" + ("" if trained else " (done before)"))
    best = best_per_variant(trials)
    kept = {name: lr for name, lr in variant_lrs(cfg.train.variant_lr).items() if name not in best}
    chosen = {**kept, **{v: t.lr for v, t in best.items()}}
    entries = tuple(f"{v}={chosen[v]!r}" for v in VARIANTS if v in chosen)
    result = TuneResult(plan, trials, best, _edges(plan, best), entries, ())
    result.files = _write(result, cfg, out)
    return result


def describe_trial(t: Trial, plan: Plan) -> str:
    head = f"{t.variant} lr {t.lr:g}:"
    if t.diverged:
        return f"{head} diverged after step {t.steps} ({t.diverged})"
    return (f"{head} best val NLL {t.best_val_nll:.4f} at epoch {t.best_epoch}/{plan.epochs} "
            f"({t.steps} steps, {t.train_time_s:.0f} s)")


# --- output ----------------------------------------------------------------------------------------------------

COLUMNS = ("variant", "slug", "lr", "best_val_nll", "best_epoch", "final_val_nll", "final_train_loss", "epochs",
           "steps", "train_time_s", "diverged", "best")


def rows(result: TuneResult) -> list[dict[str, Any]]:
    return [{**asdict(t), "best": result.best.get(t.variant) is t} for t in result.trials]


def _write(result: TuneResult, cfg: ExperimentConfig, out: Path) -> tuple[Path, ...]:
    from mono_s2s.checkpoint import write_text_atomically

    table = rows(result)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    plan = result.plan
    data = {
        "schema_version": SCHEMA_VERSION,
        "preset": cfg.preset,
        "seed": plan.seed,
        "epochs": plan.epochs,
        "patience": 0,
        "selection": SELECTION,
        "grid": {v: list(lrs) for v, lrs in plan.grid.items()},
        "best": {v: {"lr": t.lr, "best_val_nll": t.best_val_nll, "best_epoch": t.best_epoch,
                     "edge_of_grid": result.edge.get(v)} for v, t in result.best.items()},
        "no_result": [v for v in plan.grid if v not in result.best],
        "variant_lr": list(result.variant_lr),
        "apply": result.apply,
        "trials": table,
    }
    paths = (out / CSV_FILE, out / JSON_FILE, out / MARKDOWN_FILE)
    write_text_atomically(paths[0], buf.getvalue())
    write_text_atomically(paths[1], json.dumps(data, indent=1))
    write_text_atomically(paths[2], markdown_table(result))
    return paths


def markdown_table(result: TuneResult) -> str:
    """The table as Markdown (what the README shows), the best learning rate of each variant in bold."""
    lines = ["| variant | lr | best val NLL | best epoch | steps | seconds |", "|---|---:|---:|---:|---:|---:|"]
    for t in result.trials:
        mark = "**" if result.best.get(t.variant) is t else ""
        nll = "diverged" if t.best_val_nll is None else f"{mark}{t.best_val_nll:.4f}{mark}"
        lines.append(f"| {t.variant} | {mark}{t.lr:g}{mark} | {nll} | {t.best_epoch}/{result.plan.epochs} | "
                     f"{t.steps} | {t.train_time_s:.0f} |")
    return "\n".join(lines) + "\n"


def print_table(result: TuneResult) -> None:
    plan = result.plan
    steps = sorted({t.steps for t in result.trials if not t.diverged})
    budget = f"{steps[0]} optimizer steps" if len(steps) == 1 else "steps " + ", ".join(map(str, steps))
    print(f"lr search: {plan.epochs} epochs ({budget}) per trial, seed {plan.seed}, no early stopping; "
          f"best = {SELECTION}", flush=True)
    print(f"{'variant':<15} {'lr':>10} {'best val NLL':>13}   {'best epoch':>10} {'steps':>6} {'seconds':>8}")
    for t in result.trials:
        best = result.best.get(t.variant) is t
        nll = "diverged" if t.best_val_nll is None else f"{t.best_val_nll:.4f}"
        print(f"{t.variant:<15} {t.lr:>10g} {nll:>13} {'*' if best else ' '} "
              f"{f'{t.best_epoch}/{plan.epochs}':>10} {t.steps:>6} {t.train_time_s:>8.0f}")
    for v, side in result.edge.items():
        print(f"note: {v}'s best lr {result.best[v].lr:g} is the {side} tried; the optimum may lie beyond it "
              "(widen --lrs)")
    for v in plan.grid:
        if v not in result.best:
            print(f"note: every trial of {v} diverged; its learning rate is left as configured (try smaller --lrs)")
    print(f"apply: {result.apply}")
    print("wrote " + ", ".join(str(p) for p in result.files), flush=True)
