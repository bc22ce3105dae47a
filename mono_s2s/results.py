"""The layout of ``results/adversarial_results.json``, and reading it back with one-line errors.

The file is what outside tools (and ``mono-s2s report``) rely on; it holds
enough to recompute every number without a model::

    schema_version  5                                     (1: records had a relative "degradation"; 2: no
                                                          random controls, no output-level measures; 3: one
                                                          budget per attack, no curves; 4: the analysis led
                                                          with NLL, curve areas of two measures only)
    models          ["nonmono", "mono", ...]              variant slugs, baseline first; the quality-matched arm
                                                          ("nonmono_matched" or "mono_matched") last, when built
    software        {"python", "torch", "transformers", "mono_s2s", ...}
    config          the experiment's configuration, the checkpoints attacked, the sample ids
    samples         {attack: [sample ids]}                the same for every model
    attacks         {attack: {model: [record, ...]}}      attacks: hotflip, universal, nes, substitution,
                                                          injection, ood; the headline budget's records only
                                                          (config.attacks.<registry budget_setting>; a record
                                                          with budget null counts as headline), as are
                                                          "summary" and "label_failures"
    curve_records   [record, ...]                         every record at the attacks' other budget points
                                                          (label failures included), by attack, model, budget,
                                                          sample id: with "attacks" and "label_failures", the
                                                          curves' numbers can be recomputed
    curves          {attack: {"unit", "headline", "budgets", "models": {model: {"points": [{"budget", "n",
                    measure: {"mean", "ci_low", "ci_high", "n"}}, ...], "auc": {measure: {"mean", "ci_low",
                    "ci_high", "n", "samples": {sample id: area}}}}}}}   the robustness curves
                    (mono_s2s.curves): measures rouge_drop, fact_recall_drop, success, abs_degradation,
                    adversarial_excess at every budget (95 % t-interval; label failures left out); the
                    normalised area per sample of rouge_drop, fact_recall_drop, adversarial_excess and
                    abs_degradation (mono_s2s.curves.AUC_MEASURES)
    transfer        {"hotflip" | "universal": {source model: {target model: mean absolute degradation}}}
    transfer_records [record, ...]                        attack "hotflip_transfer:nonmono->mono", ...
    universal_triggers {model: {"text", "ids", "loss", "sweep_loss", "converged", "queries"}}   the learned
                                                          trigger, its training loss per sweep and restart
    summary         {attack: {model: {means, success rate, queries}}}   success: the output-level rule
                                                          (mono_s2s.attacks.common.output_success); means of the
                                                          controls, adversarial excess, ROUGE-L and fact-recall
                                                          drops (NaN where no record has one)
    label_failures  {attack: {model: [record, ...]}}      records whose attacked source lost a reference fact:
                                                          counted here, left out of "attacks" (the analysis)
    timing_s        {attack: seconds}                     wall time of each attack, all models, every budget
                                                          (summed from the records' seconds: a resume keeps it)
    clean           {model: {"ids", "rouge1", "rouge2", "rougeL"[, "fact_recall"]}}   per test example, same
                                                          order per model (fact_recall: the embedded corpus)
    ffn_diagnostics {model: {"layers": [...], "summary": {...}}}   is each FFN doing anything (see
                                                          mono_s2s.models.diagnostics), from the training results
    matched         null, or the matched arm (mono_s2s.matched.Match.to_dict): "slug", "source" (the stronger
                    arm's slug), "weaker", "pair", "step", "epoch", "val_loss" (the snapshot's), "target" (the
                    weaker arm's best val NLL), "source_best", "gap" (|val_loss - target| / target),
                    "close_match" (gap <= "tolerance", 0.05), "bracketed", "snapshots", and "clean"
                    ({metric: {"mean", "ci_low", "ci_high", "n"}})
    -- written by the analysis (mono_s2s.report) --
    statistics      {"family": {"size", "alpha", "power", "test", "points", "primary", "clean"},   analysis v2
                     "measures": {measure: {"role", "name"}}, "comparisons": [{"name", "a", "b", "kind", "label"}],
                     "tests": [row of mono_s2s.analysis.TEST_COLUMNS, ...],   every test: comparison x attack x
                              point (headline | area | overall | clean) x measure, with "holm_p" over the family
                     "success": [{"comparison", "attack", "a_success_rate", "b_success_rate", "discordant",
                                  "mcnemar_p", "mcnemar_note", ...}],
                     "arms": [{"attack", "model", "measure", "mean", "ci_low", "ci_high", "n"}]}
    overall         {comparison: {measure: test row}}      the overall tests (the sample as unit)
    clean_parity    {metric: {...}}
    key_findings    [sentence, ...]

A record is :meth:`mono_s2s.attacks.common.AttackRecord.to_dict`. "Degradation"
means one thing everywhere (here, in the wandb keys ``{attack}/{model}_degradation``
and ``overall_{model}_degradation``, in the tables): attacked − clean NLL, in nats,
``abs_degradation``; the relative form ``(attacked − clean) / clean`` is always
called ``rel_degradation``. Schema 1 also stored the relative form as
``degradation``; such a file is refused with a one-line error (``mono-s2s attack``
on the same folder rebuilds it from the records). The stable minimum of a record
is :data:`RECORD_FIELDS`, the type of each of its fields :data:`RECORD_TYPES`
(checked by :func:`load_results` and by the runner's record store).

:func:`build_results` makes the attack sections from the records; the report
adds the analysis sections and writes the file (:mod:`mono_s2s.report`).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from statistics import fmean
from typing import Any

from mono_s2s.attacks import ATTACKS, TRANSFER_ATTACKS, transfer_name
from mono_s2s.errors import UserError

SCHEMA_VERSION = 5
RESULTS_FILE = "adversarial_results.json"
RECORD_FIELDS = ("sample_id", "abs_degradation", "rel_degradation", "original_nll", "attacked_nll", "success")

# The type of every field of a record: AttackRecord's fields (mono_s2s.attacks.common), then the numbers its
# to_dict adds. Written out here, not read from the dataclass, so that reading a results file needs no torch;
# tests/test_faults_files.py checks that it agrees with AttackRecord's annotations. "number" is an int or a
# float (NaN included: json writes it), never a bool; "integer" is never a bool either.
RECORD_TYPES: dict[str, tuple[str, bool]] = {  # field -> (kind, may be null)
    "attack": ("string", False), "model": ("string", False), "sample_id": ("string", False),
    "original_nll": ("number", False), "attacked_nll": ("number", False),
    "queries": ("integer", False), "perturbed_text": ("string", False), "trigger": ("string", True),
    "tokens_changed": ("integer", False), "budget": ("integer", True), "control_nll": ("number", True), "control_text": ("string", True),
    "label_preserved": ("boolean", True),
    "original_summary": ("string", True), "attacked_summary": ("string", True), "control_summary": ("string", True),
    "original_rougeL": ("number", True), "attacked_rougeL": ("number", True), "control_rougeL": ("number", True),
    "original_fact_recall": ("number", True), "attacked_fact_recall": ("number", True),
    "control_fact_recall": ("number", True), "success": ("boolean", True), "seconds": ("number", False),
    "extra": ("object", False),
    "original_ppl": ("number", False), "attacked_ppl": ("number", False), "abs_degradation": ("number", False),
    "rel_degradation": ("number", False), "control_degradation": ("number", True),
    "adversarial_excess": ("number", True), "rouge_drop": ("number", True), "control_rouge_drop": ("number", True),
    "fact_recall_drop": ("number", True), "control_fact_recall_drop": ("number", True),
}
_KIND_NAMES = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "true or false",
               "object": "an object"}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "object": dict}[kind])


def json_type(value: Any) -> str:
    """What a JSON value is, in words: ``null``, ``a string``, ``a list``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), f"a {type(value).__name__}")


