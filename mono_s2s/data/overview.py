"""``mono-s2s data inspect``: what a corpus looks like to the experiment, before anything is trained.

It loads the corpus exactly as a run does (:func:`mono_s2s.data.read_corpus`: format and column detection,
carving, caps), then measures the texts in the tokens the model will see -- the pretrained model's own
tokenizer, a tokenizer already trained into ``--out``, or (as a run would) a BPE trained on the train split
now, in memory -- against the preset's truncation limits, and shows two test examples. It writes nothing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mono_s2s.data import SPLITS, read_corpus
from mono_s2s.data.records import Record

PERCENTILES = (50, 90, 95, 99)
EXAMPLES = 2
_EXAMPLE_CHARS = 400


def length_table(corpus: dict[str, list[Record]], tokenizer, prefix: str, max_source: int,
                 max_summary: int) -> pd.DataFrame:
    """Per split and text kind (sources, references): token-length percentiles, the maximum, and the share
    of texts longer than the limit (cut by truncation). Sources are counted with ``prefix`` (the model sees
    it); every reference counts, not only the first."""
    rows = []
    for split in SPLITS:
        records = corpus[split]
        if not records:
            continue
        for kind, texts, limit in (("sources", [prefix + r.source for r in records], max_source),
                                   ("references", [t for r in records for t in r.references], max_summary)):
            # Without truncation: the point is to see how much a limit cuts. add_special_tokens: </s> counts too.
            lengths = np.array([len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]])
            row = {"split": split, "texts": kind, "n": len(lengths)}
            row.update({f"p{p}": int(np.percentile(lengths, p)) for p in PERCENTILES})
            row.update({"max": int(lengths.max()), "limit": limit, "truncated": float(np.mean(lengths > limit))})
            rows.append(row)
    return pd.DataFrame(rows)


def examples(records: Sequence[Record], n: int = EXAMPLES) -> list[str]:
    """The first ``n`` records, source cut to a few hundred characters, every reference in full."""
    lines = []
    for r in list(records)[:n]:
        source = " ".join(r.source.split())
        if len(source) > _EXAMPLE_CHARS:
            source = source[:_EXAMPLE_CHARS].rstrip() + " ..."
        lines.append(f"  [{r.id}]")
        lines += textwrap.wrap(f"source: {source}", 110, initial_indent="    ", subsequent_indent="      ")
        for i, ref in enumerate(r.references, 1):
            label = "reference" if len(r.references) == 1 else f"reference {i}"
            lines += textwrap.wrap(f"{label}: {' '.join(ref.split())}", 110, initial_indent="    ",
                                   subsequent_indent="      ")
    return lines


def inspect(cfg, out: Path | None = None) -> list[str]:
    """The report's lines for ``cfg.data`` (and ``cfg.model``'s tokenizer); ``out``: a run folder whose
    trained tokenizer to use, if it has one."""
    from mono_s2s.tokenizer import tokenizer_for

    corpus, info = read_corpus(cfg.data)
    lines = info.lines()
    refs = {s: max((len(r.references) for r in corpus[s]), default=0) for s in SPLITS}
    lines.append("data: sizes " + ", ".join(
        f"{s} {len(corpus[s])}" + (f" ({refs[s]} references each)" if refs[s] > 1 else "") for s in SPLITS))
    if any(n > 1 for n in refs.values()):
        lines.append("data: clean ROUGE is reported against every reference (the best match, and the mean over "
                     "them); training and the teacher-forced NLL use the first")
    tok_dir = out / "tokenizer" if out is not None else None
    tokenizer, how = tokenizer_for(cfg, corpus["train"], tok_dir)  # as a run would, but nothing is saved
    which = {"pretrained": f"{cfg.model.pretrained}'s own tokenizer", "reused": f"the tokenizer in {tok_dir}",
             "trained": f"a BPE tokenizer trained on the train split now ({len(tokenizer)} tokens, as a run would)",
             }[how]
    table = length_table(corpus, tokenizer, cfg.data.source_prefix, cfg.data.max_source_tokens,
                         cfg.data.max_summary_tokens)
    lines.append(f"lengths in tokens, by {which}; limits data.max_source_tokens={cfg.data.max_source_tokens} and "
                 f"data.max_summary_tokens={cfg.data.max_summary_tokens}, truncated = the share over the limit:")
    shown = table.assign(truncated=table["truncated"].map(lambda x: f"{x:.1%}"))
    lines += ["  " + line for line in shown.to_string(index=False).splitlines()]
    split = "test" if corpus["test"] else "train"
    lines.append(f"examples ({split} split):")
    lines += examples(corpus[split])
    return lines
