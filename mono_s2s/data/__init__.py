"""Corpus loading: :func:`load_corpus` turns ``DataArgs.spec`` into train/validation/test lists of :class:`Record`.

This module only dispatches and caches. The corpora themselves live in
:mod:`~mono_s2s.data.synthetic` (embedded generator), :mod:`~mono_s2s.data.hub`
(Hugging Face hub, the ``seed-mix`` and ``news-dialogue-mix`` mixtures) and :mod:`~mono_s2s.data.files` (local files);
carving missing splits, caps and summary shortening are in
:mod:`~mono_s2s.data.splits` and apply to every source alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from mono_s2s.config import DataArgs
from mono_s2s.data import files, hub
from mono_s2s.data.formats import CorpusInfo
from mono_s2s.data.records import SPLITS, Record
from mono_s2s.data.splits import finalize
from mono_s2s.errors import UserError, warn

__all__ = ["SPLITS", "CorpusInfo", "Record", "load_corpus", "read_corpus"]

SPEC_HELP = ("synthetic, " + ", ".join(hub.MIXTURES) + ", " + ", ".join(hub.HUB_DATASETS)
             + ", hub:OWNER/NAME[:CONFIG], or a .jsonl/.json/.csv/.parquet file or folder of split files")


def load_corpus(args: DataArgs, cache_dir: Path | None = None) -> dict[str, list[Record]]:
    """``{"train": [...], "validation": [...], "test": [...]}`` for ``args.spec`` (:func:`read_corpus`)."""
    return read_corpus(args, cache_dir)[0]


def read_corpus(args: DataArgs, cache_dir: Path | None = None) -> tuple[dict[str, list[Record]], CorpusInfo]:
    """The corpus for ``args.spec``, and what was read: its format, where each split came from, its columns.

    Missing validation/test splits are carved from train, then
    ``max_train_samples``/``max_eval_samples`` and ``summary_max_words`` apply
    (see :mod:`mono_s2s.data.splits`); everything is deterministic in
    ``args.seed``. ``cache_dir``, when given, caches the synthetic corpus as
    JSON lines. Bad data or an unreachable dataset raises a one-line
    :class:`~mono_s2s.errors.UserError`.
    """
    spec = args.spec.strip()
    if spec == "synthetic":
        corpus = _synthetic(args, cache_dir)
        info = CorpusInfo("synthetic corpus (embedded generator)", {s: "generated" for s in SPLITS}, {})
    elif spec in hub.MIXTURES:
        corpus, info = hub.load_mixture(spec, args)
    elif spec in hub.HUB_DATASETS:
        corpus, info = hub.load_named(spec, args)
    elif spec.startswith("hub:"):
        corpus, info = hub.load_spec(spec[len("hub:"):], args)
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            hint = f"; did you mean hub:{spec}?" if re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", spec) else ""
            raise UserError(f"data file or folder not found: {spec} (data.spec must be {SPEC_HELP}){hint}")
        corpus, info = files.load_local(path, args)
        # The hub loaders carve while they read; a local corpus is carved by finalize, below.
        info.carve([s for s in SPLITS if s not in corpus], args.seed)
    return finalize(corpus, args, info.origin), info


def _synthetic(args: DataArgs, cache_dir: Path | None) -> dict[str, list[Record]]:
    from mono_s2s.data import synthetic

    def generate() -> dict[str, list[Record]]:
        return synthetic.generate_corpus(args.seed, args.n_train, args.n_validation, args.n_test)

    if cache_dir is None:
        return generate()
    # The generator's source is part of the key: the corpus is a function of the
    # code as much as of the seed, and an edited generator must not be served a
    # stale cache. The generator is a package (engine and scenario modules), so
    # every one of its files counts, each with its path (a file moved or renamed
    # is a change too).
    digest = hashlib.sha256()
    for rel, file in _synthetic_sources(Path(synthetic.__file__).parent):
        digest.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    code = digest.hexdigest()[:12]
    path = Path(cache_dir) / (f"synthetic-seed{args.seed}-train{args.n_train}-validation{args.n_validation}"
                              f"-test{args.n_test}-{code}.jsonl")
    cached = _read_cache(path)
    if cached is not None:
        return cached
    corpus = generate()
    _write_cache(path, corpus)
    return corpus


def _synthetic_sources(package: Path) -> list[tuple[str, Path]]:
    """Every ``.py`` file below the synthetic generator's folder, by relative path, sorted."""
    return sorted((file.relative_to(package).as_posix(), file) for file in package.rglob("*.py"))


def _read_cache(path: Path) -> dict[str, list[Record]] | None:
    """The cached corpus, or None when there is none or it is unreadable (then it is regenerated)."""
    if not path.is_file():
        return None
    corpus: dict[str, list[Record]] = {s: [] for s in SPLITS}
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                corpus[row["split"]].append(Record(row["id"], row["source"], row["summary"],
                                                   tuple(row.get("facts") or ()),
                                                   tuple(row.get("references") or ())))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return corpus


def _write_cache(path: Path, corpus: dict[str, list[Record]]) -> None:
    # Temp file + os.replace: a run killed mid-write, or two runs writing at
    # once, never leave a truncated cache that a later run would trust.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    except OSError as e:
        warn(f"could not cache the synthetic corpus in {path.parent}: {e.strerror or e}")
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for split in SPLITS:
                for r in corpus[split]:
                    f.write(json.dumps({"split": split, **r.to_dict()}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a full disk costs a regeneration next time, not this run
        Path(tmp).unlink(missing_ok=True)
        warn(f"could not cache the synthetic corpus in {path}: {e.strerror or e}")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
