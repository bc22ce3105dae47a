"""Faults around a run: a busy output folder, wandb without a network, a full disk, notebook errors, a killed attack phase.

Everything goes through ``mono_s2s.cli.main`` in this process (with ``capsys``), except where a
second process is the point. No model is trained: the attack phase works on untrained tiny
checkpoints saved into the layout ``OUT/checkpoints/{nonmono,mono}/best`` (:func:`ready`), and
``run`` gets a stand-in for the training stage where it is needed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mono_s2s import cli, lock, pipeline, tracking
from mono_s2s.config import VARIANT_SLUGS, TrackArgs, build_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "fakekey" + "0123456789abcdef" * 2 + "0"  # 40 characters, the shape of a real API key

# Tiny models on a tiny corpus, every attack on two samples with the smallest searches.
SETS = ("model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.n_encoder_layers=1",
        "model.n_decoder_layers=1", "model.vocab_size=150", "data.n_train=32", "data.n_validation=8",
        "data.n_test=8", "data.max_source_tokens=48", "data.max_summary_tokens=8", "train.batch_size=16",
        "train.eval_batch_size=16", "train.num_beams=1",
        "attacks.hotflip_samples=2", "attacks.hotflip_iters=2", "attacks.hotflip_trigger_len=2",
        "attacks.hotflip_topk=2", "attacks.universal_train_samples=2", "attacks.universal_eval_samples=2",
        "attacks.universal_max_sweeps=1", "attacks.universal_restarts=1", "attacks.universal_trigger_len=2", "attacks.universal_topk=2",
        "attacks.universal_beam=1", "attacks.nes_samples=2", "attacks.nes_population=2",
        "attacks.nes_generations=1", "attacks.nes_trigger_len=2", "attacks.substitution_samples=2",
        "attacks.substitution_words=1", "attacks.substitution_proposals=2", "attacks.injection_samples=2",
        "attacks.ood_samples=2",
        # The headline budget only (the curves have their own tests).
        "attacks.hotflip_budgets=2", "attacks.universal_budgets=2", "attacks.nes_budgets=2",
        "attacks.substitution_budgets=1", "attacks.injection_budgets=10", "attacks.ood_budgets=5")
FLAGS = tuple(word for s in SETS for word in ("--set", s))


def _cfg():
    return build_config("tiny", overrides=list(SETS))


@pytest.fixture(scope="module")
def ready(tmp_path_factory, untrained_checkpoints) -> Path:
    """A folder ``attack`` can work on: corpus cache, tokenizer, untrained checkpoints. Copy before use."""
    out = tmp_path_factory.mktemp("faults") / "ready"
    cfg = _cfg()
    prepared = pipeline.prepare(cfg, out)
    untrained_checkpoints(cfg, prepared.tokenizer, out)
    return out


@pytest.fixture(scope="module")
def attacked(ready, tmp_path_factory) -> Path:
    """``ready`` after a finished attack phase (results, tables, figure), tracking off. Copy before use."""
    out = tmp_path_factory.mktemp("faults") / "attacked"
    shutil.copytree(ready, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "disabled")
        assert cli.main(["attack", "--out", str(out), "--wandb", "disabled", *FLAGS]) == 0
    return out


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _stamps(folder: Path, exclude: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under ``folder``: a file written again, or lost, changes the map."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and not str(p.relative_to(folder)).startswith(exclude)}


def _one_error_line(err: str) -> str:
    """The error of a stopped command: one line ``mono-s2s: error: ...``, last on stderr, and no traceback
    (progress lines of the stages that ran before it may precede it)."""
    assert "Traceback" not in err and 'File "' not in err, err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("mono-s2s: error: ")]
    assert errors == lines[-1:], err
    return errors[0]


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("mono-s2s: warning:")]


def _proc_start(pid: int):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(text[text.rfind(")") + 2:].split()[19])


def _write_lock(folder: Path, pid: int, host: str | None = None, command: str = "mono-s2s run") -> Path:
    """A lock file as another process would have written it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / lock.LOCK_NAME
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "proc_start": _proc_start(pid),
                                "started": "2026-12-01T09:00:00", "command": command}))
    return path


