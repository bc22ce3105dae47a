"""The adversarial phase end to end on two tiny trained models: records, transfer, resume, wandb keys."""

from __future__ import annotations

import json

import pytest

from mono_s2s import tracking
from mono_s2s.config import build_config

TINY = ["model.d_model=32", "model.d_ff=64", "model.n_heads=4", "train.eval_batch_size=16",
        "data.n_train=160", "data.n_validation=24", "data.n_test=16", "model.vocab_size=300", "train.batch_size=16",
        "train.epochs=1", "train.num_beams=1", "tracking.mode=offline",
        "attacks.hotflip_samples=3", "attacks.hotflip_iters=3", "attacks.universal_train_samples=3",
        "attacks.universal_eval_samples=3", "attacks.universal_epochs=1", "attacks.nes_samples=2",
        "attacks.nes_population=4", "attacks.nes_generations=2", "attacks.injection_samples=2",
        "attacks.ood_samples=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mono_s2s.pipeline import prepare, quiet_libraries, train_variant

    quiet_libraries()
    out = tmp_path_factory.mktemp("adv")
    cfg = build_config("tiny", overrides=TINY + ["tracking.mode=disabled"])
    prepared = prepare(cfg, out)
    for variant in cfg.model.variants:
        train_variant(cfg, variant, prepared, out, progress=False)
    return out, prepared


@pytest.mark.slow
def test_attack_phase_records_transfer_resume_and_wandb(trained):
    from mono_s2s.attacks.runner import RECORDS_FILE, run_attacks

    out, prepared = trained
    cfg = build_config("tiny", overrides=TINY)
    results, _ = run_attacks(cfg, prepared.corpus, out, progress=False)

    expected = {"hotflip": 3, "universal": 3, "nes": 2, "injection": 2, "ood": 2}
    for attack, n in expected.items():
        for slug in ("nonmono", "mono"):
            assert results["summary"][attack][slug]["n"] == n == len(results["attacks"][attack][slug])
            for r in results["attacks"][attack][slug]:
                assert r["degradation"] == pytest.approx(r["abs_degradation"] / r["original_nll"])
    records = [json.loads(line) for line in (out / "results" / RECORDS_FILE).read_text().splitlines()]
    # Both models attacked on the same samples, so the analysis can pair them by id.
    for attack in expected:
        ids = {slug: {r["sample_id"] for r in records if r["attack"] == attack and r["model"] == slug}
               for slug in ("nonmono", "mono")}
        assert ids["nonmono"] == ids["mono"] and len(ids["mono"]) == expected[attack]
    assert all(r["attacked_rougeL"] is not None and r["original_rougeL"] is not None for r in records)
    for kind in ("hotflip", "universal"):
        matrix = results["transfer"][kind]
        assert all(matrix[s][t] is not None for s in matrix for t in matrix[s])
    assert set(results["universal_triggers"]) == {"nonmono", "mono"}

    results_file = json.loads((out / "results" / "adversarial_results.json").read_text())
    assert results_file["clean"]["mono"]["ids"] == results_file["clean"]["nonmono"]["ids"]
    run_dir = sorted((out / "wandb").glob("offline-run-*"))[-1]
    run = tracking.read_run(run_dir)
    assert run["name"].split("_", 1)[1].startswith("adversarial_experiments_")
    assert run["tags"] == tracking.ADVERSARIAL_TAGS
    keys = run["history_keys"]
    for slug in ("nonmono", "mono"):
        assert set(tracking.hotflip_iteration_keys(slug)) <= keys
    assert set(tracking.HOTFLIP_SAMPLE_KEYS) <= keys
    assert tracking.HOTFLIP_DETAILED_TABLE in keys
    for attack in ("universal", "nes", "injection", "ood"):
        assert {tracking.attack_key(attack, "sample_idx"), tracking.attack_model_key(attack, "mono", "degradation"),
                tracking.attack_key(attack, "robustness_delta")} <= keys

    # The analysis, in the same run and next to the results file.
    for attack in tracking.ATTACKS:
        assert set(tracking.final_keys(attack)) <= keys
        assert {"wilcoxon_p", "ttest_p", "holm_p"} <= set(results_file["statistics"][attack])
    assert {tracking.FINAL_SUMMARY_TABLE, tracking.FINAL_GRADIENT_TABLE} <= keys
    assert set(tracking.OVERALL_KEYS) | {tracking.KEY_FINDINGS, tracking.FINAL_OVERALL_IMPROVEMENT} <= set(run["summary"])
    assert "Clean quality" in run["summary"][tracking.KEY_FINDINGS]
    for name in ("summary.csv", "adversarial_analysis.png", "key_findings.txt"):
        assert (out / "results" / name).stat().st_size > 0

    # Resume: a phase cut short loses only the unfinished records; finished ones are not redone.
    path = out / "results" / RECORDS_FILE
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-3]) + "\n" + lines[-3][: len(lines[-3]) // 2])  # killed mid-write
    again, _ = run_attacks(cfg, prepared.corpus, out, progress=False)
    new = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(new) == len(lines)
    kept = {(r["attack"], r["model"], r["sample_id"]): r["attacked_nll"] for r in new}
    for r in records[:-3]:
        assert kept[(r["attack"], r["model"], r["sample_id"])] == r["attacked_nll"]
    assert again["summary"]["hotflip"]["mono"]["n"] == 3
    # No HotFlip search ran in the resumed phase, yet its wandb run has every sample's iterations.
    resumed = tracking.read_run(sorted((out / "wandb").glob("offline-run-*"))[-1])
    assert resumed["run_id"] != run["run_id"]
    for slug in ("nonmono", "mono"):
        assert set(tracking.hotflip_iteration_keys(slug)) <= resumed["history_keys"]
    # Attack times are those of the work in the records, so a run that only reads them back
    # reports what the attacks cost, not the milliseconds of the resume.
    assert all(again["timing_s"][attack] > 0 for attack in tracking.ATTACKS)
    third, _ = run_attacks(cfg, prepared.corpus, out, progress=False)
    assert third["timing_s"] == pytest.approx(again["timing_s"])


def test_models_are_attacked_on_the_gpu_when_there_is_one(trained, monkeypatch):
    # No GPU here: record where the loaded models are sent, with CUDA reported present and absent.
    import torch

    from mono_s2s.attacks import runner

    out, _ = trained
    cfg = build_config("tiny", overrides=TINY)
    sent = []
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, device: sent.append(torch.device(device)) or self)
    for cuda, expected in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        sent.clear()
        models = runner._load_models(cfg, out)
        assert set(models) == {"nonmono", "mono"}
        assert [d.type for d in sent] == [expected, expected]
