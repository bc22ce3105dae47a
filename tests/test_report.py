"""The analysis and report, from stored results files alone (no models): numbers, files, errors, seeds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mono_s2s import analysis, report
from mono_s2s.attacks.common import AttackRecord
from mono_s2s.cli import main
from mono_s2s.errors import UserError
from mono_s2s.results import RESULTS_FILE, SCHEMA_VERSION, load_results
from mono_s2s.attacks import ATTACKS

N = 12


def _results(seed: int = 0, mono_shift: float = 0.3, hotflip_baseline: float | None = None) -> dict:
    """A results file as the runner writes it: both models attacked on the same N samples per attack."""
    rng = np.random.default_rng(seed)
    attacks = {}
    for k, attack in enumerate(ATTACKS):
        attacks[attack] = {}
        ids = [f"test-{i:03d}" for i in range(N)]
        base = rng.gamma(2.0, 0.5, size=N) + 0.2
        if attack == "hotflip" and hotflip_baseline is not None:
            base = np.full(N, hotflip_baseline) + rng.normal(0, 1e-5, size=N)
        for slug, degr in (("nonmono", base), ("mono", base - mono_shift * (k % 2) + rng.normal(0, 0.05, N))):
            clean = 1.0 if slug == "nonmono" else 2.0
            attacks[attack][slug] = [AttackRecord(
                attack=attack, model=slug, sample_id=i, original_nll=clean, attacked_nll=clean + float(d),
                success=bool(d / clean >= 0.1), queries=3, perturbed_text="x", extra={"avg_grad_norm": 1.0}).to_dict()
                for i, d in zip(ids, degr)]
    clean_ids = [f"test-{i:03d}" for i in range(40)]
    clean = {"nonmono": {"ids": clean_ids, **{m: rng.uniform(0.5, 0.8, 40).tolist() for m in analysis.ROUGE}},
             "mono": {"ids": clean_ids, **{m: rng.uniform(0.3, 0.6, 40).tolist() for m in analysis.ROUGE}}}
    transfer = {"hotflip": {"nonmono": {"nonmono": 1.0, "mono": 0.9}, "mono": {"nonmono": 0.5, "mono": 0.4}},
                "universal": {"nonmono": {"nonmono": 0.3, "mono": 0.2}, "mono": {"nonmono": 0.1, "mono": 0.2}}}
    return {"schema_version": SCHEMA_VERSION, "models": ["nonmono", "mono"], "attacks": attacks, "clean": clean,
            "transfer": transfer, "config": {"preset": "tiny"}}


def _write(out, results) -> None:
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / RESULTS_FILE).write_text(json.dumps(results))


def test_attack_table_matches_scipy_and_holm_by_hand(tmp_path):
    results = _results()
    rep = report.analyse(results, n_boot=200)
    t = rep.table
    assert list(t.index) == list(ATTACKS)
    raw = []
    for attack in ATTACKS:
        a = [r["abs_degradation"] for r in results["attacks"][attack]["nonmono"]]
        b = [r["abs_degradation"] for r in results["attacks"][attack]["mono"]]
        assert t.loc[attack, "nonmono_mean"] == pytest.approx(np.mean(a))
        assert t.loc[attack, "diff_mean"] == pytest.approx(np.mean(a) - np.mean(b))
        assert t.loc[attack, "wilcoxon_p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)
        assert t.loc[attack, "ttest_p"] == pytest.approx(sps.ttest_rel(a, b).pvalue)
        raw.append(sps.wilcoxon(a, b).pvalue)
    # Holm by hand: sort, multiply by (m - rank), running max, cap at 1.
    order = np.argsort(raw)
    expected, running = np.empty(len(ATTACKS)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, raw[i] * (len(ATTACKS) - rank)))
        expected[i] = running
    assert t["holm_p"].tolist() == pytest.approx(expected.tolist())
    # mono_shift only on odd attacks: universal, substitution and ood are where mono degrades less.
    assert t.loc["universal", "diff_mean"] > 0.2 and t.loc["universal", "significance"] != "ns"
    assert abs(t.loc["hotflip", "diff_mean"]) < 0.1


def test_overall_uses_the_sample_as_unit():
    results = _results()
    frame = analysis.records_frame([r for pm in results["attacks"].values() for rs in pm.values() for r in rs])
    o = analysis.overall(frame)
    assert o["n_samples"] == N  # the same N ids in every attack: pooled per sample, not 5N pairs
    per_sample = frame.pivot_table(index="sample_id", columns="model", values="abs_degradation", aggfunc="mean")
    assert o["p_value"] == pytest.approx(sps.wilcoxon(per_sample["nonmono"], per_sample["mono"]).pvalue)


def test_near_zero_baseline_gives_undefined_improvement_not_a_blow_up():
    rep = report.analyse(_results(hotflip_baseline=0.0), n_boot=100)
    assert math.isnan(rep.table.loc["hotflip", "improvement_pct"])
    assert rep.table.loc["hotflip", "improvement_note"]
    assert any(line.startswith("hotflip") and "undefined" in line for line in rep.findings)


def test_findings_flag_clean_quality_confound_and_single_seed():
    rep = report.analyse(_results(), n_boot=100)
    text = "\n".join(rep.findings)
    assert "WARNING" in text and "confounded" in text  # mono's clean ROUGE is drawn far lower
    assert "One training seed" in text
    assert any("not statistically significant" in s.lower() or "no significant difference" in s for s in rep.findings)


def test_build_writes_every_output_and_report_verb_rebuilds(tmp_path, capsys):
    _write(tmp_path, _results())
    assert main(["report", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Robustness" in printed and "Key findings" in printed and "Clean quality" in printed
    res = tmp_path / "results"
    png = (res / report.FIGURE).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (res / report.SUMMARY_CSV).read_text().splitlines()[0].startswith("attack,")
    data = load_results(res / RESULTS_FILE)
    for attack in ATTACKS:
        assert {"wilcoxon_p", "ttest_p", "holm_p"} <= set(data["statistics"][attack])
    assert data["key_findings"] == (res / report.FINDINGS).read_text().splitlines()


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_text('{"schema_version": 1, "models": ["nonmono"'), "not valid JSON"),
    (lambda p: p.write_bytes(b"\xff\xfe"), "not UTF-8"),
    (lambda p: p.write_text(json.dumps({k: v for k, v in _results().items() if k != "attacks"})), "'attacks'"),
    (lambda p: p.write_text(json.dumps({**_results(), "attacks": {
        **_results()["attacks"], "nes": {"nonmono": []}}})), "'attacks.nes.mono'"),
    (lambda p: p.write_text(json.dumps(_drop_field(_results()))), "'attacks.ood.mono[2].abs_degradation'"),
    (lambda p: p.write_text(json.dumps({**_results(), "schema_version": 1})), "schema_version 1 was written by an "
                                                                                 "older mono-s2s"),
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


def test_seeds_are_aggregated_with_the_seed_as_unit(tmp_path, capsys):
    for k in range(3):
        _write(tmp_path / f"seed_{k}", _results(seed=k))
    reports = report.build_all(tmp_path, n_boot=100)
    assert len(reports) == 3
    table = json.loads((tmp_path / "results" / report.SEEDS_JSON).read_text())["per_attack"]
    for attack in ATTACKS:
        per_seed = [r.table.loc[attack, "diff_mean"] for r in reports]
        assert table[attack]["n_seeds"] == 3
        assert table[attack]["diff_mean"] == pytest.approx(np.mean(per_seed))
        assert table[attack]["ttest_p"] == pytest.approx(sps.ttest_1samp(per_seed, 0.0).pvalue)
    printed = capsys.readouterr().out
    assert "Across 3 seeds" in printed
    assert (tmp_path / "results" / report.SEEDS_CSV).is_file()
    findings = (tmp_path / "results" / report.SEEDS_FINDINGS).read_text()
    assert findings.splitlines()[0] in printed
    assert "Only 3 seeds" in findings  # 3 seeds: the signed-rank test's smallest p is 0.25


def _seed_table(diffs_by_attack: dict[str, list[float]]):
    tables = []
    for k in range(len(next(iter(diffs_by_attack.values())))):
        rows = {attack: {"nonmono_mean": 1.0, "mono_mean": 1.0 - d[k], "diff_mean": d[k], "significant": False}
                for attack, d in diffs_by_attack.items()}
        tables.append(pd.DataFrame.from_dict(rows, orient="index"))
    return analysis.seed_table(tables)


def test_seed_findings_say_whether_the_direction_survives_retraining():
    text = analysis.seed_findings(_seed_table({"hotflip": [0.2, 0.3, 0.1, 0.25, 0.2, 0.3],
                                               "universal": [-0.1, -0.2, -0.1, -0.3, -0.2, -0.1],
                                               "nes": [0.2, -0.1, 0.3, 0.1, -0.2, 0.1]}))
    by_attack = {line.split(":", 1)[0]: line for line in text}
    assert "mono degrades less in every seed (6/6)" in by_attack["hotflip"]
    assert "nonmono degrades less in every seed (6/6)" in by_attack["universal"]
    assert "direction changes between seeds (mono degrades less in 4/6, nonmono in 2/6): no conclusion" \
        in by_attack["nes"]
    assert not any(line.startswith("Only") for line in text)  # 6 seeds: the signed-rank test can reach 0.05
    two = analysis.seed_findings(_seed_table({"hotflip": [0.2, 0.3]}))
    assert two[-1].startswith("Only 2 seeds") and "smallest possible p 0.5" in two[-1]


def test_figure_gets_only_the_two_models_columns(tmp_path, monkeypatch):
    # The figure draws a bar group for every ``<model>_mean`` column; diff_mean / rel_*_mean are not models.
    from mono_s2s import figures

    seen = {}
    real = figures.analysis_figure

    def spy(pairs, table, *args, **kwargs):
        seen["columns"] = list(table.columns)
        return real(pairs, table, *args, **kwargs)

    monkeypatch.setattr(figures, "analysis_figure", spy)
    _write(tmp_path, _results())
    report.build(tmp_path, n_boot=50, quiet=True)
    means = [c for c in seen["columns"] if c.endswith("_mean")]
    assert means == ["nonmono_mean", "mono_mean"]


def test_fact_recall_sits_beside_clean_rouge_in_the_parity_table_findings_and_results_file(tmp_path):
    results = _results()
    rng = np.random.default_rng(1)
    for slug, centre in (("nonmono", 0.8), ("mono", 0.5)):
        results["clean"][slug]["fact_recall"] = np.clip(rng.normal(centre, 0.1, 40), 0, 1).tolist()
    _write(tmp_path, results)
    rep = report.build(tmp_path, n_boot=200, quiet=True)
    row = rep.parity.loc["fact_recall"]
    va, vb = results["clean"]["nonmono"]["fact_recall"], results["clean"]["mono"]["fact_recall"]
    assert row["nonmono_mean"] == pytest.approx(np.mean(va)) and row["mono_mean"] == pytest.approx(np.mean(vb))
    assert row["wilcoxon_p"] == pytest.approx(sps.wilcoxon(va, vb).pvalue)
    assert any("Fact recall" in line and "nonmono 0." in line for line in rep.findings)
    saved = load_results(tmp_path / "results" / RESULTS_FILE)
    assert "fact_recall" in saved["clean_parity"] and saved["clean"]["mono"]["fact_recall"] == vb
    # Without fact recall (other corpora) the table has the ROUGE rows only.
    _write(tmp_path / "plain", _results())
    assert list(report.build(tmp_path / "plain", n_boot=50, quiet=True).parity.index) == ["rouge1", "rouge2", "rougeL"]


def test_the_monotone_arm_is_compared_with_each_control_arm_present(tmp_path, capsys):
    results = _results()
    results["models"] = ["nonmono", "mono", "init_only"]
    for attack, per_model in results["attacks"].items():
        per_model["init_only"] = [{**r, "model": "init_only", "attacked_nll": r["attacked_nll"] + 0.05,
                                   "abs_degradation": r["abs_degradation"] + 0.05} for r in per_model["mono"]]
    _write(tmp_path, results)
    rep = report.build(tmp_path, n_boot=100)
    assert set(rep.controls) == {"init_only"}  # attention_only was not trained: not compared
    table = rep.controls["init_only"]
    for attack in ATTACKS:
        mono = [r["abs_degradation"] for r in results["attacks"][attack]["mono"]]
        twin = [r["abs_degradation"] for r in results["attacks"][attack]["init_only"]]
        assert table.loc[attack, "diff_mean"] == pytest.approx(np.mean(twin) - np.mean(mono))  # control - mono
        assert table.loc[attack, "wilcoxon_p"] == pytest.approx(sps.wilcoxon(twin, mono).pvalue)
    n = len(ATTACKS)
    assert any(line.startswith(f"Against the control init_only: mono degrades less in {n} of {n} attacks")
               for line in rep.findings)
    assert "Control: mono vs init_only" in capsys.readouterr().out
    saved = load_results(tmp_path / "results" / RESULTS_FILE)["statistics"]
    assert set(saved["mono_vs_init_only"]) == set(ATTACKS) and "vs_init_only" in saved  # baseline vs it too
    two_arms = report.analyse(_results(), n_boot=50)
    assert two_arms.controls == {} and not any("control" in line for line in two_arms.findings)


def test_every_monotone_arm_is_compared_with_each_control(tmp_path, capsys):
    # Issue 11, "N arms": mono_cmnn gets the same control comparisons as mono, and its own findings.
    results = _results()
    results["models"] = ["nonmono", "mono", "mono_cmnn", "attention_only"]
    for attack, per_model in results["attacks"].items():
        for slug, shift in (("mono_cmnn", -0.03), ("attention_only", 0.07)):
            per_model[slug] = [{**r, "model": slug, "attacked_nll": r["attacked_nll"] + shift,
                                "abs_degradation": r["abs_degradation"] + shift} for r in per_model["mono"]]
    _write(tmp_path, results)
    rep = report.build(tmp_path, n_boot=100)
    assert set(rep.controls) == {"attention_only"} and set(rep.more_controls) == {"mono_cmnn"}
    table = rep.more_controls["mono_cmnn"]["attention_only"]
    for attack in ATTACKS:
        cmnn = [r["abs_degradation"] for r in results["attacks"][attack]["mono_cmnn"]]
        none = [r["abs_degradation"] for r in results["attacks"][attack]["attention_only"]]
        assert table.loc[attack, "diff_mean"] == pytest.approx(np.mean(none) - np.mean(cmnn))
    assert any(line.startswith("Against the control attention_only: mono_cmnn degrades less") for line in rep.findings)
    assert "Control: mono_cmnn vs attention_only" in capsys.readouterr().out
    saved = load_results(tmp_path / "results" / RESULTS_FILE)["statistics"]
    assert set(saved["mono_cmnn_vs_attention_only"]) == set(ATTACKS) and "vs_mono_cmnn" in saved


def test_the_relative_measure_warning_shows_small_clean_losses_apart():
    # Learned models have clean NLLs near 0.01: two decimals printed "0.01 vs 0.01" for 0.014 and 0.011.
    rng = np.random.default_rng(0)
    results = _results()
    for attack, per_model in results["attacks"].items():
        for slug, clean, degr in (("nonmono", 0.014, 0.10), ("mono", 0.011, 0.09)):
            per_model[slug] = [AttackRecord(attack=attack, model=slug, sample_id=f"test-{i:03d}", original_nll=clean,
                                            attacked_nll=clean + degr + float(rng.normal(0, 0.005)), success=True,
                                            queries=3, perturbed_text="x").to_dict() for i in range(N)]
    rep = report.analyse(results, n_boot=50)
    flipped = [line for line in rep.findings if "Relative degradation points the other way" in line]
    assert len(flipped) == len(ATTACKS) and all("(0.014 vs 0.011 nats)" in line for line in flipped)
