"""The stages of an experiment, in order, each a plain function the CLI and the notebook call.

data and tokenizer (:func:`prepare`) -> models (:func:`describe_models`, with a
monotonicity check) -> training, one wandb run per variant (:func:`train_variant`)
-> the quality-matched arm from the trained pair's snapshots (:func:`matched_arm`)
-> attacks -> results -> report, in the adversarial wandb run (:func:`attack_phase`).
:func:`run_experiment` chains them; :func:`run_seeds` repeats them per training seed.
Each stage takes what the previous one returned; a lower stage never calls a higher one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mono_s2s.config import VARIANT_SLUGS, ExperimentConfig
from mono_s2s.data import read_corpus
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError
from mono_s2s.progress import Stages


@dataclass
class Prepared:
    corpus: dict[str, list[Record]]
    tokenizer: object
    tokenizer_dir: Path


def say(message: str) -> None:
    print(message, flush=True)


def check_counts(cfg: ExperimentConfig, corpus: dict[str, list[Record]], attacks: bool = True) -> None:
    """Every count the run will need, checked before anything is trained (one-line errors naming the setting).

    Training needs one full optimizer step and a validation split (early stopping,
    the best checkpoint), clean evaluation a test split, and the attacks their
    sample counts (``attacks=False`` for a run that only trains). Found only at
    the attack phase, a too-small split used to cost both models' training.
    """
    from mono_s2s.attacks.runner import check_sample_counts
    from mono_s2s.matched import pair, snapshot_interval
    from mono_s2s.train import batches_per_epoch

    # The Trainer's own rules (one process; it re-checks for more): a full optimizer step, and enough steps
    # for the matched pair's snapshots to bracket the other arm's best (train.snapshot_every_steps).
    per_epoch = batches_per_epoch(len(corpus["train"]), cfg.train)
    for variant in pair(cfg) or ():
        snapshot_interval(cfg, variant, per_epoch // cfg.train.grad_accum_steps * cfg.train.epochs)
    for split, why in (("validation", "early stopping and the best checkpoint"), ("test", "the clean evaluation")):
        if not corpus[split]:
            raise UserError(f"the {split} split of {cfg.data.spec} is empty; {why} need it")
    if attacks:
        check_sample_counts(len(corpus["test"]), len(corpus["validation"]), cfg.attacks)


def prepare(cfg: ExperimentConfig, out: Path, attacks: bool = True) -> Prepared:
    """Load (or generate) the corpus, check its sizes (:func:`check_counts`), and obtain the tokenizer,
    cached under ``out``. ``attacks=False``: the run only trains, so the attack sample counts are not checked."""
    from mono_s2s.tokenizer import tokenizer_for

    corpus, info = read_corpus(cfg.data, cache_dir=out / "cache")
    sizes = " / ".join(f"{s} {len(corpus[s])}" for s in SPLITS)
    say(f"data: {cfg.data.spec} -- {sizes}")
    if cfg.data.spec.strip() != "synthetic":  # what was read, and from where: the user's files or the hub
        say("\n".join(info.lines()))
    if cfg.data.source_prefix:
        say(f"data: every source is prefixed with {cfg.data.source_prefix!r} (data.source_prefix"
            + (f"; {cfg.model.pretrained}'s own)" if cfg.model.pretrained else ")"))
    check_counts(cfg, corpus, attacks=attacks)
    tok_dir = out / "tokenizer"
    tokenizer, how = tokenizer_for(cfg, corpus["train"], tok_dir)
    if how == "pretrained":
        say(f"tokenizer: {cfg.model.pretrained}'s own ({len(tokenizer)} tokens)")
    elif how == "reused":
        say(f"tokenizer: reused {tok_dir} ({len(tokenizer)} tokens)")
    else:
        from mono_s2s.checkpoint import write_atomically

        write_atomically(tok_dir, tokenizer.save_pretrained)
        say(f"tokenizer: BPE trained on the train split, {len(tokenizer)} tokens -> {tok_dir}")
    return Prepared(corpus, tokenizer, tok_dir)


def describe_models(cfg: ExperimentConfig, tokenizer, seed: int) -> list[dict]:
    """Build every variant at initialisation and check its FFNs' monotonicity; one row per variant.

    A variant without FFN sublayers (``attention_only``) has ``ffn_sublayers`` 0 and None for
    ``ffn_monotone`` and ``min_jacobian_entry``: there is nothing to be monotone or not.
    """
    from mono_s2s.models import build_model, count_parameters
    from mono_s2s.models.checks import check_model

    rows = []
    for variant in cfg.model.variants:
        model = build_model(cfg.model, variant, tokenizer, seed=seed)
        reports = check_model(model)
        rows.append({
            "variant": variant,
            "slug": VARIANT_SLUGS[variant],
            "parameters": count_parameters(model),
            "ffn_sublayers": len(reports),
            "ffn_monotone": all(r.monotone for r in reports) if reports else None,
            "violating_pairs": sum(r.violating_pairs for r in reports),
            "pairs": sum(r.pairs for r in reports),
            "min_jacobian_entry": min(r.min_jacobian_entry for r in reports) if reports else None,
        })
    return rows


def quiet_libraries() -> None:
    """Keep the CLI's output to our own lines and progress bars (HF prints a bar per file it writes)."""
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)


