"""A really full disk (a small tmpfs as --out): one line, exit 4, nothing half-written, and a rerun recovers.

The other full-disk tests inject ``OSError(28)``; here the fault is real, so the errors come from the
libraries as they are (torch.save reports a failed write without its errno). Needs root for ``mount``
(CI and these machines run as root); skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest

from mono_s2s.cli import EXIT_NO_SPACE, main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETS = ["data.n_train=32", "data.n_validation=8", "data.n_test=4", "model.d_model=32", "model.d_ff=64",
        "model.vocab_size=200", "train.batch_size=8", "train.epochs=1", "train.num_beams=1",
        "train.save_every_steps=2"]


@contextlib.contextmanager
def _tmpfs(path, size: str):
    path.mkdir(parents=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield lambda new_size: subprocess.run(["mount", "-o", f"remount,size={new_size}", str(path)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)  # lazy: a file a failed write left open


def test_a_really_full_disk_while_training_is_one_line_and_a_rerun_recovers(tmp_path, capsys):
    argv = ["train", "--variant", "baseline", "--out", None, "--wandb", "disabled", *[w for s in SETS
                                                                                      for w in ("--set", s)]]
    with _tmpfs(tmp_path / "disk", "700k") as resize:
        out = tmp_path / "disk" / "out"
        argv[4] = str(out)
        assert main(argv) == EXIT_NO_SPACE
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("mono-s2s: error: no space left on device writing ")
        assert str(out) in err[0] and "Traceback" not in err[0]
        ckpt = out / "checkpoints" / "nonmono"
        assert not list(ckpt.glob(".latest.tmp*")) and not list(ckpt.glob("*.previous"))  # nothing half-written
        tokenizer = (out / "tokenizer" / "tokenizer.json").read_bytes()  # written before the disk filled up

        resize("50m")
        assert main(argv) == 0
        assert (out / "tokenizer" / "tokenizer.json").read_bytes() == tokenizer  # reused, not rewritten
        assert (ckpt / "best" / "model.safetensors").is_file() and (ckpt / "latest" / "trainer_state.json").is_file()
