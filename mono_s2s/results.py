"""The layout of ``results/adversarial_results.json``, and reading it back with one-line errors.

The file is what outside tools (and ``mono-s2s report``) rely on; it holds
enough to recompute every number without a model::

    schema_version  1
    models          ["nonmono", "mono", ...]              variant slugs, baseline first
    software        {"python", "torch", "transformers", "mono_s2s", ...}
    config          the experiment's configuration, the checkpoints attacked, the sample ids
    samples         {attack: [sample ids]}                the same for every model
    attacks         {attack: {model: [record, ...]}}      attacks: hotflip, universal, nes, injection, ood
    transfer        {"hotflip" | "universal": {source model: {target model: mean absolute degradation}}}
    transfer_records [record, ...]                        attack "hotflip_transfer:nonmono->mono", ...
    universal_triggers {model: {"text", "ids"}}
    summary         {attack: {model: {means, success rate, queries}}}
    timing_s        {attack: seconds}                     wall time of each attack, all models (summed from
                                                          the records' extra.seconds: a resume keeps it)
    clean           {model: {"ids", "rouge1", "rouge2", "rougeL"}}   per test example, same order per model
    -- written by the analysis (mono_s2s.report) --
    statistics      {attack: {"wilcoxon_p", "ttest_p", "holm_p", "diff_mean", "improvement_pct", ...}}
    overall         pooled comparison (sample as unit)
    clean_parity    {metric: {...}}
    key_findings    [sentence, ...]

A record is :meth:`mono_s2s.attacks.common.AttackRecord.to_dict` plus
``degradation`` (relative: (attacked − clean NLL) / clean NLL); the stable
minimum is ``sample_id``, ``degradation`` and ``abs_degradation``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from mono_s2s.errors import UserError
from mono_s2s.tracking import ATTACKS

SCHEMA_VERSION = 1
RESULTS_FILE = "adversarial_results.json"
RECORD_FIELDS = ("sample_id", "degradation", "abs_degradation", "original_nll", "attacked_nll", "success")


def software_versions() -> dict[str, str]:
    import numpy
    import scipy
    import torch
    import transformers

    from mono_s2s import __version__

    return {"python": platform.python_version(), "mono_s2s": __version__, "torch": torch.__version__,
            "transformers": transformers.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__}


def record_for_file(record) -> dict[str, Any]:
    """An ``AttackRecord`` as stored in the results file (with the relative ``degradation`` named as such)."""
    d = record.to_dict()
    d["degradation"] = d["rel_degradation"]
    return d


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
                _check(path, r, f"attacks.{attack}.{model}[{i}]", dict, "a record object")
                for name in RECORD_FIELDS:
                    if name not in r:
                        raise UserError(f"{path}: field 'attacks.{attack}.{model}[{i}].{name}' is missing")
                for name in ("abs_degradation", "original_nll", "attacked_nll"):
                    if not isinstance(r[name], (int, float)) or isinstance(r[name], bool):
                        raise UserError(f"{path}: field 'attacks.{attack}.{model}[{i}].{name}' must be a number")
    clean = data.get("clean")
    if clean is not None:
        _check(path, clean, "clean", dict, "an object")
        for model, scores in clean.items():
            _check(path, scores, f"clean.{model}", dict, "an object")
            for name in ("ids", "rouge1", "rouge2", "rougeL"):
                _check(path, scores.get(name), f"clean.{model}.{name}", list, "a list")
                if len(scores[name]) != len(scores["ids"]):
                    raise UserError(f"{path}: field 'clean.{model}.{name}' has {len(scores[name])} entries but "
                                    f"'clean.{model}.ids' has {len(scores['ids'])}")
    return data


def _check(path: Path, value: Any, field: str, kind: type, what: str) -> None:
    if not isinstance(value, kind):
        name = f"field '{field}'" if field else "the top level"
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise UserError(f"{path}: {name} must be {what}, found {found}")
