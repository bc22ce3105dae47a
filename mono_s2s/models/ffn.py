"""The seed notebook's non-monotone FFN variant, kept to reproduce its result.

``baseline`` needs no class of ours: it is HF T5's own gated FFN
(``T5DenseGatedActDense``) with ``feed_forward_proj="gated-silu"`` (SwiGLU).
"""

from __future__ import annotations

import torch
from torch import nn

from transformers.models.t5.modeling_t5 import T5DenseGatedActDense


class SoftplusGatedFFN(T5DenseGatedActDense):
    """``W_o (softplus(W_g x) * W_u x)`` with unconstrained weights: the seed's "monotonic" FFN.

    NOT monotone: the up projection ``W_u x`` and the down projection ``W_o`` have
    weights of both signs, so raising one input coordinate can lower an output.
    The tests find such violations. Only the gate activation differs from the
    baseline, so HF T5's initialisation (an isinstance check on the parent class)
    applies unchanged.
    """

    def __init__(self, config) -> None:
        super().__init__(config)
        self.act = nn.Softplus()

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        """Copy a gated T5 FFN's weights: only the gate activation differs from it."""
        self.load_state_dict(dense.state_dict())
