"""The quality-matched comparator arm (PROTOCOL.md "Arms"): the stronger arm's own run, stopped where it was
as good as the weaker arm ever got.

A monotone model that is weaker on clean data than the baseline is not comparable to it: it may resist
attacks only because it is worse (or better) at the task. This arm takes that reading away. Of the pair
(``baseline`` and the first monotone variant of ``model.variants``, :data:`~mono_s2s.config.MONOTONE_VARIANTS`),
the arm with the lower best validation NLL is the *source*; the other arm's best validation NLL is the
*target*; the source's snapshot whose validation NLL is closest to the target becomes the arm
``{source slug}_matched`` (``nonmono_matched`` when the baseline is stronger, ``mono_matched`` otherwise).

Snapshots. Which arm is stronger is known only once both have trained, so both arms of the pair keep
them: every :func:`snapshot_interval` optimizer steps and at every epoch end (whose validation is done
anyway), weights only (``config.json`` + ``model.safetensors`` in
``checkpoints/{slug}/snapshots/step_NNNNNNN/``), each with the validation NLL of that moment, computed by
``Trainer.validate`` exactly as the NLL that picks the best checkpoint (the whole validation split,
teacher-forced, dropout off, no label smoothing). Validation draws no random numbers and leaves the
model in training mode, so a run that keeps snapshots trains to the same weights as one that does not.
Their list (step, epoch, val_loss) lives in the trainer state saved with ``latest``: a resumed run keeps
what it had at that checkpoint and replays the rest, overwriting the same folders (no duplicates).

The choice (:func:`choose_match`, pure). ``gap = |v - t| / t`` for the chosen snapshot's validation NLL
``v`` and the target ``t``; the match is *close* when ``gap <= 5 %`` (:data:`MATCH_TOLERANCE`), and
*bracketed* when the source's snapshots lie on both sides of ``t`` (its best epoch's is always below;
unbracketed, even its first snapshot was already better than the target). Either way a smaller interval
is what narrows a gap. A gap over 5 % is recorded, printed and put in the key findings as
"No close match", never dropped.
Equal validation NLL is the criterion because it is the quantity both runs optimise and select their
best checkpoint by; clean ROUGE and fact recall of the matched arm are then measured, not assumed.

The arm itself is a normal checkpoint folder, ``checkpoints/{slug}_matched/best`` (the source's tokenizer,
the experiment config; :func:`~mono_s2s.checkpoint.load_checkpoint` reads it), built by
:func:`write_checkpoint` and scored and attacked like any other arm (:func:`mono_s2s.pipeline.matched_arm`).
It has no training run of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mono_s2s.config import MONOTONE_VARIANTS, VARIANT_SLUGS, ExperimentConfig
from mono_s2s.errors import UserError

MATCH_TOLERANCE = 0.05  # the largest relative validation-NLL gap that counts as a close match (issue 11)
SUFFIX = "_matched"
SNAPSHOTS_DIR = "snapshots"  # inside checkpoints/{slug}/
# train.snapshot_every_steps=null: the interval that gives about this many snapshots per run, besides the
# epoch ends. Chosen on the tiny preset (2026-12-02: 6 epochs of 125 steps; the baseline's validation NLL
# measured every 5 steps, then thinned): for targets between 1.2x and 2x the stronger arm's best, every
# 25-30 steps (about 24-30 snapshots) left a gap of at most 4.6-5.5 % (median 1.5 %), every 50 (18) up to
# 8 % (78 % of targets closely matched), epoch ends alone (6) up to 15 % (40 %); for targets within 1.2x, 18
# snapshots already stay under 3 %. Cost: one validation pass per snapshot, 38 s and 41 s of the two arms'
# 380 s and 388 s of training (about 10 %) on a shared, loaded 2-core machine. The default run's real target
# (monotonic's best, 1.92x the baseline's) was matched at 2.9 %.
AUTO_SNAPSHOTS = 24


def pair(cfg: ExperimentConfig) -> tuple[str, str] | None:
    """``(baseline, monotone variant)``: the variants the matched arm is built from; None when it is off.

    Off with ``train.matched=false``, and (``null``) when ``model.variants`` lacks either arm; ``true``
    without them is refused by the config itself.
    """
    if cfg.train.matched is False:
        return None
    monotone = next((v for v in cfg.model.variants if v in MONOTONE_VARIANTS), None)
    if "baseline" not in cfg.model.variants or monotone is None:
        return None
    return "baseline", monotone


def pair_slugs(cfg: ExperimentConfig) -> tuple[str, str] | None:
    p = pair(cfg)
    return None if p is None else (VARIANT_SLUGS[p[0]], VARIANT_SLUGS[p[1]])


def matched_slug(source: str) -> str:
    """``nonmono`` -> ``nonmono_matched``."""
    return source + SUFFIX


def snapshot_interval(cfg: ExperimentConfig, variant: str, total_steps: int) -> int | None:
    """Optimizer steps between ``variant``'s snapshots in a run of ``total_steps``; None when it keeps none.

    ``train.snapshot_every_steps`` when set, else ``total_steps // AUTO_SNAPSHOTS`` (at least 1). A set
    interval that leaves fewer than 2 snapshots in the run cannot bracket anything: a one-line
    ``UserError`` naming the setting (the pipeline asks before training, the Trainer again with its own
    process count).
    """
    p = pair(cfg)
    if p is None or variant not in p:
        return None
    every = cfg.train.snapshot_every_steps
    if every is None:
        return max(1, total_steps // AUTO_SNAPSHOTS)
    if total_steps // every < 2:
        raise UserError(f"invalid config value for 'train.snapshot_every_steps': {every} leaves fewer than 2 "
                        f"snapshots in a run of {total_steps} optimizer steps, too few to bracket the other arm's "
                        f"best validation NLL; use at most {max(1, total_steps // 2)} (null: about {AUTO_SNAPSHOTS} "
                        f"per run), or train.matched=false")
    return every


def snapshot_path(ckpt_dir: Path, step: int) -> Path:
    """``checkpoints/{slug}/snapshots/step_NNNNNNN``: the snapshot of one run at one optimizer step."""
    return Path(ckpt_dir) / SNAPSHOTS_DIR / f"step_{step:07d}"


@dataclass(frozen=True)
class Snapshot:
    step: int  # optimizer step, from 1
    epoch: int  # the epoch it was taken in, from 1
    val_loss: float  # validation NLL at that step (nats per token), as Trainer.validate computes it


@dataclass(frozen=True)
class Match:
    """The chosen snapshot and what it was matched to; its ``to_dict`` goes into the results."""

    source: str  # slug of the stronger arm: the run the snapshot comes from
    weaker: str  # slug of the other arm of the pair
    pair: tuple[str, str]  # (baseline slug, monotone slug)
    step: int
    epoch: int
    val_loss: float
    target: float  # the weaker arm's best validation NLL
    source_best: float  # the source's own best validation NLL
    gap: float  # |val_loss - target| / target
    close_match: bool  # gap <= tolerance
    bracketed: bool  # the source's snapshots lie on both sides of the target
    snapshots: int  # how many the source kept
    tolerance: float = MATCH_TOLERANCE

    @property
    def slug(self) -> str:
        return matched_slug(self.source)

    @property
    def comparison(self) -> tuple[str, str]:
        return comparison(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, **asdict(self), "pair": list(self.pair)}


def comparison(record: dict) -> tuple[str, str]:
    """The equal-quality pair of a match record (:meth:`Match.to_dict`, the results file's ``matched``), in the
    pair's order (baseline side first): the matched arm in its source's place, so that a positive paired
    difference still means the monotone side degrades less."""
    a, b = record["pair"]
    slug, source = record["slug"], record["source"]
    return (slug if a == source else a), (slug if b == source else b)


def choose_match(pair_slugs: tuple[str, str], best: dict[str, float], snapshots: dict[str, list[Snapshot]],
                 tolerance: float = MATCH_TOLERANCE) -> Match:
    """The source's snapshot closest in validation NLL to the weaker arm's best (pure).

    The source is the arm of ``pair_slugs`` with the lower ``best`` validation NLL (a tie goes to the first,
    the baseline). Among its ``snapshots`` the closest to the target wins; equally close ones go to the
    earlier step. ``ValueError`` when the source kept none.
    """
    a, b = pair_slugs
    source, weaker = (a, b) if best[a] <= best[b] else (b, a)
    target = float(best[weaker])
    candidates = list(snapshots.get(source) or [])
    if not candidates:
        raise ValueError(f"the {source} run kept no snapshots")
    chosen = min(candidates, key=lambda s: (abs(s.val_loss - target), s.step))
    gap = abs(chosen.val_loss - target) / target if target > 0 else float("inf")
    values = [s.val_loss for s in candidates]
    return Match(source=source, weaker=weaker, pair=(a, b), step=chosen.step, epoch=chosen.epoch,
                 val_loss=float(chosen.val_loss), target=target, source_best=float(best[source]), gap=float(gap),
                 close_match=bool(gap <= tolerance), bracketed=bool(min(values) <= target <= max(values)),
                 snapshots=len(candidates), tolerance=tolerance)


def _read_match(cfg: ExperimentConfig, out: Path) -> tuple[Match | None, str | None]:
    """``(match, None)`` from the pair's finished runs in ``out``, or ``(None, why not)``; ``(None, None)`` when off."""
    from mono_s2s.train import read_state

    p = pair(cfg)
    if p is None:
        return None, None
    slugs = tuple(VARIANT_SLUGS[v] for v in p)
    best, snaps = {}, {}
    for variant, slug in zip(p, slugs):
        latest = Path(out) / "checkpoints" / slug / "latest"
        try:
            state = read_state(latest)
        except ValueError:
            return None, f"the {variant} run's trainer state in {latest} is unreadable"
        if not state or not state.get("finished"):
            return None, f"the {variant} model in {latest.parent} has not finished training"
        best[slug] = float(state["best_val_loss"])
        snaps[slug] = [Snapshot(int(s["step"]), int(s["epoch"]), float(s["val_loss"]))
                       for s in state.get("snapshots") or []]
    source = slugs[0] if best[slugs[0]] <= best[slugs[1]] else slugs[1]
    if not snaps[source]:
        variant = p[slugs.index(source)]
        return None, (f"the {variant} run in {Path(out) / 'checkpoints' / source} (the stronger arm) kept no "
                      "snapshots: it was trained with train.matched=false or by an older mono-s2s")
    return choose_match(slugs, best, snaps), None


def find_match(cfg: ExperimentConfig, out: Path) -> tuple[Match | None, str | None]:
    """The match the pair's runs in ``out`` give now: ``(match, None)``, or ``(None, why not)`` (None: off).

    With ``train.matched=true`` a match that cannot be made is a one-line ``UserError`` instead.
    """
    match, why = _read_match(cfg, out)
    if match is None and why and cfg.train.matched:
        raise UserError(f"train.matched: {why}, so the matched arm cannot be built; train it (again) with "
                        "train.matched left on, or set train.matched=false")
    return match, why


def write_checkpoint(match: Match, cfg: ExperimentConfig, out: Path) -> Path:
    """``checkpoints/{slug}_matched/best`` from the chosen snapshot, the source's tokenizer and ``cfg`` (atomic)."""
    from mono_s2s.checkpoint import checkpoint_problem, save_checkpoint
    from mono_s2s.models import MonoS2SForConditionalGeneration
    from mono_s2s.tokenizer import load_tokenizer
    from mono_s2s.train import retrain_advice

    source_dir = Path(out) / "checkpoints" / match.source
    snapshot = snapshot_path(source_dir, match.step)
    problem = checkpoint_problem(snapshot)
    variant = next(v for v, s in VARIANT_SLUGS.items() if s == match.source)
    if problem:
        raise UserError(f"{problem}; the matched arm is built from it: {retrain_advice(out, variant)}")
    model = MonoS2SForConditionalGeneration.from_pretrained(snapshot, use_safetensors=True)
    tokenizer = load_tokenizer(source_dir / "best")
    return save_checkpoint(Path(out) / "checkpoints" / match.slug / "best", model.eval(), tokenizer, cfg)


def results_path(out: Path, match: Match) -> Path:
    """Where the matched arm's clean scores go: ``results/training_{slug}_matched.json``, the other arms' layout."""
    return Path(out) / "results" / f"training_{match.slug}.json"


def built_arm(cfg: ExperimentConfig, out: Path) -> dict[str, Path]:
    """``{slug: best folder}`` of the matched arm built in ``out`` for the current match; {} when there is none.

    Built means its results file records this very match (same source, step, target): after a pair's
    run is retrained, an older matched arm is not attacked in the new one's place.
    """
    import json

    from mono_s2s.checkpoint import checkpoint_problem

    match, _ = _read_match(cfg, out)
    if match is None:
        return {}
    path = results_path(out, match)
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    best = Path(out) / "checkpoints" / match.slug / "best"
    if not isinstance(done, dict) or done.get("matched") != match.to_dict() or checkpoint_problem(best):
        return {}
    return {match.slug: best}


def describe(match: Match) -> str:
    """One line: where the snapshot comes from, what it was matched to, and whether it is a close match."""
    verdict = (f"gap {match.gap:.1%}, a close match (within {match.tolerance:.0%})" if match.close_match
               else f"gap {match.gap:.1%}: no close match (over {match.tolerance:.0%}; a smaller "
                    "train.snapshot_every_steps takes snapshots nearer the target)")
    # Unbracketed: every snapshot of the stronger run is already better than the target (its best epoch is one).
    where = "" if match.bracketed else "; even the run's first snapshot is better than the target"
    return (f"{match.slug} is {match.source}'s run at step {match.step} (epoch {match.epoch}), val NLL "
            f"{match.val_loss:.3f}, for {match.weaker}'s best {match.target:.3f}: {verdict}{where}")
