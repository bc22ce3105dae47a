"""Empirical checks of the monotonicity claim, used by the tests and by ``mono-s2s check``.

Both checks look for counter-examples; a monotone module yields none, a
non-monotone one (the baseline, ``softplus_gate``, or a broken reparametrisation)
yields many. They probe inputs far into the negative range, where SiLU and GELU
dip, and scales larger than a layer norm normally produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import jacrev, vmap

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class MonotonicityReport:
    pairs: int
    violating_pairs: int  # pairs with x <= x' where some f_i(x') < f_i(x) - tol
    worst_decrease: float  # min over pairs and outputs of f(x') - f(x) (negative = violation)
    jacobian_points: int
    negative_jacobian_entries: int
    min_jacobian_entry: float

    @property
    def monotone(self) -> bool:
        return self.violating_pairs == 0 and self.negative_jacobian_entries == 0


def _probe_inputs(d: int, n: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    x = torch.randn(n, d, generator=generator) * scale
    # A third of the points sit deep in the negative range where SiLU/GELU are not monotone.
    x[: n // 3] = -torch.rand(n // 3, d, generator=generator) * 3 * scale
    return x


@torch.no_grad()
def pairwise_check(f: Fn, d: int, n: int = 512, scale: float = 3.0, tol: float = 1e-6,
                   seed: int = 0) -> tuple[int, float]:
    """Pairs ``x <= x'`` (``x' = x + |delta|``, some coordinates unchanged): count those with ``f(x') < f(x)``."""
    g = torch.Generator().manual_seed(seed)
    x = _probe_inputs(d, n, scale, g)
    delta = torch.rand(n, d, generator=g) * scale
    delta[torch.rand(n, d, generator=g) < 0.5] = 0.0  # move only some coordinates
    # Single-coordinate moves too: they isolate one Jacobian column at a time.
    single = torch.zeros(n, d)
    single[torch.arange(n), torch.randint(0, d, (n,), generator=g)] = scale * torch.rand(n, generator=g)
    xs = torch.cat([x, x])
    xps = torch.cat([x + delta, x + single])
    diff = f(xps) - f(xs)
    worst = diff.min().item()
    violating = int((diff < -tol).any(dim=-1).sum())
    return violating, worst


def jacobian_check(f: Fn, d: int, n: int = 64, scale: float = 3.0, tol: float = 1e-7,
                   seed: int = 1) -> tuple[int, float]:
    """Jacobians ``df_i/dx_j`` at n probe points (torch.func): count entries below ``-tol``."""
    g = torch.Generator().manual_seed(seed)
    x = _probe_inputs(d, n, scale, g)
    jac = vmap(jacrev(lambda v: f(v.unsqueeze(0)).squeeze(0)))(x)  # (n, d_out, d_in)
    return int((jac < -tol).sum()), jac.min().item()


def check_monotone(f: Fn, d: int, seed: int = 0) -> MonotonicityReport:
    pairs = 1024
    violating, worst = pairwise_check(f, d, n=pairs // 2, seed=seed)
    neg, jmin = jacobian_check(f, d, seed=seed + 1)
    return MonotonicityReport(pairs, violating, worst, 64, neg, jmin)


def check_model(model) -> list[MonotonicityReport]:
    """Check every FFN sublayer of a :class:`MonoS2SForConditionalGeneration` (eval mode).

    One report per FFN; none for a model without FFN sublayers (``attention_only``), which is
    neither monotone nor not: callers say "no FFN sublayers" rather than ``all([]) == True``.
    """
    was_training = model.training
    model.eval()
    try:
        return [check_monotone(ffn, model.config.d_model, seed=i) for i, ffn in enumerate(model.ffns())]
    finally:
        model.train(was_training)
