"""How fast each FFN projection learns: per-step relative change of its effective weight, variant by variant.

For every optimizer step t of real training (``mono_s2s.train.Trainer``: the preset's
AdamW, warmup + cosine schedule, clipping, teacher forcing, same data order for every
variant), this records, for each FFN projection p (gate ``wi_0``, up ``wi_1``, down
``wo``; ``wi`` for a ReLU FFN) of every layer,

    r_p(t) = ||W_p(t+1) - W_p(t)||_F / ||W_p(t)||_F

on the *effective* weight (``softplus(beta V) / beta`` for the monotone FFN, not the raw
``V``), averaged over the layers, and prints windowed means next to the baseline's as
a ratio. Also the growth ``||W_p(t)|| / ||W_p(0)||`` at the end of the window. Training
stops after ``--steps`` optimizer steps; the schedule is the preset's full one (so the
warmup is the one real runs see). ``NAME@V`` measures version V of a variant's
definition (``monotonic@1``: the one before the parametrisation fix; see
``mono_s2s/models/monotone.py``). Prints a table; asserts nothing about time.

    python bench/ffn_weight_change.py [--variants baseline monotonic@1 monotonic monotonic_cmnn] [--steps 300] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from unittest import mock

import torch

from mono_s2s.config import build_config
from mono_s2s.data import load_corpus
from mono_s2s.models import t5
from mono_s2s.models.variants import FFN_VARIANTS
from mono_s2s.pipeline import quiet_libraries
from mono_s2s.tokenizer import train_tokenizer
from mono_s2s.train import Trainer

PROJECTIONS = ("wi_0", "wi_1", "wi", "wo")


class _Enough(Exception):
    """Raised from the optimizer hook to end training after the measured steps."""


def _weights(model) -> dict[str, list[torch.Tensor]]:
    """Effective weight of every FFN projection, by projection name, one tensor per layer."""
    out: dict[str, list[torch.Tensor]] = {}
    for ffn in model.ffns():
        for name in PROJECTIONS:
            module = getattr(ffn, name, None)
            if module is not None:
                out.setdefault(name, []).append(module.weight.detach().clone())
    return out


def measure(cfg, spec: str, corpus, tokenizer, steps: int) -> dict[str, torch.Tensor]:
    """``{projection: (steps,) tensor of layer-averaged relative changes}`` plus ``{projection}:growth``
    for ``spec`` = ``variant`` or ``variant@version``."""
    variant, _, version = spec.partition("@")
    entry = FFN_VARIANTS[variant]
    if version:  # build that version: the registry entry as it was when it was current
        entry = dataclasses.replace(entry, version=int(version))
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(t5.FFN_VARIANTS, {variant: entry}):
        trainer = Trainer(cfg, variant, corpus, tokenizer, Path(tmp), progress=False)
        assert trainer.unwrapped.config.ffn_version == entry.version
        model = trainer.unwrapped
        start = _weights(model)
        before: dict[str, list[torch.Tensor]] = {}
        changes: dict[str, list[float]] = {name: [] for name in start}
        inner = trainer.optimizer.optimizer  # accelerate's wrapper around the AdamW

        def pre(*_):
            before.clear()
            before.update(_weights(model))

        def post(*_):
            after = _weights(model)
            for name, olds in before.items():
                rel = [float((new - old).norm() / old.norm()) for old, new in zip(olds, after[name])]
                changes[name].append(sum(rel) / len(rel))
            if len(next(iter(changes.values()))) >= steps:
                raise _Enough

        inner.register_step_pre_hook(pre)
        inner.register_step_post_hook(post)
        try:
            trainer.fit()
        except _Enough:
            pass
        end = _weights(model)
    result = {name: torch.tensor(v) for name, v in changes.items()}
    for name in start:
        growth = [float(e.norm() / s.norm()) for s, e in zip(start[name], end[name])]
        result[f"{name}:growth"] = torch.tensor(sum(growth) / len(growth))
    return result


def windows(steps: int) -> list[tuple[int, int]]:
    edges = [0, 10, 50, 100, 200, 300, 500, 750, 1000]
    edges = [e for e in edges if e < steps] + [steps]
    return list(zip(edges[:-1], edges[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["baseline", "monotonic@1", "monotonic"])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    quiet_libraries()
    variants = args.variants if "baseline" in args.variants else ["baseline", *args.variants]
    # One learning rate for every variant (the preset's per-variant ones cleared, unless --set names them): the
    # ratio measures the parametrisation's pace, and Adam's step size scales with the learning rate.
    cfg = build_config(args.preset, overrides=["train.variant_lr=", *args.overrides, "train.save_every_steps=100000"])
    corpus = load_corpus(cfg.data)
    tokenizer = train_tokenizer(corpus["train"], cfg.model.vocab_size, model_max_length=cfg.data.max_source_tokens)
    lrs = ", ".join(f"{v} {cfg.train.lr_for(v.split('@')[0])}" for v in variants)
    print(f"preset {args.preset}, lr {lrs}, warmup {cfg.train.warmup_ratio}, batch {cfg.train.batch_size}, "
          f"{args.steps} optimizer steps; r = ||W(t+1) - W(t)|| / ||W(t)|| of the effective weight, layer mean")
    results = {v: measure(cfg, v, corpus, tokenizer, args.steps) for v in variants}
    spans = windows(args.steps)
    header = f"{'variant':<18}{'proj':<6}" + "".join(f"{f'{a + 1}-{b}':>18}" for a, b in spans) + f"{'||W_T||/||W_0||':>17}"
    print(header)
    base = results["baseline"]
    for variant, res in results.items():
        for name in PROJECTIONS:
            if name not in res:
                continue
            cells = []
            for a, b in spans:
                mean = float(res[name][a:b].mean())
                ref = base.get(name)
                if ref is None and name == "wi" and "wi_0" in base:  # a one-matrix input side vs the gated one's
                    ref = (base["wi_0"] + base["wi_1"]) / 2
                ratio = f" ({mean / float(ref[a:b].mean()):.2f}x)" if ref is not None and variant != "baseline" else ""
                cells.append(f"{mean:.2e}{ratio}")
            print(f"{variant:<18}{name:<6}" + "".join(f"{c:>18}" for c in cells) + f"{float(res[name + ':growth']):>17.2f}")
    print("(x: ratio to the baseline's same projection in the same window; wi: to the mean of its wi_0 and wi_1)")


if __name__ == "__main__":
    main()
