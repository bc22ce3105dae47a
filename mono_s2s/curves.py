"""Robustness curves (issue 13): each attack's measures at every budget point, per arm. Pure: no I/O, no torch.

Every attack runs at several budgets (trigger tokens, words, templates tried:
the registry's ``budget_unit``); PROTOCOL.md asks for the result as a *curve*
(degradation vs budget) per arm, and for its area as a per-sample number that
can be paired. This module turns stored records (the dicts of
:meth:`mono_s2s.attacks.common.AttackRecord.to_dict`) into the ``curves`` section
of the results file (layout in :mod:`mono_s2s.results`) and into flat rows for
``curves.csv`` and the wandb tables.

* At each budget, per model: ``n`` (records) and, for each of :data:`MEASURES`,
  the mean with a 95 % **Student-t interval** ``mean ± t_{0.975, n-1} · sd / sqrt(n)``
  (sd with ddof=1; :func:`mean_t_ci`). A t-interval, not the bootstrap of
  :mod:`mono_s2s.stats`: it is exact to check, needs no seed, and a curve has
  many points of few samples each. For ``success`` (a 0/1 flag) it is the
  t-interval of a proportion and can reach past [0, 1] with few samples. A
  record whose measure is None (no summaries generated, no facts known, no
  control) is left out of that measure's ``n`` only.
* Per model, the **normalised area under the curve** of :data:`AUC_MEASURES`
  for each sample: the trapezoid rule over the budgets that sample has a value
  at, divided by that budget range (max − min), i.e. the curve's mean height, in
  the measure's own unit. A sample with a value at fewer than two budgets has no
  area and is left out. The per-sample areas are kept (``samples``: {sample id:
  area}) so that two arms can be paired by sample; their mean has the same t-interval.

A record whose ``budget`` is None (written before budgets were recorded) counts
as the attack's headline budget. Label-failed records (``label_preserved`` false)
are left out here, as they are left out of the analysis.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
from scipy import stats as _sps

# Primary measures (of the output) first, then the secondary ones (teacher-forced NLL).
PRIMARY = ("rouge_drop", "fact_recall_drop", "success")
SECONDARY = ("abs_degradation", "adversarial_excess")
MEASURES = PRIMARY + SECONDARY
AUC_MEASURES = ("rouge_drop", "fact_recall_drop", "adversarial_excess", "abs_degradation")  # paired in the analysis
STATS = ("mean", "ci_low", "ci_high", "n")
CONFIDENCE = 0.95


def mean_t_ci(values: Iterable[float], confidence: float = CONFIDENCE) -> dict[str, float | int]:
    """``{"mean", "ci_low", "ci_high", "n"}``: the mean with its Student-t interval.

    ``mean`` is NaN when there are no values; the interval is NaN when there are
    fewer than two (one value says nothing about spread); it has zero width when
    every value is the same.
    """
    x = np.asarray(list(values), dtype=float)
    n = int(x.size)
    if n == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    mean = float(x.mean())
    if n < 2:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    half = float(_sps.t.ppf((1.0 + confidence) / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def measure(record: Mapping[str, Any], name: str) -> float | None:
    """One measure of a stored record, as a number (``success`` as 0/1), or None when the record has none."""
    value = record.get(name)
    if value is None:
        return None
    return float(value)


def record_budget(record: Mapping[str, Any], headline: int) -> int:
    """The budget point of a record: its ``budget``, or the headline budget when it has none (older records)."""
    budget = record.get("budget")
    return headline if budget is None else int(budget)


def normalised_auc(points: Mapping[int, float]) -> float | None:
    """The area under ``{budget: value}`` by the trapezoid rule, divided by the budget range; None below two points."""
    if len(points) < 2:
        return None
    budgets = sorted(points)
    values = [points[b] for b in budgets]
    area = sum((budgets[i + 1] - budgets[i]) * (values[i] + values[i + 1]) / 2.0 for i in range(len(budgets) - 1))
    return area / (budgets[-1] - budgets[0])


def attack_curve(records: Iterable[Mapping[str, Any]], models: list[str], unit: str, headline: int) -> dict:
    """The ``curves.<attack>`` section from every record of one attack (every budget; one record per
    (model, sample, budget), label failures included: they are left out here).

    ``{"unit", "headline", "budgets": [sorted budgets any model has a record at], "models": {model:
    {"points": [{"budget", "n", measure: {mean, ci_low, ci_high, n}, ...}, ...], "auc": {measure: {mean,
    ci_low, ci_high, n, "samples": {sample id: area}}}}}}``. ``n`` of a point counts the model's records
    at that budget; each measure's own ``n`` leaves out the records without that measure.
    """
    records = list(records)
    budgets = sorted({record_budget(r, headline) for r in records})
    kept = [r for r in records if r.get("label_preserved") is not False]
    section: dict[str, Any] = {"unit": unit, "headline": headline, "budgets": budgets, "models": {}}
    for model in models:
        mine = [r for r in kept if r.get("model") == model]
        at: dict[int, list] = {b: [] for b in budgets}
        for r in mine:
            at[record_budget(r, headline)].append(r)
        points = []
        for b in budgets:
            point: dict[str, Any] = {"budget": b, "n": len(at[b])}
            for name in MEASURES:
                point[name] = mean_t_ci(v for v in (measure(r, name) for r in at[b]) if v is not None)
            points.append(point)
        auc = {}
        for name in AUC_MEASURES:
            per_sample: dict[str, dict[int, float]] = {}
            for r in mine:
                v = measure(r, name)
                if v is not None:
                    per_sample.setdefault(r["sample_id"], {})[record_budget(r, headline)] = v
            areas = {sid: a for sid, pts in sorted(per_sample.items()) if (a := normalised_auc(pts)) is not None}
            auc[name] = {**mean_t_ci(areas.values()), "samples": areas}
        section["models"][model] = {"points": points, "auc": auc}
    return section


ROW_KEYS = ("attack", "unit", "model", "budget", "headline", "n")


def curve_rows(curves: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per attack × model × budget (``curves.csv``, the wandb tables): :data:`ROW_KEYS`, then
    ``{measure}_{mean|ci_low|ci_high|n}`` for each of :data:`MEASURES`. ``headline``: whether the budget is
    the attack's headline budget (the analysis's records)."""
    rows = []
    for attack, section in curves.items():
        for model, per_model in section["models"].items():
            for point in per_model["points"]:
                row = {"attack": attack, "unit": section["unit"], "model": model, "budget": point["budget"],
                       "headline": point["budget"] == section["headline"], "n": point["n"]}
                for name in MEASURES:
                    row.update({f"{name}_{s}": point[name][s] for s in STATS})
                rows.append(row)
    return rows


def auc_rows(curves: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per attack × model × area measure (attacks with budget points only): ``attack, unit, model,
    measure, mean, ci_low, ci_high, n``."""
    return [{"attack": attack, "unit": section["unit"], "model": model, "measure": name,
             **{s: per_model["auc"][name][s] for s in STATS}}
            for attack, section in curves.items() if section["budgets"]
            for model, per_model in section["models"].items() for name in AUC_MEASURES]
