"""``mono-s2s attack`` in this process, under ``torchrun --nproc_per_node N`` or alone: ``dist_attack_worker.py OUT
[CLI flags...]``. Writes ``OUT/added.rank{r}.json``: the (attack, model, sample, budget) of every record this rank made."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mono_s2s.attacks.store import RecordStore
from mono_s2s.cli import main

out = Path(sys.argv[1])
added = []
real_add = RecordStore.add


def add(self, record):
    added.append([record.attack, record.model, record.sample_id, record.budget])
    real_add(self, record)


RecordStore.add = add
code = main(["attack", "--out", str(out), *sys.argv[2:]])
(out / f"added.rank{os.environ.get('RANK', '0')}.json").write_text(json.dumps(added))
raise SystemExit(code)
