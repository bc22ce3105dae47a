"""NES against the genetic search and pure random search, at the same query budget, on a trained model.

The model is the tests' ``attack_target`` (tests/conftest.py), built the same
way: the tiny preset at d_model 32, 2 + 2 layers, a 2000-token BPE vocabulary
(1305 trigger candidates), 5 epochs of 3000 synthetic dialogues at lr 0.02
(about a minute on a CPU core; ``--model DIR`` reuses a folder this script
trained before). Then, on the first ``--samples`` test dialogues and for each
of ``--seeds`` values of ``attacks.seed``, with the default ``AttackArgs``:

- ``nes``: :func:`mono_s2s.attacks.nes.nes_attack`;
- ``genetic``: :func:`mono_s2s.attacks.genetic.genetic_attack` (same budget);
- ``random``: the best of ``query_budget - 1`` uniform random triggers of the
  same length on the same cut source (one batched call), plus the clean NLL.

Prints, per search, the mean attacked - clean NLL (nats) over samples and seeds
(and per seed), per-sample wins against the others (each (sample, seed) pair
counted once), the mean queries per sample and the wall time; then the paired
mean differences with their standard errors. Asserts nothing.

    python bench/nes_comparison.py [--samples 8] [--seeds 5] [--model DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mono_s2s.attacks.common import Objective, each_sample
from mono_s2s.attacks.genetic import genetic_attack
from mono_s2s.attacks.hotflip import random_trigger
from mono_s2s.attacks.nes import AppendedTrigger, nes_attack, query_budget
from mono_s2s.config import AttackArgs, build_config
from mono_s2s.data.synthetic import generate_corpus

TARGET_SETS = ["model.d_model=32", "model.d_ff=64", "model.n_heads=4", "model.vocab_size=2000",
               "data.max_source_tokens=128", "data.max_summary_tokens=48", "train.epochs=5", "train.variant_lr=",
               "train.lr=0.02", "train.matched=false", "train.save_every_steps=100000", "tracking.mode=disabled"]


def attack_target(folder: Path):
    """``(model, tokenizer, cfg, corpus)`` as tests/conftest.py's ``attack_target`` builds them (trained once)."""
    from mono_s2s.checkpoint import load_checkpoint
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer

    corpus = generate_corpus(0, 3000, 40, 40)
    best = folder / "checkpoints" / "nonmono" / "best"
    if not best.is_dir():
        cfg = build_config("tiny", overrides=TARGET_SETS)
        tokenizer = train_tokenizer(corpus["train"], cfg.model.vocab_size)
        Trainer(cfg, "baseline", corpus, tokenizer, folder, progress=False).fit()
    model, tokenizer, cfg = load_checkpoint(best)
    return model.eval(), tokenizer, cfg, corpus


def random_search(objective: Objective, samples, args) -> list[tuple[float, float, int]]:
    """``(clean NLL, best NLL, queries)`` per sample: the best of ``query_budget - 1`` random triggers."""
    out = []
    m, cands = args.nes_trigger_len, list(objective.candidates)
    for rec, rng in each_sample(samples, args, "random", "nonmono", progress=False):
        target = AppendedTrigger(objective, rec, m)
        (clean,) = objective.nll_ids([objective.source_ids(rec.source)], [target.labels])
        tries = [random_trigger(rng, cands, m) for _ in range(query_budget(args) - 1)]
        out.append((clean, max(target.score(tries)), len(tries) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--model", type=Path, default=None, help="folder to train the model in, or reuse")
    parser.add_argument("--threads", type=int, default=1)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    folder = opts.model or Path(tempfile.mkdtemp(prefix="nes_comparison_"))
    model, tok, cfg, corpus = attack_target(folder)
    samples = corpus["test"][:opts.samples]
    objective = Objective(model, tok, cfg.data.max_source_tokens, cfg.data.max_summary_tokens, cfg.data.source_prefix)
    base = AttackArgs()
    print(f"model {folder}; {len(objective.candidates)} candidates; {len(samples)} samples x {opts.seeds} seeds; "
          f"nes_population {base.nes_population}, nes_generations {base.nes_generations}, nes_lr {base.nes_lr}, "
          f"trigger {base.nes_trigger_len} tokens; budget {query_budget(base)} queries per sample")

    def records(attack):
        return lambda args: [(r.original_nll, r.attacked_nll, r.queries)
                             for r in attack(objective, samples, args, "nonmono", progress=False)]

    searches = {"nes": records(nes_attack), "genetic": records(genetic_attack),
                "random": lambda args: random_search(objective, samples, args)}
    gain, queries, seconds = {}, {}, {}
    for name, run in searches.items():
        rows, start = [], time.perf_counter()
        for seed in range(opts.seeds):
            rows += run(dataclasses.replace(base, seed=seed))
        seconds[name] = time.perf_counter() - start
        gain[name] = np.array([a - c for c, a, _ in rows])
        queries[name] = float(np.mean([q for _, _, q in rows]))
    n = len(gain["nes"])
    print(f"\n{'search':8s} {'mean dNLL':>10s} {'per seed':>32s} {'queries':>8s} {'seconds':>8s}  wins")
    for name in searches:
        per_seed = gain[name].reshape(opts.seeds, -1).mean(1)
        wins = ", ".join(f"vs {o} {int((gain[name] > gain[o]).sum())}/{n}" for o in searches if o != name)
        print(f"{name:8s} {gain[name].mean():10.3f} {' '.join(f'{v:.3f}' for v in per_seed):>32s} "
              f"{queries[name]:8.0f} {seconds[name]:8.1f}  {wins}")
    print()
    for a, b in (("nes", "random"), ("nes", "genetic"), ("genetic", "random")):
        d = gain[a] - gain[b]
        print(f"{a} - {b}: {d.mean():+.3f} nats (paired over the {n} sample-seed pairs, standard error "
              f"{d.std(ddof=1) / np.sqrt(n):.3f})")


if __name__ == "__main__":
    main()