def train_variant(cfg: ExperimentConfig, variant: str, prepared: Prepared, out: Path, seed: int | None = None,
                  progress: bool = True) -> dict:
    """Train one variant in its own wandb run, then score its best checkpoint on the test split.

    Re-running on the same ``out`` resumes an interrupted run, and returns at once
    for a finished one (its results file is kept in ``out/results``).
    """
    import json

    from mono_s2s import tracking
    from mono_s2s.checkpoint import checkpoint_problem, load_checkpoint, resolve
    from mono_s2s.evaluate import CLEAN_METRICS
    from mono_s2s.train import Trainer, check_reusable, read_state, result_dict, retrain_advice, training_precision

    slug = VARIANT_SLUGS[variant]
    results_file = out / "results" / f"training_{slug}.json"
    seed = cfg.train.seed if seed is None else seed
    check_reusable(out / "checkpoints" / slug / "latest", cfg, variant, seed)
    state = read_state(out / "checkpoints" / slug / "latest")
    best = out / "checkpoints" / slug / "best"
    if state and (state.get("finished") or resolve(best).exists()) and (problem := checkpoint_problem(best)):
        # A best checkpoint missing or half-written after training is not a trained model, and training
        # again would not repair it: say what does.
        raise UserError(f"{problem}; {retrain_advice(out, variant)}")
    if state and state.get("finished") and results_file.is_file():
        done = json.loads(results_file.read_text())
        if done.get("seed") == seed:
            say(f"train {variant}: already trained ({results_file}); skipping")
            return done
    # precision: train.precision as it resolves here (the Trainer's rule), since "auto" alone does not say.
    run_config = {**cfg.to_dict(), "variant": variant, "seed": seed, "precision": training_precision(cfg)}
    tracker = tracking.Tracker(cfg.tracking, "training", slug, config=run_config, out_dir=out,
                               resume_id=(state or {}).get("wandb_run_id"))
    with tracker:
        trainer = Trainer(cfg, variant, prepared.corpus, prepared.tokenizer, out, seed=seed, tracker=tracker,
                          progress=progress)
        result = trainer.fit()
        if not trainer.acc.is_main_process:
            return result_dict(result)
        model, tokenizer, _ = load_checkpoint(result.best_dir)
        model.to(trainer.acc.device)
        test = prepared.corpus["test"]
        quality, diagnostics, ffn_means = _score(model, tokenizer, prepared.corpus, cfg, progress)
        result.clean = {k: v for k, v in quality.items() if k in CLEAN_METRICS}
        # The arm's own lr (train.variant_lr); cap_hit: it ran all train.epochs without early stopping, so it may not
        # have converged (issue 11 asks that this is said).
        summary = {**result_dict(result), "lr": cfg.train.lr_for(variant), "cap_hit": not result.stopped_early}
        tracker.summary({
            **tracking.named(
                tracking.TRAINING_SUMMARY_KEYS, variant=variant, parameters=result.parameters,
                architecture={k: v for k, v in cfg.to_dict()["model"].items() if k != "variants"},
                train_size=len(prepared.corpus["train"]), validation_size=len(prepared.corpus["validation"]),
                test_size=len(test), final_val_loss=result.final_val_loss, best_val_loss=result.best_val_loss,
                epochs_trained=result.epochs_trained, best_epoch=result.best_epoch),
            **{tracking.clean_key(m, k): v[k] for m, v in result.clean.items() for k in tracking.CLEAN_STATS},
            **tracking.named(tracking.FFN_SUMMARY_KEYS, **ffn_means)})
        if diagnostics:
            cols = list(diagnostics[0])
            tracker.log_table(tracking.FFN_TABLE, cols, [[row[c] for c in cols] for row in diagnostics])
        tracker.log_model(Path(result.best_dir), name=f"{slug}-best", metadata={"best_val_loss": result.best_val_loss})
    summary["ffn_diagnostics"], summary["ffn_summary"] = diagnostics, ffn_means
    summary["predictions"] = quality["predictions"]
    summary["per_example"] = quality["per_example"]
    results_file.parent.mkdir(parents=True, exist_ok=True)
    from mono_s2s.checkpoint import write_text_atomically

    write_text_atomically(results_file, json.dumps(summary, indent=1))
    snapshots = (f" ({result.snapshots} snapshots for the matched arm: {result.snapshot_time_s:.0f} s of it)"
                 if result.snapshots else "")
    say(f"train {variant}: lr {summary['lr']:g}, {result.epochs_trained} epochs {describe_stop(summary, cfg)} in "
        f"{result.train_time_s:.0f} s{snapshots}, best val loss {result.best_val_loss:.3f}; "
        f"{describe_clean(result.clean)}")
    say(f"train {variant}: FFN diagnostics {describe_diagnostics(diagnostics)}")
    return summary


