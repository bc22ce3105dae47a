"""Padding token-id examples into a batch: the one collate of training, validation and the attacks' scoring."""

from __future__ import annotations

import torch


def collate(examples: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest example of the batch; labels padded with -100 (ignored by the loss).

    ``examples``: ``{"input_ids": [...], "labels": [...]}`` each (the source ids
    already end with ``</s>``). Returns ``input_ids``, ``attention_mask`` and
    ``labels``, each (B, longest), padded on the right.
    """
    src_len = max(len(e["input_ids"]) for e in examples)
    tgt_len = max(len(e["labels"]) for e in examples)
    input_ids = torch.full((len(examples), src_len), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), tgt_len), -100, dtype=torch.long)
    for i, e in enumerate(examples):
        input_ids[i, : len(e["input_ids"])] = torch.tensor(e["input_ids"])
        labels[i, : len(e["labels"])] = torch.tensor(e["labels"])
    return {"input_ids": input_ids, "attention_mask": (input_ids != pad_id).long(), "labels": labels}
