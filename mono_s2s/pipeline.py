"""The stages of an experiment, in order, each a plain function the CLI and the notebook call.

Stages available now: data -> tokenizer -> models (with a monotonicity check).
Training, attacks and the analysis join as they are implemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mono_s2s.config import VARIANT_SLUGS, ExperimentConfig
from mono_s2s.data import load_corpus
from mono_s2s.data.records import SPLITS, Record


@dataclass
class Prepared:
    corpus: dict[str, list[Record]]
    tokenizer: object
    tokenizer_dir: Path


def say(message: str) -> None:
    print(message, flush=True)


def prepare(cfg: ExperimentConfig, out: Path) -> Prepared:
    """Load (or generate) the corpus and obtain the tokenizer, cached under ``out``."""
    from mono_s2s.tokenizer import load_tokenizer, train_tokenizer

    corpus = load_corpus(cfg.data, cache_dir=out / "cache")
    sizes = " / ".join(f"{s} {len(corpus[s])}" for s in SPLITS)
    say(f"data: {cfg.data.spec} -- {sizes}")
    tok_dir = out / "tokenizer"
    if cfg.model.pretrained:
        tokenizer = load_tokenizer(cfg.model.pretrained)
        say(f"tokenizer: {cfg.model.pretrained}'s own ({len(tokenizer)} tokens)")
    elif (tok_dir / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(tok_dir)
        say(f"tokenizer: reused {tok_dir} ({len(tokenizer)} tokens)")
    else:
        from mono_s2s.checkpoint import write_atomically

        tokenizer = train_tokenizer(corpus["train"], cfg.model.vocab_size,
                                    model_max_length=cfg.data.max_source_tokens)
        write_atomically(tok_dir, tokenizer.save_pretrained)
        say(f"tokenizer: BPE trained on the train split, {len(tokenizer)} tokens -> {tok_dir}")
    return Prepared(corpus, tokenizer, tok_dir)


def describe_models(cfg: ExperimentConfig, tokenizer, seed: int) -> list[dict]:
    """Build every variant at initialisation and check its FFNs' monotonicity; one row per variant."""
    from mono_s2s.models import build_model, count_parameters
    from mono_s2s.models.checks import check_model

    rows = []
    for variant in cfg.model.variants:
        model = build_model(cfg.model, variant, tokenizer, seed=seed)
        reports = check_model(model)
        rows.append({
            "variant": variant,
            "slug": VARIANT_SLUGS[variant],
            "parameters": count_parameters(model),
            "ffn_monotone": all(r.monotone for r in reports),
            "violating_pairs": sum(r.violating_pairs for r in reports),
            "pairs": sum(r.pairs for r in reports),
            "min_jacobian_entry": min(r.min_jacobian_entry for r in reports),
        })
    return rows
