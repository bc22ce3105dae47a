"""Shared fixtures: tiny configs so model tests run in seconds on CPU, and one tiny experiment per session."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Tests never reach the network: the hub and wandb are offline here and in CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mono_s2s.config import ExperimentConfig, ModelConfig  # noqa: E402

# What `wandb agent` sets for a trial (mono_s2s.tracking's SWEEP_ENV_VARS); never inherited by a test.
_SWEEP_ENV_VARS = ("WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH")


class FakeTokenizer:
    """Just what build_model needs from a tokenizer: its size and special ids."""

    pad_token_id = 0
    eos_token_id = 1

    def __init__(self, size: int = 100) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def _sandbox_wandb(mp: pytest.MonkeyPatch, root: Path) -> None:
    """wandb offline, with all its folders (run, cache, config, data) under ``root``, never $HOME."""
    for var, sub in (("WANDB_DIR", "wandb_dir"), ("WANDB_CACHE_DIR", "wandb_cache"),
                     ("WANDB_CONFIG_DIR", "wandb_config"), ("WANDB_DATA_DIR", "wandb_data")):
        (root / sub).mkdir()
        mp.setenv(var, str(root / sub))
    mp.setenv("WANDB_MODE", "offline")
    for var in ("WANDB_API_KEY", "WANDB_DISABLED", "RANK", "COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION",
                "COLAB_GPU", *_SWEEP_ENV_VARS):
        mp.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def wandb_sandbox(tmp_path_factory, monkeypatch):
    """Every test: wandb offline, with all its folders (run, cache, config, data) in a temp folder, never $HOME."""
    _sandbox_wandb(monkeypatch, tmp_path_factory.mktemp("wandb_sandbox"))
    yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules of tiny-model tests (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``).

    Tiny tensors gain nothing from intra-op threads, and when the two CPU cores are
    shared with another process OpenMP's thread hand-offs make every small op up to
    ~100x slower (test_evaluate.py: 6 s with one thread, 70 s with two on a busy machine).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def mono(capsys):
    """``mono(*args)``: the CLI in this process; ``.returncode``, ``.stdout``, ``.stderr`` as a subprocess has them."""
    import types

    from mono_s2s.cli import main

    def run(*args: str) -> types.SimpleNamespace:
        capsys.readouterr()  # only this call's output
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's own usage errors
            code = e.code
        captured = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)

    return run


@pytest.fixture(scope="session")
def attack_target(tmp_path_factory):
    """A baseline that has learned something, for tests that compare attacks (issue 12): d_model 32, 2 + 2 layers,
    5 epochs of 3000 synthetic dialogues at lr 0.02 (val NLL about 1.0, where ``tiny_experiment``'s barely
    trained models sit at 5.6 and every trigger scores alike); about a minute, once per session. Returns
    ``(model, tokenizer, cfg, corpus)``, the model in eval mode. The default run's 2000-token vocabulary
    (about 1300 trigger candidates): with 300 tokens a random search enumerates most single flips, and
    the gradient's ranking could not show."""
    from mono_s2s.checkpoint import load_checkpoint
    from mono_s2s.config import build_config
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer

    out = tmp_path_factory.mktemp("attack_target")
    cfg = build_config("tiny", overrides=[
        "model.d_model=32", "model.d_ff=64", "model.n_heads=4", "model.vocab_size=2000", "data.max_source_tokens=128",
        "data.max_summary_tokens=48", "train.epochs=5", "train.variant_lr=", "train.lr=0.02", "train.matched=false",
        "train.save_every_steps=100000", "tracking.mode=disabled"])
    corpus = generate_corpus(0, 3000, 40, 40)
    tokenizer = train_tokenizer(corpus["train"], cfg.model.vocab_size)
    Trainer(cfg, "baseline", corpus, tokenizer, out, progress=False).fit()
    model, tokenizer, cfg = load_checkpoint(out / "checkpoints" / "nonmono" / "best")
    return model.eval(), tokenizer, cfg, corpus