def record_problem(record: Any, required) -> tuple[str, str] | None:
    """What is wrong with a stored record (a JSON value): ``(field, problem)``, or None if nothing.

    ``field`` is "" when the record is not an object at all. ``required`` lists
    the fields that must be present; every field that is present must have its
    :data:`RECORD_TYPES` type (unknown fields are left alone).
    """
    if not isinstance(record, dict):
        return "", f"must be an object, found {json_type(record)}"
    for name in required:
        if name not in record:
            return name, "is missing"
    for name, value in record.items():
        kind, nullable = RECORD_TYPES.get(name, (None, True))
        if kind is None or (value is None and nullable) or _is_kind(value, kind):
            continue
        return name, f"must be {_KIND_NAMES[kind]}{' or null' if nullable else ''}, found {json_type(value)}"
    return None


def software_versions() -> dict[str, str]:
    import numpy
    import scipy
    import torch
    import transformers

    from mono_s2s import __version__

    return {"python": platform.python_version(), "mono_s2s": __version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__}


def _by_sample(records) -> dict[tuple[str, str], dict]:
    """``{(attack, model): {sample_id: record}}`` (a later record of the same sample replaces an earlier one)."""
    index: dict[tuple[str, str], dict] = {}
    for r in records:
        index.setdefault((r.attack, r.model), {})[r.sample_id] = r
    return index


