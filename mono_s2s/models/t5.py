"""A T5 encoder-decoder whose FFN sublayers are chosen by ``config.ffn_variant``.

:class:`MonoS2SForConditionalGeneration` *is* HF's ``T5ForConditionalGeneration``
(a subclass): attention, norms, embeddings, ``generate`` and ``save_pretrained``
are HF's. Only the module at ``block[i].layer[-1].DenseReluDense`` changes, at
the path where HF keeps it, so standard tooling and outside checks find it
(``attention_only`` alone replaces the whole ``block[i].layer[-1]``).

Variants (user-facing strings, stored in the saved ``config.json``; the table
that maps them to modules is :data:`mono_s2s.models.variants.FFN_VARIANTS`):

* ``baseline`` -- HF's own FFN as configured (from scratch: ``gated-silu``, i.e.
  SwiGLU; a pretrained checkpoint keeps whatever FFN it was trained with).
* ``softplus_gate`` -- the seed notebook's "monotonic" FFN, NOT monotone
  (:class:`~mono_s2s.models.ffn.SoftplusGatedFFN`).
* ``monotonic`` -- provably monotone FFN (:mod:`mono_s2s.models.monotone`); its
  definition has versions, recorded as ``ffn_version`` in ``config.json``.
* ``monotonic_cmnn`` -- provably monotone FFN with convex, concave and saturated
  hidden units (:mod:`mono_s2s.models.cmnn`, after Runje & Shankaranarayana 2023).
* ``init_only`` -- control: the monotone FFN's start without its constraint
  (:class:`~mono_s2s.models.controls.InitOnlyGatedFFN`).
* ``attention_only`` -- control: no FFN sublayers
  (:class:`~mono_s2s.models.controls.NoFFNLayer` in place of each ``T5LayerFF``).
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5LayerFF

from mono_s2s.config import VARIANTS
from mono_s2s.errors import UserError
from mono_s2s.models.controls import InitOnlyFFN, InitOnlyGatedFFN
from mono_s2s.models.monotone import PositiveLinear
from mono_s2s.models.variants import FFN_VARIANTS, build_ffn, ffn_variant

# Modules whose parameters never get weight decay, whatever their shape (see ``parameter_groups``).
_NO_DECAY_MODULES = (PositiveLinear, InitOnlyGatedFFN, InitOnlyFFN)


class MonoS2SForConditionalGeneration(T5ForConditionalGeneration):
    """HF T5 with the FFN variant named by ``config.ffn_variant`` in every block."""

    def __init__(self, config: T5Config) -> None:
        super().__init__(config)
        layer = ffn_variant(config).layer
        if layer is not None:  # attention_only: the FFN's residual branch goes, norm and dropout included
            for stack in (self.encoder, self.decoder):
                for block in stack.block:
                    block.layer[-1] = layer(config)
        for layer_ff in self.ffn_parents():
            ffn = build_ffn(config)
            if ffn is None:
                continue
            # Start from the FFN HF just built and initialised (the baseline's), so that
            # with one seed all variants begin from the same weights up to the constraint:
            # softplus_gate copies them, monotonic and init_only take their magnitudes.
            ffn.init_from_dense(layer_ff.DenseReluDense)
            for m in ffn.modules():
                m._is_hf_initialized = True  # HF's init passes must not redo it
            layer_ff.DenseReluDense = ffn

    @property
    def ffn_variant(self) -> str:
        return getattr(self.config, "ffn_variant", "baseline")

    def ffn_parents(self) -> Iterator[nn.Module]:
        """Every ``T5LayerFF`` (the last layer of each encoder and decoder block); none for ``attention_only``."""
        for stack in (self.encoder, self.decoder):
            for block in stack.block:
                if isinstance(block.layer[-1], T5LayerFF):
                    yield block.layer[-1]

    def ffns(self) -> list[nn.Module]:
        """The FFN sublayers, in order: encoder blocks, then decoder blocks (empty for ``attention_only``)."""
        return [parent.DenseReluDense for parent in self.ffn_parents()]

    def parameter_groups(self, weight_decay: float) -> list[dict]:
        """AdamW parameter groups: which parameters decay is decided here, by module type (nanoGPT's rule).

        Decay: the weight matrices of linear and embedding layers. No decay:
        vectors (layer-norm scales, biases) and every parameter of a
        :class:`PositiveLinear` -- its parameter is the raw ``V`` of
        ``W = softplus(BETA V) / BETA``, and decay on ``V`` would pull every weight
        toward ``ln 2 / BETA``, not toward 0 -- and of the ``init_only`` FFNs, the
        monotone FFN without its constraint, so that decay is not a second
        difference between the two. Parameters keep ``named_parameters`` order in
        each group.
        """
        raw = {id(p) for m in self.modules() if isinstance(m, _NO_DECAY_MODULES) for p in m.parameters()}
        decay, no_decay = [], []
        for p in self.parameters():
            (no_decay if p.ndim < 2 or id(p) in raw else decay).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

    def _init_weights(self, module: nn.Module) -> None:
        # Reached only for weights a checkpoint lacks; the FFNs built in __init__ are marked initialised.
        if isinstance(module, PositiveLinear):
            module.reset_parameters(std=self.config.initializer_factor * module.in_features ** -0.5)
        else:
            super()._init_weights(module)


def t5_config(model_cfg, vocab_size: int, variant: str, pad_id: int = 0, eos_id: int = 1) -> T5Config:
    """The HF config for a from-scratch model (no download)."""
    return T5Config(
        vocab_size=vocab_size,
        d_model=model_cfg.d_model,
        d_kv=model_cfg.d_model // model_cfg.n_heads,
        d_ff=model_cfg.d_ff,
        num_layers=model_cfg.n_encoder_layers,
        num_decoder_layers=model_cfg.n_decoder_layers,
        num_heads=model_cfg.n_heads,
        relative_attention_num_buckets=model_cfg.relative_attention_num_buckets,
        relative_attention_max_distance=model_cfg.relative_attention_max_distance,
        dropout_rate=model_cfg.dropout,
        feed_forward_proj="gated-silu",
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        ffn_variant=variant,
        ffn_version=FFN_VARIANTS[variant].version,
    )


def build_model(model_cfg, variant: str, tokenizer=None, seed: int | None = None) -> MonoS2SForConditionalGeneration:
    """A model of ``variant``: from scratch (sizes from ``model_cfg``) or from ``model_cfg.pretrained``.

    From scratch, every variant with the same ``seed`` starts from the same
    attention, embedding and norm weights; only the FFNs differ.
    """
    if variant not in VARIANTS:
        raise UserError(f"model.variants: unknown variant '{variant}' (choose from {', '.join(VARIANTS)})")
    if seed is not None:
        torch.manual_seed(seed)
    if model_cfg.pretrained:
        return _from_pretrained(model_cfg, variant)
    if tokenizer is None:
        raise ValueError("a from-scratch model needs the tokenizer it will be trained with")
    config = t5_config(model_cfg, len(tokenizer), variant, tokenizer.pad_token_id, tokenizer.eos_token_id)
    return MonoS2SForConditionalGeneration(config)


def _from_pretrained(model_cfg, variant: str) -> MonoS2SForConditionalGeneration:
    """Load a hub/local T5; the monotone variant starts from the pretrained weights' magnitudes."""
    try:
        base = T5ForConditionalGeneration.from_pretrained(model_cfg.pretrained)
    except (OSError, ValueError) as e:
        cause = " ".join(str(e).split())[:200]
        raise UserError(f"could not load pretrained model '{model_cfg.pretrained}': {cause}") from None
    config = base.config
    if config.is_gated_act and not FFN_VARIANTS[variant].converts_gated:
        raise UserError(f"model.variants: {variant} cannot start from a pretrained gated T5 FFN "
                        f"('{config.feed_forward_proj}' in {model_cfg.pretrained}): it has no counterpart of its "
                        "hidden layer there; train it from scratch (model.pretrained: null) or from a non-gated T5 "
                        "such as t5-small")
    config.ffn_variant = variant
    config.ffn_version = FFN_VARIANTS[variant].version  # the current definition, whatever the checkpoint says
    config.dropout_rate = model_cfg.dropout
    model = MonoS2SForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
    # Only the replaced FFNs may differ from the pretrained state dict (attention_only: their whole layers).
    removed = tuple(f"{name}.block.{i}.layer.{len(block.layer) - 1}." for name, stack in
                    (("encoder", model.encoder), ("decoder", model.decoder)) for i, block in enumerate(stack.block)
                    if not isinstance(block.layer[-1], T5LayerFF))
    assert all(".DenseReluDense." in k or k.startswith(removed) for k in list(missing) + list(unexpected)), (
        missing, unexpected)
    if variant != "baseline":
        base_ffns = [block.layer[-1].DenseReluDense for stack in (base.encoder, base.decoder) for block in stack.block]
        for ffn, dense in zip(model.ffns(), base_ffns):
            ffn.init_from_dense(dense)  # the pretrained weights, not the random ones of __init__
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
