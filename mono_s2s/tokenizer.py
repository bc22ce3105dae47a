"""Tokenizers: trained on the training split for from-scratch models, the hub's own for pretrained ones.

The trained tokenizer is a byte-fallback-free BPE over SentencePiece-style
``Metaspace`` pieces (T5 uses SentencePiece), with T5's special-token layout
(``<pad>`` = 0 is also the decoder start, ``</s>`` = 1 appended to every
sequence, ``<unk>`` = 2), wrapped as a ``PreTrainedTokenizerFast`` and saved with
``save_pretrained`` next to the model so ``AutoTokenizer`` reloads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from mono_s2s.data.records import Record
from mono_s2s.errors import UserError

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


def train_tokenizer(records: Iterable[Record], vocab_size: int, model_max_length: int = 1024) -> PreTrainedTokenizerFast:
    """BPE trained on sources and summaries; deterministic for the same records."""
    tok = Tokenizer(models.BPE(unk_token=UNK))
    # Newlines (dialogue turns) become spaces, as in T5's SentencePiece: otherwise BPE glues
    # "\n" to the next word and learns a second copy of every turn-initial word.
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK], min_frequency=2,
                                  show_progress=False)

    def texts() -> Iterable[str]:
        for r in records:
            yield r.source
            yield r.summary

    tok.train_from_iterator(texts(), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}",
                                                       special_tokens=[(EOS, tok.token_to_id(EOS))])
    assert (tok.token_to_id(PAD), tok.token_to_id(EOS), tok.token_to_id(UNK)) == (0, 1, 2)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   model_max_length=model_max_length)


def load_tokenizer(name_or_path: str | Path):
    """A saved tokenizer folder, or a hub model's own tokenizer."""
    try:
        return AutoTokenizer.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as e:
        cause = " ".join(str(e).split())[:200]
        raise UserError(f"could not load tokenizer '{name_or_path}': {cause}") from None


def tokenizer_for(cfg, train: Iterable[Record], tok_dir: Path | None) -> tuple[PreTrainedTokenizerFast, str]:
    """The tokenizer a run of ``cfg`` uses, and how it was obtained: ``"pretrained"`` (``model.pretrained``'s
    own), ``"reused"`` (the one already trained into ``tok_dir``) or ``"trained"`` (a BPE on ``train``, just
    now; saving it is the caller's choice)."""
    if cfg.model.pretrained:
        return load_tokenizer(cfg.model.pretrained), "pretrained"
    if tok_dir is not None and (tok_dir / "tokenizer.json").is_file():
        return load_tokenizer(tok_dir), "reused"
    return train_tokenizer(train, cfg.model.vocab_size, model_max_length=cfg.data.max_source_tokens), "trained"
