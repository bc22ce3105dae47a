"""Attack throughput on the batched engine: sequences/s and model FLOP utilisation (MFU), one sample at a
time vs batched across samples at equal work, eager and ``torch.compile``d, and per attack queries/s.

What is measured, per preset (``tiny``: d_model 64, 2+2 layers, vocab 2000; ``small``: d_model 192,
3+3 layers, vocab 4000), on a random-init ``baseline`` model (throughput does not depend on the
weights) and a BPE tokenizer trained on the embedded synthetic corpus. Each source is three synthetic
dialogues joined (and their summaries and facts), as the old bench did, so it fills the 256-token
encoder window like a hub corpus's sources; labels are cut to 64 tokens.

0. Peak. This machine's fp32 matmul peak: the best of several ``torch.mm`` of 1024- and 2048-squares
   with the same thread count as everything else. MFU = model FLOP/s achieved / this peak.
1. FLOPs. The model FLOPs of one row are counted by ``torch.utils.flop_counter.FlopCounterMode`` on the
   eager model, at the row's real lengths (source + ``</s>``, label): one forward for a scored row,
   forward + backward to the input embeddings for a gradient row. Every row the objective answers is
   tallied by (kind, lengths) during the timed runs and priced afterwards, so MFU counts useful work only
   (the bucket padding, about 8 % of a source, counts as waste).
2. The engine at equal work. The same HotFlip and NES searches (short settings, below) driven by
   ``engine.run_all`` with ``concurrency=1`` and ``concurrency=64``: the same queries, and the records are
   checked identical field by field (``seconds`` aside; the differing fields are named) -- a row's result
   should not depend on its batch.
3. Raw objective rows, no search. The requests the searches of 2 made at concurrency 1 (captured: with one
   search open, each ``score_rows``/``grad_rows`` call is one request) are replayed: NES's scoring requests
   (populations), HotFlip's gradient requests (beams) and HotFlip's scoring requests (proposals), each up to
   a row budget; one request per call (one sample at a time) vs all of them in one call, packed into
   forwards of ``batch_size`` rows (32, the runner's; and 128). Best of a few interleaved rounds. Replaying
   real requests matters: rows that fill their length bucket exactly carry no padding, and the T5 attention
   runs a faster path without a padding mask, so made-up rows of the window's length flatter the model.
4. Compiled. 2, 3 and 5 again with the model compiled in place (``maybe_compile(model, True, dynamic=True)``).
   The compile happens at the first forwards of each kind (scoring, gradients, batch 1 and > 1): a
   warm-up of HotFlip and NES on a few samples triggers it, and its seconds are printed separately and
   excluded from every rate. Graphs compiled during the timed runs (recompiles) are counted and printed.
   Dynamo is reset before each preset's compile (its recompile limit counts the graphs of every T5 in the
   process). Skipped by ``--quick`` (the compile alone takes minutes here) unless ``--compile``.
5. Per attack. All six attacks (universal: the learning of its trigger and the held-out evaluation) on a
   few samples at concurrency 64, short settings: queries/s and MFU.
6. GPU. With CUDA, 0-5 again on the GPU in fp32 and bf16 (``Objective(precision="bf16")``, autocast),
   against the GPU's own fp32 and bf16 matmul peaks. Without CUDA it says that nothing was measured there.

Targets (issue 13): batched >= 5x one sample at a time and >= 30 % of peak, on the tiny and small presets.
The bench prints the ratios measured side by side in one run and says plainly when a target is not met;
it asserts nothing about time. The machine may be shared: rounds are interleaved so that load hits both
sides alike, and best-of-rounds is printed where there are rounds.

Threads: ``--threads`` (default 1) sets ``torch.set_num_threads`` for every measurement, the peak
included. One thread because the bench shares 2 cores with other jobs, and with these small matmuls a
second thread's hand-offs cost about what it adds (as in the tests); with ``--threads N`` the peak is
measured with N threads too, so MFU stays comparable.

    python bench/attack_throughput.py [--quick] [--threads N] [--presets tiny small] [--compile | --no-compile]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from collections import Counter

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from mono_s2s.attacks import engine
from mono_s2s.attacks.common import Objective
from mono_s2s.attacks.registry import REGISTRY
from mono_s2s.attacks.universal import universal_learning
from mono_s2s.config import AttackArgs, build_config
from mono_s2s.data.records import Record
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.models import build_model
from mono_s2s.precision import maybe_compile
from mono_s2s.tokenizer import train_tokenizer

MAX_SOURCE_TOKENS, MAX_SUMMARY_TOKENS = 256, 64
DIALOGUES_PER_SOURCE = 3  # a synthetic dialogue is ~105 tokens; three fill the 256-token window
SPEEDUP_TARGET, MFU_TARGET = 5.0, 0.30
CONCURRENCY = 64
NES_ROWS = 16  # the NES population: rows one NES search asks per request
RAW_BATCHES = (32, 128)  # Objective.batch_size of the batched raw rows (32: the runner's)

# Short search settings (the defaults spend ~1000 queries a sample): what a search does per request is the
# same, there are fewer requests. HotFlip: 1 + restarts * iters * beam * (1 + proposals) = 1 + 2*4*8 = 65.
SHORT = dict(hotflip_trigger_len=3, hotflip_iters=2, hotflip_topk=20, hotflip_proposals=7, hotflip_beam=4,
             hotflip_restarts=1,
             nes_trigger_len=3, nes_population=NES_ROWS, nes_generations=4,  # 1 + 16 * 4 = 65 queries
             universal_trigger_len=2, universal_batch=4, universal_topk=3, universal_beam=1,
             universal_max_sweeps=1, universal_restarts=1,
             substitution_words=2, substitution_proposals=15, ood_words=2, injection_templates=10)

# Per preset: rows replayed per kind (3); samples of the engine comparison (2, HotFlip and NES each), of each
# attack (5), of the universal trigger's learning; rounds of the replay.
SIZES = {
    False: {"tiny": dict(raw=768, engine=48, per_attack=8, universal_train=8, rounds=3),
            "small": dict(raw=192, engine=16, per_attack=4, universal_train=4, rounds=2)},
    True: {"tiny": dict(raw=256, engine=12, per_attack=3, universal_train=4, rounds=1),
           "small": dict(raw=64, engine=4, per_attack=2, universal_train=2, rounds=1)},
}


class TallyObjective(Objective):
    """The package's Objective, tallying every row it answers by (kind, source length + 1, label length)."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.rows: Counter = Counter()
        self.capture: list | None = None  # when a list: every call's (kind, sources, labels) is appended

    def score_rows(self, sources, labels):
        self._tally("score", sources, labels)
        return super().score_rows(sources, labels)

    def grad_rows(self, sources, labels):
        self._tally("grad", sources, labels)
        return super().grad_rows(sources, labels)

    def _tally(self, kind: str, sources, labels) -> None:
        self.rows.update((kind, len(s) + 1, len(t)) for s, t in zip(sources, labels))
        if self.capture is not None:
            self.capture.append((kind, sources, labels))


