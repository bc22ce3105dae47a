"""Checkpoint folders: HF model (safetensors) + tokenizer + our config, written atomically.

A checkpoint is a folder that ``from_pretrained``-style code reads directly:
``config.json`` and ``model.safetensors`` (HF), the tokenizer files, and
``mono_s2s_config.yaml`` (the experiment settings). It is built in a temporary
sibling folder and swapped in with renames, so a crash never leaves a
half-written checkpoint where a complete one was: at any instant either the old
or the new folder is complete, and :func:`resolve` recovers the old one if a
crash fell between the two renames. Its folders and files get the permissions
of the user's umask, like every other output.

Weights are read from safetensors only: a pickled ``pytorch_model.bin`` is
refused (unpickling runs whatever code the file carries), and a damaged
checkpoint is a one-line :class:`UserError` naming the file
(:func:`checkpoint_problem`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from mono_s2s.errors import UserError

CONFIG_FILE = "mono_s2s_config.yaml"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"  # sharded weights (a large model saved by other code)
# Pickle files are never read: unpickling can run any code the file's author put in it.
PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".previous")


def resolve(path: str | Path) -> Path:
    """The checkpoint folder at ``path``, restoring ``path.previous`` if a swap was interrupted."""
    path = Path(path)
    prev = _previous(path)
    if not path.exists() and prev.exists():
        os.replace(prev, path)
    return path


def write_atomically(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Call ``fill(tmp_dir)`` to write a complete folder, then swap it in at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    resolve(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return swap_in(tmp, path)


def swap_in(tmp: Path, path: Path) -> Path:
    """Replace the folder ``path`` with the complete folder ``tmp`` (same parent), old first kept aside.

    Every folder and file in ``tmp`` gets at least the permissions a plain
    ``mkdir``/``open`` gives under the user's umask: ``mkdtemp`` makes owner-only
    folders and the safetensors writer owner-only files, and a checkpoint is meant
    to be read by the lab's other accounts as the results are.
    """
    share = _shared_modes()
    for f in [tmp, *tmp.rglob("*")]:
        if f.is_symlink():
            continue
        mode = f.stat().st_mode & 0o7777
        if f.is_file():
            os.chmod(f, mode | share["file"])
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        elif f.is_dir():
            os.chmod(f, mode | share["dir"])
    prev = _previous(path)
    if prev.exists():
        shutil.rmtree(prev)
    if path.exists():
        os.replace(path, prev)
    os.replace(tmp, path)
    shutil.rmtree(prev, ignore_errors=True)
    return path


def write_checkpoint_files(folder: Path, model, tokenizer, config=None) -> None:
    """Model (safetensors), tokenizer and experiment config into ``folder``: what makes a checkpoint."""
    from mono_s2s.config import save_yaml

    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    if config is not None:
        save_yaml(config, Path(folder) / CONFIG_FILE)


def save_checkpoint(path: str | Path, model, tokenizer, config=None,
                    extra: Callable[[Path], None] | None = None) -> Path:
    """Write model, tokenizer, experiment config (and ``extra(dir)``, e.g. optimizer state) to ``path``."""
    def fill(tmp: Path) -> None:
        write_checkpoint_files(tmp, model, tokenizer, config)
        if extra is not None:
            extra(tmp)

    return write_atomically(path, fill)


def checkpoint_problem(path: str | Path) -> str | None:
    """What keeps the folder at ``path`` from loading as a checkpoint, one line naming the file; None if nothing.

    Cheap: reads ``config.json`` and the safetensors headers, not the weights. A
    safetensors header lists every tensor's byte range, so a file cut short
    anywhere (or empty) is found here, before the model is built.
    """
    path = resolve(path)
    if not path.is_dir():
        return f"{path}: no checkpoint folder there"
    config = path / "config.json"
    if not config.is_file():
        return f"{path}: not a checkpoint folder (no config.json)"
    try:
        if not isinstance(json.loads(config.read_text(encoding="utf-8")), dict):
            return f"{config}: not a JSON object; the file is corrupted"
    except (UnicodeDecodeError, ValueError):
        return f"{config}: not valid JSON; the file is corrupted or was cut off"
    shards = [WEIGHTS_FILE]
    if not (path / WEIGHTS_FILE).is_file() and (path / WEIGHTS_INDEX).is_file():
        try:
            shards = sorted(set(json.loads((path / WEIGHTS_INDEX).read_text(encoding="utf-8"))["weight_map"].values()))
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            return f"{path / WEIGHTS_INDEX}: not a valid safetensors index (no 'weight_map'); the file is corrupted"
    for name in shards:
        weights = path / name
        if not weights.is_file():
            pickled = [path / p for p in PICKLED_WEIGHTS if (path / p).is_file()]
            if pickled:
                return (f"{pickled[0]}: pickled PyTorch weights are not loaded (unpickling can run code); "
                        f"convert the checkpoint to safetensors ({WEIGHTS_FILE})")
            return f"{weights}: missing; the checkpoint is incomplete"
        problem = _safetensors_problem(weights)
        if problem:
            return problem
    return None


def _safetensors_problem(weights: Path) -> str | None:
    from safetensors import SafetensorError, safe_open

    if weights.stat().st_size == 0:
        return f"{weights}: the file is empty; the checkpoint was not completely written"
    try:
        with safe_open(str(weights), framework="numpy"):
            return None
    except SafetensorError as e:
        cause = " ".join(str(e).split()).removeprefix("Error while deserializing header: ")[:120]
        return f"{weights}: not a complete safetensors file ({cause}); it was cut off or corrupted"


def load_checkpoint(path: str | Path):
    """``(model, tokenizer, config)`` from a checkpoint folder; the model is an HF T5 in eval mode.

    ``config`` is the :class:`~mono_s2s.config.ExperimentConfig` the model was built
    with, or None for a folder written by other code.
    """
    from mono_s2s.config import config_from_dict, load_yaml
    from mono_s2s.models import MonoS2SForConditionalGeneration
    from mono_s2s.tokenizer import load_tokenizer

    path = resolve(path)
    problem = checkpoint_problem(path)
    if problem:
        raise UserError(problem)
    try:
        # use_safetensors: never fall back to a pickled pytorch_model.bin lying next to the safetensors.
        model, info = MonoS2SForConditionalGeneration.from_pretrained(path, output_loading_info=True,
                                                                      use_safetensors=True)
    except (OSError, ValueError, RuntimeError) as e:
        cause = " ".join(str(e).split())[:200]
        raise UserError(f"could not load checkpoint {path}: {cause}") from None
    bad = info.get("missing_keys") or info.get("unexpected_keys") or info.get("mismatched_keys")
    if bad:
        raise UserError(f"checkpoint {path} does not match its config.json (e.g. {sorted(bad)[0]})")
    tokenizer = load_tokenizer(path)
    config = None
    if (path / CONFIG_FILE).is_file():
        config = config_from_dict(load_yaml(path / CONFIG_FILE), saved=True)
    return model.eval(), tokenizer, config


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write a text file via a temp file and rename, so readers never see half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files owner-only; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask is set-and-return: racy with other threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _shared_modes() -> dict[str, int]:
    """The permissions ``open`` and ``mkdir`` give new files and folders under the user's umask."""
    mask = _umask()
    return {"file": 0o666 & ~mask, "dir": 0o777 & ~mask}
