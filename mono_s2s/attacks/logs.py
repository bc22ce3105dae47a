"""What the attack phase shows: the seed guide's rows of the adversarial wandb run, and the printed tables.

The runner calls these as records finish (HotFlip's per-iteration values, the
universal trigger's loss per sweep) and once at the end (per-sample comparisons,
summaries, tables); ``mono-s2s attack`` prints :func:`print_results`. Names come
from :mod:`mono_s2s.tracking` (the contract); this module only fills them in.
"""

from __future__ import annotations

from statistics import fmean

from mono_s2s import tracking
from mono_s2s.attacks import ATTACKS
from mono_s2s.attacks.common import AttackRecord
from mono_s2s.attacks.store import RecordStore


def log_hotflip_iterations(tracker, record: AttackRecord) -> None:
    """The guide's per-iteration HotFlip keys for one sample: iterations 5, 10, ... and the last
    (which may be an early stop)."""
    e, keys = record.extra, tracking.hotflip_iteration_keys(record.model)
    n = e.iterations
    for it in range(1, n + 1):
        if it % 5 == 0 or it == n:
            tracker.log(dict(zip(keys, (e.loss_per_iteration[it - 1], e.grad_norms_per_iteration[it - 1],
                                        e.tokens_changed_per_iteration[it - 1], it))))


def log_universal_sweeps(tracker, slug: str, learned: dict) -> None:
    """The universal trigger's training loss after each sweep, per restart (convergence, visible in wandb)."""
    for restart, losses in enumerate(learned["sweep_loss"]):
        for sweep, loss in enumerate(losses):
            tracker.log({tracking.universal_sweep_key(slug, "loss"): loss,
                         tracking.universal_sweep_key(slug, "sweep"): sweep,
                         tracking.universal_sweep_key(slug, "restart"): restart})


def _sample_value(record: AttackRecord, name: str) -> float:
    """A per-sample wandb value of a record: the absolute degradation, the queries, or an attack's own extra."""
    if name == "degradation":
        return record.abs_degradation
    if name == "queries":
        return record.queries
    return getattr(record.extra, name)


