"""Attack throughput: NES queries/s batched vs one candidate per forward, HotFlip iterations/s, and
summaries/s from batched beam search vs a naive beam loop that re-decodes every prefix.

Every figure is measured on random tiny models (the tiny preset: d_model 64, 2+2
layers, a 2000-token BPE vocabulary) of both variants, ``baseline`` and
``monotonic``, with ``torch.set_num_threads`` pinned (1 by default: with tiny
models thread hand-offs cost more than the maths on a shared machine, as in the
tests). Each source is three synthetic dialogues joined, so it fills the
256-token encoder window; each reference summary is cut to 64 tokens.

1. NES scoring. One population of candidate triggers (3 random tokens before
   ``</s>``) is scored by :meth:`Objective.nll_ids` with ``batch_size`` 1 (one
   candidate per forward, as the seed notebook scored them), the NES population
   (what ``nes_attack`` sends per call) and 32. Same model, same candidates, same
   number of queries; best of three interleaved rounds. Scored on the full
   256-token source and on a single dialogue (~110 tokens): batching amortises
   only the fixed cost of a forward, so the longer the source, the more of a
   query's time is arithmetic that batching cannot share. Then the attack
   itself, :func:`nes_attack` with the default ``AttackArgs``, on a couple of
   samples with an ``Objective`` of batch 32 and of batch 1: queries/s, and the
   queries it used against :func:`query_budget`.
2. HotFlip. :func:`hotflip_attack` with the default ``AttackArgs`` on a few
   samples; iterations are counted through its ``on_iteration`` callback (the
   search stops early once no flip raises the NLL, so the count varies).
3. Summaries. :func:`summarize` (HF ``generate``, 4 beams, KV cache, batch 32) vs
   ``naive_beam``: one source at a time, and at every step the decoder re-runs
   on each hypothesis's whole prefix (no KV cache, one hypothesis per forward).
   EOS is suppressed on both sides and n-gram blocking is off, so both decode
   exactly 64 new tokens (32 with ``--quick``) by the same beam rule (a random
   model's own stopping point is arbitrary) and should return the same summaries.
   The naive loop runs on the first few of the batched sources: the rate is per
   summary, and it is far too slow to run on all of them.

Targets (from the issue): NES batched >= 10x one-per-forward; batched beam search
>= 20x the naive loop. Prints figures; asserts nothing about time.

    python bench/attack_throughput.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from mono_s2s.attacks.common import Objective, candidate_vocabulary
from mono_s2s.attacks.hotflip import hotflip_attack
from mono_s2s.attacks.nes import nes_attack, query_budget
from mono_s2s.config import AttackArgs, ModelConfig
from mono_s2s.data.records import Record
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.generate import summarize
from mono_s2s.models import build_model
from mono_s2s.tokenizer import train_tokenizer

VARIANTS = ("baseline", "monotonic")
MAX_SOURCE_TOKENS = 256
MAX_SUMMARY_TOKENS = 64
DIALOGUES_PER_SOURCE = 3  # a synthetic dialogue is ~105 tokens; three fill the 256-token window
NUM_BEAMS = 4
NES_TARGET, BEAM_TARGET = 10.0, 20.0

# Sizes: full run / --quick.
SIZES = {
    False: dict(candidates=64, rounds=3, nes_samples=2, nes_generations=None, hotflip_samples=3, hotflip_iters=None,
                batched_sources=32, naive_sources=4, new_tokens=64),
    True: dict(candidates=32, rounds=2, nes_samples=1, nes_generations=3, hotflip_samples=1, hotflip_iters=5,
               batched_sources=8, naive_sources=1, new_tokens=32),
}


def long_records(records: list[Record], n: int) -> list[Record]:
    """``n`` records, each ``DIALOGUES_PER_SOURCE`` consecutive dialogues (and their summaries) joined."""
    k = DIALOGUES_PER_SOURCE
    return [Record(id=f"joined-{i}", source=" ".join(r.source for r in records[i * k:(i + 1) * k]),
                   summary=" ".join(r.summary for r in records[i * k:(i + 1) * k])) for i in range(n)]


def naive_beam(model, tokenizer, sources: list[str], num_beams: int, max_new_tokens: int) -> list[str]:
    """Beam search one source at a time, re-running the decoder on each hypothesis's full prefix at every step.

    Same rule as HF's beam search with EOS suppressed: every step, each of the
    ``num_beams`` hypotheses is scored on its own (batch 1, ``use_cache=False``),
    and the ``num_beams`` best (cumulative log-prob) one-token extensions survive.
    All hypotheses have the same length, so the length penalty does not reorder them.
    """
    eos, start = tokenizer.eos_token_id, model.config.decoder_start_token_id
    summaries = []
    with torch.inference_mode():
        for source in tqdm(sources, desc="naive beam", unit="src", leave=False, disable=None):
            enc = tokenizer([source], truncation=True, max_length=MAX_SOURCE_TOKENS, return_tensors="pt")
            encoder_outputs = model.get_encoder()(input_ids=enc.input_ids, attention_mask=enc.attention_mask)
            beams: list[tuple[float, list[int]]] = [(0.0, [start])]  # (sum of log-probs, prefix)
            for _ in range(max_new_tokens):
                extensions = []
                for score, prefix in beams:
                    logits = model(encoder_outputs=encoder_outputs, attention_mask=enc.attention_mask,
                                   decoder_input_ids=torch.tensor([prefix]), use_cache=False).logits[0, -1]  # (V,)
                    logp = logits.float().log_softmax(-1)
                    logp[eos] = -float("inf")  # as the batched side's suppress_tokens
                    top = logp.topk(num_beams)
                    extensions += [(score + v, prefix + [t]) for v, t in zip(top.values.tolist(), top.indices.tolist())]
                beams = sorted(extensions, key=lambda e: -e[0])[:num_beams]
            summaries.append(tokenizer.decode(beams[0][1], skip_special_tokens=True).strip())
    return summaries


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _verdict(ratio: float, target: float) -> str:
    return f"target >= {target:.0f}x: {'met' if ratio >= target else 'NOT met'}"


def bench_nes_scoring(models, tok, sources: dict[str, Record], args: AttackArgs, size) -> None:
    pop = args.nes_population
    batch_sizes = sorted({1, pop, 32})
    print(f"\n1a. NES scoring: {size['candidates']} candidate triggers of {args.nes_trigger_len} tokens per row, "
          f"scored by Objective.nll_ids; best of {size['rounds']} interleaved rounds")
    print(f"  {'variant':10s} {'source':>6s} {'batch':>5s} {'queries/s':>10s} {'ms/query':>9s} {'vs batch 1':>11s}")
    vocab = np.asarray(candidate_vocabulary(tok))
    for variant, model in models.items():
        objectives = {b: Objective(model, tok, MAX_SOURCE_TOKENS, MAX_SUMMARY_TOKENS, batch_size=b)
                      for b in batch_sizes}
        drift = 0.0
        for record in sources.values():
            rng = np.random.default_rng(0)
            src = objectives[1].source_ids(record.source, room=args.nes_trigger_len)
            label = objectives[1].label_ids(record.summary)
            cands = [src + [int(t) for t in rng.choice(vocab, size=args.nes_trigger_len)]
                     for _ in range(size["candidates"])]
            labels = [label] * len(cands)
            for o in objectives.values():
                o.nll_ids(cands[:o.batch_size], labels[:o.batch_size])  # warm-up
            best: dict[int, float] = {}
            scores: dict[int, list[float]] = {}
            for _ in range(size["rounds"]):
                for b, o in objectives.items():
                    q0 = o.queries
                    seconds, scores[b] = _timed(lambda: o.nll_ids(cands, labels))
                    assert o.queries - q0 == len(cands)
                    best[b] = min(best.get(b, float("inf")), seconds)
            n_src = len(src) + args.nes_trigger_len + 1  # + trigger + </s>
            for b in batch_sizes:
                ratio = best[1] / best[b]
                note = f"   {_verdict(ratio, NES_TARGET)}" if b == pop else ""
                print(f"  {variant:10s} {n_src:6d} {b:5d} {len(cands) / best[b]:10.1f} "
                      f"{1000 * best[b] / len(cands):9.2f} {ratio:10.1f}x{note}")
            drift = max([drift] + [abs(x - y) for b in batch_sizes for x, y in zip(scores[b], scores[1])])
        print(f"  {variant:10s} max |NLL difference| between batch sizes: {drift:.1e}")
    print(f"  source = tokens per query ({' and '.join(sources)}); batch {pop} = nes_population, "
          f"what nes_attack scores per call")


def bench_nes_attack(models, tok, records, args: AttackArgs, size) -> None:
    samples = records[:size["nes_samples"]]
    print(f"\n1b. nes_attack (population {args.nes_population}, {args.nes_generations} generations, trigger "
          f"{args.nes_trigger_len} tokens) on {len(samples)} samples; budget {query_budget(args)} queries/sample")
    print(f"  {'variant':10s} {'Objective batch':>15s} {'queries':>8s} {'budget':>7s} {'seconds':>8s} "
          f"{'queries/s':>10s}")
    seconds, _ = _timed(lambda: candidate_vocabulary(tok))
    print(f"  (candidate_vocabulary takes {seconds:.2f} s; each Objective computes it once, included below)")
    for variant, model in models.items():
        runs = {}
        for b in (32, 1):
            obj = Objective(model, tok, MAX_SOURCE_TOKENS, MAX_SUMMARY_TOKENS, batch_size=b)
            seconds, recs = _timed(lambda: nes_attack(obj, samples, args, variant, progress=False))
            runs[b] = (seconds, recs)
            spent = sum(r.queries for r in recs)
            assert spent + len(recs) == obj.queries  # each record's random control is scored outside its queries
            print(f"  {variant:10s} {b:15d} {spent:8d} {query_budget(args) * len(samples):7d} {seconds:8.2f} "
                  f"{spent / seconds:10.1f}")
        same = sum(a.extra.trigger_ids == c.extra.trigger_ids for a, c in zip(runs[32][1], runs[1][1]))
        print(f"  {variant:10s} speed-up {runs[1][0] / runs[32][0]:.1f}x   (same best trigger: {same}/{len(samples)})")


def bench_hotflip(models, tok, records, args: AttackArgs, size) -> None:
    samples = records[:size["hotflip_samples"]]
    print(f"\n2. hotflip_attack (trigger {args.hotflip_trigger_len} tokens, at most {args.hotflip_iters} iterations, "
          f"top-{args.hotflip_topk}, beam {args.hotflip_beam}) on {len(samples)} samples, Objective batch 32")
    print(f"  {'variant':10s} {'iterations':>10s} {'seconds':>8s} {'iterations/s':>13s} {'queries/s':>10s}")
    for variant, model in models.items():
        obj = Objective(model, tok, MAX_SOURCE_TOKENS, MAX_SUMMARY_TOKENS, batch_size=32)
        calls: list[int] = []

        def on_iteration(model_slug, sample_index, iteration, loss, grad_norm, tokens_changed):
            calls.append(iteration)

        seconds, _ = _timed(lambda: hotflip_attack(obj, samples, args, variant, on_iteration=on_iteration,
                                                   progress=False))
        print(f"  {variant:10s} {len(calls):10d} {seconds:8.2f} {len(calls) / seconds:13.2f} "
              f"{obj.queries / seconds:10.1f}")


def bench_summaries(models, tok, records, size) -> None:
    sources = [r.source for r in records[:size["batched_sources"]]]
    naive_sources = sources[:size["naive_sources"]]
    new_tokens = size["new_tokens"]
    print(f"\n3. summaries/s, {NUM_BEAMS} beams, {new_tokens} new tokens each (EOS suppressed, no n-gram blocking); "
          f"summarize on {len(sources)} sources, naive loop on the first {len(naive_sources)}")
    print(f"  {'variant':10s} {'naive beam':>11s} {'summarize':>10s} {'speed-up':>9s}")
    for variant, model in models.items():
        model.generation_config.suppress_tokens = [tok.eos_token_id]

        def batched(texts: list[str]) -> list[str]:
            return summarize(model, tok, texts, max_source_tokens=MAX_SOURCE_TOKENS, max_new_tokens=new_tokens,
                             num_beams=NUM_BEAMS, no_repeat_ngram_size=0, batch_size=32, progress=False)

        batched(sources[:2]), naive_beam(model, tok, naive_sources[:1], NUM_BEAMS, 2)  # warm-up
        # Batched (cheap) before and after the naive loop, best of the two, so drifting load hits both alike.
        t_b1, out_batched = _timed(lambda: batched(sources))
        t_naive, out_naive = _timed(lambda: naive_beam(model, tok, naive_sources, NUM_BEAMS, new_tokens))
        t_b2, _ = _timed(lambda: batched(sources))
        rate_batched, rate_naive = len(sources) / min(t_b1, t_b2), len(naive_sources) / t_naive
        ratio = rate_batched / rate_naive
        same = sum(a == b for a, b in zip(out_batched, out_naive))
        print(f"  {variant:10s} {rate_naive:9.2f}/s {rate_batched:8.2f}/s {ratio:8.1f}x   "
              f"{_verdict(ratio, BEAM_TARGET)}"
              f"   (identical summaries: {same}/{len(naive_sources)})")
    print("  naive beam: batch 1, no KV cache, one hypothesis per forward; summarize: HF generate, KV cache, batch 32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer candidates, samples and sources (seconds)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every measurement")
    opts = parser.parse_args()
    size = SIZES[opts.quick]
    torch.set_num_threads(opts.threads)

    wall = time.perf_counter()
    n_records = max(size["batched_sources"], size["nes_samples"], size["hotflip_samples"])
    corpus = generate_corpus(0, 1000, 0, n_records * DIALOGUES_PER_SOURCE)
    cfg = ModelConfig()  # tiny preset: d_model 64, d_ff 256, 4 heads, 2+2 layers, vocab 2000
    tok = train_tokenizer(corpus["train"], cfg.vocab_size)
    records = long_records(corpus["test"], n_records)
    models = {v: build_model(cfg, v, tok, seed=0).eval() for v in VARIANTS}
    args = AttackArgs()
    if size["nes_generations"]:
        args = dataclasses.replace(args, nes_generations=size["nes_generations"])
    if size["hotflip_iters"]:
        args = dataclasses.replace(args, hotflip_iters=size["hotflip_iters"])

    print(f"attack throughput{' (--quick)' if opts.quick else ''}: random tiny models ({', '.join(VARIANTS)}), "
          f"d_model {cfg.d_model}, {cfg.n_encoder_layers}+{cfg.n_decoder_layers} layers, vocab {len(tok)}; "
          f"sources {MAX_SOURCE_TOKENS} tokens ({DIALOGUES_PER_SOURCE} synthetic dialogues joined), "
          f"labels {MAX_SUMMARY_TOKENS} tokens; torch threads: {torch.get_num_threads()}")
    bench_nes_scoring(models, tok, {"1 dialogue": corpus["test"][0], f"{DIALOGUES_PER_SOURCE} dialogues": records[0]},
                      args, size)
    bench_nes_attack(models, tok, records, args, size)
    bench_hotflip(models, tok, records, args, size)
    bench_summaries(models, tok, records, size)
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
