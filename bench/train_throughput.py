"""Training throughput: real (non-pad) tokens/s and model FLOP utilisation, bucketed vs pad-to-max.

For the tiny and small presets on the embedded corpus, this times optimizer steps
(forward, backward, clip, AdamW) the way ``mono_s2s.train`` takes them, with

* the package's batching: length buckets and per-batch padding, and
* the seed notebook's batching: every example padded to the maximum lengths,

on the same model, interleaved so machine load affects both alike. MFU is the
model's matmul FLOPs on real tokens per second divided by an fp32 matmul peak
measured in this process. Prints figures; asserts nothing about time.

    python bench/train_throughput.py [--presets tiny small] [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import torch

from mono_s2s.config import build_config
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.models import build_model
from mono_s2s.tokenizer import train_tokenizer
from mono_s2s.train import bucketed_batches, collate, encode, token_losses


def matmul_peak(n: int = 1024, repeats: int = 20) -> float:
    """fp32 FLOP/s of a square matmul on this machine, best of a few rounds."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start))
    return best


def train_flops(cfg, src: int, tgt: int) -> float:
    """Matmul FLOPs of one training step (forward + backward = 3x forward) for one example of real lengths."""
    d, f, v = cfg.d_model, cfg.d_ff, cfg.vocab_size
    ffn = 3 * d * f  # gated FFN: wi_0, wi_1, wo
    attn = 4 * d * d  # q, k, v, o
    enc = cfg.n_encoder_layers * (2 * (attn + ffn) * src + 4 * src * src * d)
    dec = cfg.n_decoder_layers * (2 * (2 * attn + ffn) * tgt + 4 * tgt * tgt * d + 4 * tgt * src * d
                                  + 4 * src * d * d)  # cross-attention k, v over the source
    head = 2 * d * v * tgt
    return 3.0 * (enc + dec + head)


def pad_to_max(examples, pad_id: int, max_src: int, max_tgt: int) -> dict[str, torch.Tensor]:
    padded = [{"input_ids": e["input_ids"] + [pad_id] * (max_src - len(e["input_ids"])),
               "labels": e["labels"] + [-100] * (max_tgt - len(e["labels"]))} for e in examples]
    batch = collate(padded, pad_id)
    batch["attention_mask"] = torch.stack([torch.tensor([1] * len(e["input_ids"]) + [0] * (max_src - len(e["input_ids"])))
                                           for e in examples])
    return batch


def measure(preset: str, steps: int, peak: float) -> None:
    cfg = build_config(preset)
    corpus = generate_corpus(0, 2000, 10, 10)
    tok = train_tokenizer(corpus["train"], cfg.model.vocab_size)
    examples = encode(corpus["train"], tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens)
    model = build_model(cfg.model, "baseline", tok, seed=0)
    model.config.vocab_size = len(tok)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    lengths = [len(e["input_ids"]) + len(e["labels"]) for e in examples]
    batches = bucketed_batches(lengths, cfg.train.batch_size, seed=0, epoch=0)
    mcfg = cfg.model
    mcfg_v = type("C", (), {**vars(mcfg), "vocab_size": len(tok)})

    def step(batch) -> None:
        dec = model._shift_right(batch["labels"])
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       decoder_input_ids=dec).logits
        loss, _ = token_losses(logits, batch["labels"], cfg.train.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()

    ways = {"bucketed": lambda ex: collate(ex, tok.pad_token_id),
            "pad-to-max": lambda ex: pad_to_max(ex, tok.pad_token_id, cfg.data.max_source_tokens,
                                                cfg.data.max_summary_tokens)}
    totals = {k: [0.0, 0, 0.0] for k in ways}  # seconds, real tokens, real FLOPs
    model.train()
    step(ways["bucketed"]([examples[i] for i in batches[0]]))  # warm-up
    for i in range(steps):
        ex = [examples[j] for j in batches[1 + i % (len(batches) - 1)]]
        real = sum(len(e["input_ids"]) + len(e["labels"]) for e in ex)
        flops = sum(train_flops(mcfg_v, len(e["input_ids"]), len(e["labels"])) for e in ex)
        for name, make in ways.items():
            batch = make(ex)
            start = time.perf_counter()
            step(batch)
            t = totals[name]
            t[0] += time.perf_counter() - start
            t[1] += real
            t[2] += flops
    fig = {k: (t[1] / t[0], t[2] / t[0] / peak) for k, t in totals.items()}
    print(f"{preset:>5}: bucketed {fig['bucketed'][0]:,.0f} real tokens/s, MFU {fig['bucketed'][1]:.1%} | "
          f"pad-to-max {fig['pad-to-max'][0]:,.0f} real tokens/s, MFU {fig['pad-to-max'][1]:.1%} | "
          f"ratio {fig['bucketed'][0] / fig['pad-to-max'][0]:.1f}x  "
          f"(batch {cfg.train.batch_size}, max lengths {cfg.data.max_source_tokens}/{cfg.data.max_summary_tokens},"
          f" {steps} steps each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    peak = matmul_peak()
    print(f"fp32 matmul peak measured here: {peak / 1e9:.1f} GFLOP/s ({torch.get_num_threads()} threads)")
    for preset in args.presets:
        measure(preset, args.steps, peak)


if __name__ == "__main__":
    main()
