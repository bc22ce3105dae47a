"""A provably monotone FFN with convex, concave and saturated hidden units (variant ``monotonic_cmnn``).

After Runje & Shankaranarayana, "Constrained Monotonic Neural Networks" (ICML 2023):
non-negative weights, hidden biases, and the hidden units split into three groups that
apply three activations built from one convex, increasing ``rho`` (here ELU)::

    f(x) = W_o a(W_i x + b_i) + b_o,   W_i >= 0, W_o >= 0,
    a_k = rho        (convex units)      rho(z)  = elu(z)
          rho_hat    (concave units)     rho_hat(z) = -rho(-z)
          rho_tilde  (saturated units)   rho_tilde(z) = rho(z + 1) - rho(1)      for z < 0
                                                        rho_hat(z - 1) + rho(1)  for z >= 0

Why it is monotone. Each of the three activations is non-decreasing on all of R:
``rho' = elu' > 0``; ``rho_hat'(z) = rho'(-z) > 0``; ``rho_tilde`` is ``rho`` shifted on
z < 0 and ``rho_hat`` shifted on z >= 0, both increasing, and continuous at 0 (both
pieces are 0 there), hence non-decreasing on R. So the Jacobian
``df/dx = W_o diag(a'(W_i x + b_i)) W_i`` is a product of three entrywise
non-negative matrices: every ``df_i/dx_j >= 0``, and ``x <= x'`` elementwise implies
``f(x) <= f(x')`` elementwise (integrate the Jacobian along the segment from x to x').
The biases are constant shifts; dropout multiplies the hidden units by a
non-negative mask (monotone for any fixed mask, so in training mode too). Every
weight is ``alpha |V|`` of an unconstrained parameter ``V``
(:class:`~mono_s2s.models.monotone.PositiveLinear`, the parametrisation of
``monotonic``'s version 2): no optimizer step can break the constraint.

Why these units. With non-negative weights and a convex ``rho`` alone (the monotone
version of T5's original ReLU FFN, :class:`~mono_s2s.models.monotone.MonotonicFFN`),
each ``f_i`` is a non-negative sum of convex functions of affine maps of x, hence
convex in x: it cannot saturate or bend down. The concave units give the mirror
image, the saturated ones a bounded response, and the hidden biases thresholds (T5's
FFNs have none); the paper shows networks built this way approximate any continuous
monotone function on a compact set (its theorem is for several hidden layers; a T5
block has room for one, as here).

Departures from the paper: one hidden layer in a residual block, not a stand-alone
network; ``rho`` = ELU for all three groups; the groups are a third each (our
choice); the weights are ``alpha |V|`` (the paper takes ``|W|`` of its kernel, which
is the same map with alpha = 1); the down projection starts at
``OUTPUT_INIT_SCALE`` of T5's magnitudes and the output bias makes ``f(0) = 0``, as
for ``monotonic`` (:mod:`mono_s2s.models.monotone` says why: with all weights >= 0 a
full-scale FFN floods the residual stream with a common-mode output).

Size and start. On a gated config (from scratch) the hidden layer has
``3 d_ff / 2`` units, so that its two matrices hold as many weights as the gated
FFN's three (the parameter count differs by the hidden biases); its weights are
drawn as T5 draws a fresh FFN's (``|N(0, fan_in^-1/2)|``), not converted from the
gated FFN HF built, which has no counterpart of this hidden layer. A pretrained
gated T5 cannot be converted for the same reason (``t5.py`` says so in one line).
On a pretrained non-gated T5 (``t5-small``: ``wi``, ``wo``, ReLU) the hidden layer
keeps ``d_ff`` units and starts from the pretrained weights' magnitudes, as
``monotonic`` does.

Measured on the tiny preset (dropout 0, 4 epochs, its best lr 0.02; 500 test examples;
val NLL / ROUGE-L / fact recall): 0.013 / 0.985 / 0.963, beside the baseline's
0.015 / 0.990 / 0.972, ``monotonic``'s 0.013 / 0.989 / 0.967 and ``attention_only``'s
0.013 / 0.988 / 0.968 (2026-12-02, ``--preset controls``): it learns the task, as every
arm does there, with its FFN as idle as ``monotonic``'s (output 10-22 % of the residual
stream, 97 % of its variance in three directions). At the earlier preset (dropout 0.1,
6 epochs) it was as ``monotonic`` within the confidence intervals and behind
``attention_only``; started sparse (1/8 or 1/16 of the weights, full-scale down
projection) it trained worse (val NLL 2.35, 2.54 against 2.23): its FFN was more active
(output/residual 0.23-0.44 vs 0.10-0.13) and that hurt.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mono_s2s.models.monotone import ABS, DOWN_SCALE, OUTPUT_INIT_SCALE, PositiveLinear


def convex(z: torch.Tensor) -> torch.Tensor:
    """``rho(z) = elu(z)``: convex, increasing, ``rho(0) = 0``."""
    return F.elu(z)


def concave(z: torch.Tensor) -> torch.Tensor:
    """``rho_hat(z) = -rho(-z)``: concave, increasing, ``rho_hat(0) = 0``."""
    return -F.elu(-z)


def saturated(z: torch.Tensor) -> torch.Tensor:
    """``rho_tilde``: ``rho`` shifted left of 0, ``rho_hat`` shifted right of it; increasing, bounded, 0 at 0."""
    one = F.elu(torch.ones((), dtype=z.dtype, device=z.device))  # rho(1) = 1
    return torch.where(z < 0, convex(z + 1) - one, concave(z - 1) + one)


class MonotonicCMNNFFN(nn.Module):
    """``W_o dropout(a(W_i x + b_i)) + b_o`` with ``W_i, W_o >= 0`` and a third each of convex, concave and
    saturated hidden units (``wi`` in, ``wo`` down; module docstring for the proof)."""

    ACTIVATIONS = (convex, concave, saturated)

    def __init__(self, config) -> None:  # a T5Config: d_model, d_ff, dropout_rate, is_gated_act
        super().__init__()
        width = 3 * config.d_ff // 2 if config.is_gated_act else config.d_ff
        third = width // 3
        self.groups = (third, third, width - 2 * third)  # convex, concave, saturated units
        self.wi = PositiveLinear(config.d_model, width, bias=True, kind=ABS)
        self.wo = PositiveLinear(width, config.d_model, bias=True, kind=ABS, scale=DOWN_SCALE)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.reset_parameters()

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        parts = self.wi(x).split(self.groups, dim=-1)
        return torch.cat([act(z) for act, z in zip(self.ACTIVATIONS, parts)], dim=-1)  # (..., width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wo(self.dropout(self.hidden(x)))

    @torch.no_grad()
    def center(self) -> None:
        """Set ``b_o`` so that f(0) = 0 (0 while the hidden biases are 0: every activation is 0 at 0)."""
        self.wo.bias.copy_(-(self.wo.weight @ self.hidden(torch.zeros(self.wi.in_features))))

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """T5's fresh-FFN magnitudes (std fan_in^-1/2), the down projection at OUTPUT_INIT_SCALE, centred."""
        self.wi.reset_parameters()
        self.wo.load_magnitudes(torch.randn(self.wo.out_features, self.wo.in_features)
                                * self.wo.in_features ** -0.5 * OUTPUT_INIT_SCALE)
        self.wi.bias.zero_()
        self.center()

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        """From a non-gated T5 FFN (``wi``, ``wo``): its magnitudes, as ``monotonic`` converts it. A gated one
        (what HF builds from scratch) has no counterpart of this hidden layer: the fresh start of ``__init__`` stays."""
        if hasattr(dense, "wi_0"):
            return
        self.wi.load_magnitudes(dense.wi.weight)
        self.wo.load_magnitudes(dense.wo.weight * OUTPUT_INIT_SCALE)
        self.center()
