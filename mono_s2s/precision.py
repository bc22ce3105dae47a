"""Numeric precision on GPUs (issue 13): which float type training and attack scoring run in, TF32, compile.

The settings ``train.precision`` and ``attacks.precision`` take ``auto | fp32 | bf16 | fp16``;
:func:`resolve_precision` turns one into what a device really runs:

* ``auto``: bf16 on a CUDA GPU with native bf16 (compute capability >= 8: A100, L4, RTX 30xx and
  later), fp16 on older CUDA GPUs (Colab's T4, V100), fp32 anywhere else (CPU, MPS). On CPU it is
  therefore exactly today's fp32: same numbers, bit for bit.
* ``bf16``/``fp16``: mixed precision, i.e. autocast around the forward passes with fp32 master
  weights; training's fp16 gets accelerate's loss scaling (its 5-bit exponent underflows small
  gradients). The losses and NLLs themselves are computed in float32 (``logits.float()``).

Everything here is a pure function of its arguments and the device, except :func:`enable_tf32`, which
sets torch's global TF32 switches.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

from mono_s2s.config import PRECISIONS  # defined there: config.py does not import torch
from mono_s2s.errors import UserError

RESOLVED = ("fp32", "bf16", "fp16")  # what a setting resolves to on a device
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# The names accelerate's ``Accelerator(mixed_precision=...)`` takes.
ACCELERATE_NAMES = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def default_device() -> torch.device:
    """The device training and attacks use when nothing else is said: the current CUDA GPU, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _native_bf16() -> bool:
    # Not torch's default is_bf16_supported(): with including_emulation=True (the default) it answers True on a
    # T4, whose bf16 is emulated and slower than its fp16 tensor cores.
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # a torch older than the including_emulation argument
        return bool(torch.cuda.is_bf16_supported())


def resolve_precision(setting: str, device: torch.device | str, key: str = "precision") -> str:
    """``"fp32"``, ``"bf16"`` or ``"fp16"``: what ``setting`` means on ``device`` (the module docstring's table).

    A one-line ``UserError`` naming ``key`` for an unknown setting, fp16 off CUDA (there is no loss scaling
    there: accelerate would silently train in fp32), and bf16 on a CUDA GPU without native bf16.
    """
    if setting not in PRECISIONS:
        raise UserError(f"invalid config value for '{key}': '{setting}' is not one of {', '.join(PRECISIONS)}")
    cuda = torch.device(device).type == "cuda"
    if setting == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if _native_bf16() else "fp16"
    if setting == "fp16" and not cuda:
        raise UserError(f"invalid config value for '{key}': fp16 needs a CUDA GPU (no loss scaling on "
                        f"{torch.device(device).type}); use bf16, fp32 or auto")
    if setting == "bf16" and cuda and not _native_bf16():
        raise UserError(f"invalid config value for '{key}': this GPU has no native bf16 (compute capability "
                        f"< 8, e.g. a T4); use fp16 or auto")
    return setting


def check_resolved(precision: str) -> str:
    """``precision`` if it is what :func:`resolve_precision` returns, else a one-line ``ValueError`` (a programming
    error: a setting such as ``"auto"`` handed on unresolved)."""
    if precision not in RESOLVED:
        raise ValueError(f"precision must be resolved to one of {', '.join(RESOLVED)} (got {precision!r})")
    return precision


def autocast(device: torch.device | str, precision: str) -> ContextManager:
    """The context scoring forwards run in: ``torch.autocast`` for bf16/fp16, nothing at all for fp32.

    (Not ``autocast(enabled=False)`` for fp32 either: fp32 must be the code path of before, bit for bit.)
    """
    if check_resolved(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=DTYPES[precision])


def enable_tf32(device: torch.device | str) -> bool:
    """Let fp32 matmuls and convolutions use TF32 on a CUDA GPU that has it (compute capability >= 8).

    True when it was turned on. Elsewhere nothing changes (False): on CPU the switches do nothing anyway,
    and leaving them alone keeps fp32 runs on older GPUs exactly fp32. TF32 keeps fp32's range with a
    10-bit mantissa; it matters only for what still runs in fp32 (``precision=fp32``, fp32 islands under
    autocast).
    """
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    if torch.cuda.get_device_capability(device) < (8, 0):
        return False
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return True


def maybe_compile(model: torch.nn.Module, enabled: bool, **options) -> torch.nn.Module:
    """``model`` compiled in place by ``torch.compile`` when ``enabled`` (``train.compile``/``attacks.compile``).

    In place (``nn.Module.compile``), not a wrapping ``OptimizedModule``: the model keeps its class, its
    attributes (``generate``, ``_shift_right``) and its state-dict keys, so checkpoints of a compiled run
    load into an uncompiled one and back. Compilation itself happens lazily, at the first forward (once
    per new input shape), so turning it on costs nothing until the model runs. ``options`` go to
    ``torch.compile`` (e.g. ``backend``).
    """
    if enabled:
        # Dynamo's recompile limit (8) counts per code object, and transformers' forwards are shared by every
        # model of the process: the attack phase compiles each arm (about 5-6 graphs each: scoring and
        # gradients, one row and several), so the later arms silently fell back to eager
        # (bench/attack_throughput.py). A limit per process that several arms fit in.
        import torch._dynamo

        config = torch._dynamo.config
        name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
        setattr(config, name, max(getattr(config, name), 64))
        model.compile(**options)
    return model