def headline_budgets(config: dict | None) -> dict[str, int]:
    """Each attack's headline budget: ``config["attacks"]`` at the registry's ``budget_setting`` (AttackArgs'
    default when the config does not say)."""
    from mono_s2s.attacks.registry import REGISTRY
    from mono_s2s.config import AttackArgs

    given = (config or {}).get("attacks") or {}
    defaults = AttackArgs()
    return {name: int(given.get(spec.budget_setting, getattr(defaults, spec.budget_setting)))
            for name, spec in REGISTRY.items()}


def _split_budgets(records, heads: dict[str, int]) -> tuple[list, dict[tuple[str, str, int], dict]]:
    """``(headline records, {(attack, model, budget): {sample_id: record}})``: the records of an attack at a
    budget other than its headline one go to the second (a later record of the same point replaces an earlier
    one); a record without a budget, and every transfer record, is a headline record."""
    headline, others = [], {}
    for r in records:
        if r.attack in heads and r.budget is not None and r.budget != heads[r.attack]:
            others.setdefault((r.attack, r.model, r.budget), {})[r.sample_id] = r
        else:
            headline.append(r)
    return headline, others


def build_results(records, slugs: list[str], triggers: dict, samples: dict, config: dict, clean: dict,
                  matched: dict | None = None) -> dict:
    """The results of an attack phase from its records (``AttackRecord``s): every section the runner owns.

    Records per attack and model (sorted by sample id), their means, the
    transfer matrices and records, the universal triggers, the attack times, the
    config, the clean per-example scores and the matched arm's record (when it
    is one of ``slugs``). The analysis sections are added by the report.

    Records at a budget other than the attack's headline one (:func:`headline_budgets`)
    go to ``curve_records`` only; ``curves`` is :func:`mono_s2s.curves.attack_curve`
    over every budget, so the headline sections (and the analysis) are what they
    were before the curves.
    """
    from mono_s2s.attacks.registry import REGISTRY
    from mono_s2s.curves import attack_curve

    heads = headline_budgets(config)
    headline_records, at_budgets = _split_budgets(records, heads)
    index = _by_sample(headline_records)

    def get(attack: str, slug: str) -> list:
        return list(index.get((attack, slug), {}).values())

    attacks: dict[str, dict] = {}
    summary: dict[str, dict] = {}
    # Wall time of each attack, all models: the seconds its records took (plus learning the universal
    # triggers), whichever run made them -- a resumed run reports the work, not the resume.
    timing = {attack: 0.0 for attack in ATTACKS}
    # A model's triggers at every length are under "budgets" (the headline one among them).
    timing["universal"] = sum(sum(b.get("seconds", 0.0) for b in t["budgets"].values()) if "budgets" in t
                              else t.get("seconds", 0.0) for s, t in triggers.items() if s in slugs)
    label_failures: dict[str, dict] = {}
    for attack in ATTACKS:
        attacks[attack], summary[attack], label_failures[attack] = {}, {}, {}
        for slug in slugs:
            every = sorted(get(attack, slug), key=lambda r: r.sample_id)
            timing[attack] += sum(r.seconds for r in every)
            timing[attack] += sum(r.seconds for (a, s, _), recs in at_budgets.items() if (a, s) == (attack, slug)
                                  for r in recs.values())
            # A record whose attacked source no longer states a reference fact is not a valid attack on
            # that reference: counted and kept here, left out of the records the analysis reads.
            failed = [r for r in every if r.label_preserved is False]
            recs = [r for r in every if r.label_preserved is not False]
            attacks[attack][slug] = [r.to_dict() for r in recs]
            label_failures[attack][slug] = [r.to_dict() for r in failed]
            if not recs:
                continue
            summary[attack][slug] = {
                "n": len(recs), "label_failures": len(failed),
                "mean_abs_degradation": fmean(r.abs_degradation for r in recs),
                "mean_rel_degradation": fmean(r.rel_degradation for r in recs),
                **{f"mean_{name}": _mean_or_nan(getattr(r, name) for r in recs) for name in OUTPUT_MEANS},
                "success_rate": _mean_or_nan(None if r.success is None else float(r.success) for r in recs),
                "mean_queries": fmean(r.queries for r in recs),
                "mean_original_nll": fmean(r.original_nll for r in recs),
                "mean_attacked_nll": fmean(r.attacked_nll for r in recs)}
            if attack == "universal":
                summary[attack][slug]["survives_truncation_rate"] = _rate(r.extra.survives_truncation for r in recs)
            if attack == "injection":  # the targeted measures, apart from the untargeted damage above
                summary[attack][slug].update(
                    injection_success_rate=_rate(r.extra.obeyed for r in recs),
                    control_injection_success_rate=_rate(r.extra.control_obeyed for r in recs),
                    any_template_obeyed_rate=_rate(None if r.extra.obeyed_per_template is None
                                                   else any(r.extra.obeyed_per_template) for r in recs),
                    mean_target_gain=fmean(r.extra.target_nll_clean - r.extra.target_nll for r in recs))
    transfer, transfer_records = {}, []
    for kind in TRANSFER_ATTACKS:
        matrix = {}
        for source in slugs:
            matrix[source] = {}
            for target in slugs:
                recs = get(kind if source == target else transfer_name(kind, source, target), target)
                matrix[source][target] = fmean(r.abs_degradation for r in recs) if recs else None
                if source != target:
                    transfer_records += [r.to_dict() for r in recs]
        transfer[kind] = matrix
    curve_records = [r.to_dict() for attack in ATTACKS for slug in slugs
                     for (a, s, b), recs in sorted(at_budgets.items(), key=lambda kv: kv[0][2])
                     if (a, s) == (attack, slug) for _, r in sorted(recs.items())]
    curves = {attack: attack_curve(
        [r.to_dict() for slug in slugs for r in get(attack, slug)] + [r for r in curve_records if r["attack"] == attack],
        list(slugs), REGISTRY[attack].budget_unit, heads[attack]) for attack in ATTACKS}
    return {"schema_version": SCHEMA_VERSION, "models": list(slugs), "software": software_versions(),
            "samples": {k: [r.id for r in v] for k, v in samples.items()}, "attacks": attacks,
            "summary": summary, "label_failures": label_failures, "curve_records": curve_records, "curves": curves,
            "transfer": transfer, "transfer_records": transfer_records,
            "universal_triggers": {s: {k: t[k] for k in ("text", "ids", "loss", "sweep_loss", "converged", "queries")
                                       if k in t} for s, t in triggers.items()},
            "timing_s": timing, "config": config, "clean": clean,
            "matched": matched if matched and matched.get("slug") in slugs else None}