class FlopPricer:
    """Model FLOPs of one row at its real lengths, counted by FlopCounterMode on an eager model, cached."""

    def __init__(self, model, pad_id: int, device) -> None:
        self.model, self.pad_id, self.device, self.cache = model, pad_id, device, {}

    def row(self, kind: str, src_len: int, label_len: int) -> float:
        key = (kind, src_len, label_len)
        if key not in self.cache:
            ids = torch.full((1, src_len), 5, dtype=torch.long, device=self.device)
            mask = torch.ones_like(ids)
            dec = torch.full((1, label_len), 5, dtype=torch.long, device=self.device)
            with FlopCounterMode(display=False) as counter:
                if kind == "score":
                    with torch.inference_mode():
                        self.model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec)
                else:
                    # backward(), not autograd.grad (FlopCounterMode's module hooks refuse it), with the weights
                    # frozen so that, like autograd.grad(nll, embeds), only the input gradient is computed.
                    params = [p for p in self.model.parameters() if p.requires_grad]
                    for p in params:
                        p.requires_grad_(False)
                    try:
                        emb = self.model.get_input_embeddings()(ids).detach().requires_grad_(True)
                        logits = self.model(inputs_embeds=emb, attention_mask=mask, decoder_input_ids=dec).logits
                        logits.float().logsumexp(-1).sum().backward()
                    finally:
                        for p in params:
                            p.requires_grad_(True)
            self.cache[key] = float(counter.get_total_flops())
        return self.cache[key]

    def total(self, rows: Counter) -> float:
        return sum(n * self.row(*key) for key, n in rows.items())


