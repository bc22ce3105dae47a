"""Generation time of the embedded synthetic corpus at its default sizes (``DataArgs``: 4000/500/500).

A run generates the corpus once and caches it (keyed by seed, sizes and the
generator's code); tests and benchmarks call :func:`generate_corpus` directly,
without the cache, and pay this every time. Prints the best of a few rounds
(wall time on a shared machine is noisy) and the records per second; asserts
nothing about time.

    python bench/synthetic_generation.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

from mono_s2s.config import DataArgs
from mono_s2s.data.synthetic import SCENARIOS, generate_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the best is printed")
    rounds = parser.parse_args().rounds
    args = DataArgs()
    sizes = (args.n_train, args.n_validation, args.n_test)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        corpus = generate_corpus(args.seed, *sizes)
        times.append(time.perf_counter() - start)
    n = sum(len(records) for records in corpus.values())
    best = min(times)
    print(f"synthetic corpus, seed {args.seed}, {'/'.join(map(str, sizes))} records, {len(SCENARIOS)} scenarios")
    print(f"  best of {rounds}: {best:.3f} s ({n / best:,.0f} records/s); slowest round {max(times):.3f} s")


if __name__ == "__main__":
    main()