def describe_stop(summary: dict, cfg: ExperimentConfig) -> str:
    """Why training ended: ``(cap hit, best at epoch 4)`` or ``(converged: ...)``, from a training summary."""
    if summary.get("cap_hit", not summary.get("stopped_early")):
        return f"(cap hit: train.epochs={cfg.train.epochs}, best at epoch {summary['best_epoch']})"
    return (f"(converged: no better validation NLL for train.patience={cfg.train.patience} epochs, best at epoch "
            f"{summary['best_epoch']})")


def describe_clean(clean: dict) -> str:
    """``clean ROUGE-L m [lo, hi], fact recall m [lo, hi] on n test examples`` (fact recall when known; with
    several references, the best match's ROUGE-L and the mean over the references)."""
    from mono_s2s.evaluate import FACT_RECALL, REFMEAN

    def ci(m: dict) -> str:
        return f"{m['mean']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}]"

    r = clean
    facts = f", fact recall {ci(r[FACT_RECALL])}" if FACT_RECALL in r else ""
    # Several references (the mean over them differs from the best match): say which number is which.
    refmean = r.get(f"rougeL{REFMEAN}")
    several = refmean is not None and refmean["mean"] != r["rougeL"]["mean"]
    best = " (best of the references)" if several else ""
    mean = f", mean over the references {ci(refmean)}" if several else ""
    return f"clean ROUGE-L{best} {ci(r['rougeL'])}{mean}{facts} on {r['rougeL']['n']} test examples"


def _score(model, tokenizer, corpus: dict[str, list[Record]], cfg: ExperimentConfig, progress: bool):
    """``(clean quality, FFN diagnostics rows, their means)`` of a best checkpoint: what every arm is scored by."""
    from mono_s2s.evaluate import clean_quality
    from mono_s2s.models.diagnostics import summarize_diagnostics

    quality = clean_quality(model, tokenizer, corpus["test"], cfg, progress=progress)
    diagnostics = _ffn_diagnostics(model, tokenizer, corpus["validation"], cfg)
    return quality, diagnostics, summarize_diagnostics(diagnostics)