@pytest.fixture
def trained_briefly(tmp_path):
    """``trained_briefly(variant)``: one epoch (four steps) of the real Trainer on a 32-dialogue corpus, d_model 16,
    under ``tmp_path``; returns ``(weights at initialisation, TrainResult, the best checkpoint loaded)``."""
    from mono_s2s.checkpoint import load_checkpoint
    from mono_s2s.config import VARIANT_SLUGS, build_config
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.models import build_model
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer

    def train(variant: str):
        cfg = build_config("tiny", overrides=["model.d_model=16", "model.d_ff=32", "model.n_heads=2",
                                              "model.n_encoder_layers=1", "model.n_decoder_layers=1",
                                              "data.max_source_tokens=48", "data.max_summary_tokens=16",
                                              "train.batch_size=8", "train.eval_batch_size=16", "train.epochs=1"])
        corpus = generate_corpus(0, 32, 8, 4)
        tokenizer = train_tokenizer(corpus["train"], 150)
        start = build_model(cfg.model, variant, tokenizer, seed=cfg.train.seed).state_dict()
        result = Trainer(cfg, variant, corpus, tokenizer, tmp_path, progress=False).fit()
        trained, _, _ = load_checkpoint(tmp_path / "checkpoints" / VARIANT_SLUGS[variant] / "best")
        return start, result, trained

    return train


@pytest.fixture
def tiny_model_cfg() -> ModelConfig:
    return ModelConfig(d_model=32, d_ff=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, vocab_size=100)


@pytest.fixture
def fake_tokenizer() -> FakeTokenizer:
    return FakeTokenizer()


@pytest.fixture
def tiny_relu_t5(tmp_path, tiny_model_cfg):
    """``(hf, cfg)``: a tiny original-T5 (ReLU FFN) saved in ``tmp_path``, and ``tiny_model_cfg`` pointing at it
    as a pretrained model (the ``t5-small`` path, without a download)."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    hf = T5ForConditionalGeneration(T5Config(vocab_size=100, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                             num_heads=4, feed_forward_proj="relu", decoder_start_token_id=0))
    hf.save_pretrained(tmp_path)
    tiny_model_cfg.pretrained = str(tmp_path)
    return hf, tiny_model_cfg


def save_untrained_checkpoints(cfg, tokenizer, out) -> None:
    """What ``attack`` needs from training: each variant's ``best`` checkpoint under ``out`` (here at
    initialisation, seed 0), so attack-phase tests need not train."""
    from mono_s2s.checkpoint import save_checkpoint
    from mono_s2s.config import VARIANT_SLUGS
    from mono_s2s.models import build_model

    for variant in cfg.model.variants:
        save_checkpoint(out / "checkpoints" / VARIANT_SLUGS[variant] / "best",
                        build_model(cfg.model, variant, tokenizer, seed=0), tokenizer, cfg)


@pytest.fixture(scope="session")
def untrained_checkpoints():
    """:func:`save_untrained_checkpoints` (a factory, usable from module-scoped fixtures)."""
    return save_untrained_checkpoints


@pytest.fixture(scope="session")
def redrawn_tiny_t5():
    """Factory (usable from module-scoped fixtures): ``redrawn_tiny_t5(tokenizer, vocab_size, std)``."""
    return _redrawn_tiny_t5


def _redrawn_tiny_t5(tokenizer, vocab_size: int, std: float, matrices_only: bool = True):
    """A tiny baseline T5 in eval mode with its weights redrawn from N(0, std).

    HF's small init leaves an untrained model flat: it writes the same few tokens whatever
    the source and the NLL hardly moves, so order checks or attack-vs-random checks could
    not fail. ``matrices_only`` keeps biases and layer-norm scales as built.
    """
    import torch

    from mono_s2s.models import build_model

    cfg = ModelConfig(d_model=32, d_ff=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2,
                      vocab_size=vocab_size, dropout=0.0)
    model = build_model(cfg, "baseline", tokenizer, seed=0)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1 or not matrices_only:
                p.normal_(0.0, std)
    return model.eval()


# -- a random-init tiny T5 for the attack tests (test_attacks_blackbox, _nes, _substitution) ----------------------
# Module-scoped, so each test module builds its own; a module that defines a fixture of the same name keeps its own.

@pytest.fixture(scope="module")
def corpus():
    """200 / 20 / 20 synthetic dialogues (seed 0)."""
    from mono_s2s.data.synthetic import generate_corpus

    return generate_corpus(0, 200, 20, 20)


@pytest.fixture(scope="module")
def tok(corpus):
    from mono_s2s.tokenizer import train_tokenizer

    return train_tokenizer(corpus["train"], 300)


@pytest.fixture(scope="module")
def model(tok, redrawn_tiny_t5):
    """A wider init than T5's (std 0.3): the random model is less flat, so attacks move the NLL visibly."""
    return redrawn_tiny_t5(tok, 300, std=0.3)


@pytest.fixture
def objective(model, tok):
    from mono_s2s.attacks.common import Objective

    return Objective(model, tok, max_source_tokens=128, max_summary_tokens=48)


@pytest.fixture(scope="module")
def samples(corpus):
    """The first three test dialogues."""
    return corpus["test"][:3]