# The record measures whose means the summary holds (NaN when no record has one: no control, no facts).
OUTPUT_MEANS = ("control_degradation", "adversarial_excess", "rouge_drop", "control_rouge_drop", "fact_recall_drop",
                "control_fact_recall_drop")


def _mean_or_nan(values) -> float:
    known = [v for v in values if v is not None]
    return fmean(known) if known else float("nan")


def _rate(flags) -> float:
    return _mean_or_nan(None if f is None else float(f) for f in flags)


def load_results(path: Path) -> dict[str, Any]:
    """The results file, checked: a missing, corrupted or incomplete file is a ``UserError`` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no results at {path}: run 'mono-s2s attack' (or 'mono-s2s run') with this --out first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start}): the file is corrupted") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}): the file is corrupted or was cut "
                        "off; 'mono-s2s attack' with the same --out rebuilds it from attack_records.jsonl") from None
    _check(path, data, "", dict, "an object")
    _check(path, data.get("schema_version"), "schema_version", int, "an integer")
    if data["schema_version"] > SCHEMA_VERSION:
        raise UserError(f"{path}: schema_version {data['schema_version']} is newer than this mono-s2s understands "
                        f"({SCHEMA_VERSION}); upgrade mono-s2s")
    if data["schema_version"] == 4:  # same records: only the analysis changed
        raise UserError(f"{path}: schema_version 4 was written by an older mono-s2s ({_OLDER[4]}); 'mono-s2s "
                        f"attack' with the same --out rebuilds it from attack_records.jsonl without attacking again")
    if data["schema_version"] < SCHEMA_VERSION:
        raise UserError(f"{path}: schema_version {data['schema_version']} was written by an older mono-s2s "
                        f"({_OLDER[data['schema_version']] if data['schema_version'] in _OLDER else 'unknown'}); "
                        f"attack again with this version (into a new --out) to measure what it measures")
    models = data.get("models")
    _check(path, models, "models", list, "a list of model names")
    if not models or not all(isinstance(m, str) for m in models):
        raise UserError(f"{path}: field 'models' must name at least one model")
    _check(path, data.get("attacks"), "attacks", dict, "an object")
    for attack in ATTACKS:
        per_model = data["attacks"].get(attack)
        _check(path, per_model, f"attacks.{attack}", dict, "an object (the file is incomplete)")
        for model in models:
            records = per_model.get(model)
            _check(path, records, f"attacks.{attack}.{model}", list, "a list of records (the file is incomplete)")
            for i, r in enumerate(records):
                _check_record(path, r, f"attacks.{attack}.{model}[{i}]")
    transfer_records = data.get("transfer_records")
    if transfer_records is not None:
        _check(path, transfer_records, "transfer_records", list, "a list of records")
        for i, r in enumerate(transfer_records):
            _check_record(path, r, f"transfer_records[{i}]")
    curve_records = data.get("curve_records")
    if curve_records is not None:
        _check(path, curve_records, "curve_records", list, "a list of records")
        for i, r in enumerate(curve_records):
            _check_record(path, r, f"curve_records[{i}]")
    if data.get("curves") is not None:
        _check_curves(path, data["curves"])
    matched = data.get("matched")
    if matched is not None:
        _check(path, matched, "matched", dict, "an object or null")
        for name, kind, what in (("slug", str, "a string"), ("source", str, "a string"),
                                 ("target", (int, float), "a number"), ("gap", (int, float), "a number"),
                                 ("close_match", bool, "true or false")):
            _check(path, matched.get(name), f"matched.{name}", kind, what)
    clean = data.get("clean")
    if clean is not None:
        _check(path, clean, "clean", dict, "an object")
        for model, scores in clean.items():
            _check(path, scores, f"clean.{model}", dict, "an object")
            # fact_recall: optional (the embedded corpus only).
            for name in ("ids", "rouge1", "rouge2", "rougeL") + (("fact_recall",) if "fact_recall" in scores else ()):
                _check(path, scores.get(name), f"clean.{model}.{name}", list, "a list")
                if len(scores[name]) != len(scores["ids"]):
                    raise UserError(f"{path}: field 'clean.{model}.{name}' has {len(scores[name])} entries but "
                                    f"'clean.{model}.ids' has {len(scores['ids'])}")
    return data


# What the older schemas lacked; their records cannot be rebuilt into this one without attacking again.
_OLDER = {1: "its 'degradation' field was relative", 2: "its records have no random controls or output measures",
          3: "each attack has one budget and no robustness curves",
          4: "its analysis led with NLL and its curves have areas of two measures only"}


def _check_record(path: Path, record: Any, where: str) -> None:
    """A ``UserError`` naming the record's field (``attacks.nes.mono[3].success``) when it is missing or mistyped."""
    _check(path, record, where, dict, "a record object")
    problem = record_problem(record, RECORD_FIELDS)
    if problem:
        name, what = problem
        raise UserError(f"{path}: field '{where}.{name}' {what}")


