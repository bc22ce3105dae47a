"""Summaries per second: batched :func:`mono_s2s.generate.summarize` vs a naive decoding loop.

The naive loop decodes the way the seed notebook did: one source at a time,
greedy, and at every step the decoder re-runs on the whole prefix (no KV cache),
so step t costs O(t) decoder positions instead of one. The encoder runs once per
source in both. Both sides decode greedily on the same random tiny model
(d_model 64, 2+2 layers) with EOS suppressed, so every summary is exactly
``MAX_NEW_TOKENS`` long and both do the same number of steps (a random model's
own stopping point is arbitrary). Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import time

import torch

from mono_s2s.config import ModelConfig
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.generate import summarize
from mono_s2s.models import build_model
from mono_s2s.tokenizer import train_tokenizer

N_SOURCES = 32
MAX_SOURCE_TOKENS = 256
MAX_NEW_TOKENS = 64


def naive_greedy(model, tokenizer, sources: list[str]) -> list[str]:
    """Greedy decoding, one source at a time, re-running the decoder on the full prefix at every step."""
    eos = tokenizer.eos_token_id
    summaries = []
    with torch.inference_mode():
        for source in sources:
            enc = tokenizer([source], truncation=True, max_length=MAX_SOURCE_TOKENS, return_tensors="pt")
            encoder_outputs = model.get_encoder()(input_ids=enc.input_ids, attention_mask=enc.attention_mask)
            prefix = torch.tensor([[model.config.decoder_start_token_id]])  # (1, t)
            for _ in range(MAX_NEW_TOKENS):
                logits = model(encoder_outputs=encoder_outputs, attention_mask=enc.attention_mask,
                               decoder_input_ids=prefix, use_cache=False).logits[:, -1]  # (1, vocab_size)
                logits[:, eos] = -float("inf")  # as the batched side's suppress_tokens
                prefix = torch.cat([prefix, logits.argmax(-1, keepdim=True)], dim=1)
            summaries.append(tokenizer.decode(prefix[0], skip_special_tokens=True).strip())
    return summaries


def _timed(fn) -> tuple[float, list[str]]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    corpus = generate_corpus(0, 200, 0, N_SOURCES)
    tokenizer = train_tokenizer(corpus["train"], 1000)
    model = build_model(ModelConfig(), "baseline", tokenizer, seed=0).eval()  # d_model 64, 2+2 layers
    model.generation_config.suppress_tokens = [tokenizer.eos_token_id]
    sources = [r.source for r in corpus["test"]]

    def batched(num_beams: int) -> list[str]:
        return summarize(model, tokenizer, sources, max_source_tokens=MAX_SOURCE_TOKENS,
                         max_new_tokens=MAX_NEW_TOKENS, num_beams=num_beams, no_repeat_ngram_size=0,
                         batch_size=32, progress=False)

    batched(1), naive_greedy(model, tokenizer, sources[:2])  # warm-up
    # Best of three, interleaved, so drifting machine load hits both sides alike.
    runs = {"batched": [], "naive": [], "beam": []}
    for _ in range(3):
        runs["batched"].append(_timed(lambda: batched(1)))
        runs["naive"].append(_timed(lambda: naive_greedy(model, tokenizer, sources)))
        runs["beam"].append(_timed(lambda: batched(4)))
    (t_batched, out_batched), (t_naive, out_naive), (t_beam, _) = (min(runs[k]) for k in runs)

    same = sum(a == b for a, b in zip(out_batched, out_naive))
    print(f"{N_SOURCES} synthetic sources, {MAX_NEW_TOKENS} new tokens each, d_model 64, 2+2 layers, "
          f"torch threads: {torch.get_num_threads()}")
    print(f"  naive loop (greedy, no KV cache, batch 1):    {N_SOURCES / t_naive:8.2f} summaries/s")
    print(f"  summarize (greedy, KV cache, batch 32):       {N_SOURCES / t_batched:8.2f} summaries/s")
    print(f"  speed-up: {t_naive / t_batched:.1f}x   (identical summaries: {same}/{N_SOURCES})")
    print(f"  summarize (4 beams, KV cache, batch 32):      {N_SOURCES / t_beam:8.2f} summaries/s")


if __name__ == "__main__":
    main()
