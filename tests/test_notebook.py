"""The notebook: a thin narrative over the package, its Colab set-up, and a headless papermill run."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import time
import types
from pathlib import Path

import nbformat
import pytest

from mono_s2s import colab, tracking  # both imported before any test, so fake_colab can restore them

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "mono_s2s.ipynb"
REPO_URL = "https://github.com/mono-s2s/mono-s2s"

# What a notebook cell may import: the package, the standard library, pandas and IPython's display.
ALLOWED_IMPORTS = {"mono_s2s", "pandas", "IPython"} | set(sys.stdlib_module_names)


def _notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebook_is_valid_and_committed_without_outputs():
    nb = _notebook()
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # what Colab and papermill both start
    for cell in _code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_parameters_cell_holds_the_run_settings():
    nb = _notebook()
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    assigned = {t.id for node in ast.parse(tagged[0].source).body if isinstance(node, ast.Assign)
                for t in node.targets}
    assert {"PRESET", "DATA", "SEEDS", "WANDB_MODE", "OUTPUT_DIR", "HOTFLIP_SAMPLES", "UNIVERSAL_TRAIN_SAMPLES",
            "UNIVERSAL_EVAL_SAMPLES", "NES_SAMPLES", "SUBSTITUTION_SAMPLES", "INJECTION_SAMPLES", "OOD_SAMPLES",
            "OVERRIDES", "REPO_URL",
            "MOUNT_DRIVE", "DRIVE_DIR"} <= assigned
    assert nb.cells.index(tagged[0]) < nb.cells.index(_code_cells(nb)[1])  # before any other code
    # papermill reads every one of them (a value it cannot parse is passed on with a warning only).
    import papermill

    assert set(papermill.inspect_notebook(str(NOTEBOOK))) == assigned


def test_code_cells_only_call_the_package():
    for cell in _code_cells(_notebook()):
        tree = ast.parse(cell.source)  # fails on IPython magics too (!pip, %pip): the cells are plain Python
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)), \
                f"a definition in the notebook belongs in the package:\n{cell.source}"
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= ALLOWED_IMPORTS, f"{roots - ALLOWED_IMPORTS} imported in:\n{cell.source}"


def test_seeds_cell_shows_the_table_and_findings_across_seeds(monkeypatch):
    # The headless run below uses SEEDS = 1; this runs the SEEDS > 1 branch on a stored-looking table.
    import pandas as pd
    from IPython.display import Markdown

    from mono_s2s import analysis, pipeline

    tables = [pd.DataFrame([{"comparison": "equal_budget", "a": "nonmono", "b": "mono", "attack": "hotflip",
                             "point": "headline", "measure": "rouge_drop", "a_mean": 0.1, "b_mean": 0.1 - d,
                             "diff_mean": d, "significant": False}]) for d in (-0.1, -0.2)]
    table = analysis.seed_table(tables, "equal_budget")
    table.attrs["label"] = "equal budget: nonmono vs mono"
    monkeypatch.setattr(pipeline, "run_seeds", lambda cfg, prepared, out: ([], {"equal_budget": table}))
    shown = []
    cell = next(c.source for c in _code_cells(_notebook()) if "import run_seeds" in c.source)
    exec(cell, {"cfg": types.SimpleNamespace(seeds=2), "prepared": None, "OUT": Path("unused"),
                "display": shown.append, "Markdown": Markdown, "pd": pd})
    assert "equal budget: nonmono vs mono" in shown[0].data and shown[1] is table
    assert "nonmono in 1 (hotflip)" in shown[2].data


def test_markdown_says_where_monotonicity_stops():
    text = "\n".join(c.source for c in _notebook().cells if c.cell_type == "markdown")
    assert "model as a whole is NOT monotone" in text
    for word in ("layer norm", "attention", "residual", "embeddings", "softmax", "Wilcoxon", "Holm", "transfer",
                 "HotFlip", "Universal", "NES", "injection", "OOD", "Improvement %", "confound", "seed is the unit"):
        assert word.lower() in text.lower(), word


# --- the Colab branch, with pip and Drive replaced at their boundary ---------------------------------------------


@pytest.fixture
def calls(monkeypatch):
    """Record pip commands and Drive mounts instead of running them."""
    recorded: dict[str, list] = {"pip": [], "mount": []}

    def fake_run(cmd, check=False, **kwargs):
        recorded["pip"].append(list(cmd))
        return types.SimpleNamespace(returncode=0)

    monkeypatch.setattr(colab.subprocess, "run", fake_run)
    return recorded


@pytest.fixture
def fake_colab(monkeypatch, calls):
    """A ``google.colab`` module whose ``drive.mount`` only records its argument."""
    drive = types.ModuleType("google.colab.drive")
    drive.mount = lambda mountpoint, **kwargs: calls["mount"].append(mountpoint)
    module = types.ModuleType("google.colab")
    module.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    # A (fake) reinstall drops the package's imported modules; give the other tests theirs back afterwards.
    ours = {name: m for name, m in sys.modules.items() if name == "mono_s2s" or name.startswith("mono_s2s.")}
    yield calls
    for name in [n for n in sys.modules if (n == "mono_s2s" or n.startswith("mono_s2s.")) and n not in ours]:
        del sys.modules[name]
    sys.modules.update(ours)


def test_local_jupyter_installs_and_mounts_nothing(calls, tmp_path):
    assert not colab.in_colab()
    out = colab.setup(REPO_URL, tmp_path / "outputs", mount_drive=True)
    assert out == tmp_path / "outputs"
    assert calls == {"pip": [], "mount": []}


def test_colab_installs_from_the_repository_and_keeps_outputs_on_drive(fake_colab, tmp_path):
    assert colab.in_colab()
    drive_dir = tmp_path / "MyDrive" / "mono-s2s"
    out = colab.setup(REPO_URL, "outputs", mount_drive=True, drive_dir=drive_dir)
    (cmd,) = fake_colab["pip"]
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and f"git+{REPO_URL}" in cmd
    assert fake_colab["mount"] == ["/content/drive"]
    assert out == drive_dir / "outputs" and out.is_dir()
    assert "mono_s2s.config" not in sys.modules  # the old package code is dropped, so the next import is new


def test_colab_without_drive_keeps_outputs_on_the_runtime(fake_colab, tmp_path):
    out = colab.setup(REPO_URL, tmp_path / "outputs", mount_drive=False)
    assert out == tmp_path / "outputs" and fake_colab["mount"] == []
    assert len(fake_colab["pip"]) == 1


def _installed_by_pip_from(monkeypatch, url: str, revision: str | None) -> None:
    """Pretend pip installed mono-s2s from ``url`` (its PEP 610 record, as pip writes it for a git URL)."""
    record = {"url": url, "vcs_info": {"vcs": "git", "commit_id": "0" * 40,
                                       **({"requested_revision": revision} if revision else {})}}
    dist = types.SimpleNamespace(read_text=lambda name: json.dumps(record) if name == "direct_url.json" else None)
    monkeypatch.setattr(colab.importlib.metadata, "distribution", lambda name: dist)


def test_colab_skips_pip_when_installed_from_that_repository(fake_colab, monkeypatch, tmp_path):
    _installed_by_pip_from(monkeypatch, "https://github.com/mono-s2s/mono-s2s", None)
    assert colab.installed_from() == ("https://github.com/mono-s2s/mono-s2s", None)
    colab.setup(REPO_URL, tmp_path / "o", mount_drive=False)
    colab.setup(f"git+{REPO_URL}.git", tmp_path / "o", mount_drive=False)
    assert fake_colab["pip"] == []
    # Another fork, or another branch of the same repository, is installed again.
    colab.setup("https://github.com/someone/mono-s2s", tmp_path / "o", mount_drive=False)
    colab.setup(REPO_URL + "@dev", tmp_path / "o", mount_drive=False)
    assert [cmd[-1] for cmd in fake_colab["pip"]] == ["git+https://github.com/someone/mono-s2s",
                                                      f"git+{REPO_URL}@dev"]
    _installed_by_pip_from(monkeypatch, "https://github.com/mono-s2s/mono-s2s", "dev")
    assert not colab.ensure_installed(REPO_URL + "@dev") and len(fake_colab["pip"]) == 2


@pytest.mark.parametrize("fresh_runtime", [False, True])
def test_notebook_setup_cells_in_fake_colab(fake_colab, monkeypatch, tmp_path, fresh_runtime):
    """The parameters and set-up cells as Colab runs them: bootstrap only on a fresh runtime, then Drive."""
    if fresh_runtime:  # the package cannot be found yet: the cell's own pip bootstrap must run first
        find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mono_s2s"
                            else find_spec(name, *a))
    params, setup_cell = _code_cells(_notebook())[:2]
    namespace: dict = {}
    exec(params.source, namespace)
    namespace.update(MOUNT_DRIVE=True, DRIVE_DIR=str(tmp_path / "MyDrive"))
    exec(setup_cell.source, namespace)
    pip = [cmd[-1] for cmd in fake_colab["pip"]]
    # colab.setup installs too here: this test's package was not installed by pip from REPO_URL.
    assert pip == [f"git+{REPO_URL}"] * (2 if fresh_runtime else 1)
    assert fake_colab["mount"] == ["/content/drive"]
    assert namespace["OUT"] == tmp_path / "MyDrive" / "outputs"


# --- the notebook, executed headless ---------------------------------------------------------------------------

# The smallest run that still exercises every cell: one epoch of a one-layer model on 32 examples.
TINY = {
    "PRESET": "tiny", "DATA": "synthetic", "SEEDS": 1, "WANDB_MODE": "offline",
    "HOTFLIP_SAMPLES": 2, "UNIVERSAL_TRAIN_SAMPLES": 2, "UNIVERSAL_EVAL_SAMPLES": 2, "NES_SAMPLES": 2,
    "SUBSTITUTION_SAMPLES": 2, "INJECTION_SAMPLES": 2, "OOD_SAMPLES": 2,
    "OVERRIDES": ["model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.n_encoder_layers=1",
                  "model.n_decoder_layers=1", "model.vocab_size=150", "data.n_train=32", "data.n_validation=8",
                  "data.n_test=4", "data.max_source_tokens=48", "data.max_summary_tokens=8", "train.batch_size=16",
                  "train.eval_batch_size=16", "train.epochs=1", "train.num_beams=1", "attacks.hotflip_iters=2",
                  "attacks.hotflip_trigger_len=2", "attacks.hotflip_topk=2", "attacks.universal_max_sweeps=1", "attacks.universal_restarts=1",
                  "attacks.universal_trigger_len=2", "attacks.universal_topk=2", "attacks.universal_beam=1",
                  "attacks.nes_population=2", "attacks.nes_generations=1", "attacks.nes_trigger_len=2",
                  "attacks.substitution_words=1", "attacks.substitution_proposals=2"],
}


def _execute(tmp_path: Path, out: Path, name: str) -> tuple[str, float]:
    import papermill

    target = tmp_path / name
    start = time.perf_counter()
    # "python3" is ipykernel's own spec, whose argv starts with "python": jupyter_client runs it with
    # sys.executable, so the kernel is this interpreter (the first cell prints it, checked below).
    papermill.execute_notebook(str(NOTEBOOK), str(target), parameters={**TINY, "OUTPUT_DIR": str(out)},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                               execution_timeout=900)
    seconds = time.perf_counter() - start
    nb = nbformat.read(target, as_version=4)
    text = "\n".join(o.get("text", "") if o.get("output_type") == "stream" else str(o.get("data", {}))
                     for c in _code_cells(nb) for o in c.outputs)
    return text, seconds


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``folder``: a file written again changes its mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_notebook_runs_headless_and_resumes(tmp_path, monkeypatch):
    # The kernel inherits this: one intra-op thread (tiny tensors; two threads on two shared cores are slower).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out = tmp_path / "outputs"
    text, first = _execute(tmp_path, out, "run1.ipynb")
    print(f"\npapermill, first run: {first:.1f} s")
    assert f"python: {sys.executable}" in text
    assert "local Jupyter" in text
    assert (out / "results" / "adversarial_results.json").is_file()
    assert (out / "results" / "adversarial_analysis.png").is_file()
    assert "image/png" in text  # the figure is shown inline
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 3, runs
    jobs = sorted(tracking.read_run(r)["job_type"] for r in runs)
    assert jobs == ["adversarial", "training", "training"]
    checkpoints = _stamps(out / "checkpoints")
    assert {f"{slug}/{kind}/model.safetensors" for slug in ("nonmono", "mono") for kind in ("best", "latest")
            } <= set(checkpoints)
    trained = {slug: (out / "results" / f"training_{slug}.json").read_text() for slug in ("nonmono", "mono")}
    records = (out / "results" / "attack_records.jsonl").read_text()

    text, again = _execute(tmp_path, out, "run2.ipynb")
    print(f"papermill, resumed run: {again:.1f} s")
    assert text.count("already trained") == 2 and "reused" in text
    # The resumed run reused the work: no checkpoint written again, no training result and no attack record redone.
    assert _stamps(out / "checkpoints") == checkpoints
    assert {slug: (out / "results" / f"training_{slug}.json").read_text() for slug in trained} == trained
    assert (out / "results" / "attack_records.jsonl").read_text() == records
    new = sorted(set((out / "wandb").glob("offline-run-*")) - set(runs))
    assert [tracking.read_run(r)["job_type"] for r in new] == ["adversarial"]  # no model was trained again
