"""FFN variants by name: the one table from a config's ``ffn_variant`` to the module in every T5 block.

As HF's ``T5LayerFF`` picks its FFN from the config, :class:`~mono_s2s.models.t5.MonoS2SForConditionalGeneration`
looks its FFN up here. Every class is built as ``cls(config)`` from the HF
``T5Config`` and has ``init_from_dense(dense)``, which starts it from the FFN HF
built (so that with one seed every variant begins from the same weights up to
its constraint). A variant may have one class for gated configs (``wi_0``,
``wi_1``, ``wo``: the from-scratch ``gated-silu``, T5 v1.1) and one for plain
ones (``wi``, ``wo``: the original T5's ReLU FFN); a missing class means the
variant cannot be built for that kind of checkpoint. A variant with a ``layer``
class replaces each block's whole ``T5LayerFF`` instead (built as
``layer(config)``, for either kind): ``attention_only``. Adding a variant is one
line in :data:`FFN_VARIANTS` (and its name in ``config.VARIANTS``, which a test
keeps equal to this table).

Versions: when a variant's definition changes, its entry's ``version`` goes up and
its classes read ``config.ffn_version`` to build the definition a model was made
with. New models record the current version in their ``config.json``; a config
without one (written before versions existed) is version 1. Only ``monotonic``
has two (:mod:`mono_s2s.models.monotone`, "Versions of the definition").
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from mono_s2s.errors import UserError
from mono_s2s.models.cmnn import MonotonicCMNNFFN
from mono_s2s.models.controls import InitOnlyFFN, InitOnlyGatedFFN, NoFFNLayer
from mono_s2s.models.ffn import SoftplusGatedFFN
from mono_s2s.models.monotone import VERSION as MONOTONIC_VERSION
from mono_s2s.models.monotone import MonotonicFFN, MonotonicGatedFFN, saved_version


@dataclass(frozen=True)
class FFNVariant:
    gated: type[nn.Module] | None = None  # for a gated T5 FFN (config.is_gated_act)
    plain: type[nn.Module] | None = None  # for a non-gated one
    hf_own: bool = False  # keep the FFN HF built (the baseline)
    layer: type[nn.Module] | None = None  # replaces the whole T5LayerFF (residual branch included)
    version: int = 1  # the current definition, recorded as config.ffn_version in new models
    converts_gated: bool = True  # can start from a pretrained gated T5's FFN weights (False: from scratch only)


FFN_VARIANTS: dict[str, FFNVariant] = {
    "baseline": FFNVariant(hf_own=True),  # HF's own: gated-silu (SwiGLU) from scratch, as trained when pretrained
    "softplus_gate": FFNVariant(gated=SoftplusGatedFFN),  # the seed's "monotonic" FFN, NOT monotone
    "monotonic": FFNVariant(gated=MonotonicGatedFFN, plain=MonotonicFFN, version=MONOTONIC_VERSION),  # monotone
    # Provably monotone too, more expressive (Runje & Shankaranarayana 2023); its own hidden width on a gated config.
    "monotonic_cmnn": FFNVariant(gated=MonotonicCMNNFFN, plain=MonotonicCMNNFFN, converts_gated=False),
    "init_only": FFNVariant(gated=InitOnlyGatedFFN, plain=InitOnlyFFN),  # control: monotonic's start, no constraint
    "attention_only": FFNVariant(layer=NoFFNLayer),  # control: no FFN sublayers at all
}


def ffn_variant(config) -> FFNVariant:
    """The registry entry for ``config.ffn_variant`` (``baseline`` when unset), after checking that its
    ``ffn_version`` (absent: 1) is one this code can build."""
    name = getattr(config, "ffn_variant", "baseline")
    variant = FFN_VARIANTS.get(name)
    if variant is None:
        raise UserError(f"model.variants: unknown variant '{name}' (choose from {', '.join(FFN_VARIANTS)})")
    version = saved_version(config)
    if not (isinstance(version, int) and 1 <= version <= variant.version):
        known = "version 1" if variant.version == 1 else f"versions 1-{variant.version}"
        raise UserError(f"model.variants: this model's {name} FFN is version {version!r}; this mono-s2s knows "
                        f"{known} (was it written by a newer mono-s2s?)")
    return variant


def build_ffn(config) -> nn.Module | None:
    """The FFN module for ``config.ffn_variant`` (a fresh one per call); None keeps HF's own or has none
    (a variant with a ``layer``, which replaces the FFN's whole residual branch)."""
    name = getattr(config, "ffn_variant", "baseline")
    variant = ffn_variant(config)
    if variant.hf_own or variant.layer is not None:
        return None
    cls = variant.gated if config.is_gated_act else variant.plain
    if cls is None:
        kind = "a gated T5 FFN (e.g. google/t5-v1_1-small)" if variant.gated else "a non-gated T5 FFN (e.g. t5-small)"
        raise UserError(f"model.variants: {name} needs {kind}; this model uses '{config.feed_forward_proj}'")
    return cls(config)
