"""GPU precision settings on CPU (issue 13): validation, the resolution table, TF32, compile plumbing, the
attack objective under autocast, and training that stays bit for bit on CPU with ``auto``."""

from __future__ import annotations

import types

import pytest
import torch

from mono_s2s.config import build_config
from mono_s2s.errors import UserError
from mono_s2s.precision import autocast, enable_tf32, maybe_compile, resolve_precision

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- config ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["train.precision", "attacks.precision"])
def test_a_precision_that_is_not_one_of_the_four_is_refused_naming_its_key(key):
    with pytest.raises(UserError) as e:
        build_config("tiny", overrides=[f"{key}=half"])
    assert f"'{key}'" in str(e.value) and "auto, fp32, bf16, fp16" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("value", ["auto", "fp32", "bf16", "fp16"])
def test_every_precision_and_compile_are_accepted(value):
    cfg = build_config("tiny", overrides=[f"train.precision={value}", f"attacks.precision={value}",
                                          "train.compile=true", "attacks.compile=true"])
    assert (cfg.train.precision, cfg.attacks.precision) == (value, value)
    assert cfg.train.compile is True and cfg.attacks.compile is True
    defaults = build_config("tiny")
    assert (defaults.train.precision, defaults.attacks.precision) == ("auto", "auto")
    assert defaults.train.compile is False and defaults.attacks.compile is False


# -- resolution ------------------------------------------------------------------------------------------------

def _fake_cuda(monkeypatch, major: int) -> None:
    """A CUDA GPU of compute capability (major, 0) as torch.cuda sees it (torch's own is_bf16_supported runs)."""
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: types.SimpleNamespace(major=major))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, 0))
    # On a T4, torch's default is_bf16_supported() says True (emulated bf16): resolve_precision must not ask that.
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda device: True, raising=False)


@pytest.mark.parametrize("setting, expected", [("auto", "fp32"), ("fp32", "fp32"), ("bf16", "bf16")])
def test_on_cpu_auto_is_fp32_and_explicit_settings_stand(setting, expected):
    assert resolve_precision(setting, "cpu") == expected
    assert resolve_precision(setting, torch.device("cpu")) == expected


def test_fp16_off_cuda_is_refused_naming_the_key():
    # accelerate would silently train in fp32 there (no gradient scaler off CUDA).
    with pytest.raises(UserError, match=r"'train.precision'.*fp16 needs a CUDA GPU") as e:
        resolve_precision("fp16", "cpu", "train.precision")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("major, auto", [(8, "bf16"), (9, "bf16"), (7, "fp16"), (6, "fp16")])
def test_on_cuda_auto_is_bf16_with_native_bf16_and_fp16_before_it(monkeypatch, major, auto):
    _fake_cuda(monkeypatch, major)
    assert resolve_precision("auto", "cuda") == auto
    assert resolve_precision("fp32", "cuda:0") == "fp32"
    assert resolve_precision("fp16", "cuda") == "fp16"
    if auto == "bf16":
        assert resolve_precision("bf16", "cuda") == "bf16"
    else:
        with pytest.raises(UserError, match=r"'attacks.precision'.*no native bf16"):
            resolve_precision("bf16", "cuda", "attacks.precision")


def test_an_unknown_setting_is_refused_by_resolution_too():
    with pytest.raises(UserError, match=r"'train.precision': 'fp64' is not one of auto, fp32, bf16, fp16"):
        resolve_precision("fp64", "cpu", "train.precision")


@pytest.fixture
def tf32_off():
    """TF32 switched off for the test and put back after it (torch's switches are process-wide; monkeypatch
    cannot restore the matmul one, a module object with its own __setattr__)."""
    was = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = was


@pytest.mark.parametrize("major, on", [(8, True), (7, False)])
def test_tf32_is_turned_on_only_on_cuda_gpus_that_have_it(monkeypatch, tf32_off, major, on):
    assert enable_tf32("cpu") is False
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    _fake_cuda(monkeypatch, major)
    assert enable_tf32("cuda") is on
    assert torch.backends.cuda.matmul.allow_tf32 is on and torch.backends.cudnn.allow_tf32 is on


# -- compile ---------------------------------------------------------------------------------------------------

def test_compile_is_in_place_and_off_by_default(model, tok):
    import copy

    plain = copy.deepcopy(model)
    assert maybe_compile(plain, False) is plain and getattr(plain, "_compiled_call_impl", None) is None
    compiled = copy.deepcopy(model).eval()
    # backend="eager": dynamo traces the model but inductor generates no code, so this takes seconds on CPU.
    assert maybe_compile(compiled, True, backend="eager") is compiled
    assert compiled._compiled_call_impl is not None  # what nn.Module.__call__ runs from now on
    assert type(compiled) is type(model) and list(compiled.state_dict()) == list(model.state_dict())
    x, y = torch.tensor([[5, 6, 7, 1]]), torch.tensor([[8, 9, 1]])
    with torch.no_grad():
        assert torch.equal(compiled(input_ids=x, labels=y).logits, plain.eval()(input_ids=x, labels=y).logits)