@pytest.fixture
def other_process():
    """A live process that is not this one (its PID goes into hand-written lock files)."""
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


@pytest.fixture
def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# -- 3. one process per output folder --------------------------------------------------------------------------

def test_a_live_lock_refuses_a_second_run_before_it_does_anything(tmp_path, monkeypatch, capsys, other_process):
    out = tmp_path / "out"
    keep = out / "results" / "training_mono.json"
    keep.parent.mkdir(parents=True)
    keep.write_text('{"kept": true}')
    held = _write_lock(out, other_process.pid)
    before = held.read_text()
    started = []
    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: started.append(1) or pytest.fail("prepare ran"))

    assert cli.main(["run", "--out", str(out), "--wandb", "disabled", *FLAGS]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"output folder {out} is in use by mono-s2s run (PID {other_process.pid}" in line
    assert "wait for it to end or stop it, or use another output folder" in line
    assert started == []  # nothing trained, attacked or written a second time
    assert held.read_text() == before  # the other process's lock is left alone
    assert keep.read_text() == '{"kept": true}'
    assert sorted(p.name for p in out.iterdir()) == [lock.LOCK_NAME, "results"]


def test_a_lock_held_by_another_process_then_left_by_its_kill(attacked, tmp_path, capsys):
    """A real second process: while it holds the folder, report is refused; once it is killed, the stale lock
    is taken over with one warning, and released when the command ends."""
    out = _copy(attacked, tmp_path / "out")
    code = "import sys, time\nfrom mono_s2s import lock\nlock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        results = (out / "results" / "adversarial_results.json").read_text()

        assert cli.main(["report", "--out", str(out)]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert f"output folder {out} is in use by" in line and f"(PID {holder.pid}," in line
        assert (out / "results" / "adversarial_results.json").read_text() == results
    finally:
        holder.send_signal(signal.SIGKILL)  # no chance to release: the lock file stays behind
        holder.wait()
    assert json.loads((out / lock.LOCK_NAME).read_text())["pid"] == holder.pid

    assert cli.main(["report", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    (warning,) = _warnings(captured.err)
    assert warning.startswith(f"mono-s2s: warning: took over the lock of {out} left by PID {holder.pid} "
                              f"on host {socket.gethostname()}, since ")
    assert warning.endswith("which is no longer running")
    assert "Traceback" not in captured.err
    assert not (out / lock.LOCK_NAME).exists()  # released at the end of the command
    assert "figure:" in captured.out


def test_a_stale_lock_with_a_dead_pid_is_taken_over(attacked, tmp_path, capsys, dead_pid):
    out = _copy(attacked, tmp_path / "out")
    _write_lock(out, dead_pid)
    assert cli.main(["report", "--out", str(out)]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert warning == (f"mono-s2s: warning: took over the lock of {out} left by PID {dead_pid} on host "
                       f"{socket.gethostname()}, since 2026-12-01T09:00:00, which is no longer running")
    assert not (out / lock.LOCK_NAME).exists()


def test_the_lock_is_held_during_the_command_reentrant_and_released_on_ctrl_c(tmp_path, monkeypatch, capsys):
    out = tmp_path / "new" / "out"
    seen = []

    def report(args):
        info = json.loads((out / lock.LOCK_NAME).read_text())
        seen.append((info["pid"], info["host"]))
        if len(seen) > 1:
            return 0
        # the same process again (the notebook's stages, a test calling main): not refused
        assert cli.main(["report", "--out", str(out)]) == 0
        assert (out / lock.LOCK_NAME).exists()  # the inner command does not release the outer one's lock
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "report", report)
    assert cli.main(["report", "--out", str(out)]) == 130
    assert seen == [(os.getpid(), socket.gethostname())] * 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "mono-s2s: interrupted"
    assert not (out / lock.LOCK_NAME).exists()
    assert not (tmp_path / "new").exists()  # the folders the lock created are removed when nothing was written


def test_seed_folders_are_covered_by_the_lock_above_and_below(ready, tmp_path, monkeypatch, capsys, other_process):
    """``--seeds N`` nests OUT/seed_k: a command on a seed folder is refused while OUT is held, and a run on OUT
    is refused while a seed folder is held; ``check`` only reads and is never refused."""
    out = _copy(ready, tmp_path / "out")
    shutil.copytree(ready, out / "seed_0")
    top = _write_lock(out, other_process.pid)
    assert cli.main(["attack", "--out", str(out / "seed_0"), "--wandb", "disabled", *FLAGS]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"output folder {out / 'seed_0'} is in use by mono-s2s run (PID {other_process.pid}" in line
    assert f"which holds {out};" in line
    assert not (out / "seed_0" / lock.LOCK_NAME).exists()
    assert not (out / "seed_0" / "results").exists()

    assert cli.main(["check", str(out / "seed_0" / "checkpoints" / "mono" / "best")]) == 0
    assert json.loads(capsys.readouterr().out)["ffn_monotone"] is True

    top.unlink()
    _write_lock(out / "seed_1", other_process.pid, command="mono-s2s attack")
    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: pytest.fail("prepare ran"))
    assert cli.main(["run", "--seeds", "2", "--out", str(out), "--wandb", "disabled", *FLAGS]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"output folder {out} is in use by mono-s2s attack (PID {other_process.pid}" in line
    assert f"which holds {out / 'seed_1'};" in line
    assert not (out / lock.LOCK_NAME).exists()


def test_a_lock_from_another_host_is_live_until_its_heartbeat_stops(tmp_path, capsys, monkeypatch):
    """A shared disk (a new Colab runtime on the same Drive): the PID cannot be checked, the lock's age can."""
    out = tmp_path / "out"
    path = _write_lock(out, 4242, host="another-runtime")
    monkeypatch.setitem(cli.COMMANDS, "report", lambda args: 0)
    assert cli.main(["report", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "(PID 4242 on host another-runtime, since 2026-12-01T09:00:00)" in line
    assert f"if it is gone, delete {path}" in line
    old = path.stat().st_mtime - lock.STALE_AFTER_S - 1
    os.utime(path, (old, old))
    assert cli.main(["report", "--out", str(out)]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "left by PID 4242 on host another-runtime" in warning
    assert not path.exists()


# -- 6. wandb online without a network ------------------------------------------------------------------------

def _fake_train_variant(cfg, variant, prepared, out, seed=None, progress=True):
    """The training stage's wandb run and its best checkpoint, without the training."""
    from mono_s2s.checkpoint import save_checkpoint
    from mono_s2s.models import build_model

    slug = VARIANT_SLUGS[variant]
    with tracking.Tracker(cfg.tracking, "training", slug, config=cfg.to_dict(), out_dir=out) as tracker:
        tracker.log({"train/batch_loss": 1.0}, step=0)
    model = build_model(cfg.model, variant, prepared.tokenizer, seed=0)
    save_checkpoint(out / "checkpoints" / slug / "best", model, prepared.tokenizer, cfg)
    return {}


def _timeout_set(settings):
    """The init timeout the tracker gave wandb, or None where it left wandb's own (WANDB_INIT_TIMEOUT, else 90 s)."""
    return settings.init_timeout if "init_timeout" in settings.model_fields_set else None


@pytest.fixture
def no_network(monkeypatch):
    """``wandb.init`` fails online as it does without a network; offline it works. Records each call."""
    import wandb

    monkeypatch.setattr(tracking.Tracker, "_online_fallback", None, raising=False)  # restored after the test
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.delenv("WANDB_INIT_TIMEOUT", raising=False)
    real_init, calls = wandb.init, []

    def init(*args, **kwargs):
        calls.append({"mode": kwargs["mode"], "init_timeout": _timeout_set(kwargs["settings"])})
        if kwargs["mode"] == "online":
            raise ConnectionError(f"Timed out while retrying: dial tcp: connect: network is unreachable {FAKE_KEY}")
        return real_init(*args, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    return calls


def test_run_online_without_network_falls_back_offline_once(tmp_path, monkeypatch, capsys, no_network):
    out = tmp_path / "out"
    monkeypatch.setattr(pipeline, "train_variant", _fake_train_variant)
    assert cli.main(["run", "--out", str(out), "--wandb", "online", *FLAGS]) == 0
    err = capsys.readouterr().err
    assert _warnings(err) == [(
        "mono-s2s: warning: wandb could not start online (ConnectionError: Timed out while retrying: dial tcp: "
        "connect: network is unreachable ***); this run and the later ones of this process are tracked offline "
        f"(this one in {out / 'wandb'}; upload them later with 'wandb sync')")]
    assert FAKE_KEY not in err and "Traceback" not in err
    # one online attempt with the short timeout; the three runs then open offline without trying again
    assert no_network == [{"mode": "online", "init_timeout": tracking.run.INIT_TIMEOUT_S}] + [
        {"mode": "offline", "init_timeout": None}] * 3
    runs = [tracking.read_run(d) for d in sorted((out / "wandb").glob("offline-run-*"))]
    assert sorted(r["job_type"] for r in runs) == ["adversarial", "training", "training"]
    assert (out / "results" / "adversarial_results.json").is_file()


def test_when_offline_fails_too_tracking_is_off_with_one_warning(tmp_path, monkeypatch, capsys, no_network):
    import wandb

    def init(*args, **kwargs):  # offline fails as well (a broken install, a read-only disk)
        no_network.append({"mode": kwargs["mode"], "init_timeout": _timeout_set(kwargs["settings"])})
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(wandb, "init", init)
    trackers = [tracking.Tracker(TrackArgs(mode="online"), kind, slug, {}, tmp_path / "out")
                for kind, slug in (("training", "nonmono"), ("training", "mono"), ("adversarial", None))]
    assert [t.enabled for t in trackers] == [False] * 3 and [t.mode for t in trackers] == ["disabled"] * 3
    assert _warnings(capsys.readouterr().err) == [(
        "mono-s2s: warning: wandb could not start online (OSError: [Errno 30] Read-only file system) nor offline "
        "(OSError: [Errno 30] Read-only file system); tracking is off for this run and the later ones of this process")]
    assert [c["mode"] for c in no_network] == ["online", "offline"]  # not six attempts


def test_the_user_s_own_init_timeout_wins(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "7")
    t = tracking.Tracker(TrackArgs(mode="online"), "training", "mono", {}, tmp_path / "out")
    t.finish()
    assert no_network[0] == {"mode": "online", "init_timeout": None}  # wandb reads WANDB_INIT_TIMEOUT itself


# -- 7. a full disk ------------------------------------------------------------------------------------------

def _fail_fsync_for(monkeypatch, name: str) -> None:
    """The disk fills while ``name`` is written: fsync of its temp file fails as a full disk's does (no filename)."""
    from mono_s2s import checkpoint

    real_write, real_fsync = checkpoint.write_text_atomically, os.fsync

    def write(path, text):
        if Path(path).name != name:
            return real_write(path, text)

        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", fsync)
        try:
            return real_write(path, text)
        finally:
            monkeypatch.setattr(os, "fsync", real_fsync)

    import mono_s2s.report

    monkeypatch.setattr(checkpoint, "write_text_atomically", write)
    monkeypatch.setattr(mono_s2s.report, "write_text_atomically", write)


def test_full_disk_in_the_attack_phase_is_one_line_and_a_rerun_recovers(ready, tmp_path, monkeypatch, capsys):
    out = _copy(ready, tmp_path / "out")
    _fail_fsync_for(monkeypatch, "adversarial_results.json")
    assert cli.main(["attack", "--out", str(out), "--wandb", "disabled", *FLAGS]) == cli.EXIT_NO_SPACE == 4
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"mono-s2s: error: no space left on device writing under {out} (")
    assert line.endswith("free some space and run the same command again: finished work is kept")
    results = out / "results"
    assert not (results / "adversarial_results.json").exists()
    assert not [p.name for p in results.iterdir() if p.name.startswith(".")]  # no half-written temp file
    records = (results / "attack_records.jsonl").read_text()
    assert len(records.splitlines()) > 10  # the attacks done before the disk filled are on disk
    assert not (out / lock.LOCK_NAME).exists()

    monkeypatch.undo()
    assert cli.main(["attack", "--out", str(out), "--wandb", "disabled", *FLAGS]) == 0
    assert (results / "attack_records.jsonl").read_text() == records  # reused, not recomputed
    assert json.loads((results / "adversarial_results.json").read_text())["summary"]["hotflip"]


def test_full_disk_writing_the_figure_names_the_file_and_keeps_the_old_one(attacked, tmp_path, monkeypatch, capsys):
    from mono_s2s import figures

    out = _copy(attacked, tmp_path / "out")
    before = _stamps(out)
    figure = out / "results" / "adversarial_analysis.png"

    def full_open(file, mode="r", *args, **kwargs):
        if "x" in mode or "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return open(file, mode, *args, **kwargs)

    monkeypatch.setattr(figures, "open", full_open, raising=False)
    assert cli.main(["report", "--out", str(out)]) == 4
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"mono-s2s: error: no space left on device writing {figure.parent}/.{figure.name}.")
    after = _stamps(out)
    assert after.keys() == before.keys()  # nothing lost, no temp file left
    assert after[str(figure.relative_to(out))] == before[str(figure.relative_to(out))]  # the old figure is intact
    assert (out / "results" / "adversarial_results.json").read_text()


@pytest.mark.parametrize("exc", [
    OSError(errno.EDQUOT, "Disk quota exceeded", "/data/outputs/checkpoints/mono/.latest.tmp/model.safetensors"),
    "safetensors",
], ids=["quota", "wrapped"])
def test_full_disk_reported_by_a_library_or_a_quota(tmp_path, monkeypatch, capsys, exc):
    if exc == "safetensors":  # what safetensors raises when its write hits a full disk
        from safetensors import SafetensorError

        exc = SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: '
                              '"No space left on device" })')
    out = tmp_path / "out"

    def train(args):
        raise exc

    monkeypatch.setitem(cli.COMMANDS, "train", train)
    assert cli.main(["train", "--variant", "monotonic", "--out", str(out)]) == 4
    line = _one_error_line(capsys.readouterr().err)
    where = exc.filename if isinstance(exc, OSError) else f"under {out}"
    assert line.startswith(f"mono-s2s: error: no space left on device writing {where} (")


def test_other_os_errors_keep_their_traceback(tmp_path, monkeypatch):
    def train(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere")

    monkeypatch.setitem(cli.COMMANDS, "train", train)
    with pytest.raises(PermissionError):
        cli.main(["train", "--variant", "monotonic", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()  # the lock was released on the way out


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "2 a mistake to fix" in text and "3 training diverged" in text
    assert "4 no space left on device" in text and "130 interrupted" in text
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "| 4 | no space left on device" in readme


# -- 9. a user error in the notebook ---------------------------------------------------------------------------

def test_a_bad_notebook_parameter_is_one_line_and_still_fails_the_cell(tmp_path):
    """``papermill mono_s2s.ipynb out.ipynb -p PRESET nosuch``: the failing cell shows one line, papermill fails."""
    import nbformat
    import papermill

    target = tmp_path / "run.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        papermill.execute_notebook(str(ROOT / "mono_s2s.ipynb"), str(target), kernel_name="python3",
                                   parameters={"PRESET": "nosuch", "OUTPUT_DIR": str(tmp_path / "outputs")},
                                   cwd=str(tmp_path), progress_bar=False, execution_timeout=300)
    assert failed.value.ename == "UserError"
    from mono_s2s.config import PRESETS

    message = f"mono-s2s: error: unknown preset 'nosuch' (choose from {', '.join(PRESETS)})"
    nb = nbformat.read(target, as_version=4)
    errors = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    (index, error), = errors
    assert error.traceback == [message]  # no frames of the package's internals
    assert "build_config(PRESET" in nb.cells[index].source
    later = [c for c in nb.cells[index + 1:] if c.cell_type == "code"]
    assert all(c.execution_count is None for c in later)  # the run stopped at the failing cell
    assert not (tmp_path / "outputs" / lock.LOCK_NAME).exists()  # the kernel released its lock on shutdown


def test_show_user_errors_outside_ipython_does_nothing():
    from mono_s2s import notebook

    assert notebook.show_user_errors() is False


# -- 10b. a killed attack phase resumes its wandb run ---------------------------------------------------------

def test_a_killed_attack_phase_resumes_its_wandb_run(ready, tmp_path, monkeypatch, capsys):
    from mono_s2s.attacks import runner

    out = _copy(ready, tmp_path / "out")
    argv = ["attack", "--out", str(out), "--wandb", "offline", *FLAGS]
    real = runner.run_attacks
    calls = []

    def killed_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the attack phase is stopped after its wandb run opened
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_attacks", killed_once)
    assert cli.main(argv) == 130
    run_file = out / "results" / "adversarial_run.json"
    first = json.loads(run_file.read_text())
    assert first["finished"] is False and first["run_id"]
    (killed_dir,) = (out / "wandb").glob("offline-run-*")
    assert tracking.read_run(killed_dir)["run_id"] == first["run_id"]

    assert cli.main(argv) == 0
    (resumed_dir,) = set((out / "wandb").glob("offline-run-*")) - {killed_dir}
    resumed = tracking.read_run(resumed_dir)
    assert resumed["run_id"] == first["run_id"] and resumed["job_type"] == "adversarial"
    assert json.loads(run_file.read_text()) == {"run_id": first["run_id"], "finished": True}

    # A finished phase run again opens a new run rather than doubling the finished run's history.
    assert cli.main(argv) == 0
    (again_dir,) = set((out / "wandb").glob("offline-run-*")) - {killed_dir, resumed_dir}
    again = tracking.read_run(again_dir)["run_id"]
    assert again != first["run_id"]
    assert json.loads(run_file.read_text()) == {"run_id": again, "finished": True}
    assert "Traceback" not in capsys.readouterr().err


def test_a_resumed_adversarial_run_does_not_log_finished_iterations_twice(ready, tmp_path, monkeypatch, capsys):
    from mono_s2s.attacks import runner

    out = _copy(ready, tmp_path / "out")
    argv = ["attack", "--out", str(out), "--wandb", "offline", *FLAGS]
    assert cli.main(argv) == 0
    n_hotflip = sum(1 for line in (out / "results" / runner.RECORDS_FILE).read_text().splitlines()
                    if json.loads(line)["attack"] == "hotflip" and json.loads(line)["budget"] == 2)
    assert n_hotflip > 0
    logged = []
    real = runner.log_hotflip_iterations
    monkeypatch.setattr(runner, "log_hotflip_iterations", lambda t, r: (logged.append(r.sample_id), real(t, r)))

    run_file = out / "results" / "adversarial_run.json"
    state = json.loads(run_file.read_text())
    run_file.write_text(json.dumps({**state, "finished": False}))  # as if killed after the last record
    assert cli.main(argv) == 0
    assert logged == []  # the resumed run already holds every finished sample's iterations

    assert cli.main(argv) == 0  # finished: a new run, which gets them all
    assert len(logged) == n_hotflip
    assert "Traceback" not in capsys.readouterr().err


def test_sigterm_releases_the_lock_and_exits_143_in_one_line(tmp_path):
    """A job scheduler's SIGTERM: the same way out as Ctrl-C (lock released, temp files removed), exit 143."""
    import time

    out = tmp_path / "out"
    sets = ["data.n_train=400", "data.n_validation=16", "data.n_test=8", "model.d_model=32", "model.d_ff=64",
            "train.epochs=50", "train.num_beams=1"]
    proc = subprocess.Popen([str(Path(sys.executable).with_name("mono-s2s")), "train", "--variant", "baseline",
                             "--out", str(out), "--wandb", "disabled", *[w for s in sets for w in ("--set", s)]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "tokenizer" / "tokenizer.json").is_file():  # prepared
        time.sleep(0.2)
    time.sleep(2.0)  # into training
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1] == ("mono-s2s: terminated (SIGTERM); finished work is kept: run the same "
                                            "command to resume")
    assert "Traceback" not in err
    assert not (out / ".mono-s2s.lock").exists()
    assert not list(out.glob("checkpoints/*/.latest.tmp*"))
