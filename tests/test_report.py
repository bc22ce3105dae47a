"""The analysis (v2) and report, from stored results files alone (no models): numbers, the family, files, errors,
seeds. Every p-value is recomputed here independently with scipy."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mono_s2s import analysis, report, stats
from mono_s2s.attacks import ATTACKS
from mono_s2s.attacks.common import AttackRecord
from mono_s2s.cli import main
from mono_s2s.curves import attack_curve
from mono_s2s.errors import UserError
from mono_s2s.results import RESULTS_FILE, SCHEMA_VERSION, load_results

N = 12
BUDGETS = (1, 2, 5)
HEADLINE = 5


def _record(attack, slug, sid, budget, drop, excess, clean_nll, facts=True) -> dict:
    """One record whose ROUGE-L drop is ``drop`` and whose NLL rises by ``drop`` plus the control's 0.05."""
    control = clean_nll + 0.05
    return AttackRecord(
        attack=attack, model=slug, sample_id=sid, original_nll=clean_nll, attacked_nll=control + excess,
        control_nll=control, budget=budget, queries=3, perturbed_text="x", original_rougeL=0.9,
        attacked_rougeL=0.9 - drop, control_rougeL=0.88, original_fact_recall=1.0 if facts else None,
        attacked_fact_recall=(1.0 - min(1.0, max(0.0, drop))) if facts else None, success=bool(drop >= 0.1),
        extra={"avg_grad_norm": 1.0}).to_dict()


def _results(seed: int = 0, mono_shift: float = 0.15, models=("nonmono", "mono"), facts: bool = True,
             hotflip_baseline: float | None = None, noise: float = 0.03) -> dict:
    """A results file as the runner writes it: every arm attacked on the same N samples per attack at three
    budgets; mono's ROUGE-L drop is ``mono_shift`` lower on odd-numbered attacks (universal, substitution, ood)."""
    rng = np.random.default_rng(seed)
    attacks, curve_records = {}, []
    for k, attack in enumerate(ATTACKS):
        attacks[attack] = {}
        ids = [f"test-{i:03d}" for i in range(N)]
        base = rng.uniform(0.2, 0.6, size=N)
        if attack == "hotflip" and hotflip_baseline is not None:
            base = np.full(N, hotflip_baseline)
        for j, slug in enumerate(models):
            shift = 0.0 if slug == "nonmono" else mono_shift * (k % 2) + 0.02 * (j - 1)
            clean_nll = 1.0 if slug == "nonmono" else 2.0
            for budget in BUDGETS:
                drops = base * budget / HEADLINE - shift + rng.normal(0, noise, N)
                excess = drops + rng.normal(0, 0.02, N)
                recs = [_record(attack, slug, i, budget, float(d), float(e), clean_nll, facts)
                        for i, d, e in zip(ids, drops, excess)]
                if budget == HEADLINE:
                    attacks[attack][slug] = recs
                else:
                    curve_records += recs
    curves = {a: attack_curve([r for r in curve_records if r["attack"] == a]
                              + [r for recs in attacks[a].values() for r in recs], list(models), "tokens", HEADLINE)
              for a in ATTACKS}
    clean_ids = [f"test-{i:03d}" for i in range(40)]
    clean = {slug: {"ids": clean_ids, **{m: rng.uniform(0.5, 0.8, 40).tolist() if slug == "nonmono"
                                         else rng.uniform(0.3, 0.6, 40).tolist() for m in analysis.ROUGE}}
             for slug in models}
    transfer = {"hotflip": {"nonmono": {"nonmono": 1.0, "mono": 0.9}, "mono": {"nonmono": 0.5, "mono": 0.4}},
                "universal": {"nonmono": {"nonmono": 0.3, "mono": 0.2}, "mono": {"nonmono": 0.1, "mono": 0.2}}}
    return {"schema_version": SCHEMA_VERSION, "models": list(models), "attacks": attacks, "clean": clean,
            "curve_records": curve_records, "curves": curves, "transfer": transfer, "config": {"preset": "tiny"}}


def _write(out, results) -> None:
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / RESULTS_FILE).write_text(json.dumps(results))


def _values(results, attack, slug, measure):
    return [r[measure] for r in results["attacks"][attack][slug]]