def _check_curves(path: Path, curves: Any) -> None:
    """A ``UserError`` naming the first field of the ``curves`` section that is missing or mistyped
    (``curves.nes.models.mono.points[2].rouge_drop.mean``)."""
    from mono_s2s.curves import AUC_MEASURES, MEASURES

    number, integer = ((int, float), "a number"), (int, "an integer")
    _check(path, curves, "curves", dict, "an object")
    for attack, section in curves.items():
        where = f"curves.{attack}"
        _check(path, section, where, dict, "an object")
        _check(path, section.get("unit"), f"{where}.unit", str, "a string")
        _check(path, section.get("headline"), f"{where}.headline", *integer)
        _check(path, section.get("budgets"), f"{where}.budgets", list, "a list of budgets")
        for i, b in enumerate(section["budgets"]):
            _check(path, b, f"{where}.budgets[{i}]", *integer)
        _check(path, section.get("models"), f"{where}.models", dict, "an object")
        for model, per_model in section["models"].items():
            at = f"{where}.models.{model}"
            _check(path, per_model, at, dict, "an object")
            _check(path, per_model.get("points"), f"{at}.points", list, "a list")
            for i, point in enumerate(per_model["points"]):
                pt = f"{at}.points[{i}]"
                _check(path, point, pt, dict, "an object")
                _check(path, point.get("budget"), f"{pt}.budget", *integer)
                _check(path, point.get("n"), f"{pt}.n", *integer)
                for name in MEASURES:
                    _check_stats(path, point.get(name), f"{pt}.{name}", number)
            _check(path, per_model.get("auc"), f"{at}.auc", dict, "an object")
            for name in AUC_MEASURES:
                _check_stats(path, per_model["auc"].get(name), f"{at}.auc.{name}", number)
                _check(path, per_model["auc"][name].get("samples"), f"{at}.auc.{name}.samples", dict,
                       "an object (sample id: area)")


def _check_stats(path: Path, stats: Any, where: str, number: tuple) -> None:
    _check(path, stats, where, dict, "an object")
    for stat in ("mean", "ci_low", "ci_high"):
        _check(path, stats.get(stat), f"{where}.{stat}", *number)
    _check(path, stats.get("n"), f"{where}.n", int, "an integer")


def _check(path: Path, value: Any, field: str, kind: type, what: str) -> None:
    if not isinstance(value, kind):
        name = f"field '{field}'" if field else "the top level"
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise UserError(f"{path}: {name} must be {what}, found {found}")
