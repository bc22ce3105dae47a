"""The adversarial phase end to end on two tiny trained models: records, transfer, resume, wandb keys."""

from __future__ import annotations

import json

import pytest

from mono_s2s import tracking
from mono_s2s.attacks import ATTACKS
from mono_s2s.attacks.registry import REGISTRY
from mono_s2s.config import build_config


@pytest.mark.slow
def test_attack_phase_records_transfer_resume_and_wandb(tiny_experiment, tmp_path):
    """The session's tiny experiment (conftest.py) is the first, complete phase; the resume runs on a copy."""
    from mono_s2s.attacks.store import RECORDS_FILE
    from mono_s2s.pipeline import attack_phase, prepare

    cfg, results, shared = tiny_experiment.cfg, tiny_experiment.results, tiny_experiment.out
    a = cfg.attacks
    expected = {"hotflip": a.hotflip_samples, "universal": a.universal_eval_samples, "nes": a.nes_samples,
                "substitution": a.substitution_samples, "injection": a.injection_samples, "ood": a.ood_samples}
    for attack, n in expected.items():
        for slug in ("nonmono", "mono"):
            assert results["summary"][attack][slug]["n"] == n == len(results["attacks"][attack][slug])
            for r in results["attacks"][attack][slug]:
                assert r["rel_degradation"] == pytest.approx(r["abs_degradation"] / r["original_nll"])
                assert "degradation" not in r  # schema 2: "degradation" means absolute, and only in its long name
    records = [json.loads(line) for line in (shared / "results" / RECORDS_FILE).read_text().splitlines()]
    # Both models attacked on the same samples, so the analysis can pair them by id.
    for attack in expected:
        ids = {slug: {r["sample_id"] for r in records if r["attack"] == attack and r["model"] == slug}
               for slug in ("nonmono", "mono")}
        assert ids["nonmono"] == ids["mono"] and len(ids["mono"]) == expected[attack]
    assert all(r["attacked_rougeL"] is not None and r["original_rougeL"] is not None for r in records)
    assert all(isinstance(r["success"], bool) and r["attacked_summary"] is not None for r in records)
    # Targeted injection: obedience was checked for every template tried, the chosen one and the control's too.
    for r in records:
        if r["attack"] == "injection":
            e = r["extra"]
            assert len(e["obeyed_per_template"]) == len(e["nll_per_template"]) == min(r["budget"], 10)
            assert e["obeyed"] == e["obeyed_per_template"][e["template_index"]]
            assert e["control_obeyed"] == e["obeyed_per_template"][e["control_template_index"]]
    # Every attack's record carries its random control, measured on the output too.
    for r in records:
        if r["attack"] in ("hotflip", "universal", "injection"):
            assert r["control_nll"] is not None and r["control_rougeL"] is not None, r["attack"]
    for kind in ("hotflip", "universal"):
        matrix = results["transfer"][kind]
        assert all(matrix[s][t] is not None for s in matrix for t in matrix[s])
    # Every attacked model has its trigger: the pair and the matched arm built from their snapshots.
    assert set(results["universal_triggers"]) == {"nonmono", "mono", results["matched"]["slug"]} == set(
        results["models"])

    results_file = json.loads((shared / "results" / "adversarial_results.json").read_text())
    assert results_file["clean"]["mono"]["ids"] == results_file["clean"]["nonmono"]["ids"]
    run = tiny_experiment.runs["adversarial"]
    assert run["name"].split("_", 1)[1].startswith("adversarial_experiments_")
    assert run["tags"] == tracking.ADVERSARIAL_TAGS
    keys = run["history_keys"]
    for slug in ("nonmono", "mono"):
        assert set(tracking.hotflip_iteration_keys(slug)) <= keys
    assert set(tracking.HOTFLIP_SAMPLE_KEYS) <= keys
    assert tracking.HOTFLIP_DETAILED_TABLE in keys
    for attack in ("universal", "nes", "substitution", "injection", "ood"):
        assert {tracking.attack_key(attack, "sample_idx"), tracking.attack_model_key(attack, "mono", "degradation"),
                tracking.attack_key(attack, "robustness_delta")} <= keys

    # The analysis, in the same run and next to the results file.
    tests = results_file["statistics"]["tests"]
    for attack in ATTACKS:
        assert set(tracking.final_keys(attack)) <= keys
        assert any(t["comparison"] == "equal_budget" and t["attack"] == attack and t["measure"] == "rouge_drop"
                   and {"wilcoxon_p", "ttest_p", "holm_p", "mde"} <= set(t) for t in tests)
    assert {tracking.FINAL_SUMMARY_TABLE, tracking.FINAL_GRADIENT_TABLE, tracking.FINAL_COMPARISONS_TABLE} <= keys
    assert set(tracking.OVERALL_KEYS) | {tracking.KEY_FINDINGS, tracking.FINAL_OVERALL_IMPROVEMENT,
                                        tracking.FAMILY_SIZE} <= set(run["summary"])
    assert "Clean quality, equal budget: nonmono vs mono" in run["summary"][tracking.KEY_FINDINGS]
    for name in ("summary.csv", "adversarial_analysis.png", "key_findings.txt"):
        assert (shared / "results" / name).stat().st_size > 0

    # Resume, on a copy: a phase cut short loses only the unfinished records; finished ones are not redone.
    out = tiny_experiment.copy_to(tmp_path / "out")
    corpus = prepare(cfg, out).corpus
    path = out / "results" / RECORDS_FILE
    lines = path.read_text().splitlines()
    # The searched records of one sample are lost (a HotFlip and an NES search, as if never finished), and the
    # last line is cut mid-write, as a kill leaves it.
    lost = [next(i for i, r in enumerate(records) if r["attack"] == attack) for attack in ("hotflip", "nes")]
    kept_lines = [line for i, line in enumerate(lines[:-3]) if i not in lost]
    path.write_text("\n".join(kept_lines) + "\n" + lines[-3][: len(lines[-3]) // 2])
    runs_before = set((out / "wandb").glob("offline-run-*"))
    again, _ = attack_phase(cfg, corpus, out, progress=False)
    new = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(new) == len(lines)
    # Every record, the redone ones too, equals the uninterrupted run's: the search, its control, the
    # generated summaries and the success (only the wall time may differ).
    key = lambda r: (r["attack"], r["model"], r["sample_id"], r["budget"])  # noqa: E731
    now = {key(r): {k: v for k, v in r.items() if k != "seconds"} for r in new}
    for r in records:
        assert now[key(r)] == {k: v for k, v in r.items() if k != "seconds"}, key(r)
    assert again["summary"]["hotflip"]["mono"]["n"] == a.hotflip_samples
    # No HotFlip search ran in the resumed phase, yet its wandb run has every sample's iterations.
    (resumed_dir,) = set((out / "wandb").glob("offline-run-*")) - runs_before
    resumed = tracking.read_run(resumed_dir)
    assert resumed["run_id"] != run["run_id"]
    for slug in ("nonmono", "mono"):
        assert set(tracking.hotflip_iteration_keys(slug)) <= resumed["history_keys"]
    # Attack times are those of the work in the records, so a run that only reads them back
    # reports what the attacks cost, not the milliseconds of the resume.
    assert all(again["timing_s"][attack] > 0 for attack in ATTACKS)
    third, _ = attack_phase(cfg, corpus, out, progress=False)
    assert {k: third["timing_s"][k] for k in ATTACKS} == pytest.approx({k: again["timing_s"][k] for k in ATTACKS})
    # Every budget point of every attack, on the same samples for every model (the curves' records).
    for attack, spec in REGISTRY.items():
        points = set(a.budget_points(attack, spec.budget_setting))
        for slug in ("nonmono", "mono"):
            got = {(r["sample_id"], r["budget"]) for r in new if r["attack"] == attack and r["model"] == slug}
            assert got == {(i, b) for i, _ in got for b in points}, (attack, slug)
    assert len(results["curves"]["hotflip"]["budgets"]) == 2
    # The time of every stage is in the results, the attack phase's own stages included.
    assert {"matched arm", "attacks nonmono", "attacks mono", "transfer", "summaries"} <= set(again["timing_s"]["stages"])


def test_models_are_attacked_on_the_gpu_when_there_is_one(tmp_path, monkeypatch, untrained_checkpoints):
    # No GPU here: record where the loaded models are sent, with CUDA reported present and absent.
    # Untrained checkpoints do: where a model goes does not depend on its weights.
    import torch

    from mono_s2s.attacks import runner
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    cfg = build_config("tiny", overrides=["model.d_model=16", "model.d_ff=32", "model.n_heads=2",
                                          "model.n_encoder_layers=1", "model.n_decoder_layers=1",
                                          "model.vocab_size=100"])
    untrained_checkpoints(cfg, train_tokenizer(generate_corpus(0, 16, 2, 2)["train"], cfg.model.vocab_size), tmp_path)
    sent = []
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, device: sent.append(torch.device(device)) or self)
    for cuda, expected in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        sent.clear()
        models = runner.load_models(cfg, tmp_path)
        assert set(models) == {"nonmono", "mono"}
        assert [d.type for d in sent] == [expected, expected]
