"""Robustness curves (issue 13): the results file's curve sections, curves.csv, the figure, the printed table and
the wandb tables, from hand-made records at several budgets (no models)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mono_s2s import curves, report, tracking
from mono_s2s.attacks.common import AttackRecord
from mono_s2s.attacks.logs import log_adversarial
from mono_s2s.cli import main
from mono_s2s.errors import UserError
from mono_s2s.results import RESULTS_FILE, SCHEMA_VERSION, build_results, load_results

N = 8
SLUGS = ["nonmono", "mono"]
# Headline budgets that differ from AttackArgs' defaults (nes_trigger_len 3 is the default; substitution's is 5),
# so that a test passes only if build_results reads them from the config.
CONFIG = {"preset": "tiny", "attacks": {"nes_trigger_len": 3, "substitution_words": 2}}
BUDGETS = {"nes": (1, 2, 3, 6), "substitution": (1, 2, 5, 10)}
HEADLINE = {"nes": 3, "substitution": 2}


def _records(seed: int = 0) -> list[AttackRecord]:
    """Every (attack, model, sample, budget) record, with the awkward cases in known places:

    * nes, mono, sample 3, budget 6: a stale record first, replaced by a later one (a resumed point);
    * nes, sample 7: the headline record has budget None (written before budgets were recorded);
    * substitution, sample 0, budget 1: no summaries (ROUGE drop and success None);
    * substitution, mono, sample 1: label failed at budget 5 and at the headline budget 2.
    """
    rng = np.random.default_rng(seed)
    out = []
    for attack, budgets in BUDGETS.items():
        for m, slug in enumerate(SLUGS):
            clean = 1.0 + 0.5 * m
            for i in range(N):
                sid = f"test-{i:03d}"
                if attack == "nes" and slug == "mono" and i == 3:
                    out.append(AttackRecord(attack=attack, model=slug, sample_id=sid, original_nll=clean,
                                            attacked_nll=clean + 99.0, queries=1, perturbed_text="stale", budget=6))
                for b in budgets:
                    d = 0.1 * b / (1 + m) + float(rng.normal(0, 0.05))
                    drop = 0.02 * b + float(rng.normal(0, 0.01))
                    no_summary = attack == "substitution" and i == 0 and b == 1
                    out.append(AttackRecord(
                        attack=attack, model=slug, sample_id=sid, original_nll=clean, attacked_nll=clean + d,
                        queries=10 * b, perturbed_text="x", tokens_changed=b,
                        budget=None if (attack == "nes" and i == 7 and b == HEADLINE[attack]) else b,
                        control_nll=clean + 0.3 * d, original_rougeL=0.6,
                        attacked_rougeL=None if no_summary else 0.6 - drop,
                        success=None if no_summary else bool(drop >= 0.1),
                        label_preserved=(False if attack == "substitution" and slug == "mono" and i == 1
                                         and b in (2, 5) else None),
                        seconds=0.5))
    return out


def _build(records=None) -> dict:
    return build_results(_records() if records is None else records, SLUGS, {}, {}, CONFIG, {})


def _expected(records, attack: str, slug: str, budget: int) -> list[AttackRecord]:
    """The oracle: the last record of each sample at that point, label failures left out."""
    last = {}
    for r in records:
        b = HEADLINE[attack] if r.budget is None else r.budget
        if (r.attack, r.model, b) == (attack, slug, budget):
            last[r.sample_id] = r
    return [r for r in last.values() if r.label_preserved is not False]


def _t_interval(values) -> tuple[float, float]:
    x = np.asarray(values, float)
    return sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))


def test_each_point_is_the_mean_with_a_t_interval_over_the_records_that_have_the_measure():
    records = _records()
    results = _build(records)
    for attack, budgets in BUDGETS.items():
        section = results["curves"][attack]
        assert section["budgets"] == sorted(budgets) and section["headline"] == HEADLINE[attack]
        assert section["unit"] == {"nes": "trigger tokens", "substitution": "words"}[attack]
        for slug in SLUGS:
            points = section["models"][slug]["points"]
            assert [p["budget"] for p in points] == sorted(budgets)
            for point in points:
                recs = _expected(records, attack, slug, point["budget"])
                assert point["n"] == len(recs)
                for name, value in (("abs_degradation", lambda r: r.abs_degradation),
                                    ("adversarial_excess", lambda r: r.adversarial_excess),
                                    ("rouge_drop", lambda r: r.rouge_drop),
                                    ("success", lambda r: None if r.success is None else float(r.success))):
                    values = [value(r) for r in recs if value(r) is not None]
                    got = point[name]
                    assert got["n"] == len(values)
                    assert got["mean"] == pytest.approx(np.mean(values))
                    if np.std(values) > 0:
                        low, high = _t_interval(values)
                        assert (got["ci_low"], got["ci_high"]) == (pytest.approx(low), pytest.approx(high))
                    else:  # scipy gives NaN for a zero-width interval; ours has zero width
                        assert got["ci_low"] == got["ci_high"] == pytest.approx(np.mean(values))
                assert point["fact_recall_drop"]["n"] == 0 and math.isnan(point["fact_recall_drop"]["mean"])
    # The awkward cases really are where the docstring of _records says.
    sub = {p["budget"]: p for p in results["curves"]["substitution"]["models"]["mono"]["points"]}
    assert sub[1]["n"] == N and sub[1]["rouge_drop"]["n"] == sub[1]["success"]["n"] == N - 1
    assert sub[5]["n"] == sub[2]["n"] == N - 1 and sub[10]["n"] == N
    nes6 = {p["budget"]: p for p in results["curves"]["nes"]["models"]["mono"]["points"]}[6]
    assert nes6["n"] == N and nes6["abs_degradation"]["mean"] < 5  # the stale +99 nats record was replaced
    assert {p["budget"]: p["n"] for p in results["curves"]["nes"]["models"]["nonmono"]["points"]}[3] == N


def test_mean_t_ci_edge_cases():
    assert curves.mean_t_ci([])["n"] == 0 and math.isnan(curves.mean_t_ci([])["mean"])
    one = curves.mean_t_ci([0.4])
    assert one["mean"] == 0.4 and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
    got = curves.mean_t_ci([1.0, 2.0, 4.0, 7.0])
    low, high = _t_interval([1.0, 2.0, 4.0, 7.0])
    assert (got["mean"], got["ci_low"], got["ci_high"]) == (3.5, pytest.approx(low), pytest.approx(high))


def test_attacks_summary_and_label_failures_hold_the_headline_budget_only():
    records = _records()
    results = _build(records)
    # The same sections as from the headline records alone: the analysis is what it was before the curves.
    headline_only = [r for r in records if r.budget in (None, HEADLINE[r.attack])]
    alone = _build(headline_only)
    for section in ("attacks", "summary", "label_failures"):
        assert json.dumps(results[section], sort_keys=True) == json.dumps(alone[section], sort_keys=True), section
    assert alone["curve_records"] == []
    for attack in BUDGETS:
        for slug in SLUGS:
            kept = results["attacks"][attack][slug]
            assert {r["budget"] for r in kept} <= {None, HEADLINE[attack]} and kept
    assert len(results["label_failures"]["substitution"]["mono"]) == 1  # the headline one; budget 5's is a curve's
    assert results["summary"]["substitution"]["mono"]["n"] == N - 1
    # Every other record is in curve_records, once per (attack, model, sample, budget), the later one kept.
    keys = [(r["attack"], r["model"], r["sample_id"], r["budget"]) for r in results["curve_records"]]
    expected = {(r.attack, r.model, r.sample_id, r.budget) for r in records
                if r.budget not in (None, HEADLINE[r.attack])}
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert all(r["perturbed_text"] != "stale" for r in results["curve_records"])
    assert any(r["label_preserved"] is False for r in results["curve_records"])  # kept, to recompute from
    # Timing counts the work at every budget.
    assert results["timing_s"]["nes"] == pytest.approx(0.5 * len(SLUGS) * N * len(BUDGETS["nes"]) + 0.0)


def test_normalised_area_on_a_known_curve():
    # Trapezoids 1->2: 0.5, 2->5: 3, 5->10: 2.5; the range is 9.
    assert curves.normalised_auc({5: 1.0, 1: 0.0, 10: 0.0, 2: 1.0}) == pytest.approx(6.0 / 9.0)
    assert curves.normalised_auc({2: 0.3, 4: 0.3}) == pytest.approx(0.3)  # a flat curve: its height
    assert curves.normalised_auc({3: 0.7}) is None  # one point is not a curve


def test_the_area_is_a_per_sample_number_over_the_budgets_the_sample_has():
    records = _records()
    results = _build(records)
    auc = results["curves"]["substitution"]["models"]["mono"]["auc"]
    expected = {}
    for i in range(N):
        sid = f"test-{i:03d}"
        pts = sorted((r.budget, r.rouge_drop) for b in BUDGETS["substitution"]
                     for r in _expected(records, "substitution", "mono", b)
                     if r.sample_id == sid and r.rouge_drop is not None)
        x, y = zip(*pts)
        expected[sid] = np.trapezoid(y, x) / (x[-1] - x[0])
    # Sample 0 has no ROUGE at budget 1 (its range is 2..10); sample 1 lost budgets 2 and 5 to label failures.
    assert auc["rouge_drop"]["samples"] == pytest.approx(expected)
    low, high = _t_interval(list(expected.values()))
    assert auc["rouge_drop"]["mean"] == pytest.approx(np.mean(list(expected.values())))
    assert (auc["rouge_drop"]["ci_low"], auc["rouge_drop"]["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert auc["abs_degradation"]["n"] == N


def _write(out, results) -> None:
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / RESULTS_FILE).write_text(json.dumps(results))


def test_report_writes_curves_csv_the_figure_and_prints_the_curve_tables(tmp_path, capsys):
    results = _build()
    _write(tmp_path, results)
    assert main(["report", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Robustness curves" in printed and "nes (x = trigger tokens)" in printed
    res = tmp_path / "results"
    assert (res / report.CURVES_FIGURE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(res / report.CURVES_CSV)
    assert len(table) == sum(len(b) for b in BUDGETS.values()) * len(SLUGS)  # attack x model x budget
    assert list(table.columns[:6]) == list(curves.ROW_KEYS)
    for name in curves.MEASURES:
        assert {f"{name}_{s}" for s in curves.STATS} <= set(table.columns)
    row = table[(table.attack == "substitution") & (table.model == "mono") & (table.budget == 5)].iloc[0]
    point = {p["budget"]: p for p in results["curves"]["substitution"]["models"]["mono"]["points"]}[5]
    assert row["n"] == point["n"] and row["rouge_drop_mean"] == pytest.approx(point["rouge_drop"]["mean"])
    assert row["abs_degradation_ci_high"] == pytest.approx(point["abs_degradation"]["ci_high"])
    assert bool(row["headline"]) is False
    assert table[(table.attack == "nes") & table.headline]["budget"].unique().tolist() == [3]
    areas = pd.read_csv(res / report.CURVE_AREAS_CSV)
    assert len(areas) == len(BUDGETS) * len(SLUGS) * len(curves.AUC_MEASURES)
    # The printed table has a row per budget, the headline starred.
    assert "\n2*" in printed and "\n6 " in printed
    saved = load_results(res / RESULTS_FILE)  # the report's rewrite still loads, curves included
    assert saved["curves"]["nes"]["budgets"] == [1, 2, 3, 6]


def test_curves_figure_draws_one_column_per_attack_with_a_band_per_arm():
    from mono_s2s import figures

    fig = figures.curves_figure(_build()["curves"])
    labels = {ax.get_label(): ax for ax in fig.axes}
    assert set(labels) == {f"{a}:{m}" for a in BUDGETS for m, _ in figures.CURVE_ROWS}
    ax = labels["substitution:rouge_drop"]
    assert len(ax.get_lines()) >= len(SLUGS) and len(ax.collections) == len(SLUGS)  # a line and a band per arm
    assert ax.get_xlabel() == "words"
    with pytest.raises(ValueError, match="no attack has a budget point"):
        figures.curves_figure({"nes": {"budgets": [], "models": {}}})


def test_schema_3_file_is_refused_in_one_line(tmp_path, capsys):
    assert SCHEMA_VERSION == 5
    _write(tmp_path, {**_build(), "schema_version": 3})
    assert main(["report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "schema_version 3 was written by an older mono-s2s" in err and "no robustness curves" in err


@pytest.mark.parametrize("damage, field", [
    (lambda r: r["curves"]["nes"]["models"]["mono"]["points"][2]["rouge_drop"].pop("mean"),
     "curves.nes.models.mono.points[2].rouge_drop.mean"),
    (lambda r: r["curves"]["substitution"].update(budgets="1,2"), "curves.substitution.budgets"),
    (lambda r: r["curves"]["nes"]["models"]["nonmono"]["auc"]["abs_degradation"].pop("samples"),
     "curves.nes.models.nonmono.auc.abs_degradation.samples"),
    (lambda r: r["curve_records"][4].update(budget="two"), "curve_records[4].budget"),
])
def test_a_damaged_curve_section_is_a_one_line_error_naming_the_field(tmp_path, damage, field):
    results = json.loads(json.dumps(_build()))
    damage(results)
    _write(tmp_path, results)
    with pytest.raises(UserError) as e:
        load_results(tmp_path / "results" / RESULTS_FILE)
    assert f"'{field}'" in str(e.value) and len(str(e.value).splitlines()) == 1


class _Tracker:
    def __init__(self):
        self.tables, self.logged, self.summaries = {}, [], {}

    def log(self, metrics):
        self.logged.append(metrics)

    def log_table(self, key, columns, rows):
        self.tables[key] = (columns, rows)

    def summary(self, values):
        self.summaries.update(values)


class _Store:  # the headline records, as RecordStore.get gives them
    def __init__(self, records):
        self.records = records

    def get(self, attack, slug):
        return {r.sample_id: r for r in self.records if (r.attack, r.model) == (attack, slug)
                and r.budget in (None, HEADLINE.get(attack))}


def test_log_adversarial_logs_a_curve_table_per_attack():
    records = _records()
    results = _build(records)
    tracker = _Tracker()
    log_adversarial(tracker, _Store(records), SLUGS, results)
    assert {tracking.curves_table_key(a) for a in BUDGETS} <= set(tracker.tables)
    assert not any(tracking.curves_table_key(a) in tracker.tables for a in ("hotflip", "universal"))  # no records
    columns, rows = tracker.tables[tracking.curves_table_key("nes")]
    assert columns[:4] == ["model", "budget", "headline", "n"] and "rouge_drop_ci_low" in columns
    assert len(rows) == len(SLUGS) * len(BUDGETS["nes"])
    by = {(row[0], row[1]): dict(zip(columns, row)) for row in rows}
    point = {p["budget"]: p for p in results["curves"]["nes"]["models"]["mono"]["points"]}[6]
    assert by[("mono", 6)]["abs_degradation_mean"] == pytest.approx(point["abs_degradation"]["mean"])
    assert by[("mono", 3)]["headline"] is True and by[("mono", 6)]["headline"] is False
