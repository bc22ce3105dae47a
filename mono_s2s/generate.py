"""Summaries from a seq2seq model through HF ``generate``: batched beam search with the KV cache.

:func:`summarize` tokenizes every source once, sorts the sources by token length
and cuts the sorted list into batches, so each batch is padded only to its own
longest source (dynamic padding) and little compute goes to pad tokens. The
summaries are returned in the caller's order. Decoding is HF's: beam search
with ``early_stopping``, n-gram blocking and a length penalty, reusing the
decoder's key/value cache between steps (the seed notebook re-ran the decoder
on the whole prefix at every step, one example at a time; see
``bench/generate_throughput.py`` for what that costs).
"""

from __future__ import annotations

from typing import Sequence

import torch

from mono_s2s.progress import bar as progress_bar


def summarize(
    model,
    tokenizer,
    sources: Sequence[str],
    *,
    max_source_tokens: int,
    max_new_tokens: int,
    num_beams: int = 4,
    no_repeat_ngram_size: int = 3,
    length_penalty: float = 1.0,
    batch_size: int = 32,
    progress: bool = True,
    desc: str = "generate",
) -> list[str]:
    """One summary per source, in the order of ``sources``.

    Sources longer than ``max_source_tokens`` are truncated (as in training);
    each summary has at most ``max_new_tokens`` tokens. ``num_beams=1`` is greedy
    decoding. Runs on the model's device in eval mode; the model's train/eval
    mode is restored afterwards, so this can be called in the middle of training.
    """
    for name, value in (("max_source_tokens", max_source_tokens), ("max_new_tokens", max_new_tokens),
                        ("num_beams", num_beams), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"summarize: {name} must be positive (got {value})")
    sources = list(sources)
    if not sources:
        return []

    input_ids = tokenizer(sources, truncation=True, max_length=max_source_tokens)["input_ids"]
    # Longest first: the most memory-hungry batch runs first, so an out-of-memory error
    # shows up at once rather than at the end. The sort is stable, so equal lengths keep
    # their input order and the batches are deterministic.
    order = sorted(range(len(sources)), key=lambda i: -len(input_ids[i]))

    gen_kwargs = dict(max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False,
                      no_repeat_ngram_size=no_repeat_ngram_size, use_cache=True)
    if num_beams > 1:
        # Only meaningful for beam search; HF warns when they are set for greedy decoding.
        gen_kwargs.update(length_penalty=length_penalty, early_stopping=True)

    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id
    summaries: list[str | None] = [None] * len(sources)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), progress_bar(total=len(sources), desc=desc, unit="src",
                                                  disable=not progress) as bar:
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                ids, mask = _pad_right([input_ids[i] for i in rows], pad_id)  # (B, T_batch)
                out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **gen_kwargs)
                texts = tokenizer.batch_decode(out, skip_special_tokens=True)
                for i, text in zip(rows, texts):
                    summaries[i] = text.strip()
                bar.update(len(rows))
    finally:
        model.train(was_training)
    return summaries  # type: ignore[return-value]


def summarize_with(model, tokenizer, sources: Sequence[str], cfg, *, batch_size: int = 32, progress: bool = True,
                   desc: str = "generate") -> list[str]:
    """:func:`summarize` with an experiment's generation settings (``cfg``: an ``ExperimentConfig``).

    The one place where the config becomes generation arguments: the source prefix
    and truncation of ``cfg.data``, the beam search of ``cfg.train``. Clean
    evaluation, the training run's sample tables and the attacks' before/after
    summaries all decode through here, so they cannot drift apart. ``batch_size``
    only changes speed.
    """
    d, t = cfg.data, cfg.train
    return summarize(model, tokenizer, [d.source_prefix + s for s in sources], max_source_tokens=d.max_source_tokens,
                     max_new_tokens=d.max_summary_tokens, num_beams=t.num_beams,
                     no_repeat_ngram_size=t.no_repeat_ngram_size, length_penalty=t.length_penalty,
                     batch_size=batch_size, progress=progress, desc=desc)


def _pad_right(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)``, both (B, longest), padded on the right.

    Right padding keeps every source at positions 0..len-1, exactly as when it is
    encoded alone. (Done here rather than with ``tokenizer.pad``, which warns that
    it is slower than ``__call__`` for fast tokenizers.)
    """
    longest = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), longest), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, :len(seq)] = 1
    return ids, mask
