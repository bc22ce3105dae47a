"""The command line: one-line errors with exit code 2, and the main job on the embedded default.

The verbs run in this process, through :func:`mono_s2s.cli.main` (what both the console
script and ``python -m mono_s2s`` call, passing its return value to ``sys.exit``): a
subprocess per case would import torch each time. ``test_console_script_and_module_agree``
starts the installed ``mono-s2s`` executable itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize("args, needle", [
    (["run", "--set", "train.lr=fast"], "train.lr"),
    (["run", "--set", "model.bogus=1"], "model.bogus"),
    (["run", "--preset", "huge"], "huge"),
    (["run", "--config", "missing.yaml"], "missing.yaml"),
    (["run", "--data", "no_such_file.jsonl"], "no_such_file.jsonl"),
    (["check", "not_a_checkpoint"], "not_a_checkpoint"),
    (["run", "--seeds", "0"], "seeds"),
])
def test_user_mistakes_print_one_line_and_exit_2(mono, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)  # relative names (missing.yaml, not_a_checkpoint) are looked up here
    r = mono(*args, "--out", str(tmp_path / "out")) if args[0] == "run" else mono(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mono-s2s: error:") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert _files(tmp_path) == []  # nothing written, not even an empty output folder


def test_attack_without_models_says_so_and_writes_nothing(mono, tmp_path):
    r = mono("attack", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "no trained baseline model" in r.stderr and "mono-s2s train" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_bad_data_file_names_file_and_problem(mono, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"dialogue": "caf\xe9", "summary": "x"}\n')
    r = mono("run", "--data", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "bad.jsonl" in r.stderr and "UTF-8" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_data_leaves_existing_outputs_alone(mono, tmp_path):
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    keep = out / "results" / "adversarial_results.json"
    keep.write_text('{"keep": true}')
    r = mono("run", "--data", str(tmp_path / "absent.csv"), "--out", str(out))
    assert r.returncode == 2 and keep.read_text() == '{"keep": true}'


@pytest.mark.slow
def test_run_on_the_embedded_default(tiny_experiment, mono, tmp_path):
    """The session's tiny experiment is this `mono-s2s run` (conftest.py); its second run goes on a copy."""
    d, shared, stdout = tiny_experiment.cfg.data, tiny_experiment.out, tiny_experiment.stdout
    assert f"train {d.n_train} / validation {d.n_validation} / test {d.n_test}" in stdout
    assert "baseline" in stdout and "NOT monotone" in stdout
    assert "monotonic" in stdout and "monotone: no violation" in stdout
    assert (shared / "tokenizer" / "tokenizer.json").is_file()
    for slug in ("nonmono", "mono"):
        for kind in ("best", "latest"):
            assert (shared / "checkpoints" / slug / kind / "model.safetensors").is_file()
        assert (shared / "results" / f"training_{slug}.json").is_file()
    assert stdout.count("clean ROUGE-L") == 3  # the two trained arms and the matched arm built from their snapshots
    assert (shared / "results" / "adversarial_results.json").is_file()
    assert "universal trigger found on mono" in stdout
    # A second run reuses the cached corpus, the tokenizer and the trained models.
    out = tiny_experiment.copy_to(tmp_path / "out")
    again = mono(*tiny_experiment.argv, "--out", str(out))
    assert again.returncode == 0 and "reused" in again.stdout
    assert again.stdout.count("already trained") == 2 and "matched arm: already built" in again.stdout


@pytest.mark.slow
def test_seeds_train_independent_pairs_and_aggregate(tiny_experiment, mono, tmp_path):
    # Seed 0 of `--seeds 2` is the session's tiny experiment (train.seed + 0, the same settings, in
    # out/seed_0; corpus and tokenizer shared in out/): only seed 1 is trained here.
    out = tmp_path / "out"
    tiny_experiment.copy_to(out, "cache", "tokenizer")
    tiny_experiment.copy_to(out / "seed_0", "checkpoints", "results")
    r = mono(*tiny_experiment.argv, "--wandb", "disabled", "--seeds", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("already trained") == 2  # seed 0's pair was looked for in out/seed_0, and found
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


def test_console_script_and_module_agree(tmp_path):
    """The installed `mono-s2s` executable and `python -m mono_s2s`: same program, same exit codes."""
    script = shutil.which("mono-s2s", path=str(Path(sys.executable).parent))
    assert script, f"no mono-s2s console script next to {sys.executable} (pip install -e . makes it)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)

    r, m = run(script, "--help"), run(sys.executable, "-m", "mono_s2s", "--help")
    assert r.returncode == m.returncode == 0 and "run" in r.stdout and "check" in r.stdout
    assert r.stdout == m.stdout
    # A user mistake through the script itself: exit code 2, one line, nothing written.
    r = run(script, "run", "--data", "no_such_file.jsonl", "--out", str(tmp_path / "out"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "no_such_file.jsonl" in lines[0], r.stderr
    assert not (tmp_path / "out").exists()