def matmul_peak(device, dtype=torch.float32) -> float:
    """FLOP/s of square matmuls on ``device``: best over 1024 and 2048 squares and a few rounds each."""
    best = 0.0
    for n, repeats in ((1024, 8), (2048, 2)):
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        torch.mm(a, b)
        for _ in range(4):
            _sync(device)
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mm(a, b)
            _sync(device)
            best = max(best, 2 * n ** 3 * repeats / (time.perf_counter() - start))
    return best


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def long_records(records: list[Record], n: int, tag: str) -> list[Record]:
    """``n`` records, each ``DIALOGUES_PER_SOURCE`` consecutive dialogues (summaries, facts) joined."""
    k = DIALOGUES_PER_SOURCE
    out = []
    for i in range(n):
        part = records[i * k:(i + 1) * k]
        out.append(Record(id=f"{tag}-{i}", source=" ".join(r.source for r in part),
                          summary=" ".join(r.summary for r in part), facts=tuple(f for r in part for f in r.facts)))
    return out


def _fields(record) -> dict[str, str]:
    """A record's fields (its extras' one by one, as ``extra.name``) as reprs, ``seconds`` aside: repr makes
    nan equal to nan, and a float that differs in its last bit differ."""
    d = record.to_dict()
    d.pop("seconds")
    extra = d.pop("extra") or {}
    return {**{k: repr(v) for k, v in d.items()}, **{f"extra.{k}": repr(v) for k, v in extra.items()}}


def _differing(a: list, b: list) -> tuple[int, set[str]]:
    """How many records of ``a`` and ``b`` are identical, and the names of the fields that differ."""
    same, names = 0, set()
    for x, y in zip(a, b):
        fx, fy = _fields(x), _fields(y)
        diff = {k for k in fx.keys() | fy.keys() if fx.get(k) != fy.get(k)}
        same += not diff
        names |= diff
    return same, names


@dataclasses.dataclass
class Rate:
    seconds: float
    rows: int
    flops: float

    def per_s(self) -> float:
        return self.rows / self.seconds

    def mfu(self, peak: float) -> float:
        return self.flops / self.seconds / peak


def _fmt(rate: Rate, peak: float) -> str:
    return f"{rate.rows:7d} {rate.seconds:8.2f} {rate.per_s():9.1f} {rate.mfu(peak):7.2%}"


def _verdicts(speedup: float | None, mfu: float) -> str:
    out = []
    if speedup is not None:
        out.append(f">=5x {'met' if speedup >= SPEEDUP_TARGET else 'NOT met'}")
    out.append(f">=30% of peak {'met' if mfu >= MFU_TARGET else 'NOT met'}")
    return "; ".join(out)


