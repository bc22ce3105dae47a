"""Broken files a user can meet: damaged checkpoints, bad attack-record lines, mistyped results, permissions.

Each fault goes through ``mono_s2s.cli.main`` in this process and must give a
one-line message naming the file (or field), the documented exit code, no
traceback, and lose nothing that was written before. The models are untrained
tiny checkpoints: what a damaged file does to loading does not depend on the
weights, and one attack phase on them takes a few seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import tempfile
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from conftest import SMALLEST_RUN_SETS

from mono_s2s.cli import main
from mono_s2s.config import build_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETS = SMALLEST_RUN_SETS
FLAGS = ("--wandb", "disabled", *(word for s in SETS for word in ("--set", s)))
ATTACK_COUNTS = {"hotflip": 2, "universal": 2, "nes": 2, "substitution": 2, "injection": 2, "ood": 2}


def _attack(out: Path) -> list[str]:
    return ["attack", *FLAGS, "--out", str(out)]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, one_torch_thread, untrained_checkpoints) -> Path:
    """An ``--out`` folder with untrained baseline and monotonic checkpoints, attacked once. Read only: copy it."""
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    out = tmp_path_factory.mktemp("faults") / "out"
    cfg = build_config("tiny", overrides=list(SETS))
    untrained_checkpoints(cfg, train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size), out)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(_attack(out))
    assert code == 0, err.getvalue()[-3000:]
    return out


def _copy(attacked: Path, tmp_path: Path) -> Path:
    shutil.copytree(attacked, tmp_path / "out")
    return tmp_path / "out"


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mono-s2s: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- damaged checkpoints --------------------------------------------------------------------------------------

MARKER = "unpickled.marker"


class _RunsCodeWhenUnpickled:
    """What a hostile pickle does: unpickling it calls a function of the author's choice (here: touch a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def _truncate(best: Path) -> str:
    f = best / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    return "model.safetensors"


def _cut_tail(best: Path) -> str:  # the header is intact, the last tensor's bytes are not there
    f = best / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-7])
    return "model.safetensors"


def _empty(best: Path) -> str:
    (best / "model.safetensors").write_bytes(b"")
    return "model.safetensors"


def _pickled(best: Path) -> str:
    import torch
    from safetensors.torch import load_file

    weights = load_file(best / "model.safetensors")
    torch.save({**weights, "note": _RunsCodeWhenUnpickled(best.parent / MARKER)}, best / "pytorch_model.bin")
    (best / "model.safetensors").unlink()
    return "pytorch_model.bin"


def _no_config(best: Path) -> str:
    (best / "config.json").unlink()
    return "config.json"


