"""Feed-forward sublayers that are provably monotone non-decreasing in their input.

What is monotone, exactly
-------------------------
Each class here is a map ``f: R^d_model -> R^d_model`` applied to the output of
T5's RMS layer norm (``T5LayerFF`` does ``x + dropout(f(layer_norm(x)))``).
For every coordinate pair (i, j), ``df_i/dx_j >= 0`` everywhere, so
``x <= x'`` elementwise implies ``f(x) <= f(x')`` elementwise. Proof, for
:class:`MonotonicGatedFFN`, ``f(x) = W_o h(x) + b_o`` with
``h(x) = sigmoid(W_g x) * softplus(W_u x)``:

* every weight is a non-negative function of an unconstrained parameter ``V``
  (:class:`PositiveLinear`: ``softplus(beta V) / beta`` in version 1, ``alpha |V|``
  in version 2), so ``W_g x`` and ``W_u x`` are non-decreasing in x;
* sigmoid and softplus are increasing, so the gate ``g = sigmoid(W_g x)`` lies in
  (0, 1) and the up branch ``u = softplus(W_u x)`` is positive, both
  non-decreasing; the product of two non-negative non-decreasing functions is
  non-decreasing (``d(gu) = g'u dz_g + g u' dz_u`` with every factor >= 0);
* ``W_o >= 0`` keeps the order, and the bias ``b_o`` is a constant shift.

Dropout multiplies by a non-negative mask, so the claim also holds in training
mode for any fixed mask. The reparametrisation keeps the constraint through
any optimizer step: no projection or clipping is needed.

Versions of the definition
--------------------------
The model's ``config.json`` records ``ffn_version``; a checkpoint written before
versions existed has none and is version 1, built and read exactly as it was.
Both versions have the same parameters (``raw_weight`` = ``V``), the same forward
form and, bit for bit, the same effective weights at initialisation (so the
``init_only`` control, which copies them, is the control of either); they differ
in the map from ``V`` to ``W`` only, i.e. in how an optimizer step on ``V`` moves ``W``:

* version 1: ``W = softplus(BETA V) / BETA``. ``dW/dV = sigmoid(BETA V) = 1 - exp(-BETA W)``,
  below 1 at T5's initial magnitudes, and about ``BETA W`` for small ``W``: there
  an Adam step (about ``lr`` in ``V``) changes ``W`` in proportion to ``W`` itself, so
  a small weight stays small. The down projection, started at ``OUTPUT_INIT_SCALE``
  of the dense magnitudes, lives entirely in that regime.
* version 2 (current): ``W = alpha |V|``, ``alpha`` the projection's starting scale
  rounded to a power of two (1 for gate and up; :data:`DOWN_SCALE` = 2^-7 for the
  down projection), ``V`` started at ``W / alpha``, i.e. at the magnitudes of the
  dense weights the FFN is converted from (up to ``0.01 / 2^-7 = 1.28`` for the
  down projection). ``dW = alpha sign(V) dV``: an Adam step moves ``V`` as it moves
  the baseline's weight of the same size, so ``||dW|| / ||W||`` is the baseline's
  from the same start, for small and large weights alike (additive, not
  multiplicative). ``alpha`` is a power of two so that ``alpha (W / alpha)`` is
  exactly ``W``: the start is bit for bit version 1's. At ``V = 0`` the subgradient
  is 0 and a weight pushed down through 0 comes back up: ``W >= 0`` for every ``V``.

Measured (``bench/ffn_weight_change.py``, tiny preset, one lr (1e-2) for both, first 300
steps, the per-step relative change ``||W(t+1) - W(t)|| / ||W(t)||`` over the baseline's,
per window of steps): version 1 gate/up 0.74-0.87x, down 1.10-1.81x (in relative terms
the down projection was not slow; it was multiplicative, and grew 14x in 300 steps);
version 2 gate/up 0.93-1.14x, down 0.58-1.11x (grew 1.7x). (At lr 5e-3 with dropout 0.1,
the earlier preset: 0.73-0.82x / 1.16-1.75x before, 0.88-1.07x / 0.56-1.10x after.)

What the fix did not do: make the FFN do much. On the tiny preset (dropout 0, 4 epochs,
each arm at its best lr) ``monotonic`` matches the baseline (val NLL 0.013 / 0.015,
ROUGE-L 0.989 / 0.990, fact recall 0.967 / 0.972 on 500 test examples), but so does
``attention_only``, which has no FFN (0.013, 0.988, 0.968): the task does not need one.
Zeroing every monotone FFN's output raises val NLL by 0.11 nats (the baseline's: 15.1),
its outputs are 10-21 % of the residual stream's norm and 90-100 % of their variance lies
in three directions. What limits it is not the pace but the constraint's shape: a dense
non-negative matrix is dominated by its mean (rank-1, the common mode), and starting
sparse to avoid that trained worse (val NLL 2.44, at the earlier preset).

What is NOT monotone
--------------------
The layer norm before the FFN (RMS normalisation divides by the norm of x), the
residual sum around it (through the norm), self- and cross-attention (softmax),
the embeddings and the LM head. The whole network is therefore not a monotone
function of its input tokens; the hypothesis under test is whether constraining
the FFN sublayers alone changes adversarial robustness.

Departures from the seed notebook: the seed's "monotonic" model only swapped the
SiLU gate for softplus and left every weight unconstrained, which is not monotone
(kept as the ``softplus_gate`` variant). The output bias ``b_o`` is ours: with
non-negative weights and a positive hidden state the FFN could otherwise only add
positive values to the residual stream; it is initialised so that ``f(0) = 0``.
The down projection starts at ``OUTPUT_INIT_SCALE`` of the magnitudes it is
converted from (see below).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

# Lower bound on |W| when a weight is converted to the raw parameter: softplus^-1(w)
# tends to -inf as w -> 0, and a huge negative V would freeze its gradient (sigmoid(V) ~ 0).
# Version 2 would not need it; it keeps it so that both versions start from the same weights.
_MIN_WEIGHT = 1e-4


# Version 1's sharpness, W = softplus(BETA * V) / BETA. With BETA = 1, dW/dV = sigmoid(V)
# is about 0.1 at T5's initial weight scale, so Adam (which moves V by about lr per step)
# moved W ten times slower than the baseline's weights; with BETA = 20 it is 0.7-0.9 for
# full-scale weights -- but about BETA * W = 0.01 for the down projection started at
# OUTPUT_INIT_SCALE (see the module docstring for what that does and version 2's answer).
BETA = 20.0

# The down projection starts at 1 % of the magnitudes it is converted from. With every
# weight >= 0 the FFN output has a common-mode part (all coordinates move together with
# the sum of the input); at full scale it floods the residual stream, feeds the next
# layer's input sum and grows -- measured here: FFN output norms 20-40x the residual's
# and a validation loss worse than with no FFN at all. Starting small makes the block
# begin as attention-only and lets the constrained FFN grow where it helps.
OUTPUT_INIT_SCALE = 0.01

# Version 2's alpha for the down projection: OUTPUT_INIT_SCALE rounded to a power of two (2^-7).
DOWN_SCALE = 2.0 ** round(math.log2(OUTPUT_INIT_SCALE))

SOFTPLUS, ABS = "softplus", "abs"  # the two maps from V to W (PositiveLinear.kind)
PARAMETRISATIONS = {1: SOFTPLUS, 2: ABS}  # ffn_version -> map
VERSION = max(PARAMETRISATIONS)  # what a newly built monotonic model is


def saved_version(config) -> int:
    """``config.ffn_version``; 1 for a config written before versions existed."""
    version = getattr(config, "ffn_version", None)
    return 1 if version is None else version


def parametrisation(config) -> str:
    """The map from V to W of ``config``'s version of the monotone FFN. (An unknown version is a KeyError here:
    the registry, :func:`mono_s2s.models.variants.ffn_variant`, refuses it first with a one-line error.)"""
    return PARAMETRISATIONS[saved_version(config)]


def inverse_softplus(w: torch.Tensor, beta: float = BETA) -> torch.Tensor:
    """The V with softplus(beta V) / beta = w, for w > 0 (stable for large and small w)."""
    w = (beta * w).clamp_min(beta * _MIN_WEIGHT)
    return (w + torch.log(-torch.expm1(-w))) / beta


class PositiveLinear(nn.Module):
    """``y = W x + bias`` with ``W >= 0`` by construction, a function of the raw parameter ``V``:

    ``kind="softplus"`` (version 1): ``W = softplus(BETA V) / BETA``;
    ``kind="abs"`` (version 2): ``W = scale |V|``, ``scale`` a power of two.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = False, kind: str = SOFTPLUS,
                 scale: float = 1.0) -> None:
        super().__init__()
        if kind not in (SOFTPLUS, ABS):
            raise ValueError(f"unknown parametrisation {kind!r}")
        if kind == SOFTPLUS and scale != 1.0 or math.frexp(scale)[0] != 0.5:
            raise ValueError(f"scale must be a power of two, and 1 for softplus (got {scale})")
        self.in_features, self.out_features, self.kind, self.scale = in_features, out_features, kind, scale
        self.raw_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    @property
    def weight(self) -> torch.Tensor:
        if self.kind == ABS:
            return self.raw_weight.abs() * self.scale
        return F.softplus(self.raw_weight, beta=BETA)

    @torch.no_grad()
    def reset_parameters(self, std: float | None = None) -> None:
        """|N(0, std)| weights (std = in_features^-1/2, T5's scale), so magnitudes match a fresh T5 layer."""
        std = std if std is not None else self.in_features ** -0.5
        self.load_magnitudes(torch.randn(self.out_features, self.in_features) * std)

    @torch.no_grad()
    def load_magnitudes(self, weight: torch.Tensor) -> None:
        """Start from the closest non-negative weight to ``weight`` in magnitude: ``W = |weight|`` (clamped at
        ``_MIN_WEIGHT``), as version 1's round trip through softplus gives it -- the same floats for both kinds."""
        raw = inverse_softplus(weight.abs().to(self.raw_weight))
        if self.kind == ABS:
            raw = F.softplus(raw, beta=BETA) / self.scale  # exact: scale is a power of two
        self.raw_weight.copy_(raw)
        if self.bias is not None:
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"kind={self.kind}, scale={self.scale}")