def matched_arm(cfg: ExperimentConfig, corpus: dict[str, list[Record]], out: Path, progress: bool = True
                ) -> dict | None:
    """The quality-matched arm (:mod:`mono_s2s.matched`): built from the trained pair's snapshots, then scored.

    Its checkpoint (``checkpoints/{slug}_matched/best``) is written from the stronger arm's snapshot
    closest in validation NLL to the weaker arm's best, then clean-scored exactly as
    :func:`train_variant` scores the others; its results file (``results/training_{slug}_matched.json``,
    the other arms' layout) adds ``matched``: source, step, val NLL, target, gap, ``close_match``. A gap
    over 5 % is said ("no close match"), never hidden. Returns that summary, or None when the arm is off or,
    with ``train.matched`` left null, cannot be made (said in one line). Run again on a finished folder it
    reuses what it built, as long as the pair's runs still give the same match.
    """
    import json

    from mono_s2s import matched
    from mono_s2s.checkpoint import load_checkpoint, write_text_atomically
    from mono_s2s.evaluate import CLEAN_METRICS

    match, why = matched.find_match(cfg, out)
    if match is None:
        if why:
            say(f"matched arm: not built: {why}")
        return None
    results_file = matched.results_path(out, match)
    if matched.built_arm(cfg, out):
        say(f"matched arm: already built ({results_file}); skipping")
        return json.loads(results_file.read_text(encoding="utf-8"))
    best = matched.write_checkpoint(match, cfg, out)
    model, tokenizer, _ = load_checkpoint(best)
    from mono_s2s.attacks.runner import attack_device

    model.to(attack_device())
    quality, diagnostics, ffn_means = _score(model, tokenizer, corpus, cfg, progress)
    clean = {k: v for k, v in quality.items() if k in CLEAN_METRICS}
    from mono_s2s.models import count_parameters

    summary = {"variant": next(v for v, s in VARIANT_SLUGS.items() if s == match.source), "slug": match.slug,
               "seed": cfg.train.seed, "global_step": match.step, "best_val_loss": match.val_loss,
               "parameters": count_parameters(model), "best_dir": str(best), "matched": match.to_dict(),
               "clean": clean, "ffn_diagnostics": diagnostics, "ffn_summary": ffn_means,
               "predictions": quality["predictions"], "per_example": quality["per_example"]}
    write_text_atomically(results_file, json.dumps(summary, indent=1))
    say(f"matched arm: {matched.describe(match)}")
    say(f"matched arm: {describe_clean(clean)}")
    say(f"matched arm: FFN diagnostics {describe_diagnostics(diagnostics)}")
    return summary


def _ffn_diagnostics(model, tokenizer, records: list[Record], cfg: ExperimentConfig, n: int = 64) -> list[dict]:
    """:func:`mono_s2s.models.diagnostics.ffn_diagnostics` on the first ``n`` validation examples (the same
    examples for every variant)."""
    from mono_s2s.batching import collate
    from mono_s2s.models.diagnostics import ffn_diagnostics
    from mono_s2s.train import encode

    d = cfg.data
    examples = encode(records[:n], tokenizer, d.max_source_tokens, d.max_summary_tokens, d.source_prefix)
    return ffn_diagnostics(model, collate(examples, tokenizer.pad_token_id)) if examples else []


def describe_diagnostics(rows: list[dict]) -> str:
    """One line: FFN output against the residual stream, the small-weight share, the top-3 variance share."""
    from mono_s2s.models.diagnostics import summarize_diagnostics

    if not rows:
        return "none (no FFN sublayers)"
    m = summarize_diagnostics(rows)
    ratios = [r["output_residual_ratio"] for r in rows]
    text = (f"output/residual norm {m['output_residual_ratio']:.2f} (layers {min(ratios):.2f}-{max(ratios):.2f}), "
            f"top-3 variance share {m['top3_variance_share']:.2f}")
    if m["small_weight_fraction"] is not None:
        text += (f", weights < 1e-3: {m['small_weight_fraction']:.0%} "
                 f"(down projection {m['small_down_fraction']:.0%})")
    return text


