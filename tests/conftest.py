"""Shared fixtures: tiny configs so model tests run in seconds on CPU."""

from __future__ import annotations

import os

import pytest

# Tests never reach the network: the hub and wandb are offline here and in CI.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mono_s2s.config import ModelConfig  # noqa: E402


class FakeTokenizer:
    """Just what build_model needs from a tokenizer: its size and special ids."""

    pad_token_id = 0
    eos_token_id = 1

    def __init__(self, size: int = 100) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


@pytest.fixture(autouse=True)
def wandb_sandbox(tmp_path_factory, monkeypatch):
    """Every test: wandb offline, with all its folders (run, cache, config, data) in a temp folder, never $HOME."""
    root = tmp_path_factory.mktemp("wandb_sandbox")
    for var, sub in (("WANDB_DIR", "wandb_dir"), ("WANDB_CACHE_DIR", "wandb_cache"),
                     ("WANDB_CONFIG_DIR", "wandb_config"), ("WANDB_DATA_DIR", "wandb_data")):
        (root / sub).mkdir()
        monkeypatch.setenv(var, str(root / sub))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_DISABLED", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    for var in ("COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION", "COLAB_GPU"):
        monkeypatch.delenv(var, raising=False)
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
def tiny_model_cfg() -> ModelConfig:
    return ModelConfig(d_model=32, d_ff=64, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, vocab_size=100)


@pytest.fixture
def fake_tokenizer() -> FakeTokenizer:
    return FakeTokenizer()


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