def _holm_by_hand(p: list[float]) -> list[float]:
    order, out, running = np.argsort(p, kind="stable"), [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p[i] * (len(p) - rank)))
        out[i] = running
    return out


def test_primary_tests_match_scipy_and_holm_runs_over_the_whole_family():
    results = _results()
    rep = report.analyse(results, n_boot=200)
    t = rep.tests
    head = analysis.rows_of(t, "equal_budget", "headline", "rouge_drop")
    assert list(head.index) == list(ATTACKS)
    for attack in ATTACKS:
        a, b = _values(results, attack, "nonmono", "rouge_drop"), _values(results, attack, "mono", "rouge_drop")
        assert head.loc[attack, "a_mean"] == pytest.approx(np.mean(a))
        assert head.loc[attack, "diff_mean"] == pytest.approx(np.mean(a) - np.mean(b))
        assert head.loc[attack, "wilcoxon_p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)
        assert head.loc[attack, "ttest_p"] == pytest.approx(sps.ttest_rel(a, b).pvalue)
        assert head.loc[attack, "role"] == "primary" and head.loc[attack, "in_family"]
    family = t[t["in_family"]]
    # attacks x {headline, area} x {rouge_drop, fact_recall_drop} + overall x 2 + clean ROUGE-L (no fact recall)
    assert rep.family == len(family) == len(ATTACKS) * 2 * 2 + 2 + 1
    assert family["holm_p"].tolist() == pytest.approx(_holm_by_hand(family["wilcoxon_p"].tolist()))
    assert family["significance"].tolist() == [stats.significance_mark(p) for p in family["holm_p"]]
    # mono_shift on odd attacks only: universal is where mono degrades less, hotflip where they are alike.
    assert head.loc["universal", "diff_mean"] > 0.1 and head.loc["universal", "significant"]
    assert abs(head.loc["hotflip", "diff_mean"]) < 0.05 and not head.loc["hotflip", "significant"]


def test_secondary_and_relative_measures_are_descriptive_outside_the_family():
    results = _results()
    t = report.analyse(results, n_boot=50).tests
    outside = t[t["measure"].isin(analysis.SECONDARY + analysis.RELATIVE)]
    assert not outside.empty and not outside["in_family"].any()
    assert outside["holm_p"].isna().all() and (outside["significance"] == "").all()
    excess = analysis.rows_of(t, "equal_budget", "headline", "adversarial_excess")
    a, b = _values(results, "nes", "nonmono", "adversarial_excess"), _values(results, "nes", "mono",
                                                                             "adversarial_excess")
    assert excess.loc["nes", "diff_mean"] == pytest.approx(np.mean(a) - np.mean(b))
    assert excess.loc["nes", "wilcoxon_p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)


def test_overall_uses_the_sample_as_unit():
    results = _results()
    rep = report.analyse(results, n_boot=50)
    o = rep.overall("equal_budget", "rouge_drop")
    assert o["n"] == N  # the same N ids in every attack: averaged per sample, not 6N pairs
    per_sample = rep.pairs.pivot_table(index="sample_id", columns="model", values="rouge_drop", aggfunc="mean")
    assert o["wilcoxon_p"] == pytest.approx(sps.wilcoxon(per_sample["nonmono"], per_sample["mono"]).pvalue)


def test_the_curve_area_is_paired_by_sample():
    results = _results()
    t = report.analyse(results, n_boot=50).tests
    area = analysis.rows_of(t, "equal_budget", "area", "rouge_drop")
    by_id = {}
    for r in results["curve_records"] + [r for recs in results["attacks"]["substitution"].values() for r in recs]:
        if r["attack"] == "substitution":
            by_id.setdefault((r["model"], r["sample_id"]), {})[r["budget"]] = r["rouge_drop"]

    def trapezoid(points):  # normalised area over budgets 1, 2, 5, computed here by hand
        return ((points[1] + points[2]) / 2 * 1 + (points[2] + points[5]) / 2 * 3) / 4

    ids = sorted({sid for _, sid in by_id})
    a = [trapezoid(by_id[("nonmono", i)]) for i in ids]
    b = [trapezoid(by_id[("mono", i)]) for i in ids]
    assert area.loc["substitution", "n"] == N
    assert area.loc["substitution", "diff_mean"] == pytest.approx(np.mean(a) - np.mean(b))
    assert area.loc["substitution", "wilcoxon_p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)


def test_the_minimal_detectable_effect_has_the_power_it_claims():
    # Independent check by simulation: at the MDE, a paired t-test rejects in about 80 % of draws.
    rng = np.random.default_rng(0)
    n, sd, alpha = 30, 0.4, 0.05
    mde = stats.minimal_detectable_effect(sd, n, alpha, 0.8)
    draws = rng.normal(mde, sd, size=(4000, n))
    rejected = np.mean(sps.ttest_1samp(draws, 0.0, axis=1).pvalue < alpha)
    assert rejected == pytest.approx(0.8, abs=0.025)
    half = np.mean(sps.ttest_1samp(rng.normal(mde / 2, sd, size=(4000, n)), 0.0, axis=1).pvalue < alpha)
    assert half < 0.5  # and at half the MDE clearly less
    assert stats.minimal_detectable_effect(1.0, 100) == pytest.approx((1.96 + 0.8416) / 10, rel=0.02)
    assert math.isnan(stats.minimal_detectable_effect(1.0, 1)) and stats.minimal_detectable_effect(0.0, 5) == 0.0
    assert stats.minimal_detectable_effect(1.0, 50, alpha=0.001) > stats.minimal_detectable_effect(1.0, 50)


def test_every_test_has_its_mde_and_the_family_level_one_is_larger():
    t = report.analyse(_results(), n_boot=50).tests
    family = t[t["in_family"]]
    m = len(family)
    row = family.iloc[0]
    assert row["mde"] == pytest.approx(stats.minimal_detectable_effect(row["diff_std"], int(row["n"]), 0.05))
    assert row["mde_family"] == pytest.approx(stats.minimal_detectable_effect(row["diff_std"], int(row["n"]),
                                                                              0.05 / m))
    assert (family["mde_family"] > family["mde"]).all()
    for _, r in family.iterrows():  # underpowered: not significant, and an arm halving the degradation could hide
        assert r["underpowered"] == (not r["significant"] and (r["mde_family"] > 0.5 * abs(r["a_mean"])
                                                               or r["n"] < analysis.SMALL_N))


def test_success_rates_use_mcnemar_only_with_enough_discordant_pairs():
    frame = pd.DataFrame([{"attack": "hotflip", "model": m, "sample_id": f"s{i}", "success": float(v)}
                          for i, (x, y) in enumerate([(1, 0)] * 6 + [(0, 1)] + [(1, 1)] * 3) for m, v in
                          (("nonmono", x), ("mono", y))] +
                         [{"attack": "nes", "model": m, "sample_id": f"s{i}", "success": float(v)}
                          for i, (x, y) in enumerate([(1, 0)] * 4 + [(1, 1)] * 6) for m, v in
                          (("nonmono", x), ("mono", y))])
    comp = analysis.Comparison("equal_budget", "nonmono", "mono", "equal_budget")
    table = analysis.success_table(frame, [comp]).set_index("attack")
    assert table.loc["hotflip", "discordant"] == 7
    assert table.loc["hotflip", "mcnemar_p"] == pytest.approx(sps.binomtest(6, 7, 0.5).pvalue)
    assert table.loc["hotflip", "a_success_rate"] == pytest.approx(0.9)
    assert math.isnan(table.loc["nes", "mcnemar_p"])
    assert table.loc["nes", "mcnemar_note"] == "too few discordant pairs (4 < 5)"


def test_comparisons_cover_every_monotone_arm_against_every_comparator():
    slugs = ["nonmono", "mono", "mono_cmnn", "init_only", "attention_only", "nonmono_matched"]
    matched = {"slug": "nonmono_matched", "source": "nonmono", "pair": ["nonmono", "mono"]}
    comps = analysis.comparisons_of(slugs, matched)
    assert [(c.name, c.a, c.b, c.kind) for c in comps] == [
        ("equal_quality", "nonmono_matched", "mono", "equal_quality"),
        ("equal_budget", "nonmono", "mono", "equal_budget"),
        ("mono_cmnn_vs_nonmono", "nonmono", "mono_cmnn", "equal_budget"),
        ("mono_vs_init_only", "init_only", "mono", "control"),
        ("mono_vs_attention_only", "attention_only", "mono", "control"),
        ("mono_cmnn_vs_init_only", "init_only", "mono_cmnn", "control"),
        ("mono_cmnn_vs_attention_only", "attention_only", "mono_cmnn", "control")]
    assert [c.name for c in analysis.comparisons_of(["nonmono", "mono"])] == ["equal_budget"]
    assert analysis.comparisons_of(["nonmono"]) == []


def test_five_arms_are_analysed_with_one_family_and_the_controls_speak(tmp_path, capsys):
    results = _results(models=("nonmono", "mono", "mono_cmnn", "init_only", "attention_only"))
    _write(tmp_path, results)
    rep = report.build(tmp_path, n_boot=50)
    names = [c.name for c in rep.comparisons]
    assert names == ["equal_budget", "mono_cmnn_vs_nonmono", "mono_vs_init_only", "mono_vs_attention_only",
                     "mono_cmnn_vs_init_only", "mono_cmnn_vs_attention_only"]
    assert rep.family == len(names) * (len(ATTACKS) * 2 * 2 + 2 + 1)
    control = analysis.rows_of(rep.tests, "mono_vs_init_only", "headline", "rouge_drop")
    twin, mono = _values(results, "ood", "init_only", "rouge_drop"), _values(results, "ood", "mono", "rouge_drop")
    assert control.loc["ood", "diff_mean"] == pytest.approx(np.mean(twin) - np.mean(mono))  # control - mono
    assert any(line.startswith("Control init_only vs mono:") for line in rep.findings)
    assert "Control: init_only vs mono" in capsys.readouterr().out
    saved = load_results(tmp_path / "results" / RESULTS_FILE)["statistics"]
    assert saved["family"]["size"] == rep.family and len(saved["tests"]) == len(rep.tests)
    assert {c["name"] for c in saved["comparisons"]} == set(names)
    csv = pd.read_csv(tmp_path / "results" / report.SUMMARY_CSV)
    assert set(csv["comparison"]) == set(names) and len(csv) == len(rep.tests)


def test_findings_lead_with_the_measure_warn_on_clean_quality_and_say_underpowered():
    rep = report.analyse(_results(), n_boot=100)
    text = "\n".join(rep.findings)
    assert rep.findings[0].startswith("Equal budget: nonmono vs mono, ROUGE-L drop of the generated summary:")
    assert "WARNING" in text and "confounded" in text  # mono's clean ROUGE is drawn far lower
    assert "One training seed" in text and "Holm over a family of" in text
    assert "universal" in rep.findings[0] and "significant after Holm: universal" in rep.findings[0]
    # Noisy differences at n = 12: a difference half the baseline's degradation could go undetected.
    noisy = report.analyse(_results(mono_shift=0.0, noise=0.3), n_boot=50)
    assert any("underpowered" in line for line in noisy.findings)
    assert not any("underpowered" in line for line in report.analyse(_results(mono_shift=0.3), n_boot=50).findings
                   if line.startswith("Equal budget"))


def test_relative_nll_flipping_against_absolute_is_said():
    results = _results()
    for per_model in results["attacks"].values():  # mono's clean NLL is 2.0, nonmono's 1.0: relative halves mono's
        per_model["mono"] = [{**r, "attacked_nll": r["attacked_nll"] + 0.3,
                              "abs_degradation": r["abs_degradation"] + 0.3,
                              "rel_degradation": (r["abs_degradation"] + 0.3) / 2.0} for r in per_model["mono"]]
    rep = report.analyse(results, n_boot=50)
    assert any("relative ΔNLL points the other way" in line for line in rep.findings)


def test_gradient_masking_is_flagged_from_transfer_and_from_the_white_box_black_box_gap():
    results = _results()
    # mono resists HotFlip (white-box) ...
    for r in results["attacks"]["hotflip"]["mono"]:
        r["abs_degradation"] = r["abs_degradation"] - 0.3
    # ... yet nonmono's triggers hurt it more than its own, and NES beats HotFlip on mono only.
    results["transfer"]["hotflip"] = {"nonmono": {"nonmono": 1.0, "mono": 0.9}, "mono": {"nonmono": 0.5, "mono": 0.4}}
    for section, model, value in (("hotflip", "mono", 0.2), ("nes", "mono", 0.5), ("hotflip", "nonmono", 0.9),
                                  ("nes", "nonmono", 0.4)):
        for point in results["curves"][section]["models"][model]["points"]:
            point["abs_degradation"].update(mean=value, ci_low=value - 0.05, ci_high=value + 0.05)
    rep = report.analyse(results, n_boot=50)
    masking = [line for line in rep.findings if line.startswith("Gradient masking?")]
    assert any("hotflip: triggers found on nonmono degrade mono more" in line for line in masking)
    assert any("black-box NES search degrades mono at least as much as white-box HotFlip" in line
               for line in masking)
    honest = _results()
    honest["transfer"]["hotflip"]["nonmono"]["mono"] = 0.3  # mono's own triggers (0.4) are the stronger
    assert not any(line.startswith("Gradient masking?") for line in report.analyse(honest, n_boot=50).findings)


def test_build_writes_every_output_and_report_verb_rebuilds(tmp_path, capsys):
    _write(tmp_path, _results())
    assert main(["report", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "The Holm family:" in printed and "Key findings" in printed and "Equal budget: nonmono vs mono" in printed
    res = tmp_path / "results"
    for name in (report.FIGURE, report.CURVES_FIGURE):
        assert (res / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (res / report.SUMMARY_CSV).read_text().splitlines()[0].startswith("comparison,kind,a,b,attack,point,")
    assert (res / report.SUCCESS_CSV).read_text().splitlines()[0].startswith("comparison,a,b,attack,")
    data = load_results(res / RESULTS_FILE)
    assert data["schema_version"] == 5 and data["statistics"]["family"]["primary"] == list(analysis.PRIMARY)
    assert set(data["overall"]["equal_budget"]) == {"rouge_drop", "fact_recall_drop", "adversarial_excess",
                                                    "abs_degradation"}
    assert data["key_findings"] == (res / report.FINDINGS).read_text().splitlines()
    # Rebuilt from the written file alone: the same numbers.
    again = report.build(tmp_path, n_boot=2000, quiet=True)
    assert again.tests["holm_p"].tolist() == pytest.approx(
        pd.DataFrame(data["statistics"]["tests"])["holm_p"].tolist(), nan_ok=True)


def test_without_facts_the_primary_measure_is_rouge_alone():
    rep = report.analyse(_results(facts=False), n_boot=50)
    assert analysis.primary_measures(rep.tests) == ["rouge_drop"]
    assert rep.family == len(ATTACKS) * 2 + 1 + 1


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_text('{"schema_version": 1, "models": ["nonmono"'), "not valid JSON"),
    (lambda p: p.write_bytes(b"\xff\xfe"), "not UTF-8"),
    (lambda p: p.write_text(json.dumps({k: v for k, v in _results().items() if k != "attacks"})), "'attacks'"),
    (lambda p: p.write_text(json.dumps({**_results(), "attacks": {
        **_results()["attacks"], "nes": {"nonmono": []}}})), "'attacks.nes.mono'"),
    (lambda p: p.write_text(json.dumps(_drop_field(_results()))), "'attacks.ood.mono[2].abs_degradation'"),
    (lambda p: p.write_text(json.dumps({**_results(), "schema_version": 1})), "schema_version 1 was written by an "
                                                                                 "older mono-s2s"),
    (lambda p: p.write_text(json.dumps({**_results(), "schema_version": 4})), "schema_version 4 was written by an "
                                                                                 "older mono-s2s (its analysis led "
                                                                                 "with NLL"),
])
def test_bad_results_file_is_one_line_and_keeps_earlier_outputs(tmp_path, capsys, damage, message):
    _write(tmp_path, _results())
    csv = tmp_path / "results" / report.SUMMARY_CSV
    csv.write_text("earlier output\n")
    damage(tmp_path / "results" / RESULTS_FILE)
    assert main(["report", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and RESULTS_FILE in err
    assert csv.read_text() == "earlier output\n"


def _drop_field(results: dict) -> dict:
    del results["attacks"]["ood"]["mono"][2]["abs_degradation"]
    return results


def test_missing_results_names_the_command(tmp_path):
    with pytest.raises(UserError, match="mono-s2s attack"):
        report.build(tmp_path)


def test_seeds_are_aggregated_with_the_seed_as_unit_on_both_primary_measures(tmp_path, capsys):
    for k in range(3):
        _write(tmp_path / f"seed_{k}", _results(seed=k))
    reports = report.build_all(tmp_path, n_boot=50)
    assert len(reports) == 3
    saved = json.loads((tmp_path / "results" / report.SEEDS_JSON).read_text())
    rows = pd.DataFrame(saved["comparisons"]["equal_budget"]["rows"])
    assert set(rows["measure"]) == set(analysis.PRIMARY) and set(rows["point"]) == {"headline", "area", "overall"}
    for measure in analysis.PRIMARY:
        for attack in ATTACKS:
            per_seed = [analysis.rows_of(r.tests, "equal_budget", "headline", measure).loc[attack, "diff_mean"]
                        for r in reports]
            row = rows[(rows["attack"] == attack) & (rows["measure"] == measure) & (rows["point"] == "headline")]
            row = row.iloc[0]
            assert row["n_seeds"] == 3 and row["diff_mean"] == pytest.approx(np.mean(per_seed))
            assert row["ttest_p"] == pytest.approx(sps.ttest_1samp(per_seed, 0.0).pvalue)
            assert row["b_less_seeds"] == sum(d > 0 for d in per_seed)
    printed = capsys.readouterr().out
    assert "Across 3 seeds" in printed
    assert (tmp_path / "results" / report.SEEDS_CSV).is_file()
    findings = (tmp_path / "results" / report.SEEDS_FINDINGS).read_text()
    assert findings.splitlines()[0][2:] in printed
    assert "Equal budget: nonmono vs mono, R-L drop across 3 seeds: mono degrades less in every seed in" in findings
    assert "Only 3 seeds" in findings  # 3 seeds: the signed-rank test's smallest p is 0.25


def test_seed_findings_say_whether_the_direction_survives_retraining():
    def tables(diffs_by_attack):
        out = []
        for k in range(len(next(iter(diffs_by_attack.values())))):
            out.append(pd.DataFrame([{"comparison": "equal_budget", "a": "nonmono", "b": "mono", "attack": atk,
                                      "point": "headline", "measure": "rouge_drop", "a_mean": 0.5,
                                      "b_mean": 0.5 - d[k], "diff_mean": d[k], "significant": False}
                                     for atk, d in diffs_by_attack.items()]))
        return analysis.seed_table(out, "equal_budget")

    text = analysis.seed_findings(tables({"hotflip": [0.2, 0.3, 0.1, 0.25, 0.2, 0.3],
                                          "universal": [-0.1, -0.2, -0.1, -0.3, -0.2, -0.1],
                                          "nes": [0.2, -0.1, 0.3, 0.1, -0.2, 0.1]}), "equal budget: nonmono vs mono")
    assert text == ["Equal budget: nonmono vs mono, R-L drop across 6 seeds: mono degrades less in every seed in 1 of "
                    "3 attacks (hotflip), nonmono in 1 (universal); the direction changes between seeds in 1."]
    two = analysis.seed_findings(tables({"hotflip": [0.2, 0.3]}), "x")
    assert two[-1].startswith("Only 2 seeds") and "smallest possible p 0.5" in two[-1]


def test_seeds_are_logged_to_a_wandb_run_of_the_group(tmp_path):
    class Recorder:
        def __init__(self):
            self.tables, self.summaries = {}, {}

        def log_table(self, key, columns, rows):
            self.tables[key] = (columns, rows)

        def summary(self, values):
            self.summaries.update(values)

    from mono_s2s import tracking

    for k in range(2):
        _write(tmp_path / f"seed_{k}", _results(seed=k))
    reports = [report.build(tmp_path / f"seed_{k}", n_boot=50, quiet=True) for k in range(2)]
    rec = Recorder()
    tables = report.aggregate_seeds(tmp_path, reports, tracker=rec)
    columns, rows = rec.tables[tracking.SEEDS_TABLE]
    assert len(rows) == sum(len(t) for t in tables.values()) and "per_seed_diff" in columns
    assert rec.summaries[tracking.SEEDS_COUNT] == 2
    assert rec.summaries[tracking.SEEDS_FINDINGS].splitlines() == report.seed_findings_all(tables)
