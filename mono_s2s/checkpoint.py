"""Checkpoint folders: HF model (safetensors) + tokenizer + our config, written atomically.

A checkpoint is a folder that ``from_pretrained``-style code reads directly:
``config.json`` and ``model.safetensors`` (HF), the tokenizer files, and
``mono_s2s_config.yaml`` (the experiment settings). It is built in a temporary
sibling folder and swapped in with renames, so a crash never leaves a
half-written checkpoint where a complete one was: at any instant either the old
or the new folder is complete, and :func:`resolve` recovers the old one if a
crash fell between the two renames.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from mono_s2s.errors import UserError

CONFIG_FILE = "mono_s2s_config.yaml"


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
    """Replace the folder ``path`` with the complete folder ``tmp`` (same parent), old first kept aside."""
    for f in tmp.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
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


def load_checkpoint(path: str | Path):
    """``(model, tokenizer, config)`` from a checkpoint folder; the model is an HF T5 in eval mode.

    ``config`` is the :class:`~mono_s2s.config.ExperimentConfig` the model was built
    with, or None for a folder written by other code.
    """
    from mono_s2s.config import config_from_dict, load_yaml
    from mono_s2s.models import MonoS2SForConditionalGeneration
    from mono_s2s.tokenizer import load_tokenizer

    path = resolve(path)
    if not (path / "config.json").is_file():
        raise UserError(f"not a checkpoint folder (no config.json): {path}")
    try:
        model, info = MonoS2SForConditionalGeneration.from_pretrained(path, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as e:
        cause = " ".join(str(e).split())[:200]
        raise UserError(f"could not load checkpoint {path}: {cause}") from None
    bad = info.get("missing_keys") or info.get("unexpected_keys") or info.get("mismatched_keys")
    if bad:
        raise UserError(f"checkpoint {path} does not match its config.json (e.g. {sorted(bad)[0]})")
    tokenizer = load_tokenizer(path)
    config = None
    if (path / CONFIG_FILE).is_file():
        config = config_from_dict(load_yaml(path / CONFIG_FILE))
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
    mask = os.umask(0)
    os.umask(mask)
    return mask