DAMAGES = {"truncated": _truncate, "cut_tail": _cut_tail, "empty": _empty, "pickled_bin": _pickled,
           "no_config_json": _no_config}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_check_refuses_a_damaged_checkpoint_in_one_line(attacked, tmp_path, capsys, damage):
    out = _copy(attacked, tmp_path)
    best = out / "checkpoints" / "mono" / "best"
    name = DAMAGES[damage](best)
    before = _snapshot(out)
    capsys.readouterr()
    assert main(["check", str(best)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(best) in line and name in line, line
    assert "weights_only" not in line
    if damage == "pickled_bin":
        assert "pickled PyTorch weights are not loaded" in line and "safetensors" in line
    assert not (best.parent / MARKER).exists()  # nothing was unpickled
    assert _snapshot(out) == before


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_attack_refuses_a_damaged_checkpoint_and_names_the_fix(attacked, tmp_path, capsys, damage):
    out = _copy(attacked, tmp_path)
    best = out / "checkpoints" / "mono" / "best"
    name = DAMAGES[damage](best)
    before = _snapshot(out)
    capsys.readouterr()
    assert main(_attack(out)) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(best) in line and name in line, line
    assert "weights_only" not in line
    # Training again on its own would skip a finished model, or not rewrite 'best': the fix moves it away first.
    assert f"move {best.parent} away" in line and "mono-s2s train --variant monotonic" in line, line
    assert not (best.parent / MARKER).exists()
    assert _snapshot(out) == before  # refused before anything is prepared, attacked or rewritten


def test_a_pickle_next_to_safetensors_is_never_read(attacked, tmp_path, capsys):
    out = _copy(attacked, tmp_path)
    best = out / "checkpoints" / "mono" / "best"
    shutil.copy(best / "model.safetensors", tmp_path / "weights")
    _pickled(best)
    shutil.copy(tmp_path / "weights", best / "model.safetensors")
    assert main(["check", str(best)]) == 0
    assert json.loads(capsys.readouterr().out)["ffn_monotone"] is True
    assert not (best.parent / MARKER).exists()


def _finished_training(out: Path, slug: str, variant: str) -> None:
    """What a finished ``mono-s2s train`` leaves besides 'best': its trainer state and its results file."""
    seed = build_config("tiny", overrides=list(SETS)).train.seed
    latest = out / "checkpoints" / slug / "latest"
    latest.mkdir(parents=True)
    (latest / "trainer_state.json").write_text(json.dumps({"finished": True, "variant": variant, "seed": seed}))
    (out / "results" / f"training_{slug}.json").write_text(json.dumps({"seed": seed, "variant": variant}))


@pytest.mark.parametrize("verb", ["attack", "train"])
def test_missing_config_json_after_training_is_not_trained_and_names_the_real_fix(attacked, tmp_path, capsys,
                                                                                  verb):
    # Before: 'attack' advised 'mono-s2s train' (or run), which skipped the model as already trained.
    out = _copy(attacked, tmp_path)
    _finished_training(out, "mono", "monotonic")
    best = out / "checkpoints" / "mono" / "best"
    (best / "config.json").unlink()
    before = _snapshot(out)
    argv = _attack(out) if verb == "attack" else ["train", "--variant", "monotonic", *FLAGS, "--out", str(out)]
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "already trained" not in captured.out
    line = _one_error_line(captured.err)
    assert str(best) in line and "config.json" in line, line
    assert f"move {best.parent} away" in line and "mono-s2s train --variant monotonic" in line, line
    assert _snapshot(out) == before


# -- the attack record store ----------------------------------------------------------------------------------

def _set(line: str, **changes) -> str:
    return json.dumps({**json.loads(line), **changes})


# name -> (line indices to damage, damage, what the warning says about the first)
RECORD_DAMAGES = {
    "garbage_in_the_middle": ([None], lambda line: "garbage {{{", "not valid JSON"),
    "string_nll": ([None], lambda line: _set(line, original_nll="oops"), "field 'original_nll' must be a number"),
    "json_list": ([None], lambda line: "[1, 2, 3]", "must be an object, found a list"),
    "success_maybe": ([None], lambda line: _set(line, success="maybe"), "field 'success' must be true or false"),
    "sample_id_null": ([None], lambda line: _set(line, sample_id=None), "field 'sample_id' must be a string"),
    "bool_as_number": ([None], lambda line: _set(line, attacked_nll=True), "field 'attacked_nll' must be a number"),
    "two_bad_lines": ([3, None], lambda line: "{not json", "not valid JSON"),
}


@pytest.mark.parametrize("damage", list(RECORD_DAMAGES))
def test_bad_record_lines_are_skipped_with_one_warning_and_every_good_record_is_kept(attacked, tmp_path, capsys,
                                                                                     damage):
    from mono_s2s.attacks.runner import RECORDS_FILE

    out = _copy(attacked, tmp_path)
    path = out / "results" / RECORDS_FILE
    lines = path.read_text().splitlines()
    where, spoil, why = RECORD_DAMAGES[damage]
    bad = sorted(len(lines) // 2 if i is None else i for i in where)
    for i in bad:
        lines[i] = spoil(lines[i])
    path.write_text("".join(line + "\n" for line in lines))
    original = [json.loads(line) for line in (attacked / "results" / RECORDS_FILE).read_text().splitlines()]
    capsys.readouterr()
    assert main(_attack(out)) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("mono-s2s: warning: ")]
    assert len(warnings) == 1, err
    numbers = ", ".join(str(i + 1) for i in bad)
    assert warnings[0].startswith(f"mono-s2s: warning: {path}: skipped "), warnings[0]
    assert (f"bad line {numbers} (" if len(bad) == 1 else f"{len(bad)} bad lines ({numbers};") in warnings[0]
    assert why in warnings[0] and "attacked again" in warnings[0], warnings[0]

    now = {(r["attack"], r["model"], r["sample_id"]): r for r in map(json.loads, path.read_text().splitlines())}
    assert set(now) == {(r["attack"], r["model"], r["sample_id"]) for r in original}  # the bad ones redone
    for i, r in enumerate(original):
        if i not in bad:  # every good record kept as it was, the ones after the bad line too
            assert now[(r["attack"], r["model"], r["sample_id"])] == r
    results = json.loads((out / "results" / "adversarial_results.json").read_text())
    for attack, n in ATTACK_COUNTS.items():
        assert {results["summary"][attack][s]["n"] for s in ("nonmono", "mono")} == {n}


def test_a_line_cut_by_a_kill_is_dropped_and_the_file_stays_appendable(attacked, tmp_path, capsys):
    from mono_s2s.attacks.store import RECORDS_FILE, RecordStore

    out = _copy(attacked, tmp_path)
    path = out / "results" / RECORDS_FILE
    lines = path.read_text().splitlines()
    path.write_text("".join(line + "\n" for line in lines[:-1]) + lines[-1][:40])
    store = RecordStore(path)
    err = capsys.readouterr().err.strip()
    assert err == (f"mono-s2s: warning: {path}: skipped bad line {len(lines)} (cut off mid-write); its sample "
                   "will be attacked again")
    assert len(store.records) == len(lines) - 1
    assert path.read_text() == "".join(line + "\n" for line in lines[:-1])
    store.add(store.records[0])
    assert len(RecordStore(path).records) == len(lines)
    assert capsys.readouterr().err == ""


def test_record_types_are_attack_records_fields():
    """results.RECORD_TYPES (written out so that reading results needs no torch) agrees with AttackRecord."""
    from mono_s2s.attacks.common import AttackRecord
    from mono_s2s.results import RECORD_TYPES

    # extra is Any in the dataclass (each attack's own typed extras, mono_s2s.attacks.registry), a JSON object stored.
    kinds = {str: "string", float: "number", int: "integer", bool: "boolean", dict: "object", typing.Any: "object"}
    hints = typing.get_type_hints(AttackRecord)
    for f in fields(AttackRecord):
        union = typing.get_origin(hints[f.name]) in (typing.Union, types.UnionType)
        args = typing.get_args(hints[f.name]) if union else ()
        nullable = type(None) in args
        base = next((a for a in args if a is not type(None)), hints[f.name])
        assert RECORD_TYPES[f.name] == (kinds[typing.get_origin(base) or base], nullable), f.name
    # A record with no control and no generated summaries: exactly the measures that need them are null.
    stored = AttackRecord("a", "m", "s", 1.0, 2.0, 1, "x").to_dict()
    derived = set(stored) - {f.name for f in fields(AttackRecord)}
    assert {name: RECORD_TYPES[name] for name in derived} == {name: ("number", stored[name] is None) for name in derived}
    assert set(RECORD_TYPES) == {f.name for f in fields(AttackRecord)} | derived
    required = {f.name for f in fields(AttackRecord) if f.default is MISSING and f.default_factory is MISSING}
    assert required == {"attack", "model", "sample_id", "original_nll", "attacked_nll", "queries", "perturbed_text"}


# -- a results file with wrong types --------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, message", [
    ("success", "maybe", "must be true or false or null, found a string"),
    ("sample_id", None, "must be a string, found null"),
    ("original_nll", "oops", "must be a number, found a string"),
    ("queries", True, "must be an integer, found a boolean"),
])
def test_report_names_a_mistyped_record_field_in_one_line(attacked, tmp_path, capsys, name, value, message):
    out = _copy(attacked, tmp_path)
    path = out / "results" / "adversarial_results.json"
    data = json.loads(path.read_text())
    data["attacks"]["nes"]["mono"][1][name] = value
    path.write_text(json.dumps(data))
    before = _snapshot(out)
    capsys.readouterr()
    assert main(["report", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"mono-s2s: error: {path}: field 'attacks.nes.mono[1].{name}' {message}"
    assert _snapshot(out) == before  # the tables, figure and findings of the last good report are kept


# -- permissions ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_checkpoints_get_the_users_umask(tmp_path, umask):
    from mono_s2s.checkpoint import save_checkpoint, swap_in
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.models import build_model
    from mono_s2s.tokenizer import train_tokenizer

    cfg = build_config("tiny", overrides=list(SETS))
    tokenizer = train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size)
    model = build_model(cfg.model, "monotonic", tokenizer, seed=0)
    old = os.umask(umask)
    try:
        best = save_checkpoint(tmp_path / "checkpoints" / "mono" / "best", model, tokenizer, cfg)
        # 'latest' is built in the trainer's own temp folder and swapped in; an owner-only part must widen too.
        tmp = Path(tempfile.mkdtemp(dir=tmp_path))
        (tmp / "training_state").mkdir()
        os.close(os.open(tmp / "training_state" / "optimizer.bin", os.O_CREAT | os.O_WRONLY, 0o600))
        latest = swap_in(tmp, tmp_path / "checkpoints" / "mono" / "latest")
    finally:
        os.umask(old)
    for folder in (best, latest):
        assert (folder / "model.safetensors").is_file() or folder == latest
        for p in [folder, *folder.rglob("*")]:
            mode = p.stat().st_mode & 0o777
            assert mode == (0o777 if p.is_dir() else 0o666) & ~umask, (p, oct(mode))