class Bench:
    """One preset's model, tokenizer, samples and measurements on one device in one precision."""

    def __init__(self, preset: str, size: dict, device, precision: str, variant: str) -> None:
        self.preset, self.size, self.device, self.precision = preset, size, torch.device(device), precision
        cfg = build_config(preset)
        self.mcfg = cfg.model
        n_long = max(size["engine"], size["per_attack"])
        corpus = generate_corpus(0, 1000, size["universal_train"] * DIALOGUES_PER_SOURCE,
                                 n_long * DIALOGUES_PER_SOURCE)
        self.tok = train_tokenizer(corpus["train"], self.mcfg.vocab_size)
        self.samples = long_records(corpus["test"], n_long, "test")
        self.train_samples = long_records(corpus["validation"], size["universal_train"], "val")
        self.eager = build_model(self.mcfg, variant, self.tok, seed=0).eval().to(self.device)
        self.model = self.eager  # what the objectives score with (the compiled copy in the compiled rows)
        self.pricer = FlopPricer(self.eager, self.tok.pad_token_id, self.device)
        self.args = dataclasses.replace(AttackArgs(), **SHORT)
        self.candidates = None

    def objective(self, batch_size: int = 32) -> TallyObjective:
        obj = TallyObjective(self.model, self.tok, MAX_SOURCE_TOKENS, MAX_SUMMARY_TOKENS, batch_size=batch_size,
                             precision=self.precision)
        if self.candidates is None:
            self.candidates = obj.candidates  # the vocabulary scan, once, outside every timing
        obj.__dict__["candidates"] = self.candidates
        return obj

    def timed(self, obj: TallyObjective, fn) -> tuple[Rate, object]:
        obj.rows.clear()
        _sync(self.device)
        start = time.perf_counter()
        out = fn()
        _sync(self.device)
        seconds = time.perf_counter() - start
        return Rate(seconds, sum(obj.rows.values()), self.pricer.total(obj.rows)), out

    # -- 2. raw rows: the requests of 3, replayed ---------------------------------------------------------

    def bench_raw(self, captured: dict[str, list]) -> dict:
        """The requests HotFlip and NES made at concurrency 1 (captured in :meth:`bench_engine`), up to about
        ``raw`` rows of each kind, answered one request per call vs all of them in one call."""
        objs = {b: self.objective(b) for b in (32, *RAW_BATCHES)}
        results: dict = {}
        for attack, kind in (("nes", "score"), ("hotflip", "grad"), ("hotflip", "score")):
            reqs, rows = [], 0
            for k, src, lab in captured[attack]:
                if k == kind and rows < self.size["raw"]:
                    reqs.append((src, lab))
                    rows += len(src)
            call = "score_rows" if kind == "score" else "grad_rows"
            every_src = [r for src, _ in reqs for r in src]
            every_lab = [t for _, lab in reqs for t in lab]
            ways = {"one request at a time": (objs[32], lambda o: [getattr(o, call)(s, l) for s, l in reqs])}
            for b in RAW_BATCHES:
                ways[f"all requests, batch {b}"] = (objs[b], lambda o: getattr(o, call)(every_src, every_lab))
            best: dict[str, Rate] = {}
            for _ in range(self.size["rounds"]):
                for name, (o, fn) in ways.items():
                    rate, _ = self.timed(o, lambda: fn(o))
                    if name not in best or rate.seconds < best[name].seconds:
                        best[name] = rate
            per_request = rows / max(len(reqs), 1)
            results[f"{attack} {call}, {per_request:.1f} rows/request"] = best
        return results

    # -- 3. engine at equal work ---------------------------------------------------------------------------

    def searches(self, name: str, obj: Objective, samples: list, prepared=None) -> list:
        spec = REGISTRY[name]
        return spec.searches(obj, samples, self.args, "baseline", [getattr(self.args, spec.budget_setting)],
                             prepared=prepared)

    def bench_engine(self) -> tuple[dict, dict[str, list]]:
        """Per attack its runs at concurrency 1 and 64; and the requests of its run at concurrency 1."""
        samples = self.samples[:self.size["engine"]]
        obj = self.objective()
        out, captured = {}, {}
        for name in ("hotflip", "nes"):
            runs = {}
            for c in (1, CONCURRENCY):
                q0 = obj.queries
                if c == 1:  # one search open: one call is one request
                    obj.capture = captured[name] = []
                rate, recs = self.timed(obj, lambda: engine.flat(engine.run_all(
                    obj, self.searches(name, obj, samples), concurrency=c)))
                obj.capture = None
                runs[c] = (rate, obj.queries - q0, recs)
            same, names = _differing(runs[1][2], runs[CONCURRENCY][2])
            out[name] = dict(runs=runs, same=same, n=len(runs[1][2]), differ=names)
        return out, captured

    # -- 5. per attack -------------------------------------------------------------------------------------

    def bench_attacks(self) -> dict:
        samples = self.samples[:self.size["per_attack"]]
        obj = self.objective()
        out = {}
        length = self.args.universal_trigger_len
        q0 = obj.queries
        plan, assemble = universal_learning(obj, self.train_samples, self.args)
        rate, runs = self.timed(obj, lambda: engine.run_all(obj, plan, concurrency=CONCURRENCY))
        out["universal (learning)"] = (rate, obj.queries - q0)
        prepared = {length: assemble(runs)}
        for name in REGISTRY:
            q0 = obj.queries
            rate, _ = self.timed(obj, lambda: engine.run_all(
                obj, self.searches(name, obj, samples, prepared if name == "universal" else None),
                concurrency=CONCURRENCY))
            out[name if name != "universal" else "universal (evaluation)"] = (rate, obj.queries - q0)
        return out

    # -- 4. compiled ---------------------------------------------------------------------------------------

    def compile(self) -> float:
        """Compile a copy of the model in place; seconds of the warm-up that triggers the compiles."""
        # A fresh dynamo: its recompile limit (8) counts graphs per code object, and transformers' forward
        # wrappers are shared by every T5, so one preset's graphs would push the next one's model back to eager.
        torch._dynamo.reset()
        self.model = maybe_compile(copy.deepcopy(self.eager), True, dynamic=True)
        obj = self.objective()
        self.graphs_before = _graphs()
        start = time.perf_counter()
        for name in ("hotflip", "nes"):
            # Batch 1 and batch > 1 (dynamic=True still specialises sizes 0 and 1), and the batch sizes of a run
            # at concurrency 64 (a shorter warm-up left a recompile inside the timed runs).
            for c, n in ((1, 2), (CONCURRENCY, min(8, self.size["engine"]))):
                engine.run_all(obj, self.searches(name, obj, self.samples[:n]), concurrency=c)
        _sync(self.device)
        return time.perf_counter() - start


