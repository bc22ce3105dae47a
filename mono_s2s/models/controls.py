"""The control arms of PROTOCOL.md: what the monotone FFN is compared with besides the baseline.

* ``init_only`` (:class:`InitOnlyGatedFFN`, :class:`InitOnlyFFN` for a pretrained ReLU T5) -- the
  monotone FFN without its constraint: the same forward form and, at initialisation, bit for bit
  the same weights and bias as :class:`~mono_s2s.models.monotone.MonotonicGatedFFN` built from the
  same dense FFN, but plain unconstrained weights that training may push below zero. It rules out
  "it is the initialisation, not the constraint": the origin project's audit found an unconstrained
  model with the monotone variant's ``|W|`` initialisation reaching the monotone model's validation
  loss, so initialisation and constraint were confounded.
* ``attention_only`` (:class:`NoFFNLayer`) -- no FFN sublayers at all: every block's ``T5LayerFF``
  is replaced by the identity. It rules out "the constraint just switches the FFN off".

Why the whole ``T5LayerFF`` goes, not only its ``DenseReluDense``: HF's layer computes
``x + dropout(DenseReluDense(layer_norm(x)))``. An FFN returning zeros would give the same
output, but would leave the branch's layer-norm scale in the model as a parameter with no
gradient (counted in the parameter count, saved in every checkpoint) and a dropout on zeros.
Replacing the layer makes the parameter count the true count of a model without FFNs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mono_s2s.models.monotone import BETA, OUTPUT_INIT_SCALE, GatedSoftplusForm, ReluForm, inverse_softplus


@torch.no_grad()
def monotone_start(weight: torch.Tensor) -> torch.Tensor:
    """The weight a :class:`~mono_s2s.models.monotone.PositiveLinear` has after ``load_magnitudes(weight)``.

    That is ``|weight|`` clamped below at ``_MIN_WEIGHT``, after the round trip through
    ``W = softplus(BETA inverse_softplus(|weight|)) / BETA`` (which moves a weight by up to
    about 1e-6 of itself, more than float32's eps). Computed by the same operations, so
    the result is bit for bit the monotone FFN's effective weight, not only close to it.
    """
    return F.softplus(inverse_softplus(weight.abs()), beta=BETA)


class InitOnlyGatedFFN(GatedSoftplusForm):
    """``W_o (sigmoid(W_g x) * softplus(W_u x)) + b_o`` with unconstrained weights, started as the monotone FFN.

    Departs from :class:`~mono_s2s.models.monotone.MonotonicGatedFFN` in one thing only: the
    weights are plain ``nn.Linear`` weights, not ``softplus(BETA V) / BETA`` of a raw ``V``, so an
    optimizer step may make them negative and the FFN stops being monotone (the checks find it).
    The same: the forward form (the same code, :class:`~mono_s2s.models.monotone.GatedSoftplusForm`:
    sigmoid gate times softplus up, then a linear down projection with a bias), the module names
    (``wi_0``, ``wi_1``, ``wo``), and the start -- weight magnitudes ``|W|`` of the dense FFN clamped
    at the monotone conversion's minimum, the down projection at ``OUTPUT_INIT_SCALE`` of them, and
    the bias that makes ``f(0) = 0``; bit for bit equal to the
    monotone FFN's effective weights and bias (``tests/test_controls.py``).

    Weight decay: none on these weights (``MonoS2SForConditionalGeneration.parameter_groups``).
    The monotone FFN's weights get none (decay on ``V`` would pull ``W`` toward ``ln 2 / BETA``),
    so decaying this control toward 0 would add a second difference besides the constraint.
    """

    def __init__(self, config) -> None:  # a T5Config: d_model, d_ff, dropout_rate
        super().__init__()
        self.wi_0 = nn.Linear(config.d_model, config.d_ff, bias=False)  # gate
        self.wi_1 = nn.Linear(config.d_model, config.d_ff, bias=False)  # up
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=True)  # down
        self.dropout = nn.Dropout(config.dropout_rate)

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        """Start from a gated T5 FFN as ``MonotonicGatedFFN.init_from_dense`` does: magnitudes, scaled down, centred."""
        self.wi_0.weight.copy_(monotone_start(dense.wi_0.weight))
        self.wi_1.weight.copy_(monotone_start(dense.wi_1.weight))
        self.wo.weight.copy_(monotone_start(dense.wo.weight * OUTPUT_INIT_SCALE))
        self.center()


class InitOnlyFFN(ReluForm):
    """``W_o relu(W_i x) + b_o``, unconstrained, started as :class:`~mono_s2s.models.monotone.MonotonicFFN`.

    For ``init_only`` on a pretrained non-gated T5 (``t5-small``); as :class:`InitOnlyGatedFFN`,
    it departs from its monotone counterpart only in the missing constraint. The bias starts at
    zero, as there (f(0) = 0 already). No weight decay, for the same reason.
    """

    def __init__(self, config) -> None:  # a T5Config: d_model, d_ff, dropout_rate
        super().__init__()
        self.wi = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.wo = nn.Linear(config.d_ff, config.d_model, bias=True)
        self.dropout = nn.Dropout(config.dropout_rate)

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        self.wi.weight.copy_(monotone_start(dense.wi.weight))
        self.wo.weight.copy_(monotone_start(dense.wo.weight * OUTPUT_INIT_SCALE))
        self.wo.bias.zero_()


class NoFFNLayer(nn.Module):
    """Stands in for a block's whole ``T5LayerFF`` (layer norm, FFN, dropout, residual): the identity.

    ``T5Block`` calls ``self.layer[-1](hidden_states)``; this returns them unchanged, which is
    what ``x + dropout(f(layer_norm(x)))`` gives with ``f = 0``. No parameters.
    """

    def __init__(self, config=None) -> None:  # built as layer(config), like the FFN classes; needs nothing of it
        super().__init__()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states
