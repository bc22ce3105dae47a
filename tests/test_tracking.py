"""Tracking: the W&B contract (names, tags, project, keys) read back from offline run files.

Every run here is offline and lives under tmp_path; ``read_run`` parses the
``.wandb`` log with ``wandb leet inspect --json``, so the checks are on what
wandb actually stored, not on what we meant to send.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mono_s2s import tracking as tr
from mono_s2s.config import TrackArgs
from mono_s2s.tracking.read import _fold_media

FAKE_KEY = "fakekey" + "0123456789abcdef" * 2 + "0"  # 40 chars, the shape of a real key


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("mono-s2s: warning:")]


# -- the contract, literally as WANDB_GUIDE.md writes it ---------------------

def test_names_match_the_guide():
    assert tr.PROJECT == "mono-s2s-adversarial-robustness" == TrackArgs().project
    assert tr.TRAIN_BATCH_KEYS == (
        "train/batch_loss", "train/learning_rate", "train/teacher_forcing_ratio", "train/used_teacher_forcing",
        "train/used_noise", "train/batch_time", "train/grad_norm", "train/grad_norm_clipped", "train/epoch",
        "train/batch")
    assert tr.TRAIN_EPOCH_KEYS == (
        "train/epoch_loss", "train/epoch_perplexity", "train/epoch_time", "train/batches_per_second",
        "train/avg_grad_norm", "train/max_grad_norm", "train/min_batch_loss", "train/max_batch_loss",
        "train/std_batch_loss")
    assert tr.VAL_KEYS == ("val/loss", "val/perplexity", "val/eval_time", "val/min_loss", "val/max_loss",
                           "val/std_loss")
    assert tr.EPOCH_KEYS == ("epoch", "best_val_loss", "patience_counter", "is_best_epoch")
    assert (tr.VAL_SAMPLES_TABLE, tr.TRAINING_SAMPLES_TABLE) == ("val/samples", "training_samples")
    assert tr.hotflip_iteration_keys("mono") == (
        "hotflip/mono/iteration_loss", "hotflip/mono/iteration_grad_norm", "hotflip/mono/iteration_tokens_changed",
        "hotflip/mono/iteration")
    assert set(tr.HOTFLIP_SAMPLE_KEYS) == {
        "hotflip/sample_idx", "hotflip/nonmono_degradation", "hotflip/mono_degradation", "hotflip/robustness_delta",
        "hotflip/nonmono_avg_grad_norm", "hotflip/mono_avg_grad_norm", "hotflip/grad_norm_ratio",
        "hotflip/nonmono_loss_improvement", "hotflip/mono_loss_improvement"}
    assert tr.final_keys("hotflip") == (
        "final/hotflip_nonmono_mean", "final/hotflip_mono_mean", "final/hotflip_improvement_pct",
        "final/hotflip_p_value", "final/hotflip_significant")
    assert set(tr.OVERALL_KEYS) == {
        "overall_robustness_improvement_pct", "overall_nonmono_degradation", "overall_mono_degradation",
        "overall_p_value", "overall_statistically_significant"}
    assert tr.attack_summary_key("hotflip", "mono", "avg_grad_norm") == "hotflip/summary_mono_avg_grad_norm"
    assert tr.HOTFLIP_SUMMARY_PREFIX == "hotflip/summary_"
    assert (tr.HOTFLIP_DETAILED_TABLE, tr.FINAL_SUMMARY_TABLE, tr.FINAL_GRADIENT_TABLE, tr.KEY_FINDINGS) == (
        "hotflip/detailed_comparison", "final/comprehensive_summary", "final/attack_comparison_with_gradients",
        "key_findings")
    assert tr.TRAINING_TAGS == {"nonmono": ["training", "non-monotonic", "seq2seq", "summarization"],
                                "mono": ["training", "monotonic", "seq2seq", "summarization", "robustness"]}
    assert tr.ADVERSARIAL_TAGS == ["adversarial", "robustness", "gradient-analysis", "attacks"]
    assert tr.training_tags("softplus_gate") == ["training", "seq2seq", "summarization", "softplus_gate"]


def test_run_names_and_env(monkeypatch):
    assert tr.run_name("training", "nonmono", env="local", timestamp="20261125_061500") == \
        "local_nonmono_training_20261125_061500"
    assert tr.run_name("adversarial", env="colab", timestamp="20261125_061500") == \
        "colab_adversarial_experiments_20261125_061500"
    assert re.fullmatch(r"local_mono_training_\d{8}_\d{6}", tr.run_name("training", "mono", env="local"))
    with pytest.raises(ValueError):
        tr.run_name("training")
    with pytest.raises(ValueError):
        tr.run_name("pretraining", "mono")
    assert tr.detect_env() == "local"
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20261120")
    assert tr.detect_env() == "colab"
    assert tr.run_name("adversarial").startswith("colab_adversarial_experiments_")


def test_auto_mode_detects_login_from_local_files_only(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    monkeypatch.delenv("WANDB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.delenv("WANDB_MODE")
    assert not tr.is_logged_in()
    assert tr.resolve_mode("auto") == "offline"
    # what `wandb login` writes: a netrc entry for the API host
    (home / ".netrc").write_text(f"machine api.wandb.ai\n  login user\n  password {FAKE_KEY}\n")
    assert tr.is_logged_in() and tr.resolve_mode("auto") == "online"
    # a netrc entry for another host does not count
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.org")
    assert tr.resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    assert tr.resolve_mode("auto") == "online"
    # the user's own choice for wandb wins over our guess; explicit modes are passed through
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert tr.resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert tr.resolve_mode("auto") == "disabled"
    assert tr.resolve_mode("online") == "online"
    # `wandb offline` in the working folder writes wandb/settings there; it wins over a login
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.chdir(tmp_path)
    assert tr.resolve_mode("auto") == "online"
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "settings").write_text("[default]\nmode = offline\n")
    assert tr.resolve_mode("auto") == "offline"


# -- real offline runs, read back ------------------------------------------

def _training_metrics(step: int) -> dict:
    return {k: float(step) + 0.5 for k in tr.TRAIN_BATCH_KEYS}


def test_training_run_logs_every_contract_key(tmp_path, capsys):
    out = tmp_path / "out"
    config = {"model": {"d_model": 32, "variant": "monotonic", "variants": ("baseline", "monotonic")},
              "train": {"lr": 0.002, "epochs": 2}, "checkpoint_dir": tmp_path / "ck"}
    with tr.Tracker(TrackArgs(mode="offline"), "training", "mono", config, out) as t:
        assert t.enabled and t.run_id
        for step in range(3):
            t.log(_training_metrics(step), step=step)
        t.log({**{k: 1.0 for k in tr.TRAIN_EPOCH_KEYS}, **{k: 2.0 for k in tr.VAL_KEYS},
               "epoch": 1, "best_val_loss": 2.0, "patience_counter": 0, "is_best_epoch": True}, step=2)
        t.log_table(tr.VAL_SAMPLES_TABLE, ["source", "reference", "prediction"], [["a b", "a", "a"]])
        t.log_table(tr.TRAINING_SAMPLES_TABLE, ["epoch", "prediction"], [[1, "x y"], [2, Path("z")]])
        t.log({"train/batch_loss": 0.1}, step=3)  # a row after the tables must not be dropped
        t.summary({"best_val_loss": 2.0, "final": {"epochs_run": 2}})
    assert not t.enabled
    assert t.run_dir.parent == out / "wandb" and t.run_dir.name.startswith("offline-run-")
    assert list(t.run_dir.glob("*.wandb"))

    run = tr.read_run(t.run_dir)
    expected = {*tr.TRAIN_BATCH_KEYS, *tr.TRAIN_EPOCH_KEYS, *tr.VAL_KEYS, *tr.EPOCH_KEYS,
                tr.VAL_SAMPLES_TABLE, tr.TRAINING_SAMPLES_TABLE}
    assert expected <= run["history_keys"], sorted(expected - run["history_keys"])
    rows = {r["history"]["step"].get("num", 0): _fold_media(r["history"]["item"])
            for r in run["records"] if r["type"] == "history"}
    assert sorted(rows) == [0, 1, 2, 3]
    assert {tr.VAL_SAMPLES_TABLE, tr.TRAINING_SAMPLES_TABLE, "val/loss"} <= set(rows[2])  # tables join the epoch row
    assert rows[3]["train/batch_loss"] == 0.1
    assert re.fullmatch(rf"{tr.detect_env()}_mono_training_\d{{8}}_\d{{6}}", run["name"])
    assert run["project"] == "mono-s2s-adversarial-robustness"
    assert run["tags"] == ["training", "monotonic", "seq2seq", "summarization", "robustness"]
    assert run["run_id"] == t.run_id
    assert run["config"]["model"] == {"d_model": 32, "variant": "monotonic", "variants": ["baseline", "monotonic"]}
    assert run["config"]["train"] == {"lr": 0.002, "epochs": 2}
    assert run["config"]["checkpoint_dir"] == str(tmp_path / "ck")
    assert run["summary"]["best_val_loss"] == 2.0 and run["summary"]["final"] == {"epochs_run": 2}
    assert run["summary"][tr.VAL_SAMPLES_TABLE]["nrows"] == 1
    assert run["exit_code"] == 0
    assert _warnings(capsys.readouterr().err) == []


def test_adversarial_run_name_tags_and_keys(tmp_path):
    keys = [*tr.hotflip_iteration_keys("nonmono"), *tr.hotflip_iteration_keys("mono"), *tr.HOTFLIP_SAMPLE_KEYS,
            *tr.final_keys("hotflip"), *tr.final_keys("universal_trigger")]
    t = tr.Tracker(TrackArgs(mode="offline"), "adversarial", None, {"attacks": {"hotflip_iters": 15}},
                   tmp_path / "out")
    t.log({k: 0.25 for k in keys})
    t.log_table(tr.FINAL_SUMMARY_TABLE, ["attack", "improvement_pct"], [["hotflip", 12.5]])
    t.summary({**{k: 0.5 for k in tr.OVERALL_KEYS}, tr.KEY_FINDINGS: "monotone FFNs: smaller gradients"})
    t.finish()
    t.finish()  # idempotent
    run = tr.read_run(t.run_dir)
    assert re.fullmatch(rf"{tr.detect_env()}_adversarial_experiments_\d{{8}}_\d{{6}}", run["name"])
    assert run["tags"] == ["adversarial", "robustness", "gradient-analysis", "attacks"]
    assert {*keys, tr.FINAL_SUMMARY_TABLE} <= run["history_keys"]
    assert set(tr.OVERALL_KEYS) <= set(run["summary"])
    assert run["summary"]["key_findings"] == "monotone FFNs: smaller gradients"


def test_resume_keeps_the_run_id(tmp_path):
    t = tr.Tracker(TrackArgs(mode="offline"), "training", "nonmono", {}, tmp_path / "out", resume_id="resume123")
    assert t.run_id == "resume123"
    t.finish()
    run = tr.read_run(t.run_dir)
    assert run["run_id"] == "resume123"
    assert run["tags"] == ["training", "non-monotonic", "seq2seq", "summarization"]


def test_log_model_creates_a_model_artifact(tmp_path):
    ck = tmp_path / "checkpoints" / "mono" / "best"
    (ck / "tok").mkdir(parents=True)
    (ck / "model.safetensors").write_bytes(b"\0weights")
    (ck / "tok" / "tokenizer.json").write_text("{}")
    t = tr.Tracker(TrackArgs(mode="offline"), "training", "mono", {}, tmp_path / "out")
    t.log_model(ck, "mono-best", metadata={"epoch": 3, "val_loss": 1.25})
    t.finish()
    arts = [a for a in tr.read_run(t.run_dir)["artifacts"] if a["type"] == "model"]
    assert len(arts) == 1
    assert arts[0]["name"] == "mono-best"
    assert sorted(arts[0]["files"]) == ["model.safetensors", "tok/tokenizer.json"]
    assert arts[0]["metadata"] == {"epoch": 3, "val_loss": 1.25}


def test_api_key_never_written(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    marker = "config-marker-7f3a"
    t = tr.Tracker(TrackArgs(mode="offline"), "training", "mono",
                   {"note": marker, "wandb_api_key": FAKE_KEY}, tmp_path / "out")
    assert t.enabled
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "w.bin").write_bytes(b"w")
    t.log({"train/batch_loss": 1.0})
    t.log_table(tr.VAL_SAMPLES_TABLE, ["a"], [["b"]])
    t.summary({"best_val_loss": 1.0})
    t.log_model(ck, "mono-best")
    t.finish()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix == ".wandb" for p in files)
    written = {p: p.read_bytes() for p in files}
    # control: the search does see what we logged, including inside the binary .wandb log
    assert any(marker.encode() in data for p, data in written.items() if p.suffix == ".wandb")
    assert [p for p, data in written.items() if FAKE_KEY.encode() in data] == []


def test_disabled_writes_nothing_and_needs_no_wandb(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # any `import wandb` would now fail
    out = tmp_path / "out"
    t = tr.Tracker(TrackArgs(mode="disabled"), "training", "mono", {"a": 1}, out)
    assert (t.enabled, t.run_id, t.run_dir) == (False, None, None)
    _exercise(t, tmp_path)
    assert not out.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert capsys.readouterr().err == ""


def test_only_rank_zero_tracks(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    t = tr.Tracker(TrackArgs(mode="offline"), "training", "mono", {}, tmp_path / "out")
    assert not t.enabled and not (tmp_path / "out").exists()
    monkeypatch.setenv("RANK", "0")
    assert tr.resolve_mode("offline") == "offline"


def test_failing_init_warns_once_and_disables(tmp_path, monkeypatch, capsys):
    import wandb

    def broken_init(*args, **kwargs):
        raise ConnectionError(f"no route to api.wandb.ai\nsecond line {FAKE_KEY}")

    monkeypatch.setattr(wandb, "init", broken_init)
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    t = tr.Tracker(TrackArgs(mode="offline"), "adversarial", None, {}, tmp_path / "out")
    assert (t.enabled, t.run_id, t.run_dir) == (False, None, None)
    _exercise(t, tmp_path)
    err = capsys.readouterr().err
    assert _warnings(err) == ["mono-s2s: warning: wandb could not start (ConnectionError: no route to "
                              "api.wandb.ai); tracking is off for this run"]
    assert FAKE_KEY not in err
    assert not list(tmp_path.rglob("*.wandb"))


def _exercise(t: tr.Tracker, tmp_path: Path) -> None:
    t.log({"train/batch_loss": 1.0}, step=0)
    t.log_table(tr.VAL_SAMPLES_TABLE, ["a"], [["b"]])
    t.log_image("figure", tmp_path / "missing.png")
    t.summary({"x": {"y": 1}})
    t.log_model(tmp_path / "missing", "mono-best", {"epoch": 1})
    t.finish()
    t.finish()


def test_failure_mid_run_warns_once_and_stops_tracking(tmp_path, capsys):
    t = tr.Tracker(TrackArgs(mode="offline"), "training", "nonmono", {}, tmp_path / "out")
    t.log({"train/batch_loss": 1.0}, step=0)
    t.log_image("figure", tmp_path / "missing.png")  # a failing call ...
    t.log({"train/batch_loss": 0.5}, step=1)  # ... turns tracking off; later calls are no-ops
    t.finish()
    assert not t.enabled
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1 and "log_image" in warnings[0] and "missing.png" in warnings[0]
    run = tr.read_run(t.run_dir)
    assert run["exit_code"] == 1
    assert [r["history"]["item"]["train/batch_loss"] for r in run["records"] if r["type"] == "history"] == [1.0]


def test_finish_leaves_a_complete_log_and_other_runs_alive(tmp_path, monkeypatch, capsys):
    # wandb closes a run's .wandb log asynchronously after finish(); the tracker shuts the
    # service down (which flushes every log) once its last run ends -- never while another is live.
    import wandb

    calls = []
    real_teardown = wandb.teardown
    monkeypatch.setattr(wandb, "teardown", lambda *a, **k: (calls.append(1), real_teardown(*a, **k)))
    a = tr.Tracker(TrackArgs(mode="offline"), "training", "nonmono", {}, tmp_path / "a")
    b = tr.Tracker(TrackArgs(mode="offline"), "training", "mono", {}, tmp_path / "b")
    a.log({"train/batch_loss": 1.0})
    a.finish()
    assert calls == []
    b.log({"train/batch_loss": 2.0})  # b still works after a finished
    b.summary({"best_val_loss": "end-marker-b"})
    b.finish()
    assert calls == [1]
    assert b"end-marker-b" in next(b.run_dir.glob("*.wandb")).read_bytes()  # complete right away
    assert _warnings(capsys.readouterr().err) == []
    assert [r["history"]["item"]["train/batch_loss"] for r in tr.read_run(b.run_dir)["records"]
            if r["type"] == "history"] == [2.0]