def _graphs() -> int:
    try:
        from torch._dynamo.utils import counters
        return int(counters["stats"]["unique_graphs"])
    except Exception:  # a private counter: absent in some torch versions
        return -1


def print_raw(raw: dict, peak: float, label: str) -> None:
    print(f"  the same requests replayed ({label}): {'rows':>7s} {'seconds':>8s} {'rows/s':>9s} {'MFU':>7s}  "
          f"vs one request")
    for title, best in raw.items():
        one = best["one request at a time"]
        print(f"    {title}")
        for name, rate in best.items():
            speed = one.seconds / rate.seconds * rate.rows / one.rows
            note = "" if rate is one else f"  {speed:5.2f}x   {_verdicts(speed, rate.mfu(peak))}"
            print(f"      {name:26s} {_fmt(rate, peak)}{note}")


def print_engine(eng: dict, peak: float, label: str) -> None:
    print(f"  engine, equal work ({label}): {'queries':>7s} {'seconds':>8s} {'queries/s':>9s} {'MFU':>7s}  "
          f"vs concurrency 1")
    for name, r in eng.items():
        one = r["runs"][1][0]
        for c, (rate, queries, _) in r["runs"].items():
            speed = one.seconds / rate.seconds
            note = (f"  {speed:5.2f}x   {_verdicts(speed, rate.mfu(peak))}" if c != 1 else "")
            assert queries == rate.rows  # the engine counts every row it has scored
            print(f"    {name:8s} concurrency {c:2d}  {_fmt(rate, peak)}{note}")
        print(f"    {name:8s} records identical at concurrency 1 and {CONCURRENCY}: {r['same']}/{r['n']}"
              f"{'' if r['same'] == r['n'] else '   <-- DIFFER in ' + ', '.join(sorted(r['differ']))}")