# Tiny models and the smallest attack searches, two samples per attack: a whole run in seconds, as `--set` values
# on top of the tiny preset (tests that run the attack phase or the CLI on untrained or barely trained models).
SMALLEST_RUN_SETS = (
    "model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.n_encoder_layers=1", "model.n_decoder_layers=1",
    "model.vocab_size=100", "data.n_train=40", "data.n_validation=8", "data.n_test=8", "train.num_beams=1",
    "attacks.hotflip_samples=2", "attacks.hotflip_iters=1", "attacks.hotflip_trigger_len=1", "attacks.hotflip_topk=2",
    "attacks.hotflip_beam=1", "attacks.hotflip_restarts=1",
    "attacks.universal_train_samples=2", "attacks.universal_eval_samples=2", "attacks.universal_max_sweeps=1",
    "attacks.universal_restarts=1", "attacks.universal_trigger_len=1", "attacks.universal_topk=2", "attacks.universal_beam=1",
    "attacks.nes_samples=2", "attacks.nes_population=2", "attacks.nes_generations=1", "attacks.nes_trigger_len=1",
    "attacks.substitution_samples=2", "attacks.substitution_words=1", "attacks.substitution_proposals=2",
    "attacks.injection_samples=2", "attacks.ood_samples=2",
    # One budget point each (the headline): the curves have their own tests.
    "attacks.hotflip_budgets=1", "attacks.universal_budgets=1", "attacks.nes_budgets=1",
    "attacks.substitution_budgets=1", "attacks.injection_budgets=10", "attacks.ood_budgets=5",
)


# -- one tiny experiment per session ----------------------------------------------------------------------------

# The settings of the shared experiment, as `--set` values on top of the tiny preset. Every test that reads
# the experiment takes its numbers from here (through ``tiny_experiment.cfg``), never from a copy.
TINY_EXPERIMENT_SETS = (
    # The house tiny tester: 2 + 2 layers, d_model 32; the embedded synthetic corpus, its sources cut
    # to 96 tokens (about half of one) and summaries to 32: attention over 256 tokens took half the time.
    "model.d_model=32", "model.d_ff=64", "model.n_heads=4", "model.vocab_size=300",
    "data.n_train=160", "data.n_validation=24", "data.n_test=16", "data.max_source_tokens=96",
    "data.max_summary_tokens=32",
    # Two epochs (a resumed or reused run is told apart from a one-epoch one), beam search on.
    "train.batch_size=16", "train.eval_batch_size=16", "train.epochs=2", "train.num_beams=2",
    # Every attack on a few samples (the same samples for both models), with the smallest searches.
    "attacks.hotflip_samples=3", "attacks.hotflip_iters=3", "attacks.hotflip_trigger_len=2", "attacks.hotflip_topk=2",
    "attacks.universal_train_samples=3", "attacks.universal_eval_samples=3", "attacks.universal_max_sweeps=1",
    "attacks.universal_restarts=1", "attacks.universal_trigger_len=2", "attacks.universal_topk=2", "attacks.universal_beam=1",
    "attacks.nes_samples=2", "attacks.nes_population=2", "attacks.nes_generations=1", "attacks.nes_trigger_len=2",
    "attacks.substitution_samples=2", "attacks.substitution_words=2", "attacks.substitution_proposals=4",
    "attacks.injection_samples=2", "attacks.ood_samples=2",
    # Two budget points per attack, the headline one of them, so the curves and their records are exercised.
    "attacks.hotflip_budgets=1,2", "attacks.universal_budgets=1,2", "attacks.nes_budgets=1,2",
    "attacks.substitution_budgets=1,2", "attacks.injection_budgets=2,10", "attacks.ood_budgets=2,5",
)