def attack_phase(cfg: ExperimentConfig, corpus: dict[str, list[Record]], out: Path, progress: bool = True,
                 stages: Stages | None = None):
    """Attack every trained variant and the matched arm, then analyse, both in the adversarial wandb run:
    ``(results, report)``. The matched arm is built first when it is on and not built yet (:func:`matched_arm`).

    Data flows one way: the runner's results go to the report, which writes the
    results file and every table (:func:`mono_s2s.report.publish`). Finished
    attack records are not redone.

    The adversarial run's id is kept in ``results/adversarial_run.json`` from the
    moment it opens. A phase that was stopped (killed, interrupted, a full disk)
    resumes that same wandb run when it is run again, as training runs do. A
    phase that had finished opens a new run: it redoes no attack, but logs every
    per-sample row, table and final key again, which would double the finished
    run's history.
    """
    import json

    from mono_s2s import report, tracking
    from mono_s2s.attacks import shard
    from mono_s2s.attacks.runner import prepare_phase, run_attacks
    from mono_s2s.checkpoint import write_text_atomically

    # The matched arm first (built once: `mono-s2s attack` after separate `train` commands builds it here).
    # Under a launch of several processes rank 0 builds it, then the others find it built.
    stages = stages if stages is not None else Stages()
    with stages("matched arm"), shard.context().main_first():
        matched_arm(cfg, corpus, out, progress=progress)
    with stages("load models"):
        phase = prepare_phase(cfg, corpus, out)  # every refusal before a wandb run is opened
    phase.stages = stages
    run_file = out / "results" / "adversarial_run.json"
    try:
        before = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet (or unreadable): a new run
        before = {}
    if not isinstance(before, dict):
        before = {}
    resume_id = before.get("run_id") if before.get("finished") is False else None
    with tracking.Tracker(cfg.tracking, "adversarial", None, config=phase.config, out_dir=out,
                          resume_id=resume_id) as tracker:
        run_id = tracker.run_id or resume_id
        if tracker.run_id:
            write_text_atomically(run_file, json.dumps({"run_id": run_id, "finished": False}))
        results = run_attacks(cfg, phase, out, tracker, progress=progress,
                              resumed_run=bool(resume_id) and tracker.run_id == resume_id)
        if results is None:  # not rank 0 of a launch of several processes: rank 0 reports
            return None, None
        # The analysis goes into this same wandb run (the guide's final/* keys).
        with stages("report"):
            rep = report.publish(results, out, tracker=tracker, quiet=True, n_seeds=cfg.seeds)
    if run_id:
        write_text_atomically(run_file, json.dumps({"run_id": run_id, "finished": True}))
    return results, rep


def run_experiment(cfg: ExperimentConfig, prepared: Prepared, out: Path, progress: bool = True,
                   stages: Stages | None = None):
    """One complete experiment in ``out``: train every variant, attack them all, analyse.

    Returns ``(results, report)`` (see :func:`attack_phase`). Everything resumes:
    finished models and attack records are not redone. ``stages`` collects the wall
    time of each stage (the results keep it in ``timing_s.stages``).
    """
    stages = stages if stages is not None else Stages()
    for variant in cfg.model.variants:
        with stages(f"train {VARIANT_SLUGS[variant]}"):
            train_variant(cfg, variant, prepared, out, progress=progress)
    return attack_phase(cfg, prepared.corpus, out, progress=progress, stages=stages)


def run_seeds(cfg: ExperimentConfig, prepared: Prepared, out: Path, progress: bool = True):
    """``--seeds N``: N independent experiments, then the tables across seeds; returns ``(reports, tables)``,
    ``tables`` as :func:`mono_s2s.report.aggregate_seeds` returns them (one per comparison, equal quality first).

    Seed k trains with ``train.seed + k`` (initialisation and data order) in
    ``out/seed_k``. The corpus, tokenizer and attacked samples are shared, so the
    seeds differ only in training: the across-seed test asks whether the
    difference survives retraining. All runs share one wandb group, and the across-seed tables and findings
    are logged to one more adversarial run of that group.
    """
    import dataclasses

    from mono_s2s import report, tracking

    group = cfg.tracking.group or tracking.seeds_group_name()
    reports = []
    for k in range(cfg.seeds):
        seed = cfg.train.seed + k
        seed_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=seed),
                                       tracking=dataclasses.replace(cfg.tracking, group=group))
        say(f"== seed {k + 1}/{cfg.seeds} (train.seed={seed}) in {out / f'seed_{k}'}")
        _, rep = run_experiment(seed_cfg, prepared, out / f"seed_{k}", progress=progress)
        if rep is None:  # not rank 0 of a launch of several processes (mono_s2s.attacks.shard)
            continue
        if progress:
            report.print_report(rep)
        reports.append(rep)
    if len(reports) < cfg.seeds:  # not rank 0: rank 0 writes the tables across seeds
        return reports, None
    # The across-seed tables go to a wandb run of their own in the seed group (an adversarial run: it holds the
    # group's analysis), as well as to out/results.
    group_cfg = dataclasses.replace(cfg.tracking, group=group)
    with tracking.Tracker(group_cfg, "adversarial", None, config={**cfg.to_dict(), "across_seeds": cfg.seeds},
                          out_dir=out) as tracker:
        tables = report.aggregate_seeds(out, reports, tracker=tracker)
    return reports, tables