class GatedSoftplusForm(nn.Module):
    """The forward form ``W_o dropout(sigmoid(W_g x) * softplus(W_u x)) + b_o``, shared by the monotone FFN and its
    unconstrained control (``init_only``), so that the two differ in their weights' constraint and nothing else.

    Subclasses build ``wi_0`` (gate), ``wi_1`` (up), ``wo`` (down, with bias) and ``dropout``.
    """

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.wi_0(x)) * F.softplus(self.wi_1(x))  # (..., d_ff); >= 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wo(self.dropout(self.hidden(x)))

    @torch.no_grad()
    def center(self) -> None:
        """Set ``b_o`` so that f(0) = 0: h(0) = sigmoid(0) * softplus(0) for every hidden unit."""
        h0 = 0.5 * math.log(2.0)
        self.wo.bias.copy_(-self.wo.weight.sum(dim=1) * h0)


class ReluForm(nn.Module):
    """``W_o dropout(relu(W_i x)) + b_o``: the original T5's FFN form, for ``MonotonicFFN`` and its control."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wo(self.dropout(F.relu(self.wi(x))))


def _projections(config) -> tuple[dict, dict]:
    """PositiveLinear keyword arguments for ``config``'s version: (gate and up, down)."""
    kind = parametrisation(config)
    return {"kind": kind}, {"kind": kind, "scale": DOWN_SCALE if kind == ABS else 1.0}


