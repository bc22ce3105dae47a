"""Run every attack against every trained model on the same samples with the same budgets.

The adversarial phase of an experiment: load each variant's best checkpoint (and
the quality-matched arm's, :mod:`mono_s2s.matched`, when one was built), pick
the samples once (seeded) so the models can be paired by sample id, then one
loop over (model, attack, samples) -- what each attack is, is the registry's
(:mod:`mono_s2s.attacks.registry`) -- then transfer (triggers found on one model,
evaluated on the others), then the output-level measures of every record
(summaries generated from the clean, attacked and control sources). Every
finished (attack, model, sample) record goes to the record store
(:mod:`mono_s2s.attacks.store`) at once, so an interrupted phase resumes without
redoing finished samples; the wandb rows are :mod:`mono_s2s.attacks.logs`'.

The pipeline calls :func:`prepare_phase`, opens the adversarial wandb run, then
:func:`run_attacks`, and hands the results it returns to the report (data flows
one way: this module never calls the analysis).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mono_s2s.attacks import transfer_name
from mono_s2s.attacks.common import AttackRecord, Objective
from mono_s2s.attacks.logs import log_adversarial, log_hotflip_iterations, log_universal_sweeps
from mono_s2s.attacks.shard import ShardedStore
from mono_s2s.attacks.store import RECORDS_FILE, RecordStore
from mono_s2s.config import VARIANT_SLUGS, ExperimentConfig
from mono_s2s.data.records import Record
from mono_s2s.errors import UserError
from mono_s2s.progress import Stages
from mono_s2s.results import build_results

TRIGGERS_FILE = "universal_triggers.json"


# The attack sample counts drawn from the test split (universal_train_samples comes from validation).
TEST_SAMPLE_COUNTS = ("hotflip_samples", "universal_eval_samples", "nes_samples", "substitution_samples",
                      "injection_samples", "ood_samples")


def check_sample_counts(n_test: int, n_validation: int, args) -> None:
    """A one-line error naming the settings when the splits are too small for the attacks' sample counts.

    Called before anything is trained (:func:`mono_s2s.pipeline.prepare`), and again when samples are drawn.
    """
    short = [f"attacks.{name}={getattr(args, name)}" for name in TEST_SAMPLE_COUNTS if getattr(args, name) > n_test]
    if short:
        raise UserError(f"{', '.join(short)}: the test split has only {n_test} examples; lower "
                        f"{'that setting' if len(short) == 1 else 'those settings'} (or use a larger test split)")
    if args.universal_train_samples > n_validation:
        raise UserError(f"attacks.universal_train_samples={args.universal_train_samples}: the validation split has "
                        f"only {n_validation} examples; lower that setting (or use a larger validation split)")


def select_samples(corpus: dict[str, list[Record]], args) -> dict[str, list[Record]]:
    """The samples each attack uses, the same for every model (seeded by ``attacks.seed``)."""
    check_sample_counts(len(corpus["test"]), len(corpus["validation"]), args)
    rng = random.Random(args.seed)
    test, val = list(corpus["test"]), list(corpus["validation"])
    rng.shuffle(test)
    rng.shuffle(val)
    return {"hotflip": test[:args.hotflip_samples], "nes": test[:args.nes_samples],
            "substitution": test[:args.substitution_samples],
            "injection": test[:args.injection_samples], "ood": test[:args.ood_samples],
            "universal": test[:args.universal_eval_samples],
            "universal_train": val[:args.universal_train_samples]}


def _run_searches(store: RecordStore, objective: Objective, searches: list, desc: str, concurrency: int,
                  progress: bool, on_record: Callable[[AttackRecord], None] | None = None) -> None:
    """Drive ``searches`` through the batched engine, storing every record the moment its search ends.

    Each search returns a list of records (one per budget point it covers); the store keeps only those
    not in it yet (a search redone after a kill may cover a budget already stored: its record is the same).
    A record's ``seconds`` is its search's share of the engine's time, split over the records it returned.
    """
    from mono_s2s.attacks.engine import drive
    from mono_s2s.attacks.store import key
    from mono_s2s.progress import bar as progress_bar

    with progress_bar(total=len(searches), desc=desc, disable=not progress, leave=False) as bar:
        for _, records, seconds in drive(objective, searches, concurrency):
            for record in records:
                if key(record) in store.done:
                    continue
                record.seconds = seconds / len(records)
                store.add(record)
                if on_record is not None:
                    on_record(record)
            bar.update()


def _missing(store: RecordStore, attack: str, slug: str, samples: list[Record], budgets: list[int]
             ) -> dict[tuple[int, ...], list[Record]]:
    """The samples whose records are not all stored, grouped by the budget points each still lacks."""
    todo: dict[tuple[int, ...], list[Record]] = {}
    for sample in samples:
        lacking = tuple(b for b in budgets if (attack, slug, sample.id, b) not in store.done)
        if lacking:
            todo.setdefault(lacking, []).append(sample)
    return todo


SETTINGS_FILE = "attack_settings.json"
# The samples of an attack are a prefix of one seeded shuffle, so raising a count keeps every finished
# record valid (and lowering it is harmless); every other attack setting changes what a record means.
_COUNTS = frozenset({"hotflip_samples", "universal_eval_samples", "nes_samples", "substitution_samples",
                     "injection_samples", "ood_samples",
                     # How many searches share the engine's forwards, and compiling the model: a record is the
                     # same whatever they are.
                     "concurrency", "compile",
                     # Budget points: each record carries its own, so adding or dropping points keeps the others.
                     "hotflip_budgets", "universal_budgets", "nes_budgets", "substitution_budgets",
                     "injection_budgets", "ood_budgets"})


def _same_attack_settings(cfg: ExperimentConfig, results_dir: Path) -> None:
    """Refuse to resume from records made with other attack settings; remember the settings otherwise."""
    from mono_s2s.attacks.ood import wordnet_used
    from mono_s2s.checkpoint import write_text_atomically
    from mono_s2s.config import first_difference
    from mono_s2s.processes import process_rank

    path = results_dir / SETTINGS_FILE
    # ood_wordnet as it took effect: installing WordNet's data changes what the OOD records mean; the precision
    # as resolved ("auto" is fp32 on one machine, bf16 on another).
    now = {**cfg.to_dict()["attacks"], "ood_wordnet": wordnet_used(cfg.attacks), "precision": attack_precision(cfg)}
    if path.is_file() and (results_dir / RECORDS_FILE).is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        before.setdefault("precision", "fp32")  # records from before the setting were made in fp32
        diff = first_difference(before, now, _COUNTS)
        if diff:
            key, was, new = diff
            raise UserError(f"{results_dir / RECORDS_FILE}: these attack records were made with attacks.{key}={was!r}, "
                            f"not {new!r}; use another --out (or move the records away) to attack again")
    if process_rank() == 0:  # every rank checks (and refuses alike); rank 0 writes
        write_text_atomically(path, json.dumps(now, indent=1))


def trained_models(cfg: ExperimentConfig, out: Path) -> dict[str, Path]:
    """Each variant's best checkpoint folder; a one-line error naming the first one not usable, and the fix.

    A model counts as trained only when its best checkpoint would load
    (:func:`~mono_s2s.checkpoint.checkpoint_problem`: config.json and complete
    safetensors weights), so a half-written folder fails here, before anything
    is prepared. Training again repairs a model whose training has not finished;
    a finished one would be skipped as already trained, so for a broken or
    missing checkpoint after training the message says to move the variant's
    checkpoints away first.
    """
    from mono_s2s.checkpoint import checkpoint_problem, resolve
    from mono_s2s.train import read_state, retrain_advice

    best = {VARIANT_SLUGS[v]: out / "checkpoints" / VARIANT_SLUGS[v] / "best" for v in cfg.model.variants}
    for variant, path in zip(cfg.model.variants, best.values()):
        problem = checkpoint_problem(path)
        if problem is None:
            continue
        try:
            finished = bool((read_state(path.parent / "latest") or {}).get("finished"))
        except ValueError:  # a corrupted trainer state: training again cannot resume from it either
            finished = True
        if not resolve(path).exists() and not finished:
            raise UserError(f"no trained {variant} model at {path}: run 'mono-s2s train --variant {variant}' "
                            f"(or 'mono-s2s run') with --out {out} first")
        raise UserError(f"{problem}; {retrain_advice(out, variant)}")
    return best


def attack_device():
    """Where the attacks run: a CUDA GPU when there is one (Colab, a GPU machine; under a launch of several
    processes each rank's own, :func:`mono_s2s.attacks.shard.rank_device`), else the CPU.

    Checkpoints load on the CPU; without this move a GPU user's attack phase would
    silently run there. (Apple's MPS is not chosen: nothing here has been tested on it.)
    """
    from mono_s2s.attacks.shard import rank_device

    return rank_device()


def attack_precision(cfg: ExperimentConfig) -> str:
    """``attacks.precision`` resolved on :func:`attack_device` (fp32 on a CPU), TF32 switched on where it exists."""
    from mono_s2s.precision import enable_tf32, resolve_precision

    device = attack_device()
    enable_tf32(device)
    return resolve_precision(cfg.attacks.precision, device, "attacks.precision")


def load_models(cfg: ExperimentConfig, out: Path) -> dict[str, tuple]:
    """``{slug: (model, tokenizer)}``: each variant's best checkpoint, then the matched arm's when it was built
    (:func:`mono_s2s.matched.built_arm`), on :func:`attack_device`."""
    from mono_s2s.checkpoint import load_checkpoint
    from mono_s2s.matched import built_arm

    device = attack_device()
    models = {}
    for slug, best in {**trained_models(cfg, out), **built_arm(cfg, out)}.items():
        model, tokenizer, _ = load_checkpoint(best)
        models[slug] = (model.to(device), tokenizer)
    return models


@dataclass
class Phase:
    """What the attack phase works on, fixed before its wandb run opens: samples, models, the run's config."""

    samples: dict[str, list[Record]]
    models: dict[str, tuple]  # slug -> (model, tokenizer)
    config: dict  # the experiment config plus the checkpoints attacked and the sample ids (wandb, results file)
    # Wall time per stage of the run so far (the pipeline's training stages; the attack phase adds its own).
    stages: Stages = field(default_factory=Stages)


def prepare_phase(cfg: ExperimentConfig, corpus: dict[str, list[Record]], out: Path) -> Phase:
    """Pick the samples, load the models and check that earlier records (if any) were made with these settings.

    Every refusal (no trained model, too few samples, other attack settings) happens
    here, before anything is attacked or a wandb run is opened.
    """
    samples = select_samples(corpus, cfg.attacks)
    models = load_models(cfg, out)
    _same_attack_settings(cfg, out / "results")
    config = {**cfg.to_dict(), "checkpoints": {s: str(out / "checkpoints" / s / "best") for s in models},
              "samples": {k: [r.id for r in v] for k, v in samples.items()}}
    return Phase(samples, models, config)


def _fill_outputs(store: RecordStore, objectives: dict[str, Objective], samples: dict[str, Record],
                  cfg: ExperimentConfig, progress: bool) -> None:
    """The output-level measures of every record not yet filled in: the generated summary of the clean source,
    of the attacked source and of the control's, their ROUGE-L and fact recall, success, and for injection
    whether each template's summary states the target.

    Generation uses the clean evaluation's settings (:func:`mono_s2s.generate.summarize_with`); each distinct
    text is summarised once per model. ``samples`` maps the attacked samples' ids to them: a record's clean
    source, reference and facts are looked up by its ``sample_id``.
    """
    from mono_s2s.attacks.common import output_success
    from mono_s2s.attacks.injection import injected_texts, injection_obeyed
    from mono_s2s.evaluate import fact_recall, rouge_scores
    from mono_s2s.generate import summarize_with

    for slug, objective in objectives.items():
        todo = [r for r in store.records if r.model == slug and r.success is None]
        if not todo:
            continue
        tried = {r.sample_id: injected_texts(objective, samples[r.sample_id].source, r.extra.target)
                 for r in todo if r.attack == "injection"}  # every template; a record tried the first few
        texts = sorted({samples[r.sample_id].source for r in todo} | {r.perturbed_text for r in todo}
                       | {r.control_text for r in todo if r.control_text is not None}
                       | {t for texts in tried.values() for t in texts})
        out = dict(zip(texts, summarize_with(objective.model, objective.tok, texts, cfg, progress=progress,
                                             batch_size=cfg.train.eval_batch_size, desc=f"summaries {slug}")))
        for r in todo:
            sample = samples[r.sample_id]
            r.original_summary, r.attacked_summary = out[sample.source], out[r.perturbed_text]
            r.control_summary = out[r.control_text] if r.control_text is not None else None
            gen = [r.original_summary, r.attacked_summary] + ([r.control_summary] if r.control_summary is not None else [])
            # Against every reference, the best match (as clean ROUGE-L): a corpus with several references
            # (DialogSum's test split) judges the attacked summary by all of them.
            rouge = rouge_scores(gen, [sample.references] * len(gen))["rougeL"]
            facts = [fact_recall(g, sample.facts) for g in gen]
            r.original_rougeL, r.attacked_rougeL = rouge[0], rouge[1]
            r.original_fact_recall, r.attacked_fact_recall = facts[0], facts[1]
            if len(gen) == 3:
                r.control_rougeL, r.control_fact_recall = rouge[2], facts[2]
            r.success = output_success(r, cfg.attacks)
            if r.attack == "injection":
                e = r.extra
                e.obeyed_per_template = [injection_obeyed(out[t], e.target)
                                         for t in tried[r.sample_id][:len(e.nll_per_template)]]
                e.obeyed = injection_obeyed(r.attacked_summary, e.target)
                e.control_obeyed = e.obeyed_per_template[e.control_template_index]
    store.rewrite()


def _learned_triggers(triggers_file: Path, triggers: dict, slug: str, objective: Objective, train: list[Record],
                      args, budgets: list[int], progress: bool) -> dict[int, list[int]]:
    """The universal trigger of a model at every length in ``budgets``: ``{length: ids}``.

    ``universal_triggers.json`` holds, per model, the headline trigger's record (what the results and wandb
    read) and ``budgets``: every length's. Lengths not learned before are learned now, the restarts of all
    of them driven together by the engine, and written at once (atomically), so a killed phase does not
    learn them again.
    """
    import dataclasses

    from mono_s2s.attacks.engine import run_all
    from mono_s2s.attacks.universal import LearnedTrigger, universal_learning
    from mono_s2s.checkpoint import write_text_atomically

    held = dict(triggers.get(slug, {}).get("budgets", {}))
    todo = [b for b in budgets if str(b) not in held]
    if todo:
        start = time.perf_counter()
        plans = [universal_learning(objective, train, dataclasses.replace(args, universal_trigger_len=b))
                 for b in todo]
        searches = [search for plan, _ in plans for search in plan]
        runs = run_all(objective, searches, progress=progress, desc=f"universal triggers [{slug}]")
        at = 0
        for b, (plan, assemble) in zip(todo, plans):
            learned: LearnedTrigger = assemble(runs[at:at + len(plan)])
            at += len(plan)
            learned.seconds = (time.perf_counter() - start) * learned.queries / max(
                sum(r[4] for r in runs), 1)  # its share of the time the lengths were learned in together
            held[str(b)] = learned.to_dict()
        headline = held[str(args.universal_trigger_len)]
        triggers[slug] = {**headline, "budgets": held}
        write_text_atomically(triggers_file, json.dumps(triggers, indent=1))
    return {b: held[str(b)]["ids"] for b in budgets}


def run_attacks(cfg: ExperimentConfig, phase: Phase, out: Path, tracker, progress: bool = True,
                resumed_run: bool = False) -> dict | None:
    """All attacks on all trained variants, logged to ``tracker`` (the adversarial wandb run).

    Records stream to ``results/attack_records.jsonl`` as samples finish. Returns
    the results (:func:`mono_s2s.results.build_results`); the analysis and the
    results file are the report's (the pipeline passes the results on). Under a
    launch of several processes (:mod:`mono_s2s.attacks.shard`) every rank calls
    this; rank 0 returns the results, the others None once their records are written.
    ``resumed_run``: ``tracker`` continues the wandb run that logged the records
    already on disk, so their per-iteration rows are not logged a second time.
    """
    from mono_s2s.attacks.common import evaluate_triggers_per_sample
    from mono_s2s.attacks.registry import REGISTRY, headline_budget
    from mono_s2s.attacks.universal import universal_attack
    from mono_s2s.precision import maybe_compile

    args, d, samples, models = cfg.attacks, cfg.data, phase.samples, phase.models
    results_dir = out / "results"
    slugs = list(models)
    precision = attack_precision(cfg)
    # Dynamic shapes: the packed forwards come in many (rows, source, label) shapes, one compile serves them all.
    objectives = {slug: Objective(maybe_compile(m, args.compile, dynamic=True), tok, d.max_source_tokens, d.max_summary_tokens,
                                  d.source_prefix, precision=precision)
                  for slug, (m, tok) in models.items()}
    # Each rank of a launch of several processes attacks its shard of the samples (mono_s2s.attacks.shard).
    store = ShardedStore(results_dir)
    dist = store.dist
    progress = progress and dist.is_main
    triggers_file = results_dir / TRIGGERS_FILE
    triggers = json.loads(triggers_file.read_text()) if triggers_file.is_file() else {}

    # HotFlip's per-iteration keys are logged from each finished record (as each sample ends). A phase
    # that opens a new wandb run logs the samples finished before it too (their records are on disk,
    # the run they were first logged in is another one); a resumed run already holds them.
    # Under a launch of several processes, a resumed run lacks the records of other ranks that a killed
    # launch never merged (rank 0, the only one that logs, never saw them).
    headline = {name: headline_budget(name, args) for name in REGISTRY}
    unlogged = store.take_unlogged()
    for record in (unlogged if resumed_run else store.records):
        if record.attack == "hotflip" and record.budget in (None, headline["hotflip"]):
            log_hotflip_iterations(tracker, record)

    def on_record(record: AttackRecord) -> None:
        if record.attack == "hotflip" and record.budget == headline["hotflip"]:
            log_hotflip_iterations(tracker, record)

    # One batched engine run per model over every (attack, budget point, sample) not yet stored; what an
    # attack is, is the registry's. Searches of all attacks share the forward passes.
    for slug, obj in objectives.items():
        learned_before = slug in triggers
        searches = []
        for name, spec in REGISTRY.items():
            points = args.budget_points(name, spec.budget_setting)
            # This rank's shard of the samples (all of them in one process; mono_s2s.attacks.shard).
            todo = _missing(store, name, slug, store.mine(name, slug, samples[spec.samples]), points)
            prepared = None
            if spec.prepare is not None:
                with phase.stages(f"universal triggers {slug}"), dist.main_first():
                    # Rank 0 learns the triggers and writes them; then the others read them.
                    if not dist.is_main:
                        triggers.update(json.loads(triggers_file.read_text()))
                    prepared = _learned_triggers(triggers_file, triggers, slug, obj, samples["universal_train"],
                                                 args, points, progress)
            for lacking, group in todo.items():
                searches += spec.searches(obj, group, args, slug, list(lacking), prepared=prepared)
        with phase.stages(f"attacks {slug}"):
            _run_searches(store, obj, searches, f"attacks [{slug}]", args.concurrency, progress, on_record)
        if slug in triggers and not (resumed_run and learned_before):  # a resumed run holds them already
            log_universal_sweeps(tracker, slug, triggers[slug])

    # Transfer: triggers found on one model (at the headline budget), evaluated on another. A model that
    # resists its own gradients but not transferred triggers shows gradient masking, not robustness.
    with phase.stages("transfer"):
        for source in slugs:
            found = store.get("hotflip", source, headline["hotflip"]).values()
            hot = {r.sample_id: r.extra.trigger_ids for r in found}
            for target in slugs:
                if target == source:
                    continue
                hot_name = transfer_name("hotflip", source, target)
                uni_name = transfer_name("universal", source, target)
                need = [s for s in store.mine(hot_name, target, samples["hotflip"]) if s.id in hot
                        and (hot_name, target, s.id, len(hot[s.id])) not in store.done]
                for record in (evaluate_triggers_per_sample(objectives[target], need, hot, args, target, hot_name)
                               if need else []):
                    store.add(record)
                trig = triggers[source]["ids"]
                need = [s for s in store.mine(uni_name, target, samples["universal"])
                        if (uni_name, target, s.id, len(trig)) not in store.done]
                for record in (universal_attack(objectives[target], need, args, target, progress=False,
                                                prepared=trig, attack=uni_name) if need else []):
                    store.add(record)

    if not store.merge():  # rank 0 merges every rank's records; the others are done
        return None
    for record in store.take_unlogged():  # the other ranks' records: only rank 0 logs
        on_record(record)
    with phase.stages("summaries"):
        _fill_outputs(store, objectives, {r.id: r for v in samples.values() for r in v}, cfg, progress)
    clean, ffn, matched = _from_training(out, slugs)
    results = build_results(store.records, slugs, triggers, samples, phase.config, clean, matched=matched)
    results["ffn_diagnostics"] = ffn
    results["timing_s"]["stages"] = dict(phase.stages.seconds)
    log_adversarial(tracker, store, slugs, results)
    return results


def _from_training(out: Path, slugs: list[str]) -> tuple[dict[str, dict[str, list]], dict[str, dict], dict | None]:
    """``(clean, ffn_diagnostics, matched)`` from each model's training results file, read once.

    ``clean[slug]``: the per-example clean scores on the test split (``ids``, ROUGE-1/2/L and, on the
    embedded corpus, fact recall), for the parity check. ``ffn_diagnostics[slug]``:
    ``{"layers": [...], "summary": {...}}`` (:mod:`mono_s2s.models.diagnostics`). ``matched``: the
    matched arm's record (:meth:`mono_s2s.matched.Match.to_dict`) plus its clean means, or None.
    """
    clean, ffn, matched = {}, {}, None
    for slug in slugs:
        path = out / "results" / f"training_{slug}.json"
        if not path.is_file():
            continue
        done = json.loads(path.read_text(encoding="utf-8"))
        per_example = done.get("per_example") or {}
        clean[slug] = {"ids": [p["id"] for p in done.get("predictions", [])],
                       **{m: per_example.get(m, []) for m in ("rouge1", "rouge2", "rougeL")},
                       **({"fact_recall": per_example["fact_recall"]} if "fact_recall" in per_example else {})}
        if "ffn_diagnostics" in done:
            ffn[slug] = {"layers": done["ffn_diagnostics"], "summary": done.get("ffn_summary")}
        if isinstance(done.get("matched"), dict):
            matched = {**done["matched"], "clean": done.get("clean") or {}}
    return clean, ffn, matched
