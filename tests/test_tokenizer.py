"""The trained tokenizer: T5's special-token layout, deterministic, round-trips text."""

from __future__ import annotations

from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.tokenizer import load_tokenizer, train_tokenizer


def test_trained_tokenizer(tmp_path):
    corpus = generate_corpus(0, 400, 20, 20)
    tok = train_tokenizer(corpus["train"], 600)
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert 100 < len(tok) <= 600
    ids = tok(corpus["test"][0].summary).input_ids
    assert ids[-1] == tok.eos_token_id and tok.pad_token_id not in ids
    # Summaries round-trip exactly; sources up to whitespace (newlines become spaces, as in T5).
    for r in corpus["test"]:
        assert tok.decode(tok(r.summary).input_ids, skip_special_tokens=True) == r.summary
        decoded = tok.decode(tok(r.source).input_ids, skip_special_tokens=True)
        assert decoded == " ".join(r.source.split())
    assert train_tokenizer(corpus["train"], 600).get_vocab() == tok.get_vocab()
    tok.save_pretrained(tmp_path)
    assert load_tokenizer(tmp_path)(r.source).input_ids == tok(r.source).input_ids