def print_attacks(att: dict, peak: float, label: str) -> None:
    print(f"  per attack, concurrency {CONCURRENCY} ({label}): {'queries':>7s} {'seconds':>8s} {'queries/s':>9s} "
          f"{'MFU':>7s}")
    for name, (rate, queries) in att.items():
        assert queries == rate.rows
        print(f"    {name:22s} {_fmt(rate, peak)}")


def run_preset(preset: str, size: dict, device, precision: str, peak: float, do_compile: bool, variant: str) -> None:
    t0 = time.perf_counter()
    b = Bench(preset, size, device, precision, variant)
    m = b.mcfg
    n_src = np.mean([len(b.objective().source_ids(s.source)) + 1 for s in b.samples])
    print(f"\n== {preset}: random {variant} model, d_model {m.d_model}, d_ff {m.d_ff}, {m.n_heads} heads, "
          f"{m.n_encoder_layers}+{m.n_decoder_layers} layers, vocab {len(b.tok)}; {device} {precision}; "
          f"sources {n_src:.0f} tokens on average (setup {time.perf_counter() - t0:.0f} s)")
    print(f"  samples: engine {size['engine']} per attack, per attack {size['per_attack']} (universal learned on "
          f"{size['universal_train']}); replayed requests: about {size['raw']} rows of each kind, best of "
          f"{size['rounds']} round(s)")
    one_row = b.pricer.row("score", int(n_src), MAX_SUMMARY_TOKENS)
    print(f"  model FLOPs of one scored row ({n_src:.0f} + {MAX_SUMMARY_TOKENS} tokens): {one_row / 1e6:.1f} MFLOP; "
          f"a gradient row {b.pricer.row('grad', int(n_src), MAX_SUMMARY_TOKENS) / 1e6:.1f} MFLOP")
    modes = ["eager"] + (["compiled"] if do_compile else [])
    for mode in modes:
        if mode == "compiled":
            seconds = b.compile()
            print(f"  compile (dynamic=True) warm-up: {seconds:.0f} s, {_graphs() - b.graphs_before} graphs "
                  f"(excluded from every rate)")
        g0 = _graphs()
        eng, captured = b.bench_engine()
        print_engine(eng, peak, mode)
        print_raw(b.bench_raw(captured), peak, mode)
        att = b.bench_attacks()
        print_attacks(att, peak, mode)
        if mode == "compiled":
            print(f"  graphs compiled during the timed runs (recompiles): {_graphs() - g0}")
    if not do_compile:
        print("  compiled: not measured (--quick or --no-compile)")
    print(f"  ({preset} took {time.perf_counter() - t0:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and rounds, no compile (minutes)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every measurement")
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"], choices=["tiny", "small"])
    parser.add_argument("--variant", default="baseline")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also measure the model compiled (default: yes, except with --quick)")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    torch.manual_seed(0)
    do_compile = (not opts.quick) if opts.compile is None else opts.compile
    wall = time.perf_counter()
    peak = matmul_peak("cpu")
    print(f"attack throughput{' (--quick)' if opts.quick else ''}: torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s); fp32 matmul peak measured here: {peak / 1e9:.1f} GFLOP/s")
    print(f"targets: batched >= {SPEEDUP_TARGET:.0f}x one sample at a time, and >= {MFU_TARGET:.0%} of peak; "
          f"ratios are of rows/s at equal work")
    for preset in opts.presets:
        run_preset(preset, SIZES[opts.quick][preset], "cpu", "fp32", peak, do_compile, opts.variant)
    if torch.cuda.is_available():
        for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            gpu_peak = matmul_peak("cuda", dtype)
            print(f"\nGPU {torch.cuda.get_device_name()}: {precision} matmul peak {gpu_peak / 1e12:.1f} TFLOP/s")
            for preset in opts.presets:
                run_preset(preset, SIZES[opts.quick][preset], "cuda", precision, gpu_peak, do_compile, opts.variant)
    else:
        print("\nGPU figures: not measured (no CUDA device here)")
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
