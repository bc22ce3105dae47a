"""Run under ``torchrun --nproc_per_node 2``: train a tiny model, write this rank's weight digest."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from mono_s2s.config import build_config
from mono_s2s.data.synthetic import generate_corpus
from mono_s2s.tokenizer import train_tokenizer
from mono_s2s.train import Trainer

out = Path(sys.argv[1])
cfg = build_config("tiny", overrides=["model.d_model=32", "model.d_ff=64", "model.n_heads=4", "train.epochs=2",
                                      "train.batch_size=8", "train.grad_accum_steps=2", "train.eval_batch_size=16"])
corpus = generate_corpus(0, 96, 16, 8)
tokenizer = train_tokenizer(corpus["train"], 300)
trainer = Trainer(cfg, "monotonic", corpus, tokenizer, out, progress=False)
result = trainer.fit()
digest = hashlib.sha256()
for name, tensor in sorted(trainer.unwrapped.state_dict().items()):
    digest.update(name.encode())
    digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
opt_steps = {int(s["step"]) for s in trainer.optimizer.optimizer.state.values()}
rank = trainer.acc.process_index
(out / f"rank{rank}.json").write_text(json.dumps({
    "rank": rank, "world": trainer.acc.num_processes, "digest": digest.hexdigest(), "optimizer_steps": sorted(opt_steps),
    "global_step": result.global_step, "steps_per_epoch": trainer.steps_per_epoch,
    "backend": str(torch.distributed.get_backend()) if torch.distributed.is_initialized() else None}))