@dataclass(frozen=True)
class TinyExperiment:
    """The outputs of one ``mono-s2s run`` (see :func:`tiny_experiment`). Read only: copy before writing.

    ``out`` is the ``--out`` folder; ``argv`` the command line it ran, without ``--out`` (run it
    again on a copy with ``mono_s2s.cli.main([*argv, "--out", str(copy)])``); ``cfg`` the
    configuration that command line builds; ``stdout`` what it printed; ``results`` what
    :func:`mono_s2s.pipeline.attack_phase` returned; ``runs`` its three wandb runs as
    :func:`mono_s2s.tracking.read_run` reads them back, keyed ``nonmono``, ``mono``, ``adversarial``.
    """

    out: Path
    argv: tuple[str, ...]
    cfg: ExperimentConfig
    stdout: str
    results: dict = field(repr=False)
    runs: dict = field(repr=False)

    def copy_to(self, dest: Path, *parts: str) -> Path:
        """Copy the whole experiment (or only its top-level ``parts``, e.g. "checkpoints") to ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        for part in parts or [p.name for p in self.out.iterdir()]:
            src = self.out / part
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / part)
        return dest


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_experiment(tmp_path_factory) -> TinyExperiment:
    """One complete tiny experiment, trained once per session and shared by the tests that only read it.

    What it ran: ``mono-s2s run --wandb offline --set ...`` (:data:`TINY_EXPERIMENT_SETS` on the tiny
    preset), in this process through :func:`mono_s2s.cli.main`, with one torch thread and wandb
    sandboxed as for every test. So: the synthetic corpus (160 / 24 / 16 examples), a BPE tokenizer,
    ``baseline`` and ``monotonic`` trained 2 epochs each (barely: validation loss about 5.6, so do
    not expect attacks to separate them), each keeping a snapshot at every one of its 20 steps, the
    quality-matched arm built from the stronger one's snapshots (``nonmono_matched`` or
    ``mono_matched``: read ``results["matched"]["slug"]``), all six attacks plus transfer on the
    same samples for the three arms, the analysis, and three offline wandb runs. About 15 s on a
    2-core CPU shared with other test runs.

    The folder it yields (``tiny_experiment.out``)::

        cache/                                    the generated corpus
        tokenizer/tokenizer.json, ...             the BPE tokenizer
        checkpoints/{nonmono,mono}/{best,latest}/ config.json, model.safetensors, tokenizer files,
                                                  mono_s2s_config.yaml; latest/ also trainer_state.json
                                                  (with the snapshot list) and training_state/ (what a
                                                  resume reads)
        checkpoints/{nonmono,mono}/snapshots/step_NNNNNNN/   config.json, model.safetensors (weights only)
        checkpoints/{slug}_matched/best/          the matched arm: a checkpoint folder like the others
        results/training_{nonmono,mono}.json      training summary, test predictions, per-example ROUGE
        results/training_{slug}_matched.json      the same for the matched arm, plus its "matched" record
        results/attack_records.jsonl              every (attack, model, sample) record
        results/universal_triggers.json, attack_settings.json
        results/adversarial_results.json          the results file (summary, records, transfer, statistics)
        results/summary.csv, adversarial_analysis.png, key_findings.txt (and what the report adds)
        wandb/offline-run-*/                      nonmono and mono training runs, the adversarial run

    Tests must not write into it (a test that resumes, truncates or re-runs works on
    ``tiny_experiment.copy_to(tmp_path / "out")``): the session ends with an error if any
    file in it was added, removed or rewritten. New tests that need a trained pair of
    models, attack records or wandb runs belong here rather than training their own.
    """
    import torch

    from mono_s2s import cli, pipeline, tracking
    from mono_s2s.config import build_config

    root = tmp_path_factory.mktemp("tiny_experiment")
    out = root / "out"
    argv = ("run", "--wandb", "offline", *(word for s in TINY_EXPERIMENT_SETS for word in ("--set", s)))
    returned = []
    real_attack_phase = pipeline.attack_phase

    def attack_phase(*args, **kwargs):
        returned.append(real_attack_phase(*args, **kwargs))
        return returned[-1]

    stdout, stderr = io.StringIO(), io.StringIO()
    threads = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp:
        # Session scope is set up before the per-test sandbox: the same isolation, by hand.
        _sandbox_wandb(mp, root)
        mp.setattr(pipeline, "attack_phase", attack_phase)
        torch.set_num_threads(1)  # see one_torch_thread
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli.main([*argv, "--out", str(out)])
        finally:
            torch.set_num_threads(threads)
    assert code == 0, stderr.getvalue()[-3000:]
    assert len(returned) == 1, "the run did not go through mono_s2s.pipeline.attack_phase"

    runs = {}
    for run_dir in sorted((out / "wandb").glob("offline-run-*")):
        run = tracking.read_run(run_dir)
        role = run["name"].split("_")[1] if run["job_type"] == "training" else run["job_type"]
        assert role not in runs, f"two runs for {role}"
        runs[role] = run
    assert set(runs) == {"nonmono", "mono", "adversarial"}, sorted(runs)

    before = _snapshot(out)
    yield TinyExperiment(out=out, argv=argv, cfg=build_config("tiny", overrides=list(TINY_EXPERIMENT_SETS),
                                                              **{"tracking.mode": "offline"}),
                         stdout=stdout.getvalue(), results=returned[0][0], runs=runs)
    after = _snapshot(out)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a test wrote into the shared tiny experiment (copy it first): {changed[:10]}"
