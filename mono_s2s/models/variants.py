"""FFN variants by name: the one table from a config's ``ffn_variant`` to the module in every T5 block.

As HF's ``T5LayerFF`` picks its FFN from the config, :class:`~mono_s2s.models.t5.MonoS2SForConditionalGeneration`
looks its FFN up here. Every class is built as ``cls(config)`` from the HF
``T5Config`` and has ``init_from_dense(dense)``, which starts it from the FFN HF
built (so that with one seed every variant begins from the same weights up to
its constraint). A variant may have one class for gated configs (``wi_0``,
``wi_1``, ``wo``: the from-scratch ``gated-silu``, T5 v1.1) and one for plain
ones (``wi``, ``wo``: the original T5's ReLU FFN); a missing class means the
variant cannot be built for that kind of checkpoint. Adding a variant is one
line in :data:`FFN_VARIANTS` (and its name in ``config.VARIANTS``, which a test
keeps equal to this table).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from mono_s2s.errors import UserError
from mono_s2s.models.ffn import SoftplusGatedFFN
from mono_s2s.models.monotone import MonotonicFFN, MonotonicGatedFFN


@dataclass(frozen=True)
class FFNVariant:
    gated: type[nn.Module] | None = None  # for a gated T5 FFN (config.is_gated_act)
    plain: type[nn.Module] | None = None  # for a non-gated one
    hf_own: bool = False  # keep the FFN HF built (the baseline)


FFN_VARIANTS: dict[str, FFNVariant] = {
    "baseline": FFNVariant(hf_own=True),  # HF's own: gated-silu (SwiGLU) from scratch, as trained when pretrained
    "softplus_gate": FFNVariant(gated=SoftplusGatedFFN),  # the seed's "monotonic" FFN, NOT monotone
    "monotonic": FFNVariant(gated=MonotonicGatedFFN, plain=MonotonicFFN),  # provably monotone
}


def build_ffn(config) -> nn.Module | None:
    """The FFN module for ``config.ffn_variant`` (a fresh one per call); None keeps HF's own."""
    name = getattr(config, "ffn_variant", "baseline")
    variant = FFN_VARIANTS.get(name)
    if variant is None:
        raise UserError(f"model.variants: unknown variant '{name}' (choose from {', '.join(FFN_VARIANTS)})")
    if variant.hf_own:
        return None
    cls = variant.gated if config.is_gated_act else variant.plain
    if cls is None:
        kind = "a gated T5 FFN (e.g. google/t5-v1_1-small)" if variant.gated else "a non-gated T5 FFN (e.g. t5-small)"
        raise UserError(f"model.variants: {name} needs {kind}; this model uses '{config.feed_forward_proj}'")
    return cls(config)
