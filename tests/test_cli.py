"""The command line: one-line errors with exit code 2, and the main job on the embedded default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mono(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mono_s2s", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


SMALL = ["--wandb", "disabled"] + [a for s in ("data.n_train=300", "data.n_validation=40", "data.n_test=40",
                                                 "model.vocab_size=400", "train.epochs=2", "train.num_beams=2",
                                                 "attacks.hotflip_samples=2", "attacks.hotflip_iters=2",
                                                 "attacks.universal_train_samples=2", "attacks.universal_eval_samples=2",
                                                 "attacks.universal_epochs=1", "attacks.nes_samples=2",
                                                 "attacks.nes_population=3", "attacks.nes_generations=1",
                                                 "attacks.injection_samples=2", "attacks.ood_samples=2")
                                   for a in ("--set", s)]


@pytest.mark.parametrize("args, needle", [
    (["run", "--set", "train.lr=fast"], "train.lr"),
    (["run", "--set", "model.bogus=1"], "model.bogus"),
    (["run", "--preset", "huge"], "huge"),
    (["run", "--config", "missing.yaml"], "missing.yaml"),
    (["run", "--data", "no_such_file.jsonl"], "no_such_file.jsonl"),
    (["check", "not_a_checkpoint"], "not_a_checkpoint"),
    (["run", "--seeds", "0"], "seeds"),
])
def test_user_mistakes_print_one_line_and_exit_2(tmp_path, args, needle):
    r = mono(*args, "--out", str(tmp_path / "out"), cwd=tmp_path) if args[0] == "run" else mono(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mono-s2s: error:") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_attack_without_models_says_so_and_writes_nothing(tmp_path):
    r = mono("attack", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "no trained baseline model" in r.stderr and "mono-s2s train" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_bad_data_file_names_file_and_problem(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"dialogue": "caf\xe9", "summary": "x"}\n')
    r = mono("run", "--data", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "bad.jsonl" in r.stderr and "UTF-8" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_data_leaves_existing_outputs_alone(tmp_path):
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    keep = out / "results" / "adversarial_results.json"
    keep.write_text('{"keep": true}')
    r = mono("run", "--data", str(tmp_path / "absent.csv"), "--out", str(out))
    assert r.returncode == 2 and keep.read_text() == '{"keep": true}'


@pytest.mark.slow
def test_run_on_the_embedded_default(tmp_path):
    r = mono("run", *SMALL, "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "train 300 / validation 40 / test 40" in r.stdout
    assert "baseline" in r.stdout and "NOT monotone" in r.stdout
    assert "monotonic" in r.stdout and "monotone: no violation" in r.stdout
    assert (tmp_path / "out" / "tokenizer" / "tokenizer.json").is_file()
    for slug in ("nonmono", "mono"):
        for kind in ("best", "latest"):
            assert (tmp_path / "out" / "checkpoints" / slug / kind / "model.safetensors").is_file()
        assert (tmp_path / "out" / "results" / f"training_{slug}.json").is_file()
    assert r.stdout.count("clean ROUGE-L") == 2
    assert (tmp_path / "out" / "results" / "adversarial_results.json").is_file()
    assert "universal trigger found on mono" in r.stdout
    # A second run reuses the cached corpus, the tokenizer and the trained models.
    again = mono("run", *SMALL, "--out", str(tmp_path / "out"))
    assert again.returncode == 0 and "reused" in again.stdout
    assert again.stdout.count("already trained") == 2


@pytest.mark.slow
def test_seeds_train_independent_pairs_and_aggregate(tmp_path):
    import json

    out = tmp_path / "out"
    r = mono("run", *SMALL, "--set", "train.epochs=1", "--seeds", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    losses = []
    for k in range(2):
        assert (out / f"seed_{k}" / "results" / "adversarial_results.json").is_file()
        done = json.loads((out / f"seed_{k}" / "results" / "training_mono.json").read_text())
        assert done["seed"] == 42 + k  # train.seed + k: its own init and data order
        losses.append(done["best_val_loss"])
    assert losses[0] != losses[1]  # a fresh init and data order, not one checkpoint reused
    assert "Across 2 seeds" in r.stdout and (out / "results" / "seeds_summary.csv").is_file()
    again = mono("report", "--out", str(out))
    assert again.returncode == 0 and "Across 2 seeds" in again.stdout and "seed_1" in again.stdout


def test_console_script_and_module_agree():
    r = mono("--help")
    assert r.returncode == 0 and "run" in r.stdout and "check" in r.stdout