def log_adversarial(tracker, store: RecordStore, slugs: list[str], results: dict) -> None:
    """The guide's per-sample comparisons (HotFlip's pattern for every attack), summaries and tables, and each
    attack's robustness curve as a table (``curves/{attack}``, from the results' ``curves`` section)."""
    from mono_s2s.attacks.registry import headline_budget
    from mono_s2s.curves import curve_rows

    pair = [s for s in tracking.SEED_SLUGS if s in slugs]
    for attack in ATTACKS:
        # The per-sample rows are the headline budget's (what the analysis compares); the curves are below.
        budget = headline_budget(attack, results["config"]["attacks"])
        by_model = {slug: {r.sample_id: r for r in store.records if r.attack == attack and r.model == slug
                           and r.budget in (None, budget)} for slug in slugs}
        ids = [i for i in by_model[slugs[0]] if all(i in by_model[s] for s in slugs)]
        names = tracking.sample_value_names(attack)
        rows = []
        for idx, sid in enumerate(ids):
            metrics = {tracking.sample_idx_key(attack): idx}
            for slug in slugs:
                r = by_model[slug][sid]
                metrics.update(zip(tracking.model_sample_keys(attack, slug), (_sample_value(r, n) for n in names)))
            if len(pair) == 2:
                a, b = by_model[pair[0]][sid], by_model[pair[1]][sid]
                metrics[tracking.robustness_delta_key(attack)] = a.abs_degradation - b.abs_degradation
                if attack == "hotflip":
                    mono_norm = b.extra.avg_grad_norm
                    metrics[tracking.HOTFLIP_GRAD_NORM_RATIO] = (a.extra.avg_grad_norm / mono_norm
                                                                 if mono_norm else float("nan"))
            tracker.log(metrics)
            rows.append([sid] + [by_model[s][sid].abs_degradation for s in slugs]
                        + [by_model[s][sid].trigger or "" for s in slugs])
        if rows:
            cols = ["sample_id"] + [f"{s}_degradation" for s in slugs] + [f"{s}_trigger" for s in slugs]
            tracker.log_table(tracking.samples_table_key(attack), cols, rows)
        summary = {}
        for slug, stats in results["summary"][attack].items():
            for name, value in stats.items():
                summary[tracking.attack_summary_key(attack, slug, name)] = value
        if attack == "hotflip":
            for slug in slugs:
                recs = list(by_model[slug].values())
                for name in tracking.HOTFLIP_SUMMARY_EXTRAS:
                    if recs:
                        summary[tracking.attack_summary_key(attack, slug, name)] = fmean(getattr(r.extra, name) for r in recs)
        tracker.log(summary)
        # One row per model and budget point: the columns of curves.csv without attack and unit.
        curves = results.get("curves") or {}
        curve = curve_rows({attack: curves[attack]}) if attack in curves else []
        if curve:
            cols = [c for c in curve[0] if c not in ("attack", "unit")]
            tracker.log_table(tracking.curves_table_key(attack), cols, [[row[c] for c in cols] for row in curve])
    tracker.summary({tracking.TRANSFER: results["transfer"], tracking.UNIVERSAL_TRIGGERS: {
        s: t["text"] for s, t in results["universal_triggers"].items()}, tracking.ATTACK_TIMING: results["timing_s"]})
    m = results.get("matched")
    if m:  # the matched arm has no training run: what it is and its clean scores go here
        tracker.summary({
            **tracking.named(tracking.MATCHED_SUMMARY_KEYS, slug=m["slug"], source=m["source"], step=m["step"],
                             val_loss=m["val_loss"], target_val_loss=m["target"], gap=m["gap"],
                             close_match=m["close_match"]),
            **{tracking.matched_clean_key(metric, k): v[k] for metric, v in m["clean"].items()
               for k in tracking.CLEAN_STATS}})


def print_results(results: dict) -> None:
    """The per-attack table, the transfer matrices and the triggers, as plain text."""
    import pandas as pd

    rows = []
    for attack, per_model in results["summary"].items():
        for slug, s in per_model.items():
            nan = float("nan")
            rows.append({"attack": attack, "model": slug, "n": s["n"], "NLL clean": s["mean_original_nll"],
                         "ΔNLL": s["mean_abs_degradation"], "control ΔNLL": s.get("mean_control_degradation", nan),
                         "excess": s.get("mean_adversarial_excess", nan), "ROUGE-L drop": s.get("mean_rouge_drop", nan),
                         "control drop": s.get("mean_control_rouge_drop", nan),
                         "facts drop": s.get("mean_fact_recall_drop", nan), "success": s["success_rate"],
                         "label fail": s.get("label_failures", 0), "queries": s["mean_queries"],
                         "time s": results["timing_s"].get(attack, nan)})
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(pd.DataFrame(rows).to_string(index=False))
        for kind, matrix in results["transfer"].items():
            print(f"\n{kind} transfer (mean absolute NLL degradation; rows: model the triggers were found on)")
            print(pd.DataFrame(matrix).T.to_string())
    for slug, t in results["universal_triggers"].items():
        sweeps = "; ".join(" ".join(f"{v:.3f}" for v in losses) for losses in t.get("sweep_loss", []))
        print(f"universal trigger found on {slug}: {t['text']!r} (training NLL per sweep, per restart: {sweeps})")
    inj = results["summary"].get("injection", {})
    if inj:
        print("\ninjection, targeted: " + "; ".join(
            f"{slug} obeyed {s['injection_success_rate']:.2f} (control {s['control_injection_success_rate']:.2f}, "
            f"any template {s['any_template_obeyed_rate']:.2f}), target NLL gain {s['mean_target_gain']:.2f} nats"
            for slug, s in inj.items()))
