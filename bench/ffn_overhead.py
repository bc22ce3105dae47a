"""Cost of the monotone FFN relative to the baseline SwiGLU FFN, measured side by side.

The softplus reparametrisation recomputes every weight on each forward pass;
this prints how much that costs (forward + backward, tiny and paper sizes).
Ratios only: absolute times on a shared machine are noise. Asserts nothing.
"""

from __future__ import annotations

import time

import torch
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5DenseGatedActDense

from mono_s2s.models import MonotonicGatedFFN, SoftplusGatedFFN


def _time(module: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    for _ in range(3):  # warm-up
        module(x).sum().backward()
    start = time.perf_counter()
    for _ in range(repeats):
        module(x).sum().backward()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.manual_seed(0)
    for name, d_model, d_ff, tokens in (("tiny", 64, 256, 32 * 160), ("paper", 384, 1536, 4 * 1000)):
        cfg = T5Config(d_model=d_model, d_ff=d_ff, feed_forward_proj="gated-silu", dropout_rate=0.0)
        modules = {"baseline": T5DenseGatedActDense(cfg), "softplus_gate": SoftplusGatedFFN(cfg),
                   "monotonic": MonotonicGatedFFN(cfg)}
        x = torch.randn(tokens, d_model)
        # Interleave the measurements so drifting machine load hits every variant alike.
        times = {k: [] for k in modules}
        for _ in range(3):
            for k, m in modules.items():
                times[k].append(_time(m, x, repeats=10))
        best = {k: min(v) for k, v in times.items()}
        ratios = ", ".join(f"{k} {best[k] / best['baseline']:.2f}x" for k in modules)
        print(f"{name:>5} (d_model {d_model}, d_ff {d_ff}, {tokens} tokens) fwd+bwd time vs baseline: {ratios}")


if __name__ == "__main__":
    main()
