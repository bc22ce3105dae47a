"""T5-style seq2seq models and their FFN variants."""

from mono_s2s.models.cmnn import MonotonicCMNNFFN
from mono_s2s.models.controls import InitOnlyFFN, InitOnlyGatedFFN, NoFFNLayer
from mono_s2s.models.ffn import SoftplusGatedFFN
from mono_s2s.models.monotone import MonotonicFFN, MonotonicGatedFFN, PositiveLinear
from mono_s2s.models.t5 import MonoS2SForConditionalGeneration, build_model, count_parameters, t5_config
from mono_s2s.models.variants import FFN_VARIANTS, FFNVariant, build_ffn

__all__ = [
    "FFN_VARIANTS",
    "FFNVariant",
    "InitOnlyFFN",
    "InitOnlyGatedFFN",
    "MonoS2SForConditionalGeneration",
    "MonotonicCMNNFFN",
    "MonotonicFFN",
    "MonotonicGatedFFN",
    "NoFFNLayer",
    "PositiveLinear",
    "SoftplusGatedFFN",
    "build_ffn",
    "build_model",
    "count_parameters",
    "t5_config",
]