class MonotonicGatedFFN(GatedSoftplusForm):
    """Monotone replacement for T5's gated FFN (``wi_0`` gate, ``wi_1`` up, ``wo`` down), of ``config``'s version."""

    def __init__(self, config) -> None:  # a T5Config: d_model, d_ff, dropout_rate (and ffn_version; absent = 1)
        super().__init__()
        inner, down = _projections(config)
        self.wi_0 = PositiveLinear(config.d_model, config.d_ff, **inner)  # gate
        self.wi_1 = PositiveLinear(config.d_model, config.d_ff, **inner)  # up
        self.wo = PositiveLinear(config.d_ff, config.d_model, bias=True, **down)  # down
        self.dropout = nn.Dropout(config.dropout_rate)
        self.center()

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        """Start from a gated T5 FFN (``T5DenseGatedActDense``): weights' magnitudes, then centre."""
        self.wi_0.load_magnitudes(dense.wi_0.weight)
        self.wi_1.load_magnitudes(dense.wi_1.weight)
        self.wo.load_magnitudes(dense.wo.weight * OUTPUT_INIT_SCALE)
        self.center()


class MonotonicFFN(ReluForm):
    """Monotone replacement for the original T5's ReLU FFN (``wi``, ``wo``): ``W_o relu(W_i x) + b_o``.

    Used when the monotone variant is applied to a pretrained non-gated T5 such as
    ``t5-small``; relu is non-decreasing, so the same argument as above holds.
    f(0) = 0 already, so the bias starts at zero. Versions as :class:`MonotonicGatedFFN`.
    """

    def __init__(self, config) -> None:  # a T5Config: d_model, d_ff, dropout_rate (and ffn_version; absent = 1)
        super().__init__()
        inner, down = _projections(config)
        self.wi = PositiveLinear(config.d_model, config.d_ff, **inner)
        self.wo = PositiveLinear(config.d_ff, config.d_model, bias=True, **down)
        self.dropout = nn.Dropout(config.dropout_rate)

    @torch.no_grad()
    def init_from_dense(self, dense: nn.Module) -> None:
        self.wi.load_magnitudes(dense.wi.weight)
        self.wo.load_magnitudes(dense.wo.weight * OUTPUT_INIT_SCALE)
